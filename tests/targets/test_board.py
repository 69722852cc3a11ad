"""The emulated aarch64 board: cross-compiled kernels measured under qemu through the tracker.

Slow tier (``python -m pytest tests/targets/test_board.py -m slow``, ~2 min): needs the board from
``scripts/edge/aarch64_board.sh setup`` (a Debian arm64 sysroot with the aarch64 TVM wheel) and
skips with that command when it is missing. The emulated server takes ~30 s to import TVM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rpc_fleet import start_fleet

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "edge" / "aarch64_board.sh"
BOARD = Path(os.environ.get("OPFORGE_BOARD_DIR", Path.home() / ".cache" / "opforge" / "board-aarch64"))
KEY = "qemu-aarch64"

pytestmark = pytest.mark.slow


def _board_missing() -> str | None:
    if not (BOARD / "python-aarch64").exists():
        return f"no emulated board at {BOARD}; run scripts/edge/aarch64_board.sh setup"
    if shutil.which("aarch64-linux-gnu-g++") is None:
        return "needs aarch64-linux-gnu-g++: run scripts/edge/install_toolchains.sh"
    return None


@pytest.fixture(scope="module")
def board():
    missing = _board_missing()
    if missing:
        pytest.skip(missing)
    fleet = start_fleet()
    try:
        # the board's own python runs the server; its sys.executable is the launcher (see the script)
        fleet.add_server(KEY, command=["bash", str(SCRIPT), "python", "-m", "opforge_board_boot", "tvm.exec.rpc_server"])
        fleet.wait_registered(KEY, 1, timeout_secs=240)
        yield fleet
    finally:
        fleet.close()


def _tune(board, db: Path, *op_args: str) -> dict:
    out = subprocess.run(
        [
            sys.executable, "-m", "autotune.cli", "tune", *op_args, "--target", "aarch64", "--rpc", board.address,
            "--rpc-key", KEY, "--emulated", "--trials", "4", "--batch-size", "4", "--repeats", "2", "--db", str(db), "--json",
        ],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TVM_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (task,) = json.loads(out.stdout)["tasks"]
    return task


def _statuses(db: Path, key: str) -> list[tuple[str, float | None]]:
    from tuning_db import open_db

    with open_db(str(db)) as tdb:
        return [(r.status, r.max_abs_error) for r in tdb.records_for(key)]


def test_tune_float32_matmul_on_the_emulated_aarch64_board(board, tmp_path):
    task = _tune(board, tmp_path / "t.db", "matmul", "--shape", "M=32,N=32,K=32")
    assert task["target"] == "aarch64" and task["emulated"] is True
    assert task["trials"] == 4 and task["failed_trials"] < 4 and task["best_secs"] > 0
    found = _statuses(tmp_path / "t.db", task["workload_key"])
    # every ok trial passed the correctness gate against the numpy reference; none was wrong
    assert "wrong_result" not in {s for s, _ in found} and any(s == "ok" and e is not None for s, e in found)


def test_int8_matmul_tensorized_with_neon_sdot_is_correct_on_the_board(board, tmp_path):
    import numpy as np

    from autotune.measure.builder import Builder
    from autotune.measure.check import arg_specs, make_check
    from autotune.measure.rpc import RpcRunner, RpcTracker
    from dsl.library import matmul_int8
    from dsl.lower import lower
    from schedules import space_for
    from targets import get_target

    op = matmul_int8(dtype="int8").bind(M=32, N=32, K=32)
    func, target = lower(op), get_target("aarch64")
    space = space_for(func, target)
    assert "sdot" in space.knob("C.tensorize").choices  # the aarch64 space offers NEON dot-product tensorization
    configs = [space.default().replace(**{"C.tensorize": "sdot"}), space.default()]
    with Builder(n_workers=2, work_dir=str(tmp_path)) as builder:
        builds = builder.build(func, configs, target)
    assert all(b.ok for b in builds), [b.error for b in builds]
    if shutil.which("aarch64-linux-gnu-objdump"):
        dis = subprocess.run(["aarch64-linux-gnu-objdump", "-d", builds[0].artifact], capture_output=True, text=True).stdout
        assert "sdot" in dis  # the cross-compiled kernel really uses the dot-product instruction
    check = make_check(op, np.random.default_rng(0), str(tmp_path))
    with RpcRunner(RpcTracker.parse(board.address, KEY), repeats=2) as runner:
        sdot, plain = runner.run(builds, arg_specs(op), check)
    assert sdot.ok and plain.ok and sdot.max_abs_error == 0 == plain.max_abs_error  # int32 results, exact
