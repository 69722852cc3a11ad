"""Target names a user types (``cpu``, ``cpu:1``, ``cuda``, ``cuda:sm_90``, ``aarch64``) and the Targets they mean."""

from __future__ import annotations

from typing import Callable

from .cpu import host_cpu
from .cuda import cuda_target
from .edge import BOARDS, edge_target
from .target import Target


def _cores(name: str, arg: str | None) -> int | None:
    if arg is None:
        return None
    if not arg.isdigit() or int(arg) < 1:
        raise ValueError(f"target {name}:{arg}: the part after ':' is a core count, e.g. {name}:4")
    return int(arg)


TARGETS: dict[str, Callable[[str | None], Target]] = {
    "cpu": lambda arg: host_cpu(_cores("cpu", arg)),
    "cuda": lambda arg: cuda_target(arg),
    **{name: (lambda arg, name=name: edge_target(name, _cores(name, arg))) for name in BOARDS},  # type: ignore[misc]
}

#: one line per target name, for `opforge targets` and error messages
DESCRIPTIONS: dict[str, str] = {
    "cpu": "this machine's CPU (cpu:N: use N cores)",
    "cuda": "an NVIDIA GPU, SM detected (cuda:sm_90: given)",
    "aarch64": "64-bit ARM board with NEON and dot product, over RPC",
    "armv7": "32-bit ARM board (hard float, NEON), over RPC",
    "riscv64": "RV64GC board, over RPC",
}


class UnknownTargetError(ValueError):
    """A target name opforge does not know; the message lists the ones it does."""


def get_target(name: str) -> Target:
    """``get_target("cpu")``, ``get_target("cuda:sm_90")``, ``get_target("aarch64")``; unknown names list the known ones."""
    base, _, arg = name.partition(":")
    if base not in TARGETS:
        raise UnknownTargetError(f"unknown target {name!r}; expected one of {sorted(TARGETS)}")
    return TARGETS[base](arg or None)
