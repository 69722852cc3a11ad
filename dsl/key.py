"""The workload key: a sha256 of an op's canonical text, the name of a workload everywhere.

The database, the export cache and the CLI all call ``workload_key``, so one op has one key
whichever way its sizes were bound (``bind(M=.., N=..)`` or ``bind(N=.., M=..)``).
"""

from __future__ import annotations

import hashlib

from .op import Op
from .printer import print_op


def canonical(op: Op) -> Op:
    """``op`` with its bindings in dimension order and repeats dropped; an op whose bindings
    conflict is returned as is, so its text still shows the conflict ``verify`` reports."""
    values: dict[str, int] = {}
    for name, value in op.bindings:
        if values.setdefault(name, value) != value:
            return op
    dim_names = [d.name for d in op.dims]
    order = [n for n in dim_names if n in values] + [n for n in values if n not in dim_names]
    return Op(op.name, op.inputs, op.stages, op.outputs, tuple((n, values[n]) for n in order))


def canonical_text(op: Op) -> str:
    """The text the workload key hashes (and the tuning database stores beside the key)."""
    return print_op(canonical(op))


def workload_key(op: Op) -> str:
    """sha256 hex digest of ``canonical_text(op)``; independent of Python, TVM and opforge versions."""
    return hashlib.sha256(canonical_text(op).encode("utf-8")).hexdigest()
