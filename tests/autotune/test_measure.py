"""Builders and runners: planted failures cost one trial each, with the reason recorded."""

from __future__ import annotations

import numpy as np
import pytest

from autotune.measure.builder import Builder
from autotune.measure.check import arg_specs, make_check
from autotune.measure.pool import Worker, WorkerCrashed, WorkerError, WorkerPool, WorkerTimeout, Call
from autotune.measure.result import MeasureResult
from autotune.measure.runner import Runner, compare
from dsl.lower import lower
from schedules.config import Config

HOOKS = "autotune_hooks:apply_planted"


def test_worker_returns_json_value_and_survives_a_failing_job():
    w = Worker()
    try:
        assert w.call("json:dumps", {"obj": [1, "a"]}, timeout_secs=30) == '[1, "a"]'
        with pytest.raises(WorkerError, match="TypeError"):
            w.call("json:dumps", {"nope": 1}, timeout_secs=30)
        pid = w.pid
        assert w.call("os.path:basename", {"p": "/a/b"}, timeout_secs=30) == "b"
        assert w.pid == pid  # a job that raised does not cost the process
    finally:
        w.close()


def test_worker_killed_on_timeout_and_restarted_for_the_next_call():
    w = Worker()
    try:
        with pytest.raises(WorkerTimeout):
            w.call("autotune_hooks:sleep", {"secs": 60}, timeout_secs=2)
        assert w.pid is None
        assert w.call("os.path:basename", {"p": "/a/b"}, timeout_secs=30) == "b"
    finally:
        w.close()


def test_worker_crash_names_the_signal():
    w = Worker()
    try:
        with pytest.raises(WorkerCrashed, match="SIGABRT"):
            w.call("os:abort", {}, timeout_secs=30)
        assert w.call("os.path:basename", {"p": "/a/b"}, timeout_secs=30) == "b"
    finally:
        w.close()


def test_worker_start_and_preload_are_not_charged_to_the_first_call():
    # a cold `import tvm` took longer than the 6 s build limit on a loaded CI machine
    w = Worker(env={"OPFORGE_TEST_IMPORT_SECS": "3"}, preload=["autotune_slow_import"])
    try:
        assert w.call("autotune_slow_import:hello", {}, timeout_secs=1) == "hello"
    finally:
        w.close()


def test_worker_that_cannot_import_its_preload_names_the_module():
    w = Worker(preload=["json", "no_such_module_for_opforge"])
    try:
        with pytest.raises(WorkerCrashed, match="could not start: import no_such_module_for_opforge: ModuleNotFoundError"):
            w.call("os.path:basename", {"p": "/a/b"}, timeout_secs=30)
        assert w.pid is None
    finally:
        w.close()


def test_worker_that_does_not_start_in_time_is_killed():
    w = Worker(env={"OPFORGE_TEST_IMPORT_SECS": "60"}, preload=["autotune_slow_import"], start_timeout_secs=1)
    try:
        with pytest.raises(WorkerCrashed, match="did not start within 1 s"):
            w.call("autotune_slow_import:hello", {}, timeout_secs=30)
        assert w.pid is None
    finally:
        w.close()


def test_pool_runs_calls_in_parallel_and_keeps_order():
    with WorkerPool(2) as pool:
        out = pool.map([Call("os.path:basename", {"p": f"/x/{i}"}) for i in range(5)], timeout_secs=30)
    assert [o.value for o in out] == [str(i) for i in range(5)]


@pytest.fixture(scope="module")
def planted_builds(tmp_path_factory):
    """One batch of builds of the 32^3 matmul, one planted failure per mode."""
    from dsl.library import matmul
    from targets import Target

    target = Target(name="cpu", kind="cpu", tvm={"kind": "llvm", "num-cores": 1}, cores=1, hardware={"test": 1})
    func = lower(matmul().bind(M=32, N=32, K=32))
    modes = ["ok", "raise", "hang", "segfault", "spin", "wrong"]
    configs = [Config.of({"mode": m, "tile": 8}) for m in modes]
    builder = Builder(n_workers=2, timeout_secs=6, work_dir=str(tmp_path_factory.mktemp("build")), apply=HOOKS)
    try:
        results = builder.build(func, configs, target)
    finally:
        builder.close()
    return dict(zip(modes, results))


def test_build_that_raises_is_a_build_error(planted_builds):
    r = planted_builds["raise"]
    assert r.status == "build_error" and "planted schedule error" in r.error and r.artifact is None


