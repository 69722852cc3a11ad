"""Build opforge's int8 CUDA kernels (plain, dp4a and tensor-core mma) for the GPU here, run them, check them.

Needs only TVM (with CUDA) and numpy besides this repository. For each case it builds the
schedule, runs it on GPU 0 and compares with the numpy reference: native int8 kernels must be
exact; quantized float kernels must equal the numpy evaluation of their quantized op (to float32
rounding) and stay within relative L2 1e-2 of the float result.

Each op's configs are scheduled here (a ScheduleError skips one: past the GPU's limits, or a
guarded dp4a tile), built in parallel by the tuner's Builder (worker processes, ``--case-limit``
seconds each: NVRTC takes minutes on some fully unrolled random configs; the tuner's builds time
out the same way), then run one by one. One line per case as soon as it has run: error, time,
GOP/s, and where the seconds went (schedule, build = TVM lowering + NVRTC + export, first call).
A kernel that hangs ends the process with a Python stack dump after ``--case-limit`` seconds
(faulthandler's watchdog); ``--budget`` starts no case after that many seconds, so one command
ends in known time. Exit code 1 on any mismatch or error. Writes ``gpu_quantize_check.txt`` into
``$OUT`` when set.

``--prepack`` checks the prepacked pair instead (``schedules.prepack.prepacked``): for each quantized
case it builds the whole kernel, the prepack function and the main function, runs prepack on the
weight and main on the activation (and bias) and the packed outputs, and compares with the whole
kernel's output (rtol 1e-6, atol 1e-6 of the output's largest magnitude), timing main and the whole kernel.

Run: ``python bench/gpu_quantize_check.py [--big] [--samples 3] [--only dense] [--build-only] [--prepack]``.
"""

from __future__ import annotations

import argparse
import faulthandler
import functools
import json
import os
import sys
import time
import traceback
import zlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: elements one chunk of dsl.reference may copy: large enough that a 2048^3 int8 matmul is one
#: float64 BLAS product (at the default 2**22 it splits into 4096 boxes that each re-convert both
#: whole operands: minutes, which is what kept the first H100 run of this script silent past 300 s)
REF_CHUNK = 2**25

HEADER = (f"{'case':30s} {'quantize':16s} {'tensorize':9s} {'cfg':4s} {'max abs err':>11s} {'rel L2':>9s} "
          f"{'ms':>9s} {'GOP/s':>9s}  {'sched s':>7s} {'build s':>7s} {'1st call s':>10s}  result")


def _num(x: float, spec: str) -> str:
    """``x`` formatted by ``spec``, or a right-aligned "-" of the same width for NaN (not measured)."""
    return format(x, spec) if x == x else format("-", ">" + spec.split(".")[0])


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
    t_build: float = float("nan")
    t_first: float = float("nan")
    ok: bool | None = None  # None: skipped
    text: str = ""

    def line(self) -> str:
        f = _num
        return (f"{self.case:30s} {self.scheme:16s} {self.value:9s} {self.cfg:4s} {f(self.max_abs, '11.3g')} {f(self.rel, '9.3g')} "
                f"{f(self.ms, '9.4f')} {f(self.gops, '9.1f')}  {f(self.t_sched, '7.2f')} {f(self.t_build, '7.2f')} "
                f"{f(self.t_first, '10.2f')}  {self.text}")


@dataclass
class Case:
    """One config to build, run and check; ``want`` gives the output's shape and dtype."""

    row: Row
    cfg: Any
    inputs: list
    want: np.ndarray
    ops: int
    check: Callable[[Row, np.ndarray], None]


PREPACK_HEADER = (f"{'case':30s} {'quantize':16s} {'tensorize':9s} {'cfg':4s} {'max abs diff':>12s} {'rel L2 float':>12s} "
                  f"{'main ms':>9s} {'whole ms':>9s} {'prepack ms':>10s}  {'sched s':>7s} {'build s':>7s}  result")

#: the Builder's schedule step in --prepack mode (its workers import this module by this name)
PART_APPLY = "bench.gpu_quantize_check:apply_part"
PARTS = ("whole", "prepack", "main")


