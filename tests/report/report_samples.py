"""A small tuning database as a real run would leave it (imported by name: tests has no packages).

Three float workloads and one int8 workload on two hardware fingerprints, tuning curves that
improve, failures of every kind, seeded so every test sees the same records.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np

from tuning_db import Record, TargetInfo, TuningDB, Workload

T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc)

FAILURES = {
    "build_error": "build: TVMError: Check failed: factor <= extent ({n} vs 64)",
    "timeout": "run: timeout after 20 s",
    "run_error": "run: worker died (SIGSEGV)",
    "wrong_result": "wrong result: max abs error {x:.3g}, relative L2 error 0.5",
}


def workload_of(op: object) -> Workload:
    from dsl.key import canonical_text, workload_key

    dtypes = tuple(dict.fromkeys(t.dtype for t in (*op.inputs, *op.output_tensors)))  # type: ignore[attr-defined]
    return Workload(workload_key(op), canonical_text(op), op.name, dict(op.sizes), dtypes)  # type: ignore[attr-defined]


def sample_workloads() -> list[Workload]:
    from dsl.library import matmul, matmul_int8, softmax

    return [
        workload_of(matmul().bind(M=64, N=64, K=64)),
        workload_of(matmul().bind(M=256, N=256, K=256)),
        workload_of(softmax().bind(**_softmax_sizes(softmax()))),
        workload_of(matmul_int8().bind(M=128, N=128, K=128)),
    ]


def _softmax_sizes(op: object) -> dict[str, int]:
    names = [d.name for d in op.dims]  # type: ignore[attr-defined]
    return {n: 512 if i else 64 for i, n in enumerate(names)}


def sample_target(fingerprint: str, hardware: dict | None = None, name: str = "cpu") -> TargetInfo:
    canonical = json.dumps({"name": name, "tvm": {"kind": "llvm", "num-cores": 2}}, sort_keys=True, separators=(",", ":"))
    return TargetInfo(name, canonical, fingerprint, hardware if hardware is not None else {"cpu": "test", "fp": fingerprint})


def trial_records(w: Workload, t: TargetInfo, n: int, rng: np.random.Generator, start: datetime, base_secs: float, team: str, fail_rate: float = 0.15) -> list[Record]:
    """``n`` trials one second apart: the first is the slow untuned default, then a search that improves."""
    out = []
    for i in range(n):
        config = {"C.tile.i": [int(rng.integers(1, 9)), 4], "C.unroll": int(rng.integers(0, 64)), "C.quantize": "none"}
        status = "ok"
        if i and rng.random() < fail_rate:
            status = str(rng.choice(list(FAILURES)))
        improve = 1.0 if i == 0 else 0.35 + 0.65 * float(np.exp(-i / 10)) * float(rng.uniform(0.8, 1.6))
        secs = base_secs * improve
        is_int8 = "int8" in w.dtypes
        out.append(
            Record(
                workload_key=w.key, target=t.canonical, fingerprint=t.fingerprint, config=json.dumps(config, sort_keys=True, separators=(",", ":")),
                trace=None, run_secs=(secs, secs * 1.01, secs * 0.99) if status == "ok" else (), status=status,
                error=None if status == "ok" else FAILURES[status].format(n=int(rng.integers(65, 512)), x=float(rng.uniform(0.1, 9))),
                max_abs_error=(float(rng.uniform(0, 2)) if is_int8 else 1e-6) if status == "ok" else None,
                rel_l2_error=(float(rng.uniform(0, 0.02)) if is_int8 else 2e-7) if status == "ok" else None,
                opforge_version="0.1.0", tvm_version="0.27.0.post1", host="bench-host", team=team,
                created_at=start + timedelta(seconds=i),
            )
        )
    return out


def fill_sample_db(db: TuningDB, rng: np.random.Generator, trials: int = 40, calibrated: bool = True) -> list[Workload]:
    """Store the sample workloads on two fingerprints (the first with peak numbers when ``calibrated``)."""
    ws = sample_workloads()
    hardware = {"cpu": "test", "peak_gflops": {"float32": 200.0, "int8": 800.0}, "bandwidth_gbs": 40.0} if calibrated else None
    targets = [sample_target("fa11ce0000000001", hardware), sample_target("b0b0000000000002")]
    db.add_workloads(ws)
    db.add_targets(targets)
    base = {0: 2e-4, 1: 1.2e-2, 2: 8e-4, 3: 3e-3}
    for ti, t in enumerate(targets):
        for wi, w in enumerate(ws):
            start = T0 + timedelta(hours=wi, days=ti)
            db.add_records(trial_records(w, t, trials, rng, start, base[wi] * (1 + ti), team=("kernels", "mobile")[ti]))
    return ws
