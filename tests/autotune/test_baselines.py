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
