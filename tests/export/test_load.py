"""``load``: numpy and DLPack arguments checked against the manifest, outputs allocated, runtime-only use."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from autotune.export import ArgumentError, FingerprintWarning, load
from runtime_only_run import run_runtime_only


@pytest.fixture
def kernel(exported_dir: Path):
    return load(exported_dir / "matmul.so")


@pytest.fixture
def ab(rng):
    return rng.standard_normal((64, 64), dtype=np.float32), rng.standard_normal((64, 64), dtype=np.float32)


def test_kernel_allocates_its_output_from_numpy_inputs(kernel, ab) -> None:
    a, b = ab
    c = kernel(a, b)
    assert isinstance(c, np.ndarray) and c.shape == (64, 64) and c.dtype == np.float32
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_kernel_writes_a_given_output_even_an_unaligned_one(kernel, ab) -> None:
    a, b = ab
    expected = kernel(a, b)
    out = np.zeros((64, 64), np.float32)
    assert kernel(a, b, out) is out and np.array_equal(out, expected)
    storage = np.zeros(64 * 64 + 1, np.float32)
    unaligned = storage[1:].reshape(64, 64)  # 4 bytes past an aligned start: the kernel runs on a staged copy
    kernel(a, b, out=unaligned)
    assert np.array_equal(unaligned, expected)
    assert np.array_equal(kernel(np.asfortranarray(a), b), expected)  # a strided input is made dense first


def test_kernel_takes_torch_tensors_and_returns_one(kernel, ab) -> None:
    torch = pytest.importorskip("torch")
    a, b = ab
    c = kernel(torch.from_numpy(a), torch.from_numpy(b))
    assert isinstance(c, torch.Tensor) and np.array_equal(c.numpy(), kernel(a, b))
    with pytest.raises(ArgumentError, match="argument A has dtype float64, expected float32"):
        kernel(torch.from_numpy(a).double(), torch.from_numpy(b))


@pytest.mark.parametrize(
    ("make_args", "error", "message"),
    [
        (lambda a, b: (a[:32], b), ArgumentError, r"argument A has shape \(32, 64\), expected float32\(64, 64\)"),
        (lambda a, b: (a, b.astype(np.float64)), ArgumentError, "argument B has dtype float64, expected float32"),
        (lambda a, b: ([[1.0]], b), ArgumentError, "argument A is a list; expected a numpy array or a DLPack tensor"),
        (lambda a, b: (a,), TypeError, r"takes 2 inputs \(A, B\), optionally followed by its 1 output\(s\) \(C\); got 1"),
        (lambda a, b: (a, b, np.zeros((64, 64), np.float16)), ArgumentError, "output C has dtype float16"),
    ],
)
def test_wrong_arguments_are_named_in_the_error(kernel, ab, make_args, error, message) -> None:
    with pytest.raises(error, match=message):
        kernel(*make_args(*ab))


def test_loading_on_other_hardware_warns_once(library_copy: Path, ab) -> None:
    manifest = library_copy / "matmul.json"
    data = json.loads(manifest.read_text())
    data["target"]["fingerprint"] = "0123456789abcdef"
    manifest.write_text(json.dumps(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        k = load(library_copy / "matmul.so")
        for _ in range(3):
            k(*ab)
    mismatch = [w for w in caught if issubclass(w.category, FingerprintWarning)]
    assert len(mismatch) == 1 and "tuned on hardware 0123456789abcdef" in str(mismatch[0].message)


def test_loading_on_the_tuning_hardware_is_silent(exported_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(exported_dir / "matmul.json")


def test_a_missing_manifest_says_what_is_needed(tmp_path: Path) -> None:
    (tmp_path / "k.so").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no manifest .*k.json"):
        load(tmp_path / "k.so")


def test_loading_needs_neither_the_compiler_nor_opforge_dependencies(exported_dir: Path, tmp_path: Path, kernel, ab) -> None:
    out, warned = run_runtime_only(exported_dir / "matmul.so", tmp_path, list(ab))
    assert np.array_equal(out, kernel(*ab)) and warned == ""