@dataclass
class PrepackRow:
    """One prepacked case: main's output against the whole kernel's, and the times of main, whole and prepack."""

    case: str
    scheme: str
    value: str
    cfg: str
    max_abs: float = float("nan")
    rel: float = float("nan")
    main_ms: float = float("nan")
    whole_ms: float = float("nan")
    pre_ms: float = float("nan")
    t_sched: float = float("nan")
    t_build: float = float("nan")
    ok: bool | None = None  # None: skipped
    text: str = ""

    def line(self) -> str:
        f = _num
        return (f"{self.case:30s} {self.scheme:16s} {self.value:9s} {self.cfg:4s} {f(self.max_abs, '12.3g')} {f(self.rel, '12.3g')} "
                f"{f(self.main_ms, '9.4f')} {f(self.whole_ms, '9.4f')} {f(self.pre_ms, '10.4f')}  {f(self.t_sched, '7.2f')} "
                f"{f(self.t_build, '7.2f')}  {self.text}")


@dataclass(frozen=True)
class Part:
    """One module of a prepacked case as the Builder sends it to a worker: ``to_json`` is all it reads."""

    config: Any
    part: str  # one of PARTS

    def to_json(self) -> str:
        return json.dumps({"part": self.part, "config": self.config.to_json()})


def apply_part(func: Any, config_json: str, target: Any) -> tuple[Any, str | None]:
    """Schedule one part (``Part.to_json``): the whole kernel (``schedules.apply``), or prepack or main of ``prepacked``."""
    from schedules import Config, apply_with_trace
    from schedules.prepack import prepacked

    d = json.loads(config_json)
    if d["part"] not in PARTS:
        raise ValueError(f"unknown part {d['part']!r}; expected one of {PARTS}")
    cfg = Config.from_json(d["config"])
    if d["part"] == "whole":
        sch, trace = apply_with_trace(func, cfg, target)
        return sch.mod, trace
    split = prepacked(func, cfg, target)
    return (split.prepack if d["part"] == "prepack" else split.main).mod, None


def param_specs(mod: Any) -> list[tuple[str, tuple[int, ...], str]]:
    """(buffer name, shape, dtype) of each parameter of a scheduled module's ``main``, in order (outputs last)."""
    return [(str(p.name), tuple(int(x) for x in p.shape), str(p.dtype)) for p in mod["main"].params]  # buffer-typed vars


def compare_native(row: Row, got: np.ndarray, want: np.ndarray) -> None:
    """A native int8 kernel must be exact."""
    diff = np.abs(got.astype(np.int64) - want)
    row.max_abs = float(diff.max())
    row.rel = float(np.linalg.norm(diff.astype(np.float64)) / max(float(np.linalg.norm(want.astype(np.float64))), 1e-30))
    row.ok = row.max_abs == 0
    row.text = "exact" if row.ok else f"MISMATCH ({int((diff != 0).sum())} elements differ)"


