"""``opforge tune``: JSON and table output, bad input as one-line errors, Ctrl-C keeps every record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from autotune.cli import cli


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_tune_json_reports_the_best_kernel_and_its_peers(tmp_path):
    db = tmp_path / "t.db"
    out = _invoke("tune", "matmul", "--shape", "M=32,N=32,K=32", "--trials", "4", "--repeats", "2", "--db", str(db), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    (task,) = report["tasks"]
    assert task["op"] == "matmul" and task["trials"] == 4 and report["stop_reason"] == "trial budget of 4 reached"
    assert task["best_secs"] > 0 and task["gflops"] > 0 and task["config"]
    assert task["default_secs"] >= task["best_secs"] and task["speedup_vs_default"] >= 1.0
    assert task["numpy_expr"] == "a @ b" and task["speedup_vs_numpy"] > 0
    from tuning_db import open_db

    with open_db(str(db)) as tdb:
        assert len(tdb.records_for(task["workload_key"])) == 4


def test_tune_prints_a_table(tmp_path):
    out = _invoke("tune", "matmul", "--shape", "M=16,N=16,K=16", "--trials", "2", "--repeats", "1", "--db", str(tmp_path / "t.db"))
    assert out.exit_code == 0, out.output
    for text in ("best time", "GFLOP/s", "vs untuned default", "vs numpy", "config", "records kept in"):
        assert text in out.output


def test_several_ops_share_the_trials(tmp_path):
    workloads = tmp_path / "w.jsonl"
    workloads.write_text('{"op": "matmul", "shape": "M=16,N=16,K=16"}\n# comment\n{"op": "matmul", "shape": "M=32,N=16,K=16", "weight": 2}\n')
    out = _invoke("tune", "--workloads", str(workloads), "--trials", "4", "--batch-size", "2", "--repeats", "1", "--db", str(tmp_path / "t.db"), "--json")
    assert out.exit_code == 0, out.output
    tasks = json.loads(out.output)["tasks"]
    assert sum(t["trials"] for t in tasks) == 4 and all(t["trials"] >= 1 for t in tasks)
    assert tasks[0]["workload_key"] != tasks[1]["workload_key"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["tune"], "name an op to tune"),
        (["tune", "matmul"], "--shape is required"),
        (["tune", "matmul", "--shape", "M=8,N=8,K=8", "--target", "tpu"], "unknown target 'tpu'"),
        (["tune", "matmul", "--shape", "M=8,N=8"], "K"),
        (["tune", "matmul", "--shape", "M=8,N=8,K=8", "--slow-cutoff", "0.5"], "--slow-cutoff must be 0"),
    ],
)
def test_bad_input_is_a_one_line_error(args, message, tmp_path):
    from autotune.commands.errors import CliError

    with pytest.raises(CliError, match=message):
        CliRunner().invoke(cli, [*args, "--db", str(tmp_path / "t.db")], catch_exceptions=False, standalone_mode=False)


def test_bad_workloads_line_names_the_line(tmp_path):
    from autotune.commands.errors import CliError

    f = tmp_path / "w.jsonl"
    f.write_text('{"op": "matmul", "shape": "M=8,N=8,K=8"}\n{"op": "matmul"}\n')
    with pytest.raises(CliError, match=r"w.jsonl:2: each line needs"):
        CliRunner().invoke(cli, ["tune", "--workloads", str(f), "--db", str(tmp_path / "t.db")], catch_exceptions=False, standalone_mode=False)


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_keeps_every_record(tmp_path):
    db = tmp_path / "t.db"
    env = dict(os.environ, TVM_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from autotune.cli import main; main()", "tune", "matmul", "--shape", "M=32,N=32,K=32", "--trials", "500", "--repeats", "1", "--db", str(db), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_sigint_default,  # pytest started in the background (nohup, `&`) passes SIGINT ignored
    )
    from tuning_db import open_db

    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and stored < 3:
        time.sleep(0.5)
        if db.exists():
            with open_db(str(db)) as tdb:
                stored = tdb.count_records()
    assert stored >= 3, "the run never got going"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["stop_reason"] == "interrupted"
    with open_db(str(db)) as tdb:
        assert tdb.count_records() == report["tasks"][0]["trials"] >= 3
