"""numpy counts as a peer only where it computes the same thing, and only where it has BLAS."""

import numpy as np

from autotune.baselines import numpy_equivalent


def test_matmul_float32_finds_a_at_b(rng):
    a, b = rng.standard_normal((8, 5)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    found = numpy_equivalent("matmul", [a, b], [a @ b], 1e-4, 1e-4)
    assert found is not None and found[0] == "a @ b"


def test_a_numpy_expression_with_another_result_is_not_a_peer(rng):
    a, b = rng.standard_normal((4, 4)).astype(np.float32), rng.standard_normal((4, 4)).astype(np.float32)
    assert numpy_equivalent("matmul", [a, b], [a @ b + 1.0], 1e-4, 1e-4) is None


def test_float16_has_no_numpy_peer(rng):
    """Regression (H100 bench, matmul 4096^3 f16): numpy's float16 matmul is a scalar loop that took
    minutes per call, so the peer timing alone outlasted the tuning run."""
    a, b = rng.standard_normal((8, 8)).astype(np.float16), rng.standard_normal((8, 8)).astype(np.float16)
    assert numpy_equivalent("matmul", [a, b], [a @ b], 1e-2, 1e-2) is None


def test_numpy_is_timed_in_a_process_of_its_own_with_the_blas_threads_asked_for(rng, tmp_path):
    # in the tuner's process, beside XGBoost's and TVM's thread pools, numpy's matmul ran at half speed
    import os

    from autotune.baselines import NumpyTimer
    from autotune.measure.runner import write_check

    a, b = rng.standard_normal((64, 32)).astype(np.float32), rng.standard_normal((32, 16)).astype(np.float32)
    check = write_check(str(tmp_path / "check"), [a, b], [a @ b], 1e-4, 1e-4)
    with NumpyTimer(threads=1) as time_numpy:
        secs = time_numpy("matmul", "a @ b", check.path, 2)
        assert 0 < secs < 0.01
        # the job itself, asked what it sees: another process, one BLAS thread
        seen = time_numpy._worker.call("os:getpid", {}, 30), time_numpy._worker.call("os:getenv", {"key": "OPENBLAS_NUM_THREADS"}, 30)
    assert seen[0] != os.getpid() and seen[1] == "1"
