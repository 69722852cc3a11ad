"""verify() rejects each kind of wrong op with one message naming the tensor and the axis."""

import pytest

from dsl import Op, VerifyError, axes, cast, compute, derived, dims, reduce_sum, tensor, verify
from dsl.expr import Reduce, Tensor


def matmul_parts(dtype_a="float32", dtype_b="float32"):
    M, N, K = dims("M N K")
    A, B = tensor("A", (M, K), dtype_a), tensor("B", (K, N), dtype_b)
    i, j, k = axes(i=M, j=N, k=K)
    return M, N, K, A, B, i, j, k


def test_a_correct_matmul_verifies_and_is_returned():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("matmul", [A, B], [compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))]).bind(M=4, N=5, K=6)
    assert verify(op, require_bound=True) is op


def test_operand_rank_mismatch_names_tensor():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("bad", [A, B], [compute("C", (i, j), reduce_sum(A[i, k, j] * B[k, j], k))])
    with pytest.raises(VerifyError, match=r"operand shape mismatch: stage C indexes A with 3 indices but A has rank 2"):
        verify(op)


def test_operand_declared_with_another_shape_is_a_shape_mismatch():
    M, N, K, A, B, i, j, k = matmul_parts()
    wrong_a = Tensor("A", (K, M), "float32")  # same name, transposed shape
    op = Op("bad", [A, B], [compute("C", (i, j), reduce_sum(wrong_a[i, k] * B[k, j], k))])
    with pytest.raises(VerifyError, match=r"operand shape mismatch: stage C reads A as tensor<KxMxfloat32> but it is declared tensor<MxKxfloat32>"):
        verify(op)


def test_index_out_of_range_for_bound_size_names_tensor_and_axis():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("bad", [A, B], [compute("C", (i, j), reduce_sum(A[i, k + 1] * B[k, j], k))]).bind(M=4, N=4, K=8)
    with pytest.raises(VerifyError, match=r"index out of range: stage C reads A axis 1 at \[k \+ 1\] over \[1, 8\], but A axis 1 has size 8 \(K\)"):
        verify(op)


def test_index_out_of_range_is_allowed_for_a_guarded_read():
    (M,) = dims("M")
    X = tensor("X", (M,))
    (i,) = axes(i=M)
    op = Op("shift", [X], [compute("Y", (i,), X.padded(i + 1, value=0.0))]).bind(M=8)
    assert verify(op) is op


def test_unknown_dtype_names_tensor():
    (M,) = dims("M")
    X = tensor("X", (M,), "float64")
    (i,) = axes(i=M)
    with pytest.raises(VerifyError, match=r"tensor X: unknown dtype 'float64'; expected one of \['bfloat16', 'float16', 'float32', 'int32', 'int8', 'uint8'\]"):
        verify(Op("bad", [X], [compute("Y", (i,), X[i])]))


def test_reduction_axis_in_output_index_is_rejected():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("bad", [A, B], [compute("C", (i, k), reduce_sum(A[i, k] * B[k, j], k))])
    with pytest.raises(VerifyError, match=r"stage C: reduction axis k is also in the output index \['i', 'k'\]"):
        verify(op)


def test_mixed_dtypes_without_cast_names_both_operands():
    M, N, K, A, B, i, j, k = matmul_parts("int8", "float32")
    op = Op("bad", [A, B], [compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))])
    with pytest.raises(VerifyError, match=r"stage C: mixed dtypes without a cast in mul: tensor A is int8 but tensor B is float32; insert cast\(\)"):
        verify(op)


def test_mixed_dtypes_pass_once_cast():
    M, N, K, A, B, i, j, k = matmul_parts("int8", "float32")
    op = Op("ok", [A, B], [compute("C", (i, j), reduce_sum(cast(A[i, k], "float32") * B[k, j], k))])
    assert verify(op) is op


