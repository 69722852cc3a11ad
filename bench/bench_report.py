"""Report benchmark: render ``opforge report`` over a 100,000-record tuning database; the goal is under 10 s.

Fills a SQLite file through the public ``TuningDB.add_records`` with schema-valid synthetic
records of real library workloads (their canonical text parses, so GFLOP/s and the roofline
are computed as for a real database): improving tuning curves, one trial in eight failed for
one of the four reasons, int8 workloads with an accuracy loss. Then it times

* the render in this process (``write_report``: read, chart, write), the figure the goal is on;
* ``opforge report`` as a person runs it (a new process: interpreter, imports and render).

    python bench/bench_report.py                       # 100,000 records, 24 workloads x 2 machines
    python bench/bench_report.py --records 20000       # a quick look
    python bench/bench_report.py --db /tmp/r.db --keep # keep the database (and reuse it next time)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from tuning_db import Record, TargetInfo, TuningDB, Workload, open_db

GOAL_SECS = 10.0
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
FAILURES = (
    ("build_error", "build: TVMError: Check failed: factor <= extent ({n} vs {m})"),
    ("timeout", "run: timeout after 20 s"),
    ("run_error", "run: worker died (SIGSEGV)"),
    ("wrong_result", "wrong result: max abs error {x:.3g}, relative L2 error {y:.3g}"),
)


def library_workloads(n: int) -> list[tuple[Workload, float]]:
    """``n`` workloads of the op library at growing sizes, with a plausible tuned GFLOP/s each."""
    from dsl.key import canonical_text, workload_key
    from dsl.library import batch_matmul, dense, layer_norm, matmul, matmul_int8, softmax

    makers = [
        (lambda s: matmul().bind(M=s, K=s, N=s), 60.0),
        (lambda s: dense().bind(M=s // 4, K=s, N=s), 45.0),
        (lambda s: batch_matmul().bind(B=4, M=s // 2, K=s // 2, N=s // 2), 40.0),
        (lambda s: matmul_int8().bind(M=s, K=s, N=s), 120.0),
        (lambda s: softmax().bind(M=s, N=s), 1.5),
        (lambda s: layer_norm().bind(M=s, N=s), 2.0),
    ]
    out = []
    for i in range(n):
        make, gflops = makers[i % len(makers)]
        op = make(64 * (1 + i // len(makers)))
        dtypes = tuple(dict.fromkeys(t.dtype for t in (*op.inputs, *op.output_tensors)))
        out.append((Workload(workload_key(op), canonical_text(op), op.name, dict(op.sizes), dtypes), op.flops() / gflops / 1e9))
    return out


def machines(n: int) -> list[TargetInfo]:
    canonical = '{"name":"cpu","tvm":{"kind":"llvm","mcpu":"sapphirerapids","num-cores":8}}'
    out = []
    for f in range(n):
        hardware: dict = {"model": f"bench cpu {f}", "cores": 8}
        if f == 0:  # one calibrated machine, one without peaks: both roofline forms
            hardware.update(peak_gflops={"float32": 1200.0, "int8": 4800.0}, bandwidth_gbs=90.0)
        fingerprint = hashlib.sha256(json.dumps(hardware, sort_keys=True).encode()).hexdigest()[:16]  # as targets.Target does
        out.append(TargetInfo("cpu", canonical, fingerprint, hardware))
    return out


def pair_records(w: Workload, t: TargetInfo, machine: int, best_secs: float, n: int, start: datetime, rng: np.random.Generator) -> list[Record]:
    """``n`` trials of one pair, two seconds apart: the untuned default first, then a search closing in on ``best_secs``."""
    steps = np.arange(n)
    target = best_secs * (1 + 4 * np.exp(-steps / max(n / 8, 1)))
    secs = target * rng.lognormal(0.15, 0.25, n)
    secs[0] = best_secs * 6
    kind = rng.random(n)
    is_int8 = "int8" in w.dtypes
    out = []
    for i in range(n):
        failed = i > 0 and kind[i] < 0.125
        status, message = FAILURES[int(kind[i] * 32) % 4] if failed else ("ok", "")
        median = float(secs[i])
        out.append(
            Record(
                workload_key=w.key,
                target=t.canonical,
                fingerprint=t.fingerprint,
                config=f'{{"C.tile.i":[{i % 8 + 1},{i % 16 + 1}],"C.unroll":{(i * 7) % 128},"C.vectorize":true,"quantize":"none"}}',
                trace=None,
                run_secs=(median, median * 1.02, median * 0.99) if not failed else (),
                status=status,
                error=message.format(n=i % 97 + 65, m=64, x=float(kind[i]) * 9, y=0.5) if failed else None,
                max_abs_error=(float(rng.uniform(0, 3)) if is_int8 else 1e-6) if not failed else None,
                rel_l2_error=(float(rng.uniform(0, 0.02)) if is_int8 else 3e-7) if not failed else None,
                opforge_version="0.1.0",
                tvm_version="0.27.0.post1",
                host=f"bench-host-{machine}",
                team=("kernels", "mobile")[machine % 2],
                created_at=start + timedelta(seconds=2 * i),
            )
        )
    return out


def fill(db: TuningDB, n_records: int, n_workloads: int, n_machines: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    workloads, targets = library_workloads(n_workloads), machines(n_machines)
    db.add_workloads([w for w, _ in workloads])
    db.add_targets(targets)
    pairs = [(w, secs, t) for w, secs in workloads for t in targets]
    per_pair = np.full(len(pairs), n_records // len(pairs))
    per_pair[: n_records % len(pairs)] += 1
    for p, ((w, secs, t), n) in enumerate(zip(pairs, per_pair)):
        machine = targets.index(t)
        db.add_records(pair_records(w, t, machine, secs * (1 + 0.5 * machine), int(n), T0 + timedelta(days=p), rng))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workloads", type=int, default=24)
    parser.add_argument("--machines", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default=None, help="SQLite file to fill (reused as is when it already holds --records records)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the page")
    args = parser.parse_args()

    from autotune.report import write_report

    folder = Path(tempfile.mkdtemp(prefix="opforge-bench-report-"))
    path = args.db or str(folder / "tuning.db")
    with open_db(path) as db:
        if db.count_records() != args.records:
            if db.count_records():
                sys.exit(f"{path} holds {db.count_records()} records, not {args.records}; pass another --db")
            started = time.perf_counter()
            fill(db, args.records, args.workloads, args.machines, args.seed)
            print(f"filled {path}: {db.count_records():,} records in {time.perf_counter() - started:.1f} s")
        page = folder / "report.html"
        started = time.perf_counter()
        data = write_report(db, page)
        render_secs = time.perf_counter() - started

    env = {**os.environ, "TVM_NUM_THREADS": os.environ.get("TVM_NUM_THREADS", "1")}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autotune.cli", "report", "--db", path, "-o", str(folder / "cli.html")], check=True, env=env, stdout=subprocess.DEVNULL)
    cli_secs = time.perf_counter() - started

    print(f"records: {data.records:,}  pairs: {len(data.pairs)}  failed: {data.failed:,}  int8 points: {len(data.int8):,}")
    print(f"page: {page.stat().st_size / 1e6:.2f} MB")
    print(f"render (write_report, in process): {render_secs:.2f} s  (goal < {GOAL_SECS:.0f} s: {'met' if render_secs < GOAL_SECS else 'MISSED'})")
    print(f"opforge report (new process, imports included): {cli_secs:.2f} s")
    if args.keep:
        print(f"kept {page} and {path}")
    else:
        shutil.rmtree(folder)  # the pages, and the database unless --db named one elsewhere


if __name__ == "__main__":
    main()