def test_build_that_hangs_is_a_timeout(planted_builds):
    r = planted_builds["hang"]
    assert r.status == "timeout" and r.error == "build: timeout after 6 s"


def test_build_exports_a_shared_library(planted_builds):
    r = planted_builds["ok"]
    assert r.ok and r.artifact.endswith(".so") and r.trace == '{"tile": 8}' and r.build_secs > 0


@pytest.fixture(scope="module")
def measured(planted_builds, tmp_path_factory):
    from dsl.library import matmul

    op = matmul().bind(M=32, N=32, K=32)
    check = make_check(op, np.random.default_rng(0), str(tmp_path_factory.mktemp("check")))
    order = ["ok", "raise", "hang", "segfault", "spin", "wrong", "ok"]
    with Runner(timeout_secs=5, repeats=3, min_repeat_ms=5, env={"TVM_NUM_THREADS": "1"}) as runner:
        results = runner.run([planted_builds[m] for m in order], arg_specs(op), check)
    return list(zip(order, results))


def test_correct_kernel_is_timed_with_repeats(measured):
    mode, r = measured[0]
    assert r.ok and len(r.run_secs) == 3 and 0 < r.median_secs < 0.1
    assert r.max_abs_error is not None and r.max_abs_error < 1e-4


def test_build_failures_pass_through_the_runner(measured):
    assert measured[1][1].status == "build_error" and measured[2][1].status == "timeout"


def test_segfaulting_kernel_is_one_run_error(measured):
    r = measured[3][1]
    assert r.status == "run_error" and "SIGSEGV" in r.error and r.run_secs == () and r.cost == float("inf")


def test_hanging_kernel_is_one_timeout(measured):
    r = measured[4][1]
    assert r.status == "timeout" and r.error == "run: timeout after 5 s"


def test_wrong_kernel_is_never_a_result(measured):
    r = measured[5][1]
    assert r.status == "wrong_result" and r.run_secs == () and r.max_abs_error > 0.1
    assert "wrong result: max abs error" in r.error


def test_runner_goes_on_after_crashes(measured):
    assert measured[6][1].ok


def test_runner_hook_that_aborts_costs_one_trial(planted_builds):
    ok = planted_builds["ok"]
    with Runner(timeout_secs=20, job="autotune_hooks:abort_run") as runner:
        (r,) = runner.run([ok], (), None)
    assert r.status == "run_error" and "SIGABRT" in r.error


def test_the_runner_worker_keeps_numpy_to_one_blas_thread(planted_builds):
    # OpenBLAS threads left spinning by the check's norms doubled the next timings on 2 cores
    with Runner(timeout_secs=20, job="autotune_hooks:report_blas_threads", env={"TVM_NUM_THREADS": "1"}) as runner:
        (r,) = runner.run([planted_builds["ok"]], (), None)
    assert "OPENBLAS_NUM_THREADS=1" in r.error


def test_compare_flags_nan_and_shape():
    a = np.ones((2, 2), np.float32)
    assert compare(a, a, 1e-4, 1e-4)[0]
    b = a.copy()
    b[0, 0] = np.nan
    assert not compare(b, a, 1e-4, 1e-4)[0]
    assert not compare(a[:1], a, 1e-4, 1e-4)[0]


def test_failed_result_costs_infinity_and_ok_needs_times():
    assert MeasureResult.failed("timeout", "x").cost == float("inf")
    with pytest.raises(ValueError, match="at least one run time"):
        MeasureResult(run_secs=())
    with pytest.raises(ValueError, match="unknown status"):
        MeasureResult(run_secs=(), status="crashed")
    assert MeasureResult(run_secs=(1.0, 2.0, 4.0)).spread == pytest.approx(1.5)


def test_kernel_slower_than_the_cutoff_is_timed_once(planted_builds, tmp_path):
    from dsl.library import matmul

    op = matmul().bind(M=32, N=32, K=32)
    check = make_check(op, np.random.default_rng(0), str(tmp_path))
    with Runner(timeout_secs=5, repeats=3, min_repeat_ms=5, env={"TVM_NUM_THREADS": "1"}) as runner:
        slow, fast = (runner.run([planted_builds["ok"]], arg_specs(op), check, cutoff_secs=c)[0] for c in (1e-9, 10.0))
    assert slow.ok and len(slow.run_secs) == 1 and slow.max_abs_error < 1e-4  # still checked against the reference
    assert fast.ok and len(fast.run_secs) == 3
