"""Fixtures of the autotune tests: a tiny matmul, its correctness check, and the host target."""

from __future__ import annotations

import signal

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


@pytest.fixture
def python_sigint():
    """SIGINT raising KeyboardInterrupt, as in a terminal, even where pytest was started with it
    ignored (``nohup`` or ``&`` in a script); the handler it found is put back afterwards."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)