def test_dimension_bound_twice_to_different_values():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("matmul", [A, B], [compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))]).bind(M=64)
    with pytest.raises(VerifyError, match=r"dimension M bound twice to different values: 64 and 128"):
        op.bind(M=128)
    assert op.bind(M=64).sizes["M"] == 64  # the same value again is fine


def test_zero_or_negative_extent_names_the_dimension():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("matmul", [A, B], [compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))])
    with pytest.raises(VerifyError, match=r"dimension K has extent 0 \(must be positive\); used by tensor A axis 1"):
        op.bind(M=4, N=4, K=0)


def test_derived_extent_that_is_not_positive_names_its_definition():
    H, R = dims("H R")
    OH = derived("OH", H - R + 1)
    X, W = tensor("X", (H,)), tensor("W", (R,))
    oh, r = axes(oh=OH, r=R)
    op = Op("conv1d", [X, W], [compute("Y", (oh,), reduce_sum(X[oh + r] * W[r], r))])
    with pytest.raises(VerifyError, match=r"dimension OH = H - R \+ 1 has extent -1"):
        op.bind(H=3, R=5)


def test_duplicate_tensor_names_are_rejected():
    M, N, K, A, B, i, j, k = matmul_parts()
    B_named_A = tensor("A", (K, N))
    op = Op("bad", [A, B_named_A], [compute("C", (i, j), reduce_sum(A[i, k] * B_named_A[k, j], k))])
    with pytest.raises(VerifyError, match=r"duplicate name 'A'"):
        verify(op)


def test_stage_reading_a_tensor_that_does_not_exist():
    M, N, K, A, B, i, j, k = matmul_parts()
    ghost = tensor("Z", (M, N))
    op = Op("bad", [A, B], [compute("C", (i, j), ghost[i, j])])
    with pytest.raises(VerifyError, match=r"stage C reads tensor 'Z', which is neither an input nor an earlier stage"):
        verify(op)


def test_stage_reading_a_later_stage_is_rejected():
    M, N, K, A, B, i, j, k = matmul_parts()
    later = tensor("D", (M, N))
    op = Op("bad", [A, B], [compute("C", (i, j), later[i, j]), compute("D", (i, j), A[i, 0])])
    with pytest.raises(VerifyError, match=r"stage C reads tensor 'D'"):
        verify(op)


def test_reduction_with_no_reduction_axis():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("bad", [A, B], [compute("C", (i, j), Reduce("sum", A[i, 0] * B[0, j], ()))])
    with pytest.raises(VerifyError, match=r"stage C: reduction sum has no reduction axis"):
        verify(op)


def test_axis_neither_output_nor_reduced_is_rejected():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("bad", [A, B], [compute("C", (i, j), A[i, k])])
    with pytest.raises(VerifyError, match=r"stage C: A axis 1 is indexed by k, which is neither an output axis nor a reduction axis"):
        verify(op)


def test_nested_reduction_is_rejected():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("bad", [A, B], [compute("C", (i, j), reduce_sum(A[i, k], k) + 1.0)])
    with pytest.raises(VerifyError, match=r"a reduction must be the whole body of a stage"):
        verify(op)


def test_binding_an_unknown_dimension_lists_the_real_ones():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("matmul", [A, B], [compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))])
    with pytest.raises(VerifyError, match=r"op matmul has no dimension 'Q'; its dimensions are \['M', 'K', 'N'\]"):
        op.bind(Q=3)


def test_lowering_requires_every_dimension_bound():
    M, N, K, A, B, i, j, k = matmul_parts()
    op = Op("matmul", [A, B], [compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))]).bind(M=4)
    with pytest.raises(VerifyError, match=r"op matmul: dimension K, N is unbound"):
        verify(op, require_bound=True)


def test_exp_of_an_integer_asks_for_a_cast():
    (M,) = dims("M")
    X = tensor("X", (M,), "int8")
    (i,) = axes(i=M)
    from dsl import exp

    with pytest.raises(VerifyError, match=r"stage Y: exp needs a float operand, got int8; cast it first"):
        verify(Op("bad", [X], [compute("Y", (i,), exp(X[i]))]))
