"""Shared fixtures: a seeded rng, tiny bound workloads, compiling an op for llvm, a PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Callable, Sequence
from urllib.parse import quote

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from dsl import Op
from dsl.dtypes import numpy_dtype

Arrays = Sequence[np.ndarray]

PG_ENV = "OPFORGE_TEST_POSTGRES_URL"


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed, so every test sees the same data."""
    return np.random.default_rng(0)


@pytest.fixture
def matmul_16() -> Op:
    """float32 matmul bound to M = N = K = 16."""
    from dsl.library import matmul

    return matmul().bind(M=16, N=16, K=16)


def build_and_run_op(op: Op, arrays: Arrays) -> list[np.ndarray]:
    """Lower ``op``, compile it with no schedule for llvm, run it on ``arrays`` (its inputs,
    in order) and return its outputs as numpy arrays."""
    import tvm

    from dsl.lower import lower_module

    if len(arrays) != len(op.inputs):
        raise ValueError(f"op {op.name} takes {len(op.inputs)} inputs {[t.name for t in op.inputs]}, got {len(arrays)} arrays")
    ex = tvm.compile(lower_module(op), target=tvm.target.Target({"kind": "llvm"}))
    dev = tvm.cpu()
    args = [tvm.runtime.tensor(np.ascontiguousarray(a), dev) for a in arrays]
    outs = [tvm.runtime.tensor(np.zeros(op.shape_of(t), numpy_dtype(t.dtype)), dev) for t in op.output_tensors]
    ex["main"](*args, *outs)
    return [o.numpy() for o in outs]


@pytest.fixture
def build_and_run() -> Callable[[Op, Arrays], list[np.ndarray]]:
    """``build_and_run(op, arrays) -> [outputs]``: compile for llvm with no schedule and run."""
    return build_and_run_op


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections use a new, empty PostgreSQL schema (dropped after the test).

    The server is the one OPFORGE_TEST_POSTGRES_URL names (`.ci/postgres.sh` sets it); without it the test is skipped.
    """
    base = os.environ.get(PG_ENV) or None
    if base is None:
        pytest.skip(f"{PG_ENV} is not set (source .ci/postgres.sh to start a server)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
