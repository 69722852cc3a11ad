"""INT8 against float32 on this CPU, and against PyTorch's quantized linear, speed beside accuracy, in one run.

Four tuning runs (evolutionary search with the XGBoost model, ``--trials`` each, in memory):

1. ``matmul`` float32 MxMxM (default 1024^3);
2. ``matmul_int8`` uint8 x int8 -> int32 at the same size (native int8: exact);
3. ``matmul`` float32 with ``--quantize int8`` (quantize / tensorize knobs searched, rel L2 <= 1e-2);
4. ``dense`` with bias, ``--dense`` sizes (default M=128, N=K=1024), with ``--quantize int8``.

Then every finalist is re-timed in this process, in interleaved rounds so that load from other
users hits all alike (``time_evaluator``, median of ``--rounds``), with ``TVM_NUM_THREADS`` and
PyTorch's threads both set to the cores this process may use. The quantized kernels are timed as
tuned (the weight quantized on every call) and prepacked (``schedules.prepack``: the weight
quantized and packed once, as an exporter does, like PyTorch's prepacked weights). PyTorch's
peer is ``torch.ao.nn.quantized.dynamic.Linear`` (float in and out, int8 weights prepacked,
activations quantized per call) on each quantized engine it has (fbgemm, x86, onednn).
Accuracy: max abs and relative L2 error against the float32 numpy reference on the same inputs.

Run: ``python bench/bench_quantize.py [--trials 48] [--size 1024] [--dense 128,1024,1024] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass
from typing import Any, Callable

THREADS = os.environ.setdefault("TVM_NUM_THREADS", str(len(os.sched_getaffinity(0))))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)

import numpy as np  # noqa: E402


@dataclass
class Entry:
    label: str
    flops: int
    run: Callable[[], float]  # seconds of one timed measurement
    output: Callable[[], np.ndarray]
    want: np.ndarray
    config: str = ""
    times: list[float] | None = None


def _errors(got: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    g, w = got.astype(np.float64), want.astype(np.float64)
    return float(np.abs(g - w).max()), float(np.linalg.norm(g - w) / np.linalg.norm(w))


def _tune(op: Any, target: Any, trials: int, seed: int, quantize: bool) -> tuple[Any, Any, Any]:
    """(prepared op, best float config, best quantized config or None) of one in-memory run."""
    import math

    from autotune.accuracy import DEFAULT_MAX_REL_ERROR, gate_session, quantized_target
    from autotune.session import TuneOptions, TuningSession
    from autotune.store import MemoryStore
    from schedules import Config

    opts = TuneOptions(trials=trials, seed=seed, repeats=3, min_repeat_ms=20)
    tgt = quantized_target(target, DEFAULT_MAX_REL_ERROR) if quantize else target
    store = MemoryStore()
    with TuningSession(tgt, opts) as session:
        prepared = session.prepare(op)
        if quantize:
            (prepared,) = gate_session(session, [prepared], DEFAULT_MAX_REL_ERROR, seed)
        session.tuner(prepared, store).tune(opts.budget())
    best: dict[bool, tuple[float, Any]] = {}
    for t in store.trials(prepared.task):
        cfg = Config.from_json(t.config)
        q = cfg["quantize"] != "none"
        if t.result.ok and t.result.cost < best.get(q, (math.inf, None))[0]:
            best[q] = (t.result.cost, cfg)
    return prepared, best.get(False, (0, prepared.space.default()))[1], best.get(True, (0, None))[1]


def _compiled(sch: Any, target: Any) -> Any:
    import tvm

    return tvm.compile(sch.mod, target=target.tvm_target())


def _tvm_entry(label: str, ex: Any, arrays: list[np.ndarray], out_shape: tuple[int, ...], out_dtype: str, flops: int,
               want: np.ndarray, config: str) -> Entry:
    import tvm

    dev = tvm.cpu()
    args = [tvm.runtime.tensor(np.array(a, order="C"), dev) for a in arrays]
    out = tvm.runtime.tensor(np.zeros(out_shape, out_dtype), dev)
    timer = ex.mod.time_evaluator("main", dev, number=5, repeat=1)
    ex["main"](*args, out)
    return Entry(label, flops, lambda: timer(*args, out).median, lambda: out.numpy(), want, config)


def _prepacked_entry(label: str, prepared: Any, cfg: Any, target: Any, weight_pos: int, flops: int, want: np.ndarray) -> Entry:
    import tvm

    from schedules.prepack import prepacked

    split = prepacked(prepared.func, cfg, target)
    dev = tvm.cpu()
    pre = _compiled(split.prepack, target)
    shapes = _param_shapes(split.prepack.mod["main"])
    packed = [tvm.runtime.tensor(np.zeros(s, d), dev) for s, d in shapes[1:]]
    pre["main"](tvm.runtime.tensor(prepared.inputs[weight_pos], dev), *packed)  # once, as at export
    others = [x for n, x in enumerate(prepared.inputs) if n != weight_pos]
    main = _compiled(split.main, target)
    args = [tvm.runtime.tensor(np.array(a, order="C"), dev) for a in others] + packed
    out = tvm.runtime.tensor(np.zeros(want.shape, "float32"), dev)
    main["main"](*args, out)
    timer = main.mod.time_evaluator("main", dev, number=5, repeat=1)
    return Entry(label, flops, lambda: timer(*args, out).median, lambda: out.numpy(), want, cfg.to_json())


def _param_shapes(func: Any) -> list[tuple[tuple[int, ...], str]]:
    from tvm import s_tir

    sch = s_tir.Schedule(func)
    found: dict[str, tuple[tuple[int, ...], str]] = {}
    for rv in sch.get_child_blocks(sch.get_sblock("root")):
        blk = sch.get(rv)
        for region in (*blk.reads, *blk.writes):
            found[str(region.source.name)] = (tuple(int(x) for x in region.source.shape), str(region.source.dtype))
    return [found[str(p.name)] for p in func.params]


def _torch_entries(x: np.ndarray, w: np.ndarray, bias: np.ndarray, flops: int, want: np.ndarray) -> list[Entry]:
    try:
        import torch
    except ImportError:
        return []
    torch.set_num_threads(int(THREADS))
    out: list[Entry] = []
    xt = torch.from_numpy(x)
    lin = torch.nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
        lin.bias.copy_(torch.from_numpy(bias))
    out.append(_torch_entry("torch float32 Linear", lambda: lin(xt), flops, want))
    for engine in ("fbgemm", "x86", "onednn"):
        if engine not in torch.backends.quantized.supported_engines:
            continue
        torch.backends.quantized.engine = engine
        qlin = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)
        out.append(_torch_entry(f"torch dynamic int8 Linear ({engine})", lambda q=qlin, e=engine: _with_engine(e, q, xt), flops, want))
    return out


def _with_engine(engine: str, model: Any, x: Any) -> Any:
    import torch

    torch.backends.quantized.engine = engine
    return model(x)


def _torch_entry(label: str, fn: Callable[[], Any], flops: int, want: np.ndarray) -> Entry:
    import time

    import torch

    def run() -> float:
        with torch.no_grad():
            fn()
            start = time.perf_counter()
            for _ in range(5):
                fn()
            return (time.perf_counter() - start) / 5

    def output() -> np.ndarray:
        with torch.no_grad():
            return fn().numpy()

    return Entry(label, flops, run, output, want)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=48)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--dense", default="128,1024,1024", help="M,N,K of the dense (Linear) comparison")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    from dsl.library import dense, matmul, matmul_int8
    from dsl.reference import reference
    from targets import get_target

    target = get_target("cpu")
    n = a.size
    dm, dn, dk = (int(x) for x in a.dense.split(","))
    entries: list[Entry] = []

    mm = matmul().bind(M=n, N=n, K=n)
    prep_f, cfg_f, _ = _tune(mm, target, a.trials, a.seed, quantize=False)
    want_mm = np.asarray(prep_f.expected[0])
    from schedules import apply

    entries.append(_tvm_entry(f"matmul {n}^3 float32, tuned", _compiled(apply(prep_f.func, cfg_f, target), target),
                              list(prep_f.inputs), want_mm.shape, "float32", mm.flops(), want_mm, cfg_f.to_json()))

    mi = matmul_int8(dtype="uint8").bind(M=n, N=n, K=n)
    prep_i, cfg_i, _ = _tune(mi, target, a.trials, a.seed, quantize=False)
    want_i = reference(mi, *prep_i.inputs)
    entries.append(_tvm_entry(f"matmul_int8 {n}^3 u8 x s8 -> s32, tuned", _compiled(apply(prep_i.func, cfg_i, target), target),
                              list(prep_i.inputs), want_i.shape, "int32", mi.flops(), want_i, cfg_i.to_json()))

    prep_q, _, cfg_q = _tune(mm, target, a.trials, a.seed, quantize=True)
    if cfg_q is not None:
        entries.append(_tvm_entry(f"matmul {n}^3 quantized ({cfg_q['quantize']}), tuned, weight quantized per call",
                                  _compiled(apply(prep_q.func, cfg_q, target), target), list(prep_q.inputs), want_mm.shape, "float32",
                                  mm.flops(), want_mm, cfg_q.to_json()))
        entries.append(_prepacked_entry(f"matmul {n}^3 quantized, same config, weight prepacked", prep_q, cfg_q, target, 1, mm.flops(), want_mm))

    dop = dense(bias=True).bind(M=dm, N=dn, K=dk)
    prep_d, cfg_d, cfg_dq = _tune(dop, target, a.trials, a.seed, quantize=True)
    want_d = np.asarray(prep_d.expected[0])
    entries.append(_tvm_entry(f"dense {dm}x{dn}x{dk}+bias float32, tuned", _compiled(apply(prep_d.func, cfg_d, target), target),
                              list(prep_d.inputs), want_d.shape, "float32", dop.flops(), want_d, cfg_d.to_json()))
    if cfg_dq is not None:
        entries.append(_prepacked_entry(f"dense {dm}x{dn}x{dk}+bias quantized ({cfg_dq['quantize']}), tuned, weight prepacked",
                                        prep_d, cfg_dq, target, 1, dop.flops(), want_d))
    x, w, b = prep_d.inputs
    entries += _torch_entries(x, w, b, dop.flops(), want_d)

    for e in entries:
        e.times = []
    for _ in range(a.rounds):  # interleaved: a burst of load from other users hits every entry alike
        for e in entries:
            assert e.times is not None
            e.times.append(e.run())
    print(f"\nbench_quantize: {target.name} ({', '.join(target.features)}), {THREADS} threads, {a.trials} trials per tuning run, "
          f"seed {a.seed}, median of {a.rounds} interleaved rounds\n")
    print(f"| kernel | time | GOP/s | max abs error | rel L2 error |")
    print("|---|---:|---:|---:|---:|")
    secs = {}
    for e in entries:
        t = statistics.median(e.times or [float("nan")])
        secs[e.label] = t
        max_abs, rel = _errors(e.output(), e.want)
        print(f"| {e.label} | {t * 1e3:.3f} ms | {e.flops / t / 1e9:.1f} | {max_abs:.3g} | {rel:.3g} |")
    labels = [e.label for e in entries]
    print()
    f32 = secs[labels[0]]
    print(f"int8 matmul (native, tuned) vs float32 matmul (tuned): {f32 / secs[labels[1]]:.2f}x (goal >= 2.5x)")
    for lab in labels[2:4]:
        if lab.startswith("matmul"):
            print(f"{lab} vs float32 matmul: {f32 / secs[lab]:.2f}x")
    dq = [lab for lab in labels if lab.startswith("dense") and "quantized" in lab]
    for lab in labels:
        if lab.startswith("torch") and dq:
            print(f"opforge quantized dense vs {lab}: {secs[lab] / secs[dq[0]]:.2f}x")
    print("\nconfigs:")
    for e in entries:
        if e.config:
            print(f"  {e.label}: {e.config}")


if __name__ == "__main__":
    main()
