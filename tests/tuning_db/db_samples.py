"""Sample entries for the tuning-database tests (imported by name: tests has no packages)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tuning_db import Record, TargetInfo, Workload

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def workload(i: int = 0, op_name: str = "matmul") -> Workload:
    return Workload(
        key=f"{i:064x}",
        text=f"op {op_name}_{i} {{ C[i, j] += A[i, k] * B[k, j] }}",
        op_name=op_name,
        sizes={"M": 16 * (i + 1), "N": 16, "K": 16},
        dtypes=("float32",),
    )


def target(fingerprint: str = "fp0000000000000a", name: str = "cpu") -> TargetInfo:
    canonical = f'{{"name":"{name}","tvm":{{"kind":"llvm","num-cores":2}}}}'
    return TargetInfo(name=name, canonical=canonical, fingerprint=fingerprint, hardware={"cpu": "test", "fp": fingerprint})


def record(
    w: Workload,
    t: TargetInfo,
    i: int,
    run_secs: tuple[float, ...] = (1e-3, 2e-3, 3e-3),
    status: str = "ok",
    **changes: object,
) -> Record:
    values: dict[str, object] = dict(
        workload_key=w.key,
        target=t.canonical,
        fingerprint=t.fingerprint,
        config=f'{{"C.tile.i":[{i % 7 + 1},4],"C.unroll":{i},"C.vectorize":true}}',
        trace='[[["GetSBlock",[],["C","main"],["b0"]],["GetLoops",["b0"],[],["l1","l2","l3"]]],[]]',
        run_secs=run_secs if status == "ok" else (),
        status=status,
        error=None if status == "ok" else f"{status}: trial {i}",
        max_abs_error=1e-6 if status == "ok" else None,
        rel_l2_error=2e-7 if status == "ok" else None,
        opforge_version="0.1.0",
        tvm_version="0.27.0.post1",
        host="testhost",
        team="kernels",
        created_at=T0 + timedelta(seconds=i),
    )
    values.update(changes)
    return Record(**values)  # type: ignore[arg-type]
