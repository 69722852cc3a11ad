"""Export of a `tune --quantize int8` run: each quantized record keeps its calibration, and export
rebuilds from it exactly the int8 kernel that was measured."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from autotune.cli import cli

SHAPE = "M=8,N=32,K=64"


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def quantized_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """dense 8x32x64 tuned for 6 trials with --quantize int8 (float and int8 candidates, real runs)."""
    db = tmp_path_factory.mktemp("q") / "t.db"
    out = _invoke("tune", "dense", "--shape", SHAPE, "--target", "cpu:1", "--trials", "6", "--repeats", "1",
                  "--quantize", "int8", "--db", str(db), "--json", "--build-workers", "1", "--seed", "0")
    assert out.exit_code == 0, out.output
    return str(db)


def _op():
    from dsl import library

    return library.get("dense").bind(M=8, N=32, K=64)


def _records(url: str):
    from tuning_db import open_db

    with open_db(url) as db:
        return [r for w in db.workloads() for r in db.records_for(w.key)]


def test_quantized_records_keep_the_calibration_of_their_run(quantized_db: str) -> None:
    from autotune.accuracy import calibration_inputs
    from schedules.quantize import Calibration, calibrate

    records = _records(quantized_db)
    quantized = [r for r in records if json.loads(r.config)["quantize"] != "none"]
    assert quantized and len(quantized) < len(records)  # both kinds were measured
    expected = calibrate(_op(), [calibration_inputs(_op(), 0)])
    assert all(Calibration.from_json(r.calibration).absmax == expected.absmax for r in quantized)
    assert all(r.calibration is None for r in records if r not in quantized)


def _measured_kernel_output(record, inputs):
    """What the measured kernel computes: the record's Config applied to its calibrated program."""
    import tvm

    from schedules import apply
    from schedules.config import Config
    from schedules.quantize import program_of
    from targets import get_target

    cpu = get_target("cpu:1")
    sch = apply(program_of(_op(), record.config, record.calibration), Config.from_json(record.config), cpu)
    ex = tvm.compile(sch.mod, target=cpu.tvm_target())
    args = [tvm.runtime.tensor(np.ascontiguousarray(x), tvm.cpu()) for x in (*inputs, np.zeros((8, 32), "float32"))]
    ex["main"](*args)
    return args[-1].numpy()


def _exported_output(url: str, out_dir: Path, inputs):
    import warnings

    from autotune.export import load

    out = _invoke("export", "dense", "--shape", SHAPE, "--target", "cpu:1", "--quantize", "int8", "--db", url, "-o", str(out_dir), "--json")
    assert out.exit_code == 0, out.output
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a --quantize export loaded on the machine that tuned it is no other hardware
        kernel = load(out_dir / "dense.so")
    return json.loads(out.output)["kernels"][0], kernel(*inputs)


def test_export_rebuilds_the_int8_kernel_of_the_best_quantized_record(int8_best_db, tmp_path: Path) -> None:
    """A quantized record made the fastest: the exported kernel is its int8 kernel, bit for bit."""
    from dsl.inputs import random_inputs
    from dsl.reference import reference

    url, best_int8 = int8_best_db
    inputs = random_inputs(_op(), np.random.default_rng(5))
    kernel, got = _exported_output(url, tmp_path / "lib", inputs)
    assert kernel["config"]["quantize"] != "none" and kernel["record"]["calibration"] == best_int8.calibration
    np.testing.assert_array_equal(got, _measured_kernel_output(best_int8, inputs))
    want = reference(_op(), *inputs)
    rel = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert 1e-5 < rel < 1e-2  # int8 arithmetic: close to the float result, not equal to it


def test_a_quantized_record_without_its_calibration_is_one_clear_error(quantized_db: str, tmp_path: Path) -> None:
    import shutil

    from tuning_db import open_db

    url = str(tmp_path / "t.db")
    shutil.copy(quantized_db, url)
    with open_db(url) as db:
        some_int8 = next(r for r in _records(url) if r.status == "ok" and json.loads(r.config)["quantize"] != "none")
        db.add_record(dataclasses.replace(some_int8, run_secs=(1e-9,), calibration=None, host="an old opforge"))
    out = CliRunner().invoke(cli, ["export", "dense", "--shape", SHAPE, "--target", "cpu:1", "--quantize", "int8", "--db", url, "-o", str(tmp_path / "o")])
    assert out.exit_code == 2 and "stored without its activation calibration" in out.output and "Traceback" not in out.output


