"""The workload key: a pinned sha256 of the canonical text, changed by any change to the workload."""

from __future__ import annotations

import hashlib

import pytest

from dsl import Op, axes, canonical_text, compute, dims, parse, print_op, reduce_sum, relu, tensor, workload_key

# sha256 of the canonical text of float32 matmul 1024x1024x1024, built as golden_matmul builds it.
# If this test fails, the printer or the hash changed: every stored tuning record loses its workload.
GOLDEN_MATMUL_KEY = "3065fc19fea991e5416a1b1812ca4494eae86b9e88ea124b4238c2db5c71bb7e"


def golden_matmul(dtype: str = "float32", body=None) -> Op:
    M, N, K = dims("M N K")
    A = tensor("A", (M, K), dtype)
    B = tensor("B", (K, N), dtype)
    i, j, k = axes(i=M, j=N, k=K)
    C = compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k) if body is None else body(A, B, i, j, k))
    return Op("matmul", [A, B], [C])


def test_golden_key_of_float32_matmul_1024() -> None:
    op = golden_matmul().bind(M=1024, N=1024, K=1024)
    assert workload_key(op) == GOLDEN_MATMUL_KEY


def test_key_is_the_sha256_of_the_canonical_text() -> None:
    op = golden_matmul().bind(M=1024, N=1024, K=1024)
    text = canonical_text(op)
    assert workload_key(op) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert text.startswith("opforge.op @matmul dims {M = 1024, K = 1024, N = 1024} {\n")
    assert "tensor<1024x1024xf32>" in text


@pytest.mark.parametrize("change", [
    lambda: golden_matmul().bind(M=1024, N=1024, K=512),
    lambda: golden_matmul().bind(M=1024, N=1024),
    lambda: golden_matmul("float16").bind(M=1024, N=1024, K=1024),
    lambda: golden_matmul(body=lambda A, B, i, j, k: reduce_sum(A[i, k] + B[k, j], k)).bind(M=1024, N=1024, K=1024),
    lambda: golden_matmul(body=lambda A, B, i, j, k: reduce_sum(relu(A[i, k] * B[k, j]), k)).bind(M=1024, N=1024, K=1024),
    lambda: golden_matmul(body=lambda A, B, i, j, k: reduce_sum(A[i, k] * B[k, j] * 1.0, k)).bind(M=1024, N=1024, K=1024),
], ids=["size", "unbound_size", "dtype", "body_op", "body_epilogue", "body_constant"])
def test_key_changes_with_size_dtype_or_body(change) -> None:
    assert workload_key(change()) != GOLDEN_MATMUL_KEY


def test_key_does_not_depend_on_binding_order_or_repeats() -> None:
    keys = {
        workload_key(golden_matmul().bind(K=1024, M=1024, N=1024)),
        workload_key(golden_matmul().bind(N=1024).bind(M=1024, K=1024)),
        workload_key(golden_matmul().bind(M=1024, N=1024, K=1024).bind(K=1024)),
    }
    assert keys == {GOLDEN_MATMUL_KEY}


def test_conflicting_bindings_keep_their_own_key() -> None:
    op = golden_matmul()
    conflict = Op(op.name, op.inputs, op.stages, bindings=(("M", 1024), ("N", 1024), ("K", 1024), ("K", 512)))
    assert "K = 1024, K = 512" in canonical_text(conflict)
    assert workload_key(conflict) != GOLDEN_MATMUL_KEY


def test_canonical_text_parses_to_the_op_with_bindings_in_dim_order() -> None:
    op = golden_matmul().bind(N=8, K=4, M=2)
    back = parse(canonical_text(op))
    assert back.bindings == (("M", 2), ("K", 4), ("N", 8))
    assert back == golden_matmul().bind(M=2, K=4, N=8)
    assert print_op(back) == canonical_text(op)


def test_key_is_64_lowercase_hex_digits() -> None:
    key = workload_key(golden_matmul())
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")
