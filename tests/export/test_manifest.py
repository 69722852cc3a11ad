"""The manifest: one JSON round trip, kernel lookup with errors that list what is there."""

from __future__ import annotations

import json

import pytest

from autotune.export.manifest import ArgInfo, KernelInfo, Manifest, Measured, TargetEntry


def _manifest(names=("mm",)) -> Manifest:
    kernels = tuple(
        KernelInfo(
            name=n, function=n, c_function=f"opforge_{n}", op_name="matmul", workload_key="ab" * 32, workload_text="opforge.op @matmul",
            sizes={"M": 2, "N": 3, "K": 4}, config='{"C.unroll":16}', source="tuned",
            args=(ArgInfo("A", (2, 4), "float32", False), ArgInfo("B", (4, 3), "float32", False), ArgInfo("C", (2, 3), "float32", True)),
            measured=Measured((1e-6, 1.1e-6, 1.3e-6)), record={"host": "h"}, trace_matches_record=True,
        )
        for n in names
    )
    target = TargetEntry("cpu", "cpu", '{"name":"cpu"}', "fp", {"kind": "llvm"}, 1, {"model": "x"})
    return Manifest("mm.so", "mm.h", target, kernels, "0.1.0", "0.27", "0.1.14", "2025-01-01T00:00:00+00:00")


def test_manifest_round_trips_through_json() -> None:
    m = _manifest(("mm", "mm2"))
    assert Manifest.from_json(m.to_json()) == m
    data = json.loads(m.to_json())
    assert data["kernels"][0]["config"] == {"C.unroll": 16}  # the Config is readable JSON, not a string
    assert data["kernels"][0]["measured"]["median_secs"] == pytest.approx(1.1e-6)
    assert data["kernels"][0]["measured"]["spread"] == pytest.approx(0.3 / 1.1)
    assert data["target"]["device"] == "cpu"


def test_kernel_lookup_names_the_kernels_there() -> None:
    assert _manifest().kernel().name == "mm"
    two = _manifest(("a", "b"))
    with pytest.raises(KeyError, match=r"holds 2 kernels \['a', 'b'\]"):
        two.kernel()
    with pytest.raises(KeyError, match="no kernel 'c'"):
        two.kernel("c")


def test_a_foreign_json_is_not_a_manifest() -> None:
    with pytest.raises(ValueError, match="not an opforge export manifest"):
        Manifest.from_json('{"format": "something-else"}')