def test_export_without_quantize_does_not_pick_an_int8_record(quantized_db: str, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["export", "dense", "--shape", SHAPE, "--target", "cpu:1", "--db", quantized_db, "-o", str(tmp_path)])
    assert out.exit_code == 2 and "no tuned record of dense" in out.output


@pytest.fixture(scope="module")
def int8_best_db(quantized_db: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    """The quantized database with its best int8 record made the fastest (to export the int8 kernel)."""
    import shutil

    from tuning_db import open_db

    url = str(tmp_path_factory.mktemp("int8") / "t.db")
    shutil.copy(quantized_db, url)
    with open_db(url) as db:
        best_int8 = min((r for r in _records(url) if r.status == "ok" and json.loads(r.config)["quantize"] != "none"), key=lambda r: r.median_secs)
        db.add_record(dataclasses.replace(best_int8, run_secs=(1e-9,), host="the fastest host"))
    return url, best_int8


def test_prepack_exports_a_packing_kernel_and_a_kernel_over_packed_weights(int8_best_db, tmp_path: Path) -> None:
    from autotune.export import load_library
    from dsl.inputs import random_inputs

    url, best = int8_best_db
    out = _invoke("export", "dense", "--shape", SHAPE, "--target", "cpu:1", "--quantize", "int8", "--prepack", "--db", url, "-o", str(tmp_path), "--json")
    assert out.exit_code == 0, out.output
    lib = load_library(tmp_path / "dense.so")
    assert set(lib.kernels) == {"dense", "dense_prepack"} and lib["dense"].info.prepack == "dense_prepack"
    X, W = random_inputs(_op(), np.random.default_rng(5))
    packed = lib["dense_prepack"](W)
    packed = packed if isinstance(packed, tuple) else (packed,)
    tensorize = json.loads(best.config)["C.tensorize"]
    assert packed[0].dtype == np.int8 and packed[0].ndim == (4 if tensorize in ("vnni", "avx2") else 2)  # the intrinsic's layout
    got = lib["dense"](X, *packed)
    np.testing.assert_allclose(got, _measured_kernel_output(best, [X, W]), rtol=1e-6, atol=1e-6)
    assert "int opforge_dense_prepack(" in (tmp_path / "dense.h").read_text()


def test_weights_given_at_export_are_packed_once_and_bound(int8_best_db, tmp_path: Path) -> None:
    from autotune.export import load
    from dsl.inputs import random_inputs

    url, best = int8_best_db
    X, W = random_inputs(_op(), np.random.default_rng(5))
    np.savez(tmp_path / "w.npz", W=W)
    out = _invoke("export", "dense", "--shape", SHAPE, "--target", "cpu:1", "--quantize", "int8", "--prepack",
                  "--weights", str(tmp_path / "w.npz"), "--db", url, "-o", str(tmp_path / "lib"), "--json")
    assert out.exit_code == 0, out.output
    kernel = load(tmp_path / "lib" / "dense.so", "dense")
    assert [a.name for a in kernel.inputs] == ["X"] and (tmp_path / "lib" / "dense.packed.npz").is_file()
    np.testing.assert_allclose(kernel(X), _measured_kernel_output(best, [X, W]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--weights", "{w}"], "add --prepack"),
        (["--prepack", "--weights", "{bad}"], "weight W is float64"),
    ],
)
def test_bad_weights_are_one_line_errors(int8_best_db, tmp_path: Path, extra: list[str], message: str) -> None:
    url, _ = int8_best_db
    np.savez(tmp_path / "w.npz", W=np.zeros((32, 64), "float32"))
    np.savez(tmp_path / "bad.npz", W=np.zeros((32, 64)))
    args = [a.format(w=tmp_path / "w.npz", bad=tmp_path / "bad.npz") for a in extra]
    out = CliRunner().invoke(cli, ["export", "dense", "--shape", SHAPE, "--target", "cpu:1", "--quantize", "int8", *args, "--db", url, "-o", str(tmp_path / "o")])
    assert out.exit_code == 2 and message in out.output and "Traceback" not in out.output
