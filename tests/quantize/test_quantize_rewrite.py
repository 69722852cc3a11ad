"""The quantize rewrite in the DSL: legality, calibration, and its numerics (numpy reference only)."""

import numpy as np
import pytest

from autotune.measure.check import quantized_error_bound
from dsl import library
from dsl.expr import reduce_sum
from dsl.index import axes
from dsl.op import Op, compute, tensor
from dsl.reference import reference
from dsl.sizes import dims
from schedules import ScheduleError
from schedules.quantize import (
    SIGNED, UNSIGNED, UNSIGNED_7BIT, Calibration, calibrate, calibrated, plan, quantized_op, read_calibrated, scheme_reasons,
)

from quantize_cases import calibrated_case

CASES = [
    ("matmul", {}, dict(M=8, N=32, K=64)),
    ("dense", {"bias": True, "epilogue": "relu"}, dict(M=8, N=32, K=64)),
    ("dense", {"bias": True, "epilogue": "gelu"}, dict(M=5, N=16, K=24)),
    ("conv2d_nchw", {"padding": 1}, dict(N=1, C=8, H=6, W=6, K=16, R=3, S=3)),
]


@pytest.mark.parametrize("name,params,shape", CASES)
@pytest.mark.parametrize("scheme", ["int8_per_tensor", "int8_per_channel"])
@pytest.mark.parametrize("mode", [SIGNED, UNSIGNED, UNSIGNED_7BIT], ids=["s8", "u8", "u7"])
def test_quantized_result_is_within_the_stated_error_bound(name, params, shape, scheme, mode):
    op, _, calibration, inputs = calibrated_case(name, params, shape)
    want = reference(op, *inputs)
    got = reference(quantized_op(op, scheme, calibration, mode), *inputs)
    bound = quantized_error_bound(op, calibration, inputs, [want])
    assert np.abs(got - want).max() <= bound
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-2


@pytest.mark.parametrize("name,params,shape", CASES)
def test_a_zero_point_changes_nothing_the_int32_sums_stay_exact(name, params, shape):
    op, _, calibration, inputs = calibrated_case(name, params, shape)
    signed = reference(quantized_op(op, "int8_per_channel", calibration, SIGNED), *inputs)
    unsigned = reference(quantized_op(op, "int8_per_channel", calibration, UNSIGNED), *inputs)
    np.testing.assert_array_equal(signed, unsigned)


def test_the_quantized_op_keeps_inputs_and_the_reduction_stage_name():
    op, _, calibration, _ = calibrated_case("dense", {"bias": True, "epilogue": "relu"}, dict(M=4, N=16, K=8))
    q = quantized_op(op, "int8_per_tensor", calibration)
    assert q.inputs == op.inputs
    assert "C" in [st.name for st in q.stages] and q.outputs == ("Y",)
    assert q.stage("C").dtype == "int32" and q.stage("X_q").dtype == "int8"


def test_plan_names_activation_weight_and_channel():
    assert plan(library.get("matmul").bind(M=4, N=4, K=4)) == plan(library.get("matmul").bind(M=8, N=8, K=8))
    p = plan(library.get("conv2d_nchw").bind(N=1, C=2, H=4, W=4, K=3, R=3, S=3))
    assert (p.activation, p.weight, p.channel_axis) == ("X", "F", "k")


@pytest.mark.parametrize("name,params,why", [
    ("softmax", {}, "sums products"),
    ("matmul_int8", {}, "already quantized"),
    ("batch_matmul", {}, "does not move with b"),
    ("matmul", {"dtype": "float16"}, "float32"),
])
def test_ops_that_cannot_be_quantized_say_why(name, params, why):
    op = library.get(name, **params)
    with pytest.raises(ScheduleError, match=why):
        plan(op)


def test_per_channel_needs_a_weight_indexed_by_one_output_axis():
    M, K = dims("M K")
    A, w = tensor("A", (M, K)), tensor("w", (K,))
    i, k = axes(i=M, k=K)
    matvec = Op("matvec", [A, w], [compute("y", (i,), reduce_sum(A[i, k] * w[k], k))]).bind(M=4, K=8)
    reasons = scheme_reasons(matvec, Calibration("A", 1.0, 1))
    assert set(reasons) == {"int8_per_channel"} and "no single output axis" in reasons["int8_per_channel"]


def test_calibration_is_deterministic_and_travels_with_the_primfunc():
    op, func, calibration, _ = calibrated_case("matmul", {}, dict(M=8, N=8, K=8))
    _, func2, calibration2, _ = calibrated_case("matmul", {}, dict(M=8, N=8, K=8))
    assert calibration == calibration2
    back_op, back_cal = read_calibrated(func)
    assert back_op == op and back_cal == calibration
    assert Calibration.from_json(calibration.to_json()) == calibration


def test_calibration_takes_the_largest_activation_over_batches(rng):
    op = library.get("matmul").bind(M=2, N=2, K=2)
    a = [np.full((2, 2), 0.5, "float32"), np.full((2, 2), -3.0, "float32")]
    b = np.ones((2, 2), "float32")
    assert calibrate(op, [[a[0], b], [a[1], b]]).absmax == 3.0
    with pytest.raises(ScheduleError):
        calibrated(library.get("softmax").bind(M=2, N=2), Calibration("X", 1.0, 1))
