"""Runners: time built kernels in a separate process, check their first result, survive crashes.

Every candidate runs in one worker process (never the tuner's own), one candidate at a time so
timings do not disturb each other. The first call's outputs are compared with the expected
outputs of a :class:`Check` (the numpy reference on random inputs); a wrong kernel is a failed
trial (``wrong_result``), never a result. Then ``warmup`` calls, then ``repeats`` timed repeats of
``number`` calls each (``number=0``: as many as fill ``min_repeat_ms``). Given ``cutoff_secs`` (the
tuner passes a multiple of its best time), one timed call comes first and a kernel slower than the
cutoff keeps that one time: a hopeless candidate costs two calls, not dozens. A segfault, an abort
or a hang past ``timeout_secs`` costs one failed trial; the worker is restarted for the next one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .pool import Worker, WorkerCrashed, WorkerError, WorkerTimeout, job_module
from .result import OK, RUN_ERROR, TIMEOUT, WRONG_RESULT, BuildResult, MeasureResult

RUN_JOB = "autotune.measure.runner:run_job"


@dataclass(frozen=True)
class ArgSpec:
    """One kernel parameter: its shape, dtype, and whether the kernel writes it."""

    shape: tuple[int, ...]
    dtype: str
    is_output: bool = False


@dataclass(frozen=True)
class Check:
    """Inputs and expected outputs in an ``.npz`` file (``in0..``, ``out0..``) and the tolerance."""

    path: str
    rtol: float
    atol: float


def _numpy_dtype(dtype: str) -> np.dtype:
    from dsl.dtypes import numpy_dtype

    return numpy_dtype(dtype)


def _stored(x: np.ndarray) -> np.ndarray:
    # npz cannot hold ml_dtypes' bfloat16 without pickle: keep its bits as uint16
    return x.view(np.uint16) if x.dtype.name == "bfloat16" else x


def write_check(path: str, inputs: Sequence[np.ndarray], expected: Sequence[np.ndarray], rtol: float, atol: float) -> Check:
    """Save inputs and expected outputs for the runner's correctness gate."""
    arrays = {f"in{i}": _stored(np.ascontiguousarray(x)) for i, x in enumerate(inputs)}
    arrays.update({f"out{i}": _stored(np.ascontiguousarray(x)) for i, x in enumerate(expected)})
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return Check(path=path if path.endswith(".npz") else path + ".npz", rtol=rtol, atol=atol)