def compare_quantized(row: Row, got: np.ndarray, q_want: np.ndarray, float_want: np.ndarray) -> None:
    """A quantized kernel must equal its quantized op to float32 rounding and the float op within rel L2 1e-2."""
    row.max_abs = float(np.abs(got - q_want).max())
    row.rel = float(np.linalg.norm(got - float_want) / np.linalg.norm(float_want))
    close = np.isclose(got, q_want, rtol=1e-5, atol=1e-5 * float(np.abs(q_want).max()))
    same = bool(close.all())
    row.ok = same and row.rel < 1e-2
    differ = f" ({int((~close).sum())} of {close.size} values differ from its quantized reference)"
    row.text = ("ok" if row.ok else "FAIL") + ("" if same else differ) + ("" if row.rel < 1e-2 else " (rel L2 vs float >= 1e-2)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default=None, help="sm_NN (default: the GPU's own)")
    p.add_argument("--samples", type=int, default=1, help="random configs per case besides the default")
    p.add_argument("--seed", type=int, default=0, help="seed of each case's inputs and random configs")
    p.add_argument("--only", action="append", default=None, help="run only the cases whose label contains this text (repeatable)")
    p.add_argument("--big", action="store_true", help="add matmul_int8 2048^3 and quantized dense 128x1024x1024 and matmul 1024^3")
    p.add_argument("--case-limit", type=float, default=120.0, help="seconds one case may take before the process dumps its stack and exits")
    p.add_argument("--budget", type=float, default=420.0, help="start no case after this many seconds")
    p.add_argument("--configs", action="store_true", help="print each case's config (JSON) before it runs")
    p.add_argument("--build-only", action="store_true", help="schedule and lower only (no GPU needed): where the CPU time goes")
    p.add_argument("--prepack", action="store_true", help="check the quantized cases' prepacked pair (prepack, then main) against the whole kernel")
    a = p.parse_args()
    start = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {text}", flush=True)

    import tvm

    say(f"tvm {tvm.__version__} imported")
    from dsl import library
    from dsl.analysis import flop_count
    from dsl.inputs import random_inputs
    from dsl.lower import lower
    from dsl.reference import reference
    from schedules import ScheduleError, apply, space_for
    from schedules.quantize import activation_mode, calibrate, calibrated, quantized_op
    from targets.cuda import cuda_target

    target = cuda_target(a.arch or (None if not a.build_only else "sm_90"))
    dev = None  # --build-only: nothing runs
    if not a.build_only:
        dev = tvm.cuda(0)
        if not dev.exist:
            print("no CUDA device visible to TVM", flush=True)
            return 2
    say(f"target {target.name} ({target.hardware.get('gpu')})")
    rows: list[Row | PrepackRow] = []
    left_out = 0
    faulthandler.enable()
    builder = None
    if dev is not None:  # builds run in the tuner's worker processes, each under --case-limit
        from autotune.measure.builder import APPLY, Builder
        from autotune.measure.result import TIMEOUT

        builder = Builder(n_workers=min(8, os.cpu_count() or 1), timeout_secs=a.case_limit, apply=PART_APPLY if a.prepack else APPLY)

    def run_cases(program: Any, cases: list[Case]) -> None:
        """Schedule every case here (a ScheduleError skips it), build the rest in parallel, then run,
        time and check each on the GPU, printing one row per case."""
        nonlocal left_out
        todo = []
        for c in cases:
            if time.perf_counter() - start > a.budget:
                left_out += 1
                continue
            if a.configs:
                print(f"  {c.row.case} {c.row.scheme} {c.row.value} {c.row.cfg}: {c.cfg.to_json()}", flush=True)
            t = time.perf_counter()
            try:
                sch = apply(program, c.cfg, target)
            except ScheduleError as e:  # a config past the GPU's limits or a guarded dp4a tile: not a failure
                c.row.ok, c.row.text = None, f"skipped: {str(e)[:110]}"
                finish(c.row)
                continue
            c.row.t_sched = time.perf_counter() - t
            if builder is None:
                t = time.perf_counter()
                tvm.compile(sch.mod, target=target.tvm_target())
                c.row.t_build = time.perf_counter() - t
                c.row.ok, c.row.text = True, "built"
                finish(c.row)
                continue
            todo.append(c)
        if builder is None or not todo:
            return
        for c, built in zip(todo, builder.build(program, [c.cfg for c in todo], target)):
            if built.artifact is None:
                timeout = built.status == TIMEOUT
                c.row.ok = None if timeout else False
                c.row.text = f"build timeout (> {a.case_limit:g} s)" if timeout else f"ERROR {(built.error or '').strip()[:200]}"
                finish(c.row)
                continue
            c.row.t_build = built.build_secs if built.build_secs is not None else float("nan")
            faulthandler.dump_traceback_later(a.case_limit, exit=True)  # a kernel that hangs ends the run with a stack dump
            try:
                c.check(c.row, run_built(c.row, built.artifact, c.inputs, c.want, c.ops))
            except Exception as e:  # noqa: BLE001 - a config that fails is reported, the check goes on
                c.row.ok, c.row.text = False, f"ERROR {type(e).__name__}: {(str(e).strip().splitlines() or [''])[-1][:200]}"
                traceback.print_exc()
            finally:
                faulthandler.cancel_dump_traceback_later()
            finish(c.row)

    def run_prepack_cases(func: Any, op: Any, inputs: list, float_want: np.ndarray, cases: list[tuple[PrepackRow, Any]]) -> None:
        """Schedule each case's whole kernel and prepacked pair here (a ScheduleError skips it), build the
        three modules of every case in parallel, then run prepack, main and the whole kernel on the GPU."""
        from schedules.prepack import prepacked
        from schedules.quantize import plan

        nonlocal left_out
        weight = plan(op).weight
        names = [t.name for t in op.inputs]
        todo = []
        for row, cfg in cases:
            if time.perf_counter() - start > a.budget:
                left_out += 1
                continue
            if a.configs:
                print(f"  {row.case} {row.scheme} {row.value} {row.cfg}: {cfg.to_json()}", flush=True)
            t = time.perf_counter()
            try:
                whole = apply(func, cfg, target)
                split = prepacked(func, cfg, target)
            except ScheduleError as e:
                row.ok, row.text = None, f"skipped: {str(e)[:110]}"
                finish(row)
                continue
            row.t_sched = time.perf_counter() - t
            pre_specs, main_specs = param_specs(split.prepack.mod), param_specs(split.main.mod)
            packed = {name: (shape, dtype) for name, shape, dtype in pre_specs[1:]}
            wrong = [f"{name} {shape} {dtype}" for name, shape, dtype in main_specs[:-1]
                     if name not in names and packed.get(name) != (shape, dtype)]
            if pre_specs[0][0] != weight or wrong:
                row.ok, row.text = False, f"ERROR prepack takes {pre_specs[0][0]} and gives {pre_specs[1:]}; main takes {wrong}"
                finish(row)
                continue
            if builder is None:
                t = time.perf_counter()
                for sch in (whole, split.prepack, split.main):
                    tvm.compile(sch.mod, target=target.tvm_target())
                row.t_build = time.perf_counter() - t
                row.ok, row.text = True, "built"
                finish(row)
                continue
            todo.append((row, cfg, pre_specs, main_specs))
        if builder is None or not todo:
            return
        built = builder.build(func, [Part(cfg, part) for _, cfg, _, _ in todo for part in PARTS], target)
        for n, (row, _, pre_specs, main_specs) in enumerate(todo):
            results = dict(zip(PARTS, built[len(PARTS) * n:len(PARTS) * (n + 1)]))
            failed = [(part, b) for part, b in results.items() if b.artifact is None]
            if failed:
                part, b = failed[0]
                timeout = b.status == TIMEOUT
                row.ok = None if timeout else False
                row.text = (f"{part} build timeout (> {a.case_limit:g} s)" if timeout
                            else f"ERROR {part}: {(b.error or '').strip()[:200]}")
                finish(row)
                continue
            row.t_build = sum(b.build_secs or 0.0 for b in results.values())
            faulthandler.dump_traceback_later(a.case_limit, exit=True)  # a kernel that hangs ends the run with a stack dump
            try:
                run_prepacked(row, {part: b.artifact for part, b in results.items()}, names, weight, inputs, float_want,
                              pre_specs, main_specs)
            except Exception as e:  # noqa: BLE001 - a config that fails is reported, the check goes on
                row.ok, row.text = False, f"ERROR {type(e).__name__}: {(str(e).strip().splitlines() or [''])[-1][:200]}"
                traceback.print_exc()
            finally:
                faulthandler.cancel_dump_traceback_later()
            finish(row)

    def run_prepacked(row: PrepackRow, artifacts: dict[str, str], names: list[str], weight: str, inputs: list,
                      float_want: np.ndarray, pre_specs: list, main_specs: list) -> None:
        """Prepack the weight, run main on the other inputs and the packed ones, compare with the whole kernel."""
        assert dev is not None
        mods = {part: tvm.runtime.load_module(path) for part, path in artifacts.items()}

        def on_gpu(x: np.ndarray) -> Any:
            return tvm.runtime.tensor(np.array(x, order="C"), dev)  # np.array keeps a 0-d scale 0-d

        given = dict(zip(names, inputs))
        pre_args = [on_gpu(given[weight])] + [on_gpu(np.zeros(shape, dtype)) for _, shape, dtype in pre_specs[1:]]
        mods["prepack"]["main"](*pre_args)
        by_name = {name: on_gpu(x) for name, x in given.items() if name != weight}
        by_name.update({name: arr for (name, _, _), arr in zip(pre_specs[1:], pre_args[1:])})
        out_name, out_shape, out_dtype = main_specs[-1]
        main_args = [by_name[name] for name, _, _ in main_specs[:-1]] + [on_gpu(np.zeros(out_shape, out_dtype))]
        mods["main"]["main"](*main_args)
        whole_args = [on_gpu(x) for x in inputs] + [on_gpu(np.zeros_like(float_want))]
        mods["whole"]["main"](*whole_args)
        dev.sync()
        got, want = main_args[-1].numpy(), whole_args[-1].numpy()
        for part, args in (("prepack", pre_args), ("main", main_args), ("whole", whole_args)):
            secs = mods[part].time_evaluator("main", dev, number=10, repeat=3)(*args).median
            setattr(row, {"prepack": "pre_ms", "main": "main_ms", "whole": "whole_ms"}[part], secs * 1e3)
        if got.shape != want.shape:
            row.ok, row.text = False, f"MISMATCH main gives {out_name} {got.shape}, the whole kernel {want.shape}"
            return
        row.max_abs = float(np.abs(got - want).max())
        row.rel = float(np.linalg.norm(got - float_want) / np.linalg.norm(float_want))
        close = np.isclose(got, want, rtol=1e-6, atol=1e-6 * float(np.abs(want).max()))
        same = bool(close.all())
        row.ok = same and row.rel < 1e-2
        row.text = (("ok" if row.ok else "FAIL") + ("" if same else f" ({int((~close).sum())} of {close.size} values differ from the whole kernel's)")
                    + ("" if row.rel < 1e-2 else " (rel L2 vs float >= 1e-2)"))

    def finish(row: Row | PrepackRow) -> None:
        rows.append(row)
        print(row.line(), flush=True)

    def run_built(row: Row, artifact: str, inputs: list, want: np.ndarray, ops: int) -> np.ndarray:
        assert dev is not None
        mod = tvm.runtime.load_module(artifact)
        args = [tvm.runtime.tensor(np.array(x, order="C"), dev) for x in inputs]
        out = tvm.runtime.tensor(np.zeros_like(want), dev)
        t = time.perf_counter()
        mod["main"](*args, out)  # the first call loads the kernels onto the GPU
        dev.sync()
        row.t_first = time.perf_counter() - t
        got = out.numpy()
        secs = mod.time_evaluator("main", dev, number=10, repeat=3)(*args, out).median
        row.ms, row.gops = secs * 1e3, ops / secs / 1e9
        return got

    def wanted(op: Any, inputs: list) -> np.ndarray:
        out = reference(op, *inputs, chunk_elems=REF_CHUNK)
        assert isinstance(out, np.ndarray), "these ops have one output"
        return out

    print(PREPACK_HEADER if a.prepack else HEADER, flush=True)
    native = [
        ("matmul_int8 512^3", library.get("matmul_int8").bind(M=512, N=512, K=512)),
        ("matmul_int8 97x64x36", library.get("matmul_int8").bind(M=97, N=64, K=36)),
        ("conv2d_nchw_int8 16->32 14^2", library.get("conv2d_nchw_int8", padding=1).bind(N=1, C=16, H=14, W=14, K=32, R=3, S=3)),
    ]
    if a.big:
        native.insert(1, ("matmul_int8 2048^3", library.get("matmul_int8").bind(M=2048, N=2048, K=2048)))
    for label, op in ([] if a.prepack else native):  # nothing to prepack in a native int8 op
        if a.only and not any(text in label for text in a.only):
            continue
        rng = np.random.default_rng([a.seed, zlib.crc32(label.encode())])  # the same data and configs with or without --only
        faulthandler.dump_traceback_later(a.case_limit, exit=True)
        space = space_for(op, target)
        inputs = [rng.integers(-128, 128, x.shape).astype(x.dtype) if x.dtype == np.int8 else x for x in random_inputs(op, rng)]
        want = wanted(op, inputs)
        faulthandler.cancel_dump_traceback_later()
        say(f"{label}: space and reference ready")
        knob = f"{op.stages[0].name}.tensorize"
        values = space.knob(knob).choices if knob in space.names else ("none",)
        configs = [space.default(), *space.sample(a.samples, rng)]
        check = functools.partial(compare_native, want=want)
        run_cases(lower(op), [Case(Row(label, "native int8", str(value), f"#{n}"),
                            cfg.replace(**{knob: value}) if knob in space.names else cfg, inputs, want, flop_count(op), check)
                       for value in values for n, cfg in enumerate(configs)])

    quantized = [
        ("dense+bias+relu 64x256x512", library.get("dense", bias=True, epilogue="relu").bind(M=64, N=256, K=512)),
        ("matmul 128x128x256", library.get("matmul").bind(M=128, N=128, K=256)),
        ("conv2d_nchw 16->32 14^2 p1", library.get("conv2d_nchw", padding=1).bind(N=1, C=16, H=14, W=14, K=32, R=3, S=3)),
    ]
    if a.big:
        quantized += [
            ("dense 128x1024x1024", library.get("dense").bind(M=128, N=1024, K=1024)),
            ("matmul 1024^3", library.get("matmul").bind(M=1024, N=1024, K=1024)),
        ]
    for label, op in quantized:
        if a.only and not any(text in label for text in a.only):
            continue
        rng = np.random.default_rng([a.seed, zlib.crc32(label.encode())])  # the same data and configs with or without --only
        faulthandler.dump_traceback_later(a.case_limit, exit=True)
        calibration = calibrate(op, [random_inputs(op, np.random.default_rng([0, 1]))])
        func = calibrated(op, calibration)
        space = space_for(func, target)
        inputs = random_inputs(op, rng)
        float_want = wanted(op, inputs)
        faulthandler.cancel_dump_traceback_later()
        say(f"{label}: calibration, space and reference ready")
        knob = f"{op.stages[0].name}.tensorize"
        values = space.knob(knob).choices if knob in space.names else ("none",)
        configs = [space.default(), *space.sample(a.samples, rng)]
        if a.prepack:
            chosen_cases = [(PrepackRow(label, str(scheme), str(value), f"#{n}"),
                             cfg.replace(quantize=str(scheme), **({knob: value} if knob in space.names else {})))
                            for scheme in space.knob("quantize").choices if scheme != "none"
                            for value in values for n, cfg in enumerate(configs)]
            run_prepack_cases(func, op, inputs, float_want, chosen_cases)
            continue
        cases = []
        for scheme in (str(s) for s in space.knob("quantize").choices if s != "none"):
            for value in (str(v) for v in values):
                q_want = wanted(quantized_op(op, scheme, calibration, activation_mode(value)), inputs)
                check = functools.partial(compare_quantized, q_want=q_want, float_want=float_want)
                chosen = {knob: value} if knob in space.names else {}
                cases += [Case(Row(label, scheme, value, f"#{n}"), cfg.replace(quantize=scheme, **chosen), inputs, float_want,
                               flop_count(op), check) for n, cfg in enumerate(configs)]
        run_cases(func, cases)

    if builder is not None:
        builder.close()
    bad = sum(r.ok is False for r in rows)
    good = sum(r.ok is True for r in rows)
    timeouts = sum(r.text.startswith("build timeout") for r in rows)
    skipped = sum(r.ok is None for r in rows) - timeouts
    tail = (f"{target.name} on {target.hardware.get('gpu')}: {good} ok, {bad} failed, {skipped} skipped by the schedule, "
            f"{timeouts} build timeouts")
    if left_out:
        tail += f", {left_out} not started (--budget {a.budget:g} s reached)"
    say(tail)
    out_dir = os.environ.get("OUT")
    if out_dir:
        with open(os.path.join(out_dir, "gpu_quantize_prepack.txt" if a.prepack else "gpu_quantize_check.txt"), "w") as fh:
            fh.write("\n".join([PREPACK_HEADER if a.prepack else HEADER, *(r.line() for r in rows), tail]) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
