"""``export_library`` and ``opforge export``: manifest contents, missing records, fallback, several ops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from autotune.cli import cli
from autotune.export import load, load_library, read_manifest
from autotune.export.export import ExportItem, NoRecordError, export_library
from tuning_db import open_db


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_manifest_describes_the_best_record(tuned, exported_dir: Path) -> None:
    import tvm
    import tvm_ffi

    from dsl.key import canonical_text, workload_key

    m = read_manifest(exported_dir / "matmul.so")
    (k,) = m.kernels
    with open_db(tuned.url) as db:
        best = db.best(workload_key(tuned.op), tuned.target.canonical(), tuned.target.fingerprint())
    assert k.workload_key == workload_key(tuned.op) and k.workload_text == canonical_text(tuned.op)
    assert k.config == best.config and k.source == "tuned"
    assert k.measured is not None and k.measured.run_secs == best.run_secs and k.measured.median_secs == best.median_secs
    assert k.record["uid"] == best.uid and k.trace_matches_record is True
    assert [(a.name, a.shape, a.dtype, a.is_output) for a in k.args] == [
        ("A", (64, 64), "float32", False), ("B", (64, 64), "float32", False), ("C", (64, 64), "float32", True),
    ]
    assert m.target.fingerprint == tuned.target.fingerprint() and m.target.canonical == tuned.target.canonical()
    assert m.tvm_version == tvm.__version__ and m.tvm_ffi_version == tvm_ffi.__version__ and m.opforge_version
    assert {p.name for p in exported_dir.iterdir()} >= {"matmul.so", "matmul.json", "matmul.h"}
    assert "int opforge_matmul(const float* A, int64_t A_size" in (exported_dir / "matmul.h").read_text()


def test_no_record_is_a_clear_error(tuned, tmp_path: Path) -> None:
    from dsl.library import matmul

    other = matmul().bind(M=32, N=64, K=64)
    with open_db(tuned.url) as db, pytest.raises(NoRecordError, match=r"no tuned record of matmul \(K=64,M=32,N=64.*--fallback default"):
        export_library([ExportItem("mm", other)], tuned.target, db, tmp_path)
    assert not list(tmp_path.iterdir())


def test_fallback_builds_the_default_schedule_and_says_so(tuned, tmp_path: Path, rng) -> None:
    from dsl.library import matmul
    from dsl.lower import lower
    from schedules import space_for

    other = matmul().bind(M=32, N=64, K=64)
    with open_db(tuned.url) as db:
        result = export_library([ExportItem("mm", other)], tuned.target, db, tmp_path, fallback="default")
    (k,) = result.manifest.kernels
    assert k.source == "default" and k.measured is None and k.record is None
    assert k.config == space_for(lower(other), tuned.target).default().to_json()
    a, b = rng.standard_normal((32, 64), dtype=np.float32), rng.standard_normal((64, 64), dtype=np.float32)
    np.testing.assert_allclose(load(result.library)(a, b), a @ b, rtol=1e-4, atol=1e-4)


def test_several_ops_go_into_one_library(tuned, tmp_path: Path, rng) -> None:
    from dsl.library import relu

    act = relu().bind(M=4, N=25)
    with open_db(tuned.url) as db:
        result = export_library(
            [ExportItem("mm64", tuned.op), ExportItem("act", act)], tuned.target, db, tmp_path, lib_name="model", fallback="default"
        )
    assert [(k.name, k.source) for k in result.manifest.kernels] == [("mm64", "tuned"), ("act", "default")]
    lib = load_library(tmp_path / "model.so")
    a, b = rng.standard_normal((64, 64), dtype=np.float32), rng.standard_normal((64, 64), dtype=np.float32)
    x = rng.standard_normal((4, 25), dtype=np.float32)
    np.testing.assert_allclose(lib["mm64"](a, b), a @ b, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(lib["act"](x), np.maximum(x, 0))
    with pytest.raises(KeyError, match=r"holds 2 kernels \['mm64', 'act'\]"):
        load(tmp_path / "model.so")
    header = (tmp_path / "model.h").read_text()
    assert "int opforge_mm64(" in header and "int opforge_act(const float* X, int64_t X_size" in header


def test_cli_exports_a_tuned_op(tuned, tmp_path: Path) -> None:
    out = _invoke("export", "matmul", "--shape", "M=64,N=64,K=64", "--target", "cpu:1", "--db", tuned.url, "-o", str(tmp_path), "--json")
    assert out.exit_code == 0, out.output
    manifest = json.loads(out.output)
    assert manifest["kernels"][0]["source"] == "tuned" and manifest["library"] == "matmul.so"
    assert (tmp_path / "matmul.so").is_file() and (tmp_path / "matmul.json").is_file() and (tmp_path / "matmul.h").is_file()


def test_cli_without_a_record_fails_in_one_line_or_falls_back(tuned, tmp_path: Path) -> None:
    args = ["export", "matmul", "--shape", "M=16,N=64,K=64", "--target", "cpu:1", "--db", tuned.url, "-o", str(tmp_path)]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 2 and "no tuned record of matmul" in out.output and "--fallback default" in out.output
    out = _invoke(*args, "--fallback", "default")
    assert out.exit_code == 0, out.output
    assert "untuned default schedule" in " ".join(out.output.split())


def test_cli_exports_an_ops_file_into_one_library(tuned, tmp_path: Path) -> None:
    ops = tmp_path / "model_ops.jsonl"
    ops.write_text(
        '{"op": "matmul", "shape": "M=64,N=64,K=64", "name": "mm"}\n'
        '# the activation has no record: it falls back\n'
        '{"op": "relu", "shape": "M=16,N=16"}\n'
    )
    out = _invoke("export", "--ops-file", str(ops), "--target", "cpu:1", "--db", tuned.url, "-o", str(tmp_path / "o"), "--fallback", "default")
    assert out.exit_code == 0, out.output
    m = read_manifest(tmp_path / "o" / "model_ops.json")
    assert [(k.name, k.source) for k in m.kernels] == [("mm", "tuned"), ("relu", "default")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["matmul", "-o", "x"], "--shape is required"),
        (["-o", "x"], "name an op to export"),
        (["matmul", "--shape", "M=4,N=4,K=4", "--name", "bad-name", "-o", "x"], "is not a C identifier"),
        (["matmul", "--shape", "M=4,N=4,K=4", "--target", "tpu", "-o", "x"], "unknown target 'tpu'"),
    ],
)
def test_cli_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["export", *args, "--db", f"sqlite:///{tmp_path / 'e.db'}"])
    assert out.exit_code == 2 and message in out.output


def test_an_edge_target_is_cross_compiled_with_its_toolchain(tuned, tmp_path: Path) -> None:
    import shutil

    from targets import get_target

    target = get_target("aarch64")
    if not shutil.which(getattr(target, "toolchain", None) or "aarch64-linux-gnu-g++"):
        pytest.skip("needs the aarch64 cross toolchain (scripts/edge/install_toolchains.sh)")
    with open_db(tuned.url) as db:
        result = export_library([ExportItem("matmul", tuned.op)], target, db, tmp_path, fallback="default")
    header = result.library.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183  # EM_AARCH64
    assert result.manifest.target.kind == target.kind and result.manifest.target.device == "cpu"


def _older_space_record(best, run_secs: float):
    """``best`` as a record of an older opforge: its Config lacks a knob today's space has, and it ran fastest."""
    import dataclasses
    from datetime import datetime, timezone

    config = json.loads(best.config)
    del config["C.unroll_regs"]
    return dataclasses.replace(best, config=json.dumps(config, sort_keys=True), run_secs=(run_secs,) * 3,
                               created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_a_record_the_schedule_space_no_longer_holds_is_passed_over_for_the_fastest_one_it_does(tuned, tmp_path: Path, caplog) -> None:
    import shutil

    from dsl.key import workload_key

    db_path = tmp_path / "old.db"
    shutil.copy(tuned.url.removeprefix("sqlite:///"), db_path)
    with open_db(f"sqlite:///{db_path}") as db:
        best = db.best(workload_key(tuned.op), tuned.target.canonical(), tuned.target.fingerprint())
        db.add_record(_older_space_record(best, best.median_secs / 10))
        assert db.best(workload_key(tuned.op), tuned.target.canonical(), tuned.target.fingerprint()).config != best.config
        with caplog.at_level("WARNING"):
            result = export_library([ExportItem("matmul", tuned.op)], tuned.target, db, tmp_path / "out")
    (k,) = result.manifest.kernels
    assert k.config == best.config and k.record["uid"] == best.uid
    assert "skipped 1 faster records" in caplog.text and "C.unroll_regs" in caplog.text


def test_only_records_of_an_older_schedule_space_is_one_clear_error(tuned, tmp_path: Path) -> None:
    from dsl.key import workload_key
    from tuning_db import TargetInfo, Workload
    from dsl.key import canonical_text

    with open_db(tuned.url) as db:
        best = db.best(workload_key(tuned.op), tuned.target.canonical(), tuned.target.fingerprint())
    with open_db(f"sqlite:///{tmp_path / 'only_old.db'}") as db:
        db.add_workload(Workload(key=best.workload_key, text=canonical_text(tuned.op), op_name="matmul"))
        db.add_target(TargetInfo.of(tuned.target))
        db.add_record(_older_space_record(best, best.median_secs))
        with pytest.raises(NoRecordError, match=r"tuned with a schedule space this opforge no longer has \(config has no value for knob C.unroll_regs"):
            export_library([ExportItem("matmul", tuned.op)], tuned.target, db, tmp_path / "out")
