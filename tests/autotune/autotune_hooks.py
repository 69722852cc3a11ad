"""Planted schedule and runner hooks for the measurement tests; workers import them by name.

``apply_planted`` reads a ``"mode"`` knob from the Config JSON: ``ok`` schedules the matmul
honestly (split by ``"tile"``), the others plant one failure each.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import tvm
from tvm import te
from tvm.script import tirx as T

N = 32


@T.prim_func
def _segfault(A: T.Buffer((32, 32), "float32"), B: T.Buffer((32, 32), "float32"), C: T.Buffer((32, 32), "float32")):
    # a store 2^43 floats past C: far outside any mapping, so the kernel dies with SIGSEGV
    Cf = T.decl_buffer((T.int64(1) << T.int64(44),), "float32", data=C.data)
    Cf[(T.int64(1) << T.int64(43)) + T.int64(12345)] = T.float32(1.0)


@T.prim_func
def _spin(A: T.Buffer((32, 32), "float32"), B: T.Buffer((32, 32), "float32"), C: T.Buffer((32, 32), "float32")):
    for i in range(T.int64(1) << T.int64(60)):
        C[0, 0] = C[0, 0] * T.float32(1.0000001) + A[0, 0]


def _elementwise_product() -> Any:
    a = te.placeholder((N, N), name="A")
    b = te.placeholder((N, N), name="B")
    c = te.compute((N, N), lambda i, j: a[i, j] * b[i, j], name="C")
    return te.create_prim_func([a, b, c])


def apply_planted(func: Any, config_json: str, target: Any) -> tuple[Any, str | None]:
    cfg = json.loads(config_json)
    mode = cfg.get("mode", "ok")
    if mode == "raise":
        raise ValueError("planted schedule error")
    if mode == "hang":
        time.sleep(3600)
    if mode == "segfault":
        return tvm.IRModule({"main": _segfault}), None
    if mode == "spin":
        return tvm.IRModule({"main": _spin}), None
    if mode == "wrong":
        return tvm.IRModule({"main": _elementwise_product()}), None
    sch = tvm.s_tir.Schedule(func)
    i, j, k = sch.get_loops(sch.get_sblock("C"))
    _, ji = sch.split(j, [None, int(cfg.get("tile", 4))])
    if cfg.get("vectorize"):
        sch.vectorize(ji)
    return sch.mod, json.dumps({"tile": cfg.get("tile", 4)})


def abort_run(**kwargs: Any) -> dict[str, Any]:
    """A runner job that kills its process the way a crashing kernel would."""
    os.abort()


def report_blas_threads(**kwargs: Any) -> dict[str, Any]:
    """A runner job that fails naming the BLAS thread count its worker was started with."""
    raise RuntimeError(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")


def sleep(secs: float) -> None:
    time.sleep(secs)
