"""Measurement: builders in worker processes, a runner in its own process, the correctness gate."""

from .builder import Builder
from .check import arg_specs, make_check
from .pool import Worker, WorkerCrashed, WorkerError, WorkerPool, WorkerTimeout
from .result import STATUSES, BuildResult, MeasureResult
from .runner import ArgSpec, Check, Runner

__all__ = [
    "STATUSES", "ArgSpec", "BuildResult", "Builder", "Check", "MeasureResult", "Runner", "Worker", "WorkerCrashed",
    "WorkerError", "WorkerPool", "WorkerTimeout", "arg_specs", "make_check",
]
