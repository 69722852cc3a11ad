"""Several processes writing at once lose nothing; a killed writer loses no committed record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from db_samples import record, target, workload
from tuning_db import TuningDB

WRITER = Path(__file__).with_name("db_writer.py")


def _writer(url: str, worker: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, str(worker), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_four_processes_write_500_records_each_and_all_2000_are_there(db_url: str) -> None:
    writers = [_writer(db_url, worker, 500) for worker in range(4)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in writers]  # type: ignore[union-attr]
    for code, out, err in results:
        assert code == 0, err
        assert "locked" not in err and out.count("committed") == 500
    db = TuningDB(db_url)
    stored = db.records_for(workload(0).key)
    db.close()
    assert len(stored) == 2000
    w, t = workload(0), target()
    assert {r.uid for r in stored} == {record(w, t, i, run_secs=(0.0,), host=f"worker{k}").uid for k in range(4) for i in range(500)}


def test_records_acknowledged_before_sigkill_are_all_stored(db_url: str) -> None:
    writer = _writer(db_url, 0, 1_000_000)
    acknowledged = []
    for line in writer.stdout:  # type: ignore[union-attr]
        acknowledged.append(int(line.split()[1]))
        if len(acknowledged) == 200:
            os.kill(writer.pid, signal.SIGKILL)
            break
    writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGKILL

    db = TuningDB(db_url)
    w, t = workload(0), target()
    stored = {r.config for r in db.records_for(w.key)}
    # what a resumed run would skip: every acknowledged trial (and perhaps the one in flight)
    assert {record(w, t, i).config for i in acknowledged} <= db.measured_configs(w.key, t.canonical, t.fingerprint)
    assert len(acknowledged) <= len(stored) <= len(acknowledged) + 1
    if db.dialect == "sqlite":
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    db.close()
