"""A schedule hook for the RPC tests (build workers import it by name): honest tiles, or a wrong kernel."""

from __future__ import annotations

import json
from typing import Any

import tvm
from tvm import te


def apply_tile_or_wrong(func: Any, config_json: str, target: Any) -> tuple[Any, str | None]:
    """``{"tile": 8}`` splits the matmul's j loop by 8; ``{"wrong": true}`` builds C = A * B element-wise (32 x 32)."""
    cfg = json.loads(config_json)
    if cfg.get("wrong"):
        n = 32  # the tests' matmul is 32 x 32 x 32
        a, b = te.placeholder((n, n), name="A"), te.placeholder((n, n), name="B")
        return tvm.IRModule({"main": te.create_prim_func([a, b, te.compute((n, n), lambda i, j: a[i, j] * b[i, j], name="C")])}), None
    sch = tvm.s_tir.Schedule(func)
    _, j, _ = sch.get_loops(sch.get_sblock("C"))
    sch.split(j, [None, int(cfg["tile"])])
    return sch.mod, json.dumps(cfg)
