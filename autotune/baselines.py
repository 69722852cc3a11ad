"""Peers a tuned kernel is compared with: numpy, where numpy computes the same thing.

A numpy candidate counts only if its output on the check's inputs matches the reference
within the dtype's tolerance, so "same thing" is measured, not assumed from the op's name.

numpy is timed in a worker process of its own (``NumpyTimer``), never in the tuner's: there,
XGBoost's and TVM's thread pools share the cores with OpenBLAS's threads, and numpy's 1024^3
matmul ran at 54 GFLOP/s after a model was trained in the process, 101 before.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from .measure.pool import Worker

NumpyFn = Callable[..., np.ndarray]


def _dense(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    y = x @ w.T
    return y + bias if bias is not None else y


def _dense_relu(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(_dense(x, w, bias), 0)


#: numpy spellings tried per op name (the first whose output matches the reference wins)
CANDIDATES: dict[str, tuple[tuple[str, NumpyFn], ...]] = {
    "matmul": (("a @ b", lambda a, b: a @ b),),
    "batch_matmul": (("np.matmul(x, y)", np.matmul),),
    "dense": (("x @ w.T (+ bias)", _dense), ("relu(x @ w.T (+ bias))", _dense_relu)),
}


def numpy_equivalent(op_name: str, inputs: Sequence[np.ndarray], expected: Sequence[np.ndarray], rtol: float, atol: float) -> tuple[str, NumpyFn] | None:
    """The numpy expression computing what the op computes on these inputs, or None."""
    # numpy has BLAS only for float32/float64: its float16 matmul is a scalar loop (minutes at 4096^3)
    if len(expected) != 1 or not all(x.dtype in (np.float32, np.float64) for x in inputs):
        return None
    for text, fn in CANDIDATES.get(op_name, ()):
        try:
            out = fn(*inputs)
        except (ValueError, TypeError):
            continue
        if out.shape == expected[0].shape and np.allclose(out, expected[0], rtol=max(rtol, 1e-4), atol=max(atol, 1e-4)):
            return text, fn
    return None


def time_numpy(fn: NumpyFn, inputs: Sequence[np.ndarray], repeats: int = 5, min_repeat_secs: float = 0.04) -> float:
    """Median seconds of one call, each repeat running enough calls to fill ``min_repeat_secs``."""
    fn(*inputs)  # warm-up
    t0 = time.perf_counter()
    fn(*inputs)
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(min_repeat_secs / once))
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(*inputs)
        runs.append((time.perf_counter() - t0) / number)
    return float(np.median(runs))


#: the job a numpy worker runs
NUMPY_JOB = "autotune.baselines:numpy_job"


def numpy_job(check_path: str, op_name: str, expr: str, n_inputs: int, repeats: int = 5, min_repeat_secs: float = 0.04) -> float:
    """Runs in a worker: ``time_numpy`` of the spelling ``expr`` of ``op_name`` on a check's inputs."""
    stored = np.load(check_path, allow_pickle=False)
    inputs = [stored[f"in{i}"] for i in range(n_inputs)]
    return time_numpy(dict(CANDIDATES[op_name])[expr], inputs, repeats, min_repeat_secs)


class NumpyTimer:
    """Times numpy spellings in one worker process whose BLAS has ``threads`` threads (the cores
    the tuned kernel runs on); ``timer(op_name, expr, check_path, n_inputs)`` -> median seconds."""

    def __init__(self, threads: int, timeout_secs: float = 300.0) -> None:
        n = str(max(1, threads))
        self.timeout_secs = timeout_secs
        self._worker = Worker({"OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n}, preload=["numpy"])

    def __call__(self, op_name: str, expr: str, check_path: str, n_inputs: int) -> float:
        args = {"check_path": check_path, "op_name": op_name, "expr": expr, "n_inputs": n_inputs}
        return float(self._worker.call(NUMPY_JOB, args, self.timeout_secs))

    def close(self) -> None:
        self._worker.close()

    def __enter__(self) -> "NumpyTimer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
