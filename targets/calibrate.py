"""Measuring a CPU's peaks with three small TVM kernels built for it: FMA, int8 dot product, STREAM triad.

How, and why these are honest numbers:

- **float32 FMA peak**: each of ``cores`` threads (``T.parallel``) runs ``chains`` independent
  vector FMA chains ``acc = acc * a + b`` for ``iters`` iterations, ``a`` and ``b`` scalar
  parameters. Enough chains hide the FMA latency and the accumulators stay in registers (the
  loop body is nothing but ``vfmadd`` / ``fmla``; checked in the tests), so the rate is the
  core's FMA throughput. FLOPs counted: 2 per lane per FMA.
- **int8 dot-product peak**: the same loop over the ISA's 4-way int8 dot product into int32
  (AVX-512 VNNI ``vpdpbusd``, AVX-VNNI, or ARM ``sdot``), called through its LLVM intrinsic;
  operations counted: 2 per multiply-accumulate (GOP/s). Not measured where the CPU has none
  (AMX tiles are not measured).
- **memory bandwidth**: STREAM's triad ``a[i] = b[i] + s * c[i]`` over three arrays much larger
  than the last-level cache, threads over contiguous chunks, vectorized; bytes counted as
  STREAM does (3 x 4 bytes per element; the write-allocate read is not counted).

Each figure is the best of ``repeats`` timings (a peak is what the machine can do; slower
repeats are other load), taken in ``rounds`` spread over about a second: one round lasts
0.1 s, and on a shared 2-vCPU host a burst of load that long once halved the FMA figure.
Run on a quiet machine: a shared host gives low figures.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .target import Target

CHAINS = 12  # independent accumulators: > FMA latency x pipes (4 x 2) on current cores, < 16 registers
ROUNDS = 8  # rounds of the compute kernels (quick: 1), ROUND_GAP_SECS apart
ROUND_GAP_SECS = 0.15


def _times(rounds: int, repeats: int) -> str:
    return f"{rounds} x {repeats}" if rounds > 1 else str(repeats)


@dataclass(frozen=True)
class Measured:
    """One calibrated figure and how it was measured."""

    value: float
    unit: str
    method: str


def _fma_kernel(threads: int, lanes: int, iters: int) -> Any:
    from tvm.script import tirx as T

    @T.prim_func
    def fma(xa: T.float32, xb: T.float32, out: T.Buffer((threads * CHAINS * lanes,), "float32")):  # type: ignore[valid-type]
        T.func_attr({"global_symbol": "main", "tir.noalias": True})
        for t in T.parallel(threads):
            for c in T.unroll(CHAINS):
                out[T.ramp((t * CHAINS + c) * lanes, 1, lanes)] = T.broadcast(xa, lanes)
            for _it in range(iters):
                for c in T.unroll(CHAINS):
                    out[T.ramp((t * CHAINS + c) * lanes, 1, lanes)] = (
                        out[T.ramp((t * CHAINS + c) * lanes, 1, lanes)] * T.broadcast(xa, lanes) + T.broadcast(xb, lanes)
                    )

    return fma


def dot_intrinsic(target: Target) -> tuple[str, int] | None:
    """(LLVM intrinsic, int32 lanes) of the target's int8 4-way dot product, or None."""
    f = set(target.features)
    if "avx512_vnni" in f:
        return "llvm.x86.avx512.vpdpbusd.512", 16
    if "avx_vnni" in f:
        return "llvm.x86.avx512.vpdpbusd.256", 8
    if f & {"asimddp", "dotprod"}:
        return "llvm.aarch64.neon.sdot.v4i32.v16i8", 4
    return None


def _dot_kernel(threads: int, intrinsic: str, lanes: int, iters: int) -> Any:
    from tvm.script import tirx as T

    vec_i32 = f"int32x{lanes}"
    vec_i8 = f"int8x{lanes * 4}"

    def operand(x: Any) -> Any:
        # four int8 values packed in an int32, broadcast, seen as the int8 vector the intrinsic takes
        return T.reinterpret(T.broadcast(x, lanes), dtype=vec_i8)

    @T.prim_func
    def dot(xa: T.int32, xb: T.int32, out: T.Buffer((threads * CHAINS * lanes,), "int32")):  # type: ignore[valid-type]
        T.func_attr({"global_symbol": "main", "tir.noalias": True})
        for t in T.parallel(threads):
            for c in T.unroll(CHAINS):
                out[T.ramp((t * CHAINS + c) * lanes, 1, lanes)] = T.broadcast(0, lanes)
            for _it in range(iters):
                for c in T.unroll(CHAINS):
                    out[T.ramp((t * CHAINS + c) * lanes, 1, lanes)] = T.call_llvm_pure_intrin(
                        vec_i32, T.llvm_lookup_intrinsic_id(intrinsic), out[T.ramp((t * CHAINS + c) * lanes, 1, lanes)],
                        operand(xa), operand(xb),
                    )

    return dot


def _triad_kernel(threads: int, lanes: int, n: int) -> Any:
    from tvm.script import tirx as T

    per_thread = n // threads
    steps = per_thread // lanes

    @T.prim_func
    def triad(s: T.float32, a: T.Buffer((n,), "float32"), b: T.Buffer((n,), "float32"), c: T.Buffer((n,), "float32")):  # type: ignore[valid-type]
        T.func_attr({"global_symbol": "main", "tir.noalias": True})
        for t in T.parallel(threads):
            for i in range(steps):
                a[T.ramp(t * per_thread + i * lanes, 1, lanes)] = (
                    b[T.ramp(t * per_thread + i * lanes, 1, lanes)] + T.broadcast(s, lanes) * c[T.ramp(t * per_thread + i * lanes, 1, lanes)]
                )

    return triad


