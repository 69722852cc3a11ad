"""Builders: apply a Config to the lowered op, compile, export a shared library, in worker processes.

``Builder.build(func, configs, target)`` sends one job per Config to a pool of workers (default:
one per core), each with a time limit. A schedule error, a compiler error, a crash or a build past
its time limit gives a failed ``BuildResult`` naming the reason; the other builds go on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
import uuid
from typing import Any, Sequence

from targets import Target
from targets.toolchain import export_library

from .pool import Call, WorkerCrashed, WorkerError, WorkerPool, WorkerTimeout, job_module
from .result import BUILD_ERROR, OK, TIMEOUT, BuildResult

#: the job every build worker runs, and the schedule-applying function it calls by default
BUILD_JOB = "autotune.measure.builder:build_job"
APPLY = "autotune.measure.builder:apply_config"


def target_to_json(target: Target) -> str:
    return json.dumps(dataclasses.asdict(target), sort_keys=True)


def target_from_json(text: str) -> Target:
    d = json.loads(text)
    d["features"] = tuple(d.get("features", ()))
    return Target(**d)


def module_json(func: Any) -> str:
    """The lowered op as TVM's JSON text, for sending to a worker (a PrimFunc or an IRModule)."""
    import tvm

    mod = func if isinstance(func, tvm.IRModule) else tvm.IRModule({"main": func})
    return tvm.ir.save_json(mod)


def apply_config(func: Any, config_json: str, target: Target) -> tuple[Any, str | None]:
    """The default schedule step: ``schedules.apply_with_trace`` -> (scheduled IRModule, trace JSON)."""
    from schedules import Config, apply_with_trace

    sch, trace = apply_with_trace(func, Config.from_json(config_json), target)
    return sch.mod, trace


def build_job(mod_json: str, config_json: str, target_json: str, out_path: str, apply: str = APPLY) -> dict[str, Any]:
    """Runs in a worker: schedule, compile and export one candidate; returns the artifact path."""
    import tvm

    from .worker import resolve

    start = time.perf_counter()
    target = target_from_json(target_json)
    func = tvm.ir.load_json(mod_json)["main"]
    scheduled, trace = resolve(apply)(func, config_json, target)
    executable = tvm.compile(scheduled, target=target.tvm_target())
    export_library(executable, out_path, target)  # the target's (cross) toolchain links it
    return {"artifact": out_path, "trace": trace, "build_secs": time.perf_counter() - start}


class Builder:
    """Builds candidates in ``n_workers`` processes (default: one per core), ``timeout_secs`` each.

    ``apply`` names the function ``(func, config_json, target) -> (IRModule, trace)`` the workers
    call (``"package.module:function"``); tests plant failing ones. Artifacts go to ``work_dir``
    (a fresh temporary folder by default, removed by ``close``).
    """

    def __init__(
        self,
        n_workers: int | None = None,
        timeout_secs: float = 60.0,
        work_dir: str | None = None,
        apply: str = APPLY,
        job: str = BUILD_JOB,
    ) -> None:
        if timeout_secs <= 0:
            raise ValueError(f"build timeout must be positive, got {timeout_secs}")
        n = n_workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        self.timeout_secs = timeout_secs
        self.apply = apply
        self.job = job
        self._own_dir = work_dir is None
        self.work_dir = work_dir or tempfile.mkdtemp(prefix="opforge-build-")
        # a compiler needs no threads of its own inside a worker that shares the cores; TVM and the
        # schedule code are imported before a worker's first build, outside its time limit
        preload = ["tvm", "schedules", job_module(apply), job_module(job)]
        self._pool = WorkerPool(n, env={"TVM_NUM_THREADS": "1"}, preload=preload)

    @property
    def n_workers(self) -> int:
        return self._pool.n_workers

    @property
    def workers(self) -> WorkerPool:
        """The build workers, idle between batches: the cost model's candidates are described there."""
        return self._pool

    def build(self, func: Any, configs: Sequence[Any], target: Target) -> list[BuildResult]:
        """One BuildResult per Config (anything with ``to_json()``), in order."""
        mod_text = module_json(func)
        target_text = target_to_json(target)
        calls = [
            Call(
                self.job,
                {
                    "mod_json": mod_text,
                    "config_json": c.to_json(),
                    "target_json": target_text,
                    "out_path": os.path.join(self.work_dir, f"{uuid.uuid4().hex}.so"),
                    "apply": self.apply,
                },
            )
            for c in configs
        ]
        return [_build_result(o.value, o.error, self.timeout_secs) for o in self._pool.map(calls, self.timeout_secs)]

    def close(self) -> None:
        self._pool.shutdown()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> "Builder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _build_result(value: Any, error: Exception | None, timeout_secs: float) -> BuildResult:
    if error is None:
        return BuildResult(artifact=value["artifact"], status=OK, trace=value.get("trace"), build_secs=value["build_secs"])
    if isinstance(error, WorkerTimeout):
        return BuildResult(artifact=None, status=TIMEOUT, error=f"build: timeout after {timeout_secs:g} s")
    if isinstance(error, (WorkerError, WorkerCrashed)):
        return BuildResult(artifact=None, status=BUILD_ERROR, error=f"build: {error}")
    raise error
