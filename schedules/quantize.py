"""The quantize primitive: a float op computed as int8 x int8 with int32 accumulation, then dequantized.

The DSL op stays the same; ``quantize`` is a knob of its Space. Applying a value other than
``"none"`` rewrites the op (in the DSL, then lowered) before the schedule is applied::

    C[i, j] = sum_k A[i, k] * B[k, j]          A_q[i, k]  = q8(A[i, k] / s_a)                (calibrated s_a)
    Y[i, j] = epilogue(C[i, j], ...)    ->     B_amax[j]  = max_k |B[k, j]|                  (per channel; per tensor: one)
                                               B_q[k, j]  = q8(B[k, j] * 127 / B_amax[j])
                                               B_sum[j]   = sum_k B_q[k, j]                  (only with a zero point)
                                               C[i, j]    = sum_k int32(A_q[i, k]) * int32(B_q[k, j])
                                               Y[i, j]    = epilogue((C[i, j] - zp * B_sum[j]) * s_a * B_amax[j] / 127, ...)

Weights are symmetric int8 in [-127, 127], scaled per tensor or per output channel from
their own absolute maximum. Activations are symmetric with a scale from calibration inputs
(``calibrate``), stored as int8, or as uint8 with a zero point where the dot-product
instruction wants unsigned activations (x86 ``vpdpbusd``: zero point 128; the AVX2
``pmaddubsw`` path: 7-bit activations and zero point 64, so its int16 pair sums cannot
saturate). The int32 sums are exact; only the rounding of inputs loses accuracy.

The weight stages (``B_amax``, ``B_q``, ``B_sum``) read nothing but the weight: a tuned
kernel computes them on every call, and ``prepacked`` splits them off into a ``prepack``
function an exporter runs once per weight, leaving a ``main`` that reads the packed int8
weights (see ``prepacked``'s docstring).

A calibrated PrimFunc carries the op's canonical text and the calibration in its attributes
(``ATTR``), so a build worker that gets only the PrimFunc can rewrite it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .errors import ScheduleError

SCHEMES = ("none", "int8_per_tensor", "int8_per_channel")
ATTR = "opforge.calibration"
WEIGHT_QMAX = 127
TINY = 1e-30  # an all-zero weight channel gets scale TINY / 127 instead of a division by zero


@dataclass(frozen=True)
class ActivationMode:
    """How activations are stored: ``dtype`` int8 or uint8, values in [-qmax, qmax] + ``zero_point``."""

    dtype: str
    qmax: int
    zero_point: int


SIGNED = ActivationMode("int8", 127, 0)
UNSIGNED = ActivationMode("uint8", 127, 128)  # vpdpbusd: u8 x s8
UNSIGNED_7BIT = ActivationMode("uint8", 63, 64)  # pmaddubsw: u8 x s8 pairs must fit int16

#: the activation storage each tensorize value needs (values not listed use SIGNED)
MODE_OF_TENSORIZE = {"vnni": UNSIGNED, "avx2": UNSIGNED_7BIT}


def activation_mode(tensorize: str) -> ActivationMode:
    return MODE_OF_TENSORIZE.get(tensorize, SIGNED)


@dataclass(frozen=True)
class Calibration:
    """The activation's absolute maximum over the calibration inputs, and where they came from."""

    activation: str
    absmax: float
    batches: int
    source: str = ""

    def scale(self, mode: ActivationMode) -> float:
        """The float value of one activation step in ``mode`` (1.0 for an all-zero calibration)."""
        return (self.absmax / mode.qmax) if self.absmax > 0 else 1.0

    def to_json(self) -> str:
        return json.dumps({"activation": self.activation, "absmax": self.absmax, "batches": self.batches, "source": self.source},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Calibration":
        d = json.loads(text)
        return cls(str(d["activation"]), float(d["absmax"]), int(d["batches"]), str(d.get("source", "")))


@dataclass(frozen=True)
class QuantPlan:
    """What quantizing an op touches: its reduction stage, which input is the activation and which
    the weight, and the output axis that indexes the weight (its channel; None: per tensor only)."""

    stage: str
    activation: str
    weight: str
    channel_axis: str | None
    epilogue: tuple[str, ...]


# --- legality ------------------------------------------------------------------------------


def plan(op: Any) -> QuantPlan:
    """The QuantPlan of a float op, or ScheduleError saying why it cannot be quantized.

    Quantizable: float32 inputs and outputs; a first stage ``sum(X[...] * W[...])`` over two inputs
    where W's index is plain axes that skip the stage's first output axis (matmul's B, dense's W,
    conv2d's F); only element-wise stages after it.
    """
    from dsl.expr import Binary, Load, Reduce

    name = op.name
    if any(t.dtype != "float32" for t in (*op.inputs, *op.output_tensors)):
        dtypes = sorted({t.dtype for t in (*op.inputs, *op.output_tensors)})
        raise ScheduleError(f"quantize applies to float32 ops; {name} has dtypes {dtypes} (an int8 op is already quantized: it tunes as it is)")
    first = op.stages[0]
    body = first.body
    if not (isinstance(body, Reduce) and body.kind == "sum" and isinstance(body.body, Binary) and body.body.fn == "mul"):
        raise ScheduleError(f"quantize needs a first stage that sums products (matmul, dense, conv2d); {name}'s stage {first.name} does not")
    a, b = body.body.a, body.body.b
    inputs = {t.name for t in op.inputs}
    if not (isinstance(a, Load) and isinstance(b, Load) and a.tensor.name in inputs and b.tensor.name in inputs and a.tensor != b.tensor):
        raise ScheduleError(f"quantize needs stage {first.name} to multiply two different op inputs directly")
    later = op.stages[1:]
    if any(isinstance(st.body, Reduce) for st in later):
        raise ScheduleError(f"quantize needs only element-wise stages after {first.name}; {name} reduces again")
    lead = first.axes[0]
    uses_lead = [lead in _axes_of(x) for x in (a, b)]
    if uses_lead == [True, False]:
        act, wt = a, b
    elif uses_lead == [False, True]:
        act, wt = b, a
    else:
        raise ScheduleError(f"quantize needs one operand of {first.name} that does not move with {lead.name} (the weight); {name} has none")
    if wt.pad is not None or not all(len(ix.terms) == 1 and ix.terms[0][1] == 1 and ix.offset == 0 for ix in wt.index):
        raise ScheduleError(f"quantize needs the weight {wt.tensor.name} read at plain axes (no padding, stride or offset)")
    channel = [ax for ax in first.axes if ax in _axes_of(wt)]
    return QuantPlan(first.name, act.tensor.name, wt.tensor.name, channel[0].name if len(channel) == 1 else None,
                     tuple(st.name for st in later))


def scheme_reasons(op: Any, calibration: Calibration | None) -> dict[str, str]:
    """Why each quantize scheme does not apply to ``op`` (an empty dict: all do)."""
    try:
        p = plan(op)
    except ScheduleError as e:
        return {s: str(e) for s in SCHEMES[1:]}
    if calibration is None:
        why = ("quantize needs activation ranges from calibration inputs: tune with --quantize int8, or schedule "
               "schedules.quantize.calibrated(op, calibration) instead of the op")
        return {s: why for s in SCHEMES[1:]}
    if calibration.activation != p.activation:
        why = f"the calibration is of {calibration.activation!r}, but {op.name}'s activation is {p.activation!r}"
        return {s: why for s in SCHEMES[1:]}
    if p.channel_axis is None:
        return {"int8_per_channel": f"the weight {p.weight} of {op.name} is indexed by no single output axis (no channel to scale by)"}
    return {}


def program_reasons(func: Any) -> dict[str, str]:
    """``scheme_reasons`` of a PrimFunc: a calibrated one (``calibrated``) carries its op."""
    found = read_calibrated(func)
    if found is not None:
        return scheme_reasons(*found)
    from .tensorize import buffer_dtypes

    params = {str(p.name) for p in func.params}
    dtypes = sorted({dt for name, dt in buffer_dtypes(func).items() if name in params})
    if dtypes != ["float32"]:
        why = f"quantize applies to float32 ops; this one has dtypes {dtypes} (an int8 op is already quantized: it tunes as it is)"
    else:
        why = ("quantize needs activation ranges from calibration inputs: tune with --quantize int8, or schedule "
               "schedules.quantize.calibrated(op, calibration) instead of the op")
    return {s: why for s in SCHEMES[1:]}


def scheme_choices(func: Any) -> tuple[str, ...]:
    bad = program_reasons(func)
    return tuple(s for s in SCHEMES if s not in bad)


def quantized_stage(func: Any) -> str | None:
    """The name of the stage a calibrated PrimFunc quantizes (None: not calibrated)."""
    found = read_calibrated(func)
    return plan(found[0]).stage if found is not None else None


def _axes_of(load: Any) -> set[Any]:
    return {ax for ix in load.index for ax in ix.axes}


# --- calibration -----------------------------------------------------------------------------


def calibrate(op: Any, batches: Sequence[Sequence[np.ndarray]], source: str = "") -> Calibration:
    """The activation's absolute maximum over calibration ``batches`` (each: one array per op input)."""
    p = plan(op)
    pos = [t.name for t in op.inputs].index(p.activation)
    if not batches:
        raise ValueError("calibration needs at least one batch of inputs")
    absmax = max(float(np.max(np.abs(np.asarray(b[pos], dtype=np.float64)))) for b in batches)
    return Calibration(p.activation, absmax, len(batches), source)


def calibrated(op: Any, calibration: Calibration) -> Any:
    """``lower(op)`` carrying the op's text and ``calibration``: a PrimFunc whose space offers quantize."""
    from dsl.lower import lower
    from dsl.printer import print_op

    plan(op)
    return lower(op).with_attr(ATTR, json.dumps({"op": print_op(op), "calibration": calibration.to_json()}))


def program_of(op: Any, config_json: str, calibration_json: str | None) -> Any:
    """The PrimFunc a stored Config was measured on: ``calibrated(op, ...)`` for a quantized Config
    (with the calibration its record carries), ``lower(op)`` for a float one."""
    from dsl.lower import lower

    scheme = json.loads(config_json).get("quantize", "none")
    if scheme == "none":
        return lower(op)
    if calibration_json is None:
        raise ScheduleError(
            f"this {scheme} Config of {op.name} was stored without its activation calibration (a record from before "
            "schema 0005): it cannot be rebuilt; tune again with --quantize int8"
        )
    return calibrated(op, Calibration.from_json(calibration_json))


def read_calibrated(func: Any) -> tuple[Any, Calibration] | None:
    """(op, calibration) a PrimFunc made by ``calibrated`` carries, or None."""
    attrs = getattr(func, "attrs", None)
    if attrs is None or ATTR not in attrs:
        return None
    from dsl.parser import parse

    d = json.loads(str(attrs[ATTR]))
    return parse(d["op"]), Calibration.from_json(d["calibration"])


# --- the rewrite -------------------------------------------------------------------------------


def _quantize_expr(x: Any, inv_scale: Any, qmax: int, zero_point: int, dtype: str) -> Any:
    """``clip(round(x * inv_scale), -qmax, qmax) + zero_point`` as ``dtype`` (round half away from 0)."""
    from dsl.expr import cast, maximum, minimum, where

    v = minimum(maximum(x * inv_scale, -float(qmax)), float(qmax))
    q = cast(v + where(v >= 0.0, 0.5, -0.5), "int32")  # int casts truncate toward zero
    return cast(q + zero_point if zero_point else q, dtype)


def quantized_op(op: Any, scheme: str, calibration: Calibration, mode: ActivationMode = SIGNED) -> Any:
    """The DSL op computing ``op`` with ``scheme`` (``int8_per_tensor`` / ``int8_per_channel``).

    Same inputs, in the same order, and one output of the same shape, so it runs wherever the
    float op runs. The reduction stage keeps its name and axes (its knobs apply unchanged).
    """
    from dsl.op import Op

    weight_stages, stages, outputs = _quantized_stages(op, scheme, calibration, mode)
    return Op(op.name, op.inputs, (stages[0], *weight_stages, *stages[1:]), outputs, op.bindings)


def prepacked_ops(op: Any, scheme: str, calibration: Calibration, mode: ActivationMode = SIGNED) -> tuple[Any, Any]:
    """(prepack, main): ``quantized_op`` split where the weight stages end.

    ``prepack`` takes the float weight and returns its int8 values, its absolute maxima and (with
    a zero point) its int32 sums; ``main`` takes the op's inputs with the weight replaced by
    those, in that order after the other inputs.
    """
    from dsl.op import Op

    weight_stages, stages, outputs = _quantized_stages(op, scheme, calibration, mode)
    p = plan(op)
    weight = next(t for t in op.inputs if t.name == p.weight)
    by_name = {st.name: st for st in weight_stages}
    ordered = [by_name[f"{weight.name}_q"], by_name[f"{weight.name}_amax"]] + ([by_name[f"{weight.name}_sum"]] if f"{weight.name}_sum" in by_name else [])
    unbound = Op(f"{op.name}_prepack", (weight,), tuple(weight_stages), tuple(st.name for st in ordered))
    used = {d.name for d in unbound.dims}
    prepack = unbound.bind({k: v for k, v in op.bindings if k in used})
    inputs = tuple(t for t in op.inputs if t.name != p.weight) + tuple(st.tensor for st in ordered)
    main = Op(op.name, inputs, tuple(stages), outputs, op.bindings)
    return prepack, main


def _quantized_stages(op: Any, scheme: str, calibration: Calibration, mode: ActivationMode) -> tuple[list[Any], list[Any], tuple[str, ...]]:
    """(weight stages, the other stages in order, output names) of the quantized op."""
    from dsl.expr import Load, absolute, cast, maximum, reduce_max, reduce_sum
    from dsl.op import compute

    reasons = scheme_reasons(op, calibration)
    if scheme not in SCHEMES[1:]:
        raise ScheduleError(f"unknown quantize scheme {scheme!r}; expected one of {list(SCHEMES[1:])}")
    if scheme in reasons:
        raise ScheduleError(f"quantize {scheme} does not apply to {op.name}: {reasons[scheme]}")
    p = plan(op)
    first = op.stages[0]
    prod = first.body.body
    act, wt = (prod.a, prod.b) if prod.a.tensor.name == p.activation else (prod.b, prod.a)
    w_axes = tuple(ix.axes[0] for ix in wt.index)
    s_a = calibration.scale(mode)
    per_channel = scheme == "int8_per_channel"
    ch = next((ax for ax in first.axes if ax.name == p.channel_axis), None) if per_channel else None

    x = act.tensor
    act_stage_axes = _plain_axes(x)
    a_q = compute(f"{x.name}_q", act_stage_axes, _quantize_expr(x[act_stage_axes], 1.0 / s_a, mode.qmax, mode.zero_point, mode.dtype))
    w = wt.tensor
    amax_axes = (ch,) if ch is not None else ()
    amax = compute(f"{w.name}_amax", amax_axes, reduce_max(absolute(w[w_axes]), tuple(ax for ax in w_axes if ax != ch)))

    def amax_at(index_of: Callable[[Any], Any]) -> Any:
        return amax[(index_of(ch),)] if ch is not None else amax[()]

    w_inv = float(WEIGHT_QMAX) / maximum(amax_at(lambda c: c), TINY)
    w_q = compute(f"{w.name}_q", w_axes, _quantize_expr(w[w_axes] * w_inv, 1.0, WEIGHT_QMAX, 0, "int8"))
    weight_stages = [amax, w_q]
    red_axes = first.reduce_axes
    out_w_axes = tuple(ax for ax in first.axes if ax in set(w_axes))
    w_sum = None
    if mode.zero_point:
        w_sum = compute(f"{w.name}_sum", out_w_axes, reduce_sum(cast(w_q[w_axes], "int32"), red_axes))
        weight_stages.append(w_sum)
    a_load = (a_q.padded(*act.index, value=mode.zero_point) if act.pad is not None else a_q[act.index])
    gemm = compute(first.name, first.axes, reduce_sum(cast(a_load, "int32") * cast(w_q[w_axes], "int32"), red_axes))
    stages = [a_q, gemm]
    gemm_t = gemm.tensor
    float_t = first.tensor
    pos = {ax: n for n, ax in enumerate(first.axes)}
    deq_scale = s_a / WEIGHT_QMAX

    def dequantized(load: Any) -> Any:
        index = load.index
        acc: Any = Load(gemm_t, index)
        if w_sum is not None:
            acc = acc - w_sum[tuple(index[pos[ax]] for ax in out_w_axes)] * mode.zero_point
        scale = maximum(amax[(index[pos[ch]],)] if ch is not None else amax[()], TINY) * deq_scale
        return cast(acc, "float32") * scale

    for st in op.stages[1:]:
        stages.append(compute(st.name, st.axes, _substitute(st.body, lambda e: dequantized(e) if isinstance(e, Load) and e.tensor == float_t else None)))
    outputs = list(op.outputs)
    if first.name in outputs:
        out = compute(f"{first.name}_dq", first.axes, dequantized(Load(float_t, tuple(_as_affine(ax) for ax in first.axes))))
        stages.append(out)
        outputs[outputs.index(first.name)] = out.name
    return weight_stages, stages, tuple(outputs)


def _as_affine(ax: Any) -> Any:
    from dsl.index import as_affine

    return as_affine(ax)


def _plain_axes(t: Any) -> tuple[Any, ...]:
    """One fresh axis per dimension of ``t`` (the activation's own loop nest for its quantize stage)."""
    from dsl.index import Axis

    return tuple(Axis(f"{t.name.lower()}{d}", s) for d, s in enumerate(t.shape))


def _substitute(e: Any, fn: Callable[[Any], Any]) -> Any:
    """``e`` with every node for which ``fn`` returns an expression replaced by it (bottom-up)."""
    from dsl.expr import Binary, Cast, Reduce, Select, Unary

    new = fn(e)
    if new is not None:
        return new
    if isinstance(e, Unary):
        return Unary(e.fn, _substitute(e.x, fn))
    if isinstance(e, Binary):
        return Binary(e.fn, _substitute(e.a, fn), _substitute(e.b, fn))
    if isinstance(e, Cast):
        return Cast(e.dtype, _substitute(e.x, fn))
    if isinstance(e, Select):
        return Select(_substitute(e.cond, fn), _substitute(e.a, fn), _substitute(e.b, fn))
    if isinstance(e, Reduce):
        return Reduce(e.kind, _substitute(e.body, fn), e.axes)
    return e


# --- the program a quantized config schedules ------------------------------------------------------


@dataclass(frozen=True)
class Quantized:
    """A quantized config's program: the rewritten op, its lowered and analysed PrimFunc, and how
    the float program's buffer names map to the quantized ones (``A`` -> ``A_q``)."""

    op: Any
    program: Any
    renamed: tuple[tuple[str, str], ...]
    mode: ActivationMode
    plan: QuantPlan


def quantized_program(func: Any, scheme: str, tensorize: str) -> Quantized:
    """The quantized program of a calibrated PrimFunc (``calibrated``) for ``scheme``.

    ``tensorize`` picks the activation storage the dot-product instruction wants.
    """
    from dsl.lower import lower

    from .structure import analyze

    found = read_calibrated(func)
    if found is None:
        raise ScheduleError(
            f"quantize {scheme} needs a calibrated program: schedule schedules.quantize.calibrated(op, calibration) "
            "(opforge tune --quantize int8 does this) instead of the op or its plain lowering"
        )
    op, calibration = found
    mode = activation_mode(tensorize)
    qop = quantized_op(op, scheme, calibration, mode)
    p = plan(op)
    names = {st.name: [ax.name for ax in st.domain] for st in qop.stages}
    prog = analyze(lower(qop), names)
    renamed = ((p.activation, f"{p.activation}_q"), (p.weight, f"{p.weight}_q"))
    return Quantized(qop, prog, renamed, mode, p)


def quantized_config(cfg: Any, q: Quantized, knobs: Sequence[Any]) -> Any:
    """The quantized program's Config: the float config's values where the knobs match (pack and
    shared-memory knobs follow their buffer's rename), helper stages computed at the root once."""
    from .config import Config

    # knobs the quantized program lacks (a dot tile its space does not offer) keep their values
    values: dict[str, Any] = dict(cfg.items())
    renames = dict(q.renamed)
    for kn in knobs:
        name = kn.name
        src = name
        for old, new in renames.items():
            if name.endswith("." + new):
                src = name[: -len(new)] + old
        if name.endswith(".compute"):
            values[name] = "root" if "root" in kn.choices else kn.initial  # quantize each value once, not per use
        elif name == "quantize":
            values[name] = "none"
        elif src in cfg and (name.endswith(".tensorize") or any(c == cfg[src] and type(c) is type(cfg[src]) for c in kn.choices)):
            values[name] = cfg[src]  # tensorize: the rewrite already stored activations as the intrinsic wants
        else:
            values[name] = kn.initial
    return Config.of(values)
