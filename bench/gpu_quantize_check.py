"""Build opforge's int8 CUDA kernels (plain, dp4a and tensor-core mma) for the GPU here, run them, check them.

Needs only TVM (with CUDA) and numpy besides this repository. For each case it builds the
schedule, runs it on GPU 0 and compares with the numpy reference: native int8 kernels must be
exact; quantized float kernels must equal the numpy evaluation of their quantized op (to float32
rounding) and stay within relative L2 1e-2 of the float result. Also prints each kernel's time.
Exit code 1 on any mismatch. Writes ``gpu_quantize_check.txt`` into ``$OUT`` when set.

Run: ``python bench/gpu_quantize_check.py [--arch sm_90] [--samples 3]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    import tvm

    from dsl import library
    from dsl.inputs import random_inputs
    from dsl.reference import reference
    from schedules import ScheduleError, apply, space_for
    from schedules.quantize import activation_mode, calibrate, calibrated, quantized_op
    from targets.cuda import cuda_target

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default=None, help="sm_NN (default: the GPU's own)")
    p.add_argument("--samples", type=int, default=3, help="random configs per case besides the default")
    a = p.parse_args()
    target = cuda_target(a.arch)
    dev = tvm.cuda(0)
    if not dev.exist:
        print("no CUDA device visible to TVM")
        return 2
    rng = np.random.default_rng(0)
    lines, bad = [], 0

    def run(label: str, func_or_op: object, cfg: object, inputs: list, out_shape: tuple, out_dtype: str) -> tuple[np.ndarray, float]:
        ex = tvm.compile(apply(func_or_op, cfg, target).mod, target=target.tvm_target())
        args = [tvm.runtime.tensor(np.array(x, order="C"), dev) for x in inputs]
        out = tvm.runtime.tensor(np.zeros(out_shape, out_dtype), dev)
        ex["main"](*args, out)
        dev.sync()
        secs = ex.mod.time_evaluator("main", dev, number=10, repeat=3)(*args, out).median
        return out.numpy(), secs

    native = [
        ("matmul_int8 s8 512^3", library.get("matmul_int8").bind(M=512, N=512, K=512)),
        ("matmul_int8 s8 2048^3", library.get("matmul_int8").bind(M=2048, N=2048, K=2048)),
        ("matmul_int8 s8 97x64x36", library.get("matmul_int8").bind(M=97, N=64, K=36)),
        ("conv2d_nchw_int8", library.get("conv2d_nchw_int8", padding=1).bind(N=1, C=16, H=14, W=14, K=32, R=3, S=3)),
    ]
    for label, op in native:
        space = space_for(op, target)
        inputs = random_inputs(op, rng)
        inputs = [rng.integers(-128, 128, x.shape).astype(x.dtype) if x.dtype == np.int8 else x for x in inputs]
        want = reference(op, *inputs)
        values = space.knob(f"{op.stages[0].name}.tensorize").choices
        for value in values:
            for n, cfg in enumerate([space.default(), *space.sample(a.samples, rng)]):
                cfg = cfg.replace(**{f"{op.stages[0].name}.tensorize": value})
                try:
                    try:
                        apply(op, cfg, target)
                    except ScheduleError as e:  # a config past the GPU's limits or a guarded dp4a tile
                        lines.append(f"{label:28s} tensorize={value:5s} cfg#{n} skipped: {str(e)[:100]}")
                        continue
                    got, secs = run(label, op, cfg, inputs, want.shape, "int32")
                    ok = np.array_equal(got, want)
                    text = "exact" if ok else f"MISMATCH ({int((got != want).sum())} elements differ)"
                except Exception as e:  # noqa: BLE001 - a config that fails is reported, the check goes on
                    ok, secs, text = False, float("nan"), f"ERROR {type(e).__name__}: {str(e).splitlines()[-1][:160]}"
                    traceback.print_exc()
                bad += not ok
                lines.append(f"{label:28s} tensorize={value:5s} cfg#{n} {secs * 1e6:9.1f} us  {text}")

    quantized = [
        ("dense+bias+relu quantized", library.get("dense", bias=True, epilogue="relu").bind(M=64, N=256, K=512)),
        ("matmul quantized", library.get("matmul").bind(M=128, N=128, K=256)),
    ]
    for label, op in quantized:
        calib = random_inputs(op, np.random.default_rng([0, 1]))
        calibration = calibrate(op, [calib])
        func = calibrated(op, calibration)
        space = space_for(func, target)
        inputs = random_inputs(op, rng)
        float_want = reference(op, *inputs)
        for scheme in ("int8_per_tensor", "int8_per_channel"):
            for value in space.knob(f"{op.stages[0].name}.tensorize").choices:
                for n, cfg in enumerate([space.default(), *space.sample(a.samples, rng)]):
                    cfg = cfg.replace(quantize=scheme, **{f"{op.stages[0].name}.tensorize": value})
                    q_want = reference(quantized_op(op, scheme, calibration, activation_mode(value)), *inputs)
                    try:
                        try:
                            apply(func, cfg, target)
                        except ScheduleError as e:
                            lines.append(f"{label:28s} {scheme:16s} tensorize={value:5s} cfg#{n} skipped: {str(e)[:100]}")
                            continue
                        got, secs = run(label, func, cfg, inputs, float_want.shape, "float32")
                        same = np.allclose(got, q_want, rtol=1e-5, atol=1e-5 * float(np.abs(q_want).max()))
                        rel = float(np.linalg.norm(got - float_want) / np.linalg.norm(float_want))
                        ok = same and rel < 1e-2
                        text = f"rel L2 vs float {rel:.3g}" + ("" if same else " MISMATCH vs its quantized reference")
                    except Exception as e:  # noqa: BLE001
                        ok, secs, text = False, float("nan"), f"ERROR {type(e).__name__}: {str(e).splitlines()[-1][:160]}"
                        traceback.print_exc()
                    bad += not ok
                    lines.append(f"{label:28s} {scheme:16s} tensorize={value:5s} cfg#{n} {secs * 1e6:9.1f} us  {text}")
    checked = sum(1 for ln in lines if "skipped" not in ln)
    lines.append(f"{target.name} on {target.hardware.get('gpu')}: {checked - bad} ok, {bad} failed")
    text = "\n".join(lines)
    print(text)
    out_dir = os.environ.get("OUT")
    if out_dir:
        with open(os.path.join(out_dir, "gpu_quantize_check.txt"), "w") as f:
            f.write(text + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
