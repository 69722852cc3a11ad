"""Build opforge's int8 CUDA kernels (plain, dp4a and tensor-core mma) for the GPU here, run them, check them.

Needs only TVM (with CUDA) and numpy besides this repository. For each case it builds the
schedule, runs it on GPU 0 and compares with the numpy reference: native int8 kernels must be
exact; quantized float kernels must equal the numpy evaluation of their quantized op (to float32
rounding) and stay within relative L2 1e-2 of the float result.

One line per case as soon as it ends (error, time, GOP/s, and where the seconds went: schedule,
TVM lowering, first call = NVRTC compile + load + run). ``--case-limit`` ends the process with a
Python stack dump when one case hangs (faulthandler's watchdog also fires inside a blocked CUDA
call); ``--budget`` starts no case after that many seconds, so one command ends in known time.
Exit code 1 on any mismatch or error. Writes ``gpu_quantize_check.txt`` into ``$OUT`` when set.

Run: ``python bench/gpu_quantize_check.py [--arch sm_90] [--samples 1] [--only dense] [--build-only]``.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HEADER = (f"{'case':30s} {'quantize':16s} {'tensorize':9s} {'cfg':4s} {'max abs err':>11s} {'rel L2':>9s} "
          f"{'ms':>9s} {'GOP/s':>9s}  {'sched s':>7s} {'lower s':>7s} {'1st call s':>10s}  result")


@dataclass
class Row:
    """One case's outcome; ``text`` is OK, a mismatch, an error or why it was skipped."""

    case: str
    scheme: str
    value: str
    cfg: str
    max_abs: float = float("nan")
    rel: float = float("nan")
    ms: float = float("nan")
    gops: float = float("nan")
    t_sched: float = float("nan")
    t_lower: float = float("nan")
    t_first: float = float("nan")
    ok: bool | None = None  # None: skipped
    text: str = ""

    def line(self) -> str:
        def f(x: float, spec: str) -> str:
            return format(x, spec) if x == x else format("-", ">" + spec.split(".")[0])

        return (f"{self.case:30s} {self.scheme:16s} {self.value:9s} {self.cfg:4s} {f(self.max_abs, '11.3g')} {f(self.rel, '9.3g')} "
                f"{f(self.ms, '9.4f')} {f(self.gops, '9.1f')}  {f(self.t_sched, '7.2f')} {f(self.t_lower, '7.2f')} "
                f"{f(self.t_first, '10.2f')}  {self.text}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default=None, help="sm_NN (default: the GPU's own)")
    p.add_argument("--samples", type=int, default=1, help="random configs per case besides the default")
    p.add_argument("--only", default=None, help="run only the cases whose label contains this text")
    p.add_argument("--big", action="store_true", help="add matmul_int8 2048^3 (its plain random configs are slow)")
    p.add_argument("--case-limit", type=float, default=120.0, help="seconds one case may take before the process dumps its stack and exits")
    p.add_argument("--budget", type=float, default=420.0, help="start no case after this many seconds")
    p.add_argument("--build-only", action="store_true", help="schedule and lower only (no GPU needed): where the CPU time goes")
    a = p.parse_args()
    start = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {text}", flush=True)

    import tvm

    say(f"tvm {tvm.__version__} imported")
    from dsl import library
    from dsl.analysis import flop_count
    from dsl.inputs import random_inputs
    from dsl.reference import reference
    from schedules import ScheduleError, apply, space_for
    from schedules.quantize import activation_mode, calibrate, calibrated, quantized_op
    from targets.cuda import cuda_target

    target = cuda_target(a.arch or (None if not a.build_only else "sm_90"))
    dev = None
    if not a.build_only:
        dev = tvm.cuda(0)
        if not dev.exist:
            print("no CUDA device visible to TVM", flush=True)
            return 2
    say(f"target {target.name} ({target.hardware.get('gpu')})")
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    left_out = 0
    faulthandler.enable()

    def case(row: Row, body: Callable[[Row], None]) -> None:
        nonlocal left_out
        if a.only and a.only not in row.case:
            return
        if time.perf_counter() - start > a.budget:
            left_out += 1
            return
        faulthandler.dump_traceback_later(a.case_limit, exit=True)
        try:
            body(row)
        except ScheduleError as e:  # a config past the GPU's limits or a guarded dp4a tile: not a failure
            row.ok, row.text = None, f"skipped: {str(e)[:110]}"
        except Exception as e:  # noqa: BLE001 - a config that fails is reported, the check goes on
            row.ok, row.text = False, f"ERROR {type(e).__name__}: {(str(e).strip().splitlines() or [''])[-1][:200]}"
            traceback.print_exc()
        finally:
            faulthandler.cancel_dump_traceback_later()
        rows.append(row)
        print(row.line(), flush=True)

    def build_and_run(row: Row, program: Any, cfg: Any, inputs: list, out_shape: tuple, out_dtype: str, ops: int) -> np.ndarray | None:
        t = time.perf_counter()
        sch = apply(program, cfg, target)
        row.t_sched = time.perf_counter() - t
        t = time.perf_counter()
        ex = tvm.compile(sch.mod, target=target.tvm_target())
        row.t_lower = time.perf_counter() - t
        if a.build_only:
            row.ok, row.text = True, "built"
            return None
        args = [tvm.runtime.tensor(np.array(x, order="C"), dev) for x in inputs]
        out = tvm.runtime.tensor(np.zeros(out_shape, out_dtype), dev)
        t = time.perf_counter()
        ex["main"](*args, out)  # the first call compiles the CUDA source (NVRTC) and loads it
        dev.sync()
        row.t_first = time.perf_counter() - t
        got = out.numpy()
        secs = ex.mod.time_evaluator("main", dev, number=10, repeat=3)(*args, out).median
        row.ms, row.gops = secs * 1e3, ops / secs / 1e9
        return got

    print(HEADER, flush=True)
    native = [
        ("matmul_int8 512^3", library.get("matmul_int8").bind(M=512, N=512, K=512)),
        ("matmul_int8 97x64x36", library.get("matmul_int8").bind(M=97, N=64, K=36)),
        ("conv2d_nchw_int8 16->32 14^2", library.get("conv2d_nchw_int8", padding=1).bind(N=1, C=16, H=14, W=14, K=32, R=3, S=3)),
    ]
    if a.big:
        native.insert(1, ("matmul_int8 2048^3", library.get("matmul_int8").bind(M=2048, N=2048, K=2048)))
    for label, op in native:
        if a.only and a.only not in label:
            continue
        space = space_for(op, target)
        inputs = [rng.integers(-128, 128, x.shape).astype(x.dtype) if x.dtype == np.int8 else x for x in random_inputs(op, rng)]
        want = reference(op, *inputs)
        knob = f"{op.stages[0].name}.tensorize"
        values = space.knob(knob).choices if knob in space.names else ("none",)
        configs = [space.default(), *space.sample(a.samples, rng)]
        for value in values:
            for n, cfg in enumerate(configs):
                cfg = cfg.replace(**{knob: value}) if knob in space.names else cfg

                def body(row: Row, op: Any = op, cfg: Any = cfg, inputs: list = inputs, want: np.ndarray = want) -> None:
                    got = build_and_run(row, op, cfg, inputs, want.shape, "int32", flop_count(op))
                    if got is None:
                        return
                    diff = np.abs(got.astype(np.int64) - want)
                    row.max_abs = float(diff.max())
                    row.rel = float(np.linalg.norm(diff.astype(np.float64)) / max(np.linalg.norm(want.astype(np.float64)), 1e-30))
                    row.ok = bool(row.max_abs == 0)
                    row.text = "exact" if row.ok else f"MISMATCH ({int((diff != 0).sum())} elements differ)"

                case(Row(label, "native int8", value, f"#{n}"), body)

    quantized = [
        ("dense+bias+relu 64x256x512", library.get("dense", bias=True, epilogue="relu").bind(M=64, N=256, K=512)),
        ("matmul 128x128x256", library.get("matmul").bind(M=128, N=128, K=256)),
        ("conv2d_nchw 16->32 14^2 p1", library.get("conv2d_nchw", padding=1).bind(N=1, C=16, H=14, W=14, K=32, R=3, S=3)),
    ]
    for label, op in quantized:
        if a.only and a.only not in label:
            continue
        calibration = calibrate(op, [random_inputs(op, np.random.default_rng([0, 1]))])
        func = calibrated(op, calibration)
        space = space_for(func, target)
        inputs = random_inputs(op, rng)
        float_want = reference(op, *inputs)
        knob = f"{op.stages[0].name}.tensorize"
        values = space.knob(knob).choices if knob in space.names else ("none",)
        configs = [space.default(), *space.sample(a.samples, rng)]
        for scheme in space.knob("quantize").choices:
            if scheme == "none":
                continue
            for value in values:
                q_want = reference(quantized_op(op, scheme, calibration, activation_mode(value)), *inputs)
                for n, cfg in enumerate(configs):
                    cfg = cfg.replace(quantize=scheme, **({knob: value} if knob in space.names else {}))

                    def body(row: Row, cfg: Any = cfg, q_want: np.ndarray = q_want, func: Any = func, float_want: np.ndarray = float_want,
                             inputs: list = inputs, ops: int = flop_count(op)) -> None:
                        got = build_and_run(row, func, cfg, inputs, float_want.shape, "float32", ops)
                        if got is None:
                            return
                        scale = float(np.abs(q_want).max())
                        row.max_abs = float(np.abs(got - q_want).max())
                        row.rel = float(np.linalg.norm(got - float_want) / np.linalg.norm(float_want))
                        same = bool(np.allclose(got, q_want, rtol=1e-5, atol=1e-5 * scale))
                        row.ok = same and row.rel < 1e-2
                        row.text = ("ok" if row.ok else "FAIL") + ("" if same else " (differs from its quantized reference)") + (
                            "" if row.rel < 1e-2 else " (rel L2 vs float >= 1e-2)")

                    case(Row(label, scheme, value, f"#{n}"), body)

    bad = sum(r.ok is False for r in rows)
    good = sum(r.ok is True for r in rows)
    skipped = sum(r.ok is None for r in rows)
    tail = f"{target.name} on {target.hardware.get('gpu')}: {good} ok, {bad} failed, {skipped} skipped"
    if left_out:
        tail += f", {left_out} not started (--budget {a.budget:g} s reached)"
    say(tail)
    out_dir = os.environ.get("OUT")
    if out_dir:
        with open(os.path.join(out_dir, "gpu_quantize_check.txt"), "w") as fh:
            fh.write("\n".join([HEADER, *(r.line() for r in rows), tail]) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
