"""Fixtures of the autotune tests: a tiny matmul, its correctness check, and the host target."""

from __future__ import annotations

import pytest

from targets import Target


@pytest.fixture
def matmul_32():
    from dsl.library import matmul

    return matmul().bind(M=32, N=32, K=32)


@pytest.fixture
def cpu1() -> Target:
    """A one-core llvm target with no mcpu, so tests build alike on every machine."""
    return Target(name="cpu", kind="cpu", tvm={"kind": "llvm", "num-cores": 1}, vector_bits=128, cores=1, hardware={"test": 1})
