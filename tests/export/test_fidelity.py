"""Fidelity: the exported kernel computes bit for bit what the measured kernel computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from autotune.export import SerialFallbackWarning, load, load_library
from autotune.export.export import ExportItem, export_library
from runtime_only_run import run_runtime_only
from tuning_db import open_db


def _measured_outputs(op, config_json: str, target, inputs) -> np.ndarray:
    """Build ``config_json`` as the tuner did (Builder worker) and run it as the runner does (TVM runtime)."""
    import tvm

    from autotune.measure import Builder
    from dsl.lower import lower
    from schedules import Config

    with Builder(n_workers=1) as builder:
        (build,) = builder.build(lower(op), [Config.from_json(config_json)], target)
        assert build.ok, build.error
        lib = tvm.runtime.load_module(build.artifact)
        dev = tvm.cpu()
        out = np.zeros(op.shape_of(op.output_tensors[0]), np.float32)
        tensors = [tvm.runtime.tensor(x, dev) for x in (*inputs, out)]
        lib["main"](*tensors)
        return tensors[-1].numpy()


def _same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()


def test_exported_kernel_matches_the_measured_one_bit_for_bit(tuned, exported_dir: Path, rng, tmp_path: Path) -> None:
    from dsl.key import workload_key

    with open_db(tuned.url) as db:
        best = db.best(workload_key(tuned.op), tuned.target.canonical(), tuned.target.fingerprint())
        # the same kernel inside a library of several
        export_library([ExportItem("first", tuned.op), ExportItem("second", tuned.op)], tuned.target, db, tmp_path, lib_name="two")
    inputs = [rng.standard_normal((64, 64), dtype=np.float32) for _ in range(2)]
    measured = _measured_outputs(tuned.op, best.config, tuned.target, inputs)
    assert _same_bits(load(exported_dir / "matmul.so")(*inputs), measured)
    two = load_library(tmp_path / "two.so")
    assert _same_bits(two["first"](*inputs), measured) and _same_bits(two["second"](*inputs), measured)


def test_a_parallel_kernel_without_tvm_runtime_warns_and_gives_the_same_bits(tuned, tmp_path: Path, rng) -> None:
    from autotune.export.load import has_parallel_loops
    from dsl.library import matmul
    from targets.cpu import host_cpu

    op = matmul().bind(M=64, N=48, K=32)
    two_cores = host_cpu(2)
    with open_db(tuned.url) as db:
        result = export_library([ExportItem("mm", op)], two_cores, db, tmp_path / "lib", fallback="default")
    assert has_parallel_loops(result.library), "the default schedule of a 2-core target has parallel loops"
    inputs = [rng.standard_normal((64, 32), dtype=np.float32), rng.standard_normal((32, 48), dtype=np.float32)]
    serial, warned = run_runtime_only(result.library, tmp_path, inputs)
    assert warned == SerialFallbackWarning.__name__
    measured = _measured_outputs(op, result.manifest.kernels[0].config, two_cores, inputs)
    assert _same_bits(load(result.library)(*inputs), measured) and _same_bits(serial, measured)