def compare(out: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> tuple[bool, float, float]:
    """(matches, max absolute error, relative L2 error) of a kernel output against the reference."""
    from dsl.dtypes import scaled_atol  # here, not at the top: `autotune.export.load` must run without dsl

    a, b = out.astype(np.float64), expected.astype(np.float64)
    if a.shape != b.shape:
        return False, float("inf"), float("inf")
    diff = np.abs(a - b)
    max_abs = float(diff.max()) if diff.size else 0.0
    norm = float(np.linalg.norm(b))
    rel_l2 = float(np.linalg.norm(a - b)) / norm if norm > 0 else float(np.linalg.norm(a - b))
    ok = bool(np.all(np.isfinite(a) == np.isfinite(b))) and bool(np.allclose(a, b, rtol=rtol, atol=scaled_atol(atol, b), equal_nan=True))
    return ok, (max_abs if np.isfinite(max_abs) else float("inf")), (rel_l2 if np.isfinite(rel_l2) else float("inf"))


def check_runner_options(timeout_secs: float, warmup: int, repeats: int, number: int) -> None:
    """Raise ValueError, naming the accepted ranges, where a runner's timing options are out of range."""
    if timeout_secs <= 0 or repeats < 1 or warmup < 0 or number < 0:
        raise ValueError(
            f"runner needs timeout_secs > 0, repeats >= 1, warmup >= 0, number >= 0; "
            f"got {timeout_secs}, {repeats}, {warmup}, {number}"
        )


def job_inputs(args: Sequence[ArgSpec], check: Check | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The plain-data ``args`` and ``check`` of a run job (what crosses into the worker process)."""
    arg_dicts = [{"shape": list(a.shape), "dtype": a.dtype, "is_output": a.is_output} for a in args]
    return arg_dicts, (dataclasses.asdict(check) if check else None)


def cutoff_arg(cutoff_secs: float | None) -> dict[str, float]:
    """The job keyword for a cutoff; none at all without one (planted test jobs need not know it)."""
    return {} if cutoff_secs is None else {"cutoff_secs": float(cutoff_secs)}


#: the runner worker's BLAS thread counts (its numpy work is small; the kernel wants the cores)
QUIET_BLAS = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_job(
    artifact: str,
    args: list[dict[str, Any]],
    check: dict[str, Any] | None,
    warmup: int,
    repeats: int,
    number: int,
    min_repeat_ms: float,
    device: str = "cpu",
    seed: int = 0,
    cutoff_secs: float | None = None,
) -> dict[str, Any]:
    """Runs in a worker: load the library, check the first call, then time it."""
    import tvm

    return measure_module(
        tvm.runtime.load_module(artifact), tvm.device(device, 0), args, check, warmup, repeats, number, min_repeat_ms, seed, cutoff_secs
    )


def measure_module(
    lib: Any, dev: Any, args: list[dict[str, Any]], check: dict[str, Any] | None,
    warmup: int, repeats: int, number: int, min_repeat_ms: float, seed: int = 0, cutoff_secs: float | None = None,
) -> dict[str, Any]:
    """Check the first call of a loaded library's ``main`` on ``dev``, then time it.

    ``lib`` and ``dev`` may be local or remote (a TVM RPC session's module and device): the
    inputs are copied to ``dev``, the outputs back here, and the comparison runs here.
    """
    import tvm

    specs = [ArgSpec(tuple(a["shape"]), a["dtype"], a["is_output"]) for a in args]
    rng = np.random.default_rng(seed)
    host: list[np.ndarray] = []
    stored = np.load(check["path"], allow_pickle=False) if check else None
    n_in = 0
    for spec in specs:
        dt = _numpy_dtype(spec.dtype)
        if spec.is_output:
            host.append(np.zeros(spec.shape, dt))
        elif stored is not None:
            host.append(stored[f"in{n_in}"].view(dt))
            n_in += 1
        else:
            host.append(rng.uniform(-1, 1, spec.shape).astype(dt))
    tensors = [tvm.runtime.tensor(x, dev) for x in host]
    func = lib["main"]
    func(*tensors)
    dev.sync()
    out: dict[str, Any] = {"wrong": False, "max_abs_error": None, "rel_l2_error": None}
    if stored is not None:
        outputs = [(t, s) for t, s in zip(tensors, specs) if s.is_output]
        worst_abs, worst_rel = 0.0, 0.0
        for i, (t, s) in enumerate(outputs):
            expected = stored[f"out{i}"].view(_numpy_dtype(s.dtype))
            assert check is not None
            ok, max_abs, rel_l2 = compare(t.numpy(), expected, check["rtol"], check["atol"])
            worst_abs, worst_rel = max(worst_abs, max_abs), max(worst_rel, rel_l2)
            out["wrong"] = out["wrong"] or not ok
        out["max_abs_error"], out["rel_l2_error"] = worst_abs, worst_rel
        if out["wrong"]:
            return out
    if cutoff_secs is not None:
        probe = float(lib.time_evaluator("main", dev, number=1, repeat=1)(*tensors).results[0])
        if probe > cutoff_secs:
            out["run_secs"] = [probe]
            return out
        warmup = max(0, warmup - 1)  # the probe warmed it
    for _ in range(warmup):
        func(*tensors)
    dev.sync()
    evaluator = lib.time_evaluator("main", dev, number=max(number, 1), repeat=repeats, min_repeat_ms=0 if number else int(min_repeat_ms))
    out["run_secs"] = [float(x) for x in evaluator(*tensors).results]
    return out


class Runner:
    """Measures built candidates one at a time in a worker process.

    ``job`` names the function the worker runs for each candidate (tests plant crashing ones);
    ``env`` is added to the worker's environment (e.g. ``TVM_NUM_THREADS``).
    """

    def __init__(
        self,
        timeout_secs: float = 20.0,
        warmup: int = 1,
        repeats: int = 5,
        number: int = 0,
        min_repeat_ms: float = 40.0,
        device: str = "cpu",
        env: Mapping[str, str] | None = None,
        job: str = RUN_JOB,
    ) -> None:
        check_runner_options(timeout_secs, warmup, repeats, number)
        self.timeout_secs = timeout_secs
        self.options = {"warmup": warmup, "repeats": repeats, "number": number, "min_repeat_ms": min_repeat_ms, "device": device}
        self.job = job
        # one BLAS thread: the check's numpy norms would otherwise leave OpenBLAS threads spinning
        # on the cores the kernel is then timed on (a 4.3 ms conv2d measured 8-12 ms right after)
        self._worker = Worker({**QUIET_BLAS, **(env or {})}, preload=["tvm", job_module(job)])

    def run(
        self, builds: Sequence[BuildResult], args: Sequence[ArgSpec], check: Check | None, cutoff_secs: float | None = None
    ) -> list[MeasureResult]:
        """One MeasureResult per build, in order; failed builds pass their failure through.

        ``cutoff_secs``: a kernel whose first timed call is slower keeps that one time (no repeats).
        """
        arg_dicts, check_dict = job_inputs(args, check)
        return [self._one(b, arg_dicts, check_dict, cutoff_secs) for b in builds]

    def _one(self, build: BuildResult, args: list[dict[str, Any]], check: dict[str, Any] | None, cutoff_secs: float | None) -> MeasureResult:
        if not build.ok:
            return MeasureResult.failed(build.status, build.error or "build failed", build.trace, build.build_secs)
        call_args = {"artifact": build.artifact, "args": args, "check": check, **self.options, **cutoff_arg(cutoff_secs)}
        try:
            value = self._worker.call(self.job, call_args, self.timeout_secs)
        except (WorkerTimeout, WorkerError, WorkerCrashed) as e:
            return to_measure_result(build, None, e, self.timeout_secs)
        return to_measure_result(build, value, None, self.timeout_secs)

    def close(self) -> None:
        self._worker.close()

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def to_measure_result(build: BuildResult, value: dict[str, Any] | None, error: Exception | None, timeout_secs: float) -> MeasureResult:
    """The MeasureResult of one run job's answer (``value``) or of the worker failure in its place."""
    if isinstance(error, WorkerTimeout):
        return MeasureResult.failed(TIMEOUT, f"run: timeout after {timeout_secs:g} s", build.trace, build.build_secs)
    if error is not None:
        return MeasureResult.failed(RUN_ERROR, f"run: {error}", build.trace, build.build_secs)
    assert value is not None
    errors = {"max_abs_error": value.get("max_abs_error"), "rel_l2_error": value.get("rel_l2_error")}
    if value.get("wrong"):
        return MeasureResult(
            run_secs=(), status=WRONG_RESULT, trace=build.trace, build_secs=build.build_secs,
            error=f"wrong result: max abs error {errors['max_abs_error']:.3g}, relative L2 error {errors['rel_l2_error']:.3g}",
            **errors,
        )
    return MeasureResult(run_secs=tuple(value["run_secs"]), status=OK, trace=build.trace, build_secs=build.build_secs, **errors)
