"""Write ``schema_0001.sqlite``: a tuning database made by the FIRST schema revision (0001).

The fixture is kept in the repository so the upgrade test reads a file that old code made;
this script documents how it was made. Run from the repository root:
``python tests/tuning_db/data/make_schema_0001.py``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from tuning_db.migrate import alembic_config
from tuning_db.records import Record

OUT = Path(__file__).with_name("schema_0001.sqlite")


def main() -> None:
    OUT.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{OUT}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        for w in range(3):
            conn.execute(
                text("INSERT INTO workloads (key, text, op_name, sizes, dtypes) VALUES (:key, :text, :op, :sizes, :dtypes)"),
                {"key": f"{w + 1:064x}", "text": f"op matmul_{w}", "op": "matmul", "sizes": json.dumps({"M": 16 << w, "N": 16, "K": 16}), "dtypes": '["float32"]'},
            )
        for t, fp in enumerate(("fp0000000000000a", "fp0000000000000b")):
            conn.execute(
                text("INSERT INTO targets (name, canonical, fingerprint, hardware) VALUES ('cpu', :canonical, :fp, :hw)"),
                {"canonical": '{"name":"cpu","tvm":{"kind":"llvm","num-cores":2}}', "fp": fp, "hw": json.dumps({"cpu": f"model{t}"})},
            )
        statuses = ("ok", "ok", "ok", "build_error", "run_error", "timeout", "wrong_result")
        for i in range(42):
            status = statuses[i % len(statuses)]
            run_secs = [round(1e-3 * (1 + (i * 7919) % 13), 6), 2e-3] if status == "ok" else []
            config = json.dumps({"C.tile.i": [i % 5 + 1, 4], "C.unroll": i}, sort_keys=True, separators=(",", ":"))
            created_at = datetime(2025, 1, 1, 8, 0, 0) + timedelta(minutes=i, microseconds=i)
            team = None if i % 3 else "kernels"
            fp = ("fp0000000000000a", "fp0000000000000b")[i % 2]
            # the uid is the record's identity hash, as revision 0001's code computed it
            uid = Record(
                f"{i % 3 + 1:064x}", '{"name":"cpu","tvm":{"kind":"llvm","num-cores":2}}', fp, config, None, (), "timeout",
                None, None, None, "0.1.0", "0.27.0.post1", "fixturehost", team, created_at.replace(tzinfo=timezone.utc),
            ).uid
            conn.execute(
                text(
                    "INSERT INTO records (uid, workload_id, target_id, config, trace, run_secs, median_secs, status, error,"
                    " opforge_version, tvm_version, host, team, created_at) VALUES (:uid, :w, :t, :config, :trace, :run_secs,"
                    " :median, :status, :error, '0.1.0', '0.27.0.post1', 'fixturehost', :team, :created_at)"
                ),
                {
                    "uid": uid,
                    "w": i % 3 + 1,
                    "t": i % 2 + 1,
                    "config": config,
                    "trace": None if i % 4 == 0 else '[[["GetSBlock",[],["C","main"],["b0"]]],[]]',
                    "run_secs": json.dumps(run_secs),
                    "median": sum(run_secs) / 2 if run_secs else None,
                    "status": status,
                    "error": None if status == "ok" else f"{status} in trial {i}",
                    "team": team,
                    "created_at": created_at,
                },
            )
    engine.dispose()
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
