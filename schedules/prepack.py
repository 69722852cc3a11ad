"""Prepacking: a quantized config as two functions, the weight's part run once, the rest per call.

A tuned quantized kernel (``schedules.apply`` with ``quantize`` set) quantizes its weight on every
call, so it has the float op's signature and runs wherever the float op runs. Deployed, the
weight is a constant: ``prepacked`` splits the same config into

- ``prepack(W) -> (W_q, W_amax[, W_sum])``: the weight quantized (int8, in the tensorize
  intrinsic's layout when the config tensorizes, e.g. ``[N/16, K/4, 16, 4]`` for VNNI, a conv2d
  filter ``[K/16, C/4, R, S, 16, 4]``), its
  absolute maxima (the scales) and, with an activation zero point, its int32 sums;
- ``main(X, W_q, W_amax[, W_sum][, bias]) -> Y``: the activation quantize, the int8 reduction
  scheduled exactly as the config says, and the dequantize fused as its epilogue.

An exporter runs ``prepack`` once per weight (at export time, with the weight it ships) and
exports ``main`` with the packed weight as a constant or a parameter; the outputs of both
functions are those of ``apply`` to float32 rounding (``tests/quantize/test_prepack.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Config
from .errors import ScheduleError
from .space import Space

#: a PrimFunc with this attribute reads its weight already packed (tensorize re-lays the parameter)
PREPACKED_ATTR = "opforge.prepacked"


@dataclass(frozen=True)
class Prepacked:
    """The two scheduled functions of a quantized config, as ``tvm.s_tir.Schedule`` objects."""

    prepack: Any
    main: Any
    weight_outputs: tuple[str, ...]  # prepack's outputs, in order: main takes them after the other inputs


def prepacked(func: Any, config: Config, target: Any) -> Prepacked:
    """Split the quantized ``config`` of a calibrated ``func`` (``quantize.calibrated``) into prepack and main."""
    from tvm import s_tir

    from dsl.lower import lower

    from . import api, gpu, quantize, tensorize
    from .structure import analyze

    scheme = str(config["quantize"]) if "quantize" in config else "none"
    if scheme == "none":
        raise ScheduleError("prepacking splits a quantized config; this one has quantize 'none' (nothing to prepack)")
    found = quantize.read_calibrated(func)
    if found is None:
        raise ScheduleError("prepacking needs the calibrated program (schedules.quantize.calibrated) the config was tuned on")
    op, calibration = found
    rules = api.rules_for(target)
    space = api.space_for(func, target)
    space.check(config)
    p = quantize.plan(op)
    value = str(config[f"{p.stage}.tensorize"]) if f"{p.stage}.tensorize" in config else "none"
    mode = quantize.activation_mode(value)
    pre_op, main_op = quantize.prepacked_ops(op, scheme, calibration, mode)

    names = {st.name: [ax.name for ax in st.domain] for st in main_op.stages}
    main_prog = analyze(lower(main_op).with_attr(PREPACKED_ATTR, 1), names)
    q = quantize.Quantized(main_op, main_prog, ((p.activation, f"{p.activation}_q"), (p.weight, f"{p.weight}_q")), mode, p)
    main_cfg = quantize.quantized_config(config, q, rules.knobs(main_prog, target))
    layout = tensorize.dot_layout(main_prog.block(p.stage))
    main_prog = tensorize.prepare(main_prog, main_cfg, target)
    main = s_tir.Schedule(main_prog.func, seed=1)
    rules.apply(main, main_prog, main_cfg, target)

    pre_prog = analyze(lower(pre_op), {st.name: [ax.name for ax in st.domain] for st in pre_op.stages})
    if target.kind == "cuda":  # the weight's rounding must match the reference's
        pre_prog = gpu.exact_division(pre_prog)
    pre = s_tir.Schedule(pre_prog.func, seed=1)
    if value in tensorize.CPU_VALUES:  # the packed layout the CPU intrinsic reads
        assert not isinstance(layout, str)
        _, wt, s, r = layout
        intrin = tensorize.load(value)
        pre.transform_layout(pre.get_sblock(f"{p.weight}_q"), ("write", 0), tensorize.packed_index_map(wt, s, r, intrin))
    # the weight stages get the rule set's default schedule (parallel loops on a CPU, threads on a GPU)
    rules.apply(pre, pre_prog, Space(tuple(rules.knobs(pre_prog, target))).default(), target)
    return Prepacked(pre, main, tuple(pre_op.outputs))
