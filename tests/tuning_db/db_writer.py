"""A tuner stand-in for the concurrency and crash tests: adds records one by one to a database.

``python db_writer.py URL WORKER COUNT`` prints ``committed I`` after each record's add_record
returns, so a parent that kills it knows which records were acknowledged.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from db_samples import record, target, workload  # noqa: E402
from tuning_db import TuningDB  # noqa: E402


def main(url: str, worker: int, count: int) -> None:
    db = TuningDB(url)
    w, t = workload(0), target()
    db.add_workload(w)  # every writer adds them: concurrent idempotent adds must not fail
    db.add_target(t)
    for i in range(count):
        db.add_record(record(w, t, i, run_secs=(1e-3 * (i % 97 + 1),), host=f"worker{worker}"))
        print(f"committed {i}", flush=True)
    db.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
