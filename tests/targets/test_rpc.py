"""Remote measurement through a TVM RPC tracker on loopback: two servers, the correctness gate, a lost device.

One tracker and two ``tvm.exec.rpc_server`` processes serve the whole module (starting them is
most of the cost); the last test kills one of them mid-run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autotune.measure.builder import Builder
from autotune.measure.check import arg_specs, make_check
from autotune.measure.rpc import RpcRunner, RpcTracker, tracker_devices
from autotune.measure.runner import Runner
from dsl.library import matmul
from dsl.lower import lower
from schedules.config import Config
from targets import get_target

from rpc_fleet import Fleet, free_port, start_fleet

KEY = "loopback"


@pytest.fixture(scope="module")
def fleet():
    f = start_fleet()
    try:
        f.add_server(KEY)
        f.add_server(KEY)
        f.wait_registered(KEY, 2)
        yield f
    finally:
        f.close()


def test_tracker_address_is_checked_before_anything_runs():
    with pytest.raises(ValueError, match="expected HOST:PORT of an RPC tracker"):
        RpcTracker.parse("localhost", KEY)
    with pytest.raises(ValueError, match="needs --rpc-key"):
        RpcTracker.parse("127.0.0.1:9190", "")
    assert RpcTracker.parse("127.0.0.1:9190", "rasp4") == RpcTracker("127.0.0.1", 9190, "rasp4")
    with pytest.raises(ConnectionError, match="no RPC tracker at 127.0.0.1"):
        tracker_devices(RpcTracker("127.0.0.1", free_port(), KEY))


def test_remote_results_agree_with_local_ones_and_the_gate_still_applies(fleet, tmp_path):
    op = matmul().bind(M=32, N=32, K=32)
    func = lower(op)
    check = make_check(op, np.random.default_rng(0), str(tmp_path))
    configs = [Config.of({"tile": t}) for t in (4, 8, 16)] + [Config.of({"wrong": True})]
    # the build workers import rpc_hooks by name (pytest put this folder on the path they inherit)
    with Builder(n_workers=2, work_dir=str(tmp_path), apply="rpc_hooks:apply_tile_or_wrong") as builder:
        builds = builder.build(func, configs, get_target("cpu:1"))
    assert all(b.ok for b in builds), [b.error for b in builds]
    with RpcRunner(RpcTracker.parse(fleet.address, KEY), repeats=3) as remote:
        assert remote.parallelism == 2  # one candidate in flight per registered device
        far = remote.run(builds, arg_specs(op), check)
    with Runner(repeats=3) as local:
        near = local.run(builds, arg_specs(op), check)
    assert [r.status for r in far] == [r.status for r in near] == ["ok", "ok", "ok", "wrong_result"]
    assert far[3].max_abs_error == pytest.approx(near[3].max_abs_error)  # the same wrong numbers came back
    for f, n in zip(far[:3], near[:3]):
        # same kernel, same machine, other process: times agree to within noise of a shared host
        assert n.median_secs / 10 < f.median_secs < n.median_secs * 10


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target", "aarch64"], "aarch64 kernels run on a board, not here: give --rpc HOST:PORT --rpc-key KEY"),
        (["--rpc-key", KEY], "--rpc-key needs --rpc HOST:PORT"),
        (["--rpc", "nowhere"], "expected HOST:PORT of an RPC tracker"),
        (["--emulated"], "--emulated describes RPC devices"),
    ],
)
def test_bad_rpc_options_are_one_line_errors(extra, message):
    from click.testing import CliRunner

    from autotune.cli import cli

    out = CliRunner().invoke(cli, ["tune", "matmul", "--shape", "M=8,N=8,K=8", *extra])
    assert out.exit_code == 2 and message in out.output


def test_a_key_without_devices_is_refused_before_tuning(fleet, tmp_path):
    from click.testing import CliRunner

    from autotune.cli import cli

    args = ["tune", "matmul", "--shape", "M=8,N=8,K=8", "--db", str(tmp_path / "t.db"), "--rpc", fleet.address, "--rpc-key", "nobody"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 2 and "no device is registered under key 'nobody'" in out.output


def _records(db: Path) -> int:
    from tuning_db import open_db

    if not db.exists():
        return 0
    with open_db(str(db)) as tdb:
        return sum(len(tdb.records_for(w.key)) for w in tdb.workloads())


def test_tune_through_the_tracker_goes_on_when_a_device_disappears(fleet, tmp_path):
    db = tmp_path / "t.db"
    trials = 8
    cmd = [
        sys.executable, "-m", "autotune.cli", "tune", "matmul", "--shape", "M=32,N=32,K=32", "--trials", str(trials),
        "--batch-size", "4", "--repeats", "2", "--db", str(db), "--rpc", fleet.address, "--rpc-key", KEY, "--json",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "TVM_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while _records(db) < 2:  # mid-run: the first trials are in, the rest to come
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no trial was measured through the tracker"
            time.sleep(0.3)
        Fleet.kill(fleet.servers[0])
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    (task,) = json.loads(out)["tasks"]
    assert task["trials"] == trials and _records(db) == trials  # every trial kept, failed ones included
    # what the lost device cost: trials in flight on it, failed with the RPC error recorded
    assert all(e.startswith("run: ") for e in _errors(db)) and len(_errors(db)) == task["failed_trials"]
    assert task["failed_trials"] < trials and task["best_secs"] > 0  # the other device carried the run


def _errors(db: Path) -> list[str]:
    from tuning_db import open_db

    with open_db(str(db)) as tdb:
        return [r.error for w in tdb.workloads() for r in tdb.records_for(w.key) if r.error]
