"""A real ``opforge tune`` killed with SIGKILL loses no record; the same command resumes from the database.

The first run is killed (SIGKILL: no handler, no cleanup) once the database holds a few records.
Every record stored before the kill must still be there and the SQLite file intact; the same
command run again must measure no stored Config again, measure its full trial budget, and warm
its cost model with the stored records (``warm_start_records`` of ``--json``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tuning_db import open_db

TRIALS = 40
KILL_AFTER = 6  # records in the database before the kill


def _command(db: Path) -> list[str]:
    return [
        sys.executable, "-m", "autotune.cli", "tune", "matmul", "--shape", "M=32,N=32,K=32", "--trials", str(TRIALS),
        "--repeats", "1", "--db", f"sqlite:///{db}", "--json",
    ]


def _stored_uids(db: Path) -> set[str]:
    """The uids in the database, read with plain sqlite3 (read-only: never creates or migrates it)."""
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return {uid for (uid,) in conn.execute("SELECT uid FROM records")}
    except sqlite3.OperationalError:  # the schema is not created yet
        return set()


@pytest.mark.timeout(300)
def test_sigkilled_tune_loses_nothing_and_the_same_command_resumes(tmp_path):
    db = tmp_path / "tune.db"
    env = dict(os.environ, TVM_NUM_THREADS="1")
    proc = subprocess.Popen(_command(db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        before: set[str] = set()
        deadline = time.monotonic() + 60
        while len(before) < KILL_AFTER and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            before = _stored_uids(db)
        assert len(before) >= KILL_AFTER, f"the run never stored {KILL_AFTER} records: {proc.stderr.read() if proc.poll() is not None else ''}"
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # the build and run workers notice their parent is gone and exit
    _, alive = psutil.wait_procs(workers, timeout=30)
    for p in alive:
        p.kill()
    assert not alive, f"workers outlived the killed tuner: {[p.pid for p in alive]}"

    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_db(str(db)) as tdb:
        (workload,) = tdb.workloads()
        at_kill = tdb.records_for(workload.key)
    assert before <= {r.uid for r in at_kill}, "a record stored before the kill is gone"
    first_configs = {r.config for r in at_kill}
    assert len(first_configs) == len(at_kill)

    again = subprocess.run(_command(db), capture_output=True, text=True, env=env, timeout=150)
    assert again.returncode == 0, again.stderr[-2000:]
    (task,) = json.loads(again.stdout)["tasks"]
    assert task["workload_key"] == workload.key
    assert task["resumed_trials"] == len(at_kill)
    assert task["warm_start_records"] == len(at_kill), "the cost model was not warmed with the stored records"
    assert task["trials"] == TRIALS and task["stop_reason"] == f"trial budget of {TRIALS} reached"

    with open_db(str(db)) as tdb:
        after = tdb.records_for(workload.key)
    configs = [r.config for r in after]
    assert len(after) == len(at_kill) + TRIALS
    assert len(set(configs)) == len(configs), "a Config measured before was measured again"
    assert {r.uid for r in at_kill} <= {r.uid for r in after}