def build(func: Any, target: Target) -> Any:
    """Compile one kernel for ``target``; returns the runtime module (its function is ``main``)."""
    import tvm

    return tvm.compile(tvm.IRModule({"main": func}), target=target.tvm_target()).mod


def _best_secs(mod: Any, args: list[Any], number: int, repeats: int, rounds: int = 1, gap_secs: float = ROUND_GAP_SECS) -> float:
    """The fastest of ``rounds`` x ``repeats`` timings, rounds ``gap_secs`` apart (outlasting a burst of load)."""
    import tvm

    evaluator = mod.time_evaluator("main", tvm.cpu(0), number=number, repeat=repeats)
    best = float("inf")
    for r in range(rounds):
        if r:
            time.sleep(gap_secs)
        best = min(best, float(min(evaluator(*args).results)))
    return best


def fp32_fma_gflops(target: Target, iters: int = 1 << 16, repeats: int = 30, rounds: int = 1) -> Measured:
    """float32 FMA throughput of ``target.cores`` threads in GFLOP/s."""
    import tvm

    lanes = target.vector_lanes(32)
    mod = build(_fma_kernel(target.cores, lanes, iters), target)
    out = tvm.runtime.tensor(np.zeros(target.cores * CHAINS * lanes, "float32"), tvm.cpu(0))
    secs = _best_secs(mod, [0.999, 0.001, out], number=3, repeats=repeats, rounds=rounds)
    flops = 2.0 * target.cores * CHAINS * lanes * iters
    method = f"TVM kernel: {target.cores} threads x {CHAINS} chains of {lanes}-lane FMA x {iters} iterations, best of {_times(rounds, repeats)}"
    return Measured(flops / secs / 1e9, "GFLOP/s", method)


def int8_dot_gops(target: Target, iters: int = 1 << 16, repeats: int = 30, rounds: int = 1) -> Measured | None:
    """int8 dot-product throughput in GOP/s (2 per multiply-accumulate), None without a dot-product ISA."""
    import tvm

    found = dot_intrinsic(target)
    if found is None:
        return None
    intrinsic, lanes = found
    mod = build(_dot_kernel(target.cores, intrinsic, lanes, iters), target)
    out = tvm.runtime.tensor(np.zeros(target.cores * CHAINS * lanes, "int32"), tvm.cpu(0))
    secs = _best_secs(mod, [0x01010101, 0x01010101, out], number=3, repeats=repeats, rounds=rounds)
    ops = 2.0 * 4 * target.cores * CHAINS * lanes * iters
    method = f"TVM kernel: {target.cores} threads x {CHAINS} chains of {intrinsic} x {iters} iterations, best of {_times(rounds, repeats)}"
    return Measured(ops / secs / 1e9, "GOP/s", method)


def triad_bandwidth_gbs(target: Target, n: int = 1 << 25, repeats: int = 5) -> Measured:
    """STREAM triad bandwidth in GB/s over three float32 arrays of ``n`` elements (128 MiB each by default)."""
    import tvm

    lanes = target.vector_lanes(32)
    n -= n % (target.cores * lanes)
    mod = build(_triad_kernel(target.cores, lanes, n), target)
    dev = tvm.cpu(0)
    a, b, c = (tvm.runtime.tensor(np.full(n, v, "float32"), dev) for v in (0.0, 1.0, 2.0))
    secs = _best_secs(mod, [3.0, a, b, c], number=1, repeats=repeats)
    method = f"TVM STREAM triad: 3 x {n * 4 >> 20} MiB, {target.cores} threads, 12 bytes per element, best of {repeats}"
    return Measured(3 * 4 * n / secs / 1e9, "GB/s", method)


def calibrate(target: Target, quick: bool = False, on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure ``target``'s peaks here: ``{"gflops": {dtype: value}, "bandwidth_gbs", "methods"}``.

    ``quick`` shortens every kernel (for tests: the figures are then rough).
    """
    if target.kind != "cpu":
        raise ValueError(f"calibrate measures this machine's CPU; {target.name!r} is a {target.kind} target")
    scale = 6 if quick else 0
    repeats, rounds = (3, 1) if quick else (30, ROUNDS)
    steps: list[tuple[str, Callable[[], Measured | None]]] = [
        ("float32", lambda: fp32_fma_gflops(target, iters=(1 << 16) >> scale, repeats=repeats, rounds=rounds)),
        ("int8", lambda: int8_dot_gops(target, iters=(1 << 16) >> scale, repeats=repeats, rounds=rounds)),
        ("bandwidth", lambda: triad_bandwidth_gbs(target, n=(1 << 25) >> scale, repeats=2 if quick else 5)),
    ]
    gflops: dict[str, float] = {}
    bandwidth = None
    methods: dict[str, str] = {}
    for name, step in steps:
        if on_step:
            on_step(name)
        start = time.perf_counter()
        m = step()
        if m is None:
            methods[name] = "not measured: no int8 dot-product instruction (VNNI, sdot) on this CPU"
            continue
        methods[name] = f"{m.method} ({time.perf_counter() - start:.1f} s)"
        if name == "bandwidth":
            bandwidth = m.value
        else:
            gflops[name] = m.value
    return {"gflops": gflops, "bandwidth_gbs": bandwidth, "methods": methods}


def calibrate_job(target_json: str, quick: bool = False) -> dict[str, Any]:
    """Worker entry point (``targets.calibrate:calibrate_job``): the target arrives as JSON."""
    return calibrate(Target(**json.loads(target_json)), quick=quick)
