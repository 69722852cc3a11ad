"""space_for / apply: the public entry points, dispatching on the target's kind to a rule set."""

from __future__ import annotations

from typing import Any, Callable

from . import cpu, gpu, padding, quantize, tensorize
from .config import Config
from .errors import ScheduleError
from .space import Space
from .structure import Program, analyze

_RULES = {"cpu": cpu, "cuda": gpu}


def program_of(op_or_primfunc: Any) -> Program:
    """The analysed PrimFunc of a bound ``dsl.Op`` (lowered first, iterators named as in the DSL)
    or of a ``tvm.tirx.PrimFunc`` given directly."""
    from dsl.op import Op

    if isinstance(op_or_primfunc, Op):
        from dsl.lower import lower

        op = op_or_primfunc
        names = {st.name: [ax.name for ax in st.domain] for st in op.stages}
        return analyze(lower(op), names)
    import tvm

    if isinstance(op_or_primfunc, tvm.tirx.PrimFunc):
        return analyze(op_or_primfunc)
    if isinstance(op_or_primfunc, tvm.IRModule) and "main" in [gv.name_hint for gv in op_or_primfunc.functions]:
        return analyze(op_or_primfunc["main"])
    raise ScheduleError(f"expected a bound dsl.Op or a tvm.tirx.PrimFunc, got {type(op_or_primfunc).__name__}")


def rules_for(target: Any) -> Any:
    """The rule-set module for ``target``: cuda targets get the GPU rules, every other kind the CPU ones."""
    return _RULES.get(target.kind, cpu)


def space_for(op_or_primfunc: Any, target: Any) -> Space:
    """The schedule space of an op (or PrimFunc) on ``target``, derived from its block structure."""
    prog = program_of(op_or_primfunc)
    return Space(tuple(rules_for(target).knobs(prog, target)))


def apply(op_or_primfunc: Any, config: Config, target: Any) -> Any:
    """The ``tvm.s_tir.Schedule`` that ``config`` describes; the same inputs give the same schedule."""
    return applier(op_or_primfunc, target)(config)


def apply_with_trace(op_or_primfunc: Any, config: Config, target: Any) -> tuple[Any, str]:
    """The schedule and its TVM trace as JSON text (``tvm.ir.save_json``), for storage and replay.

    Raises ScheduleError for a config outside the space (naming knob, value and the valid ones).
    """
    import tvm

    sch = apply(op_or_primfunc, config, target)
    return sch, tvm.ir.save_json(sch.trace.as_json())


def applier(op_or_primfunc: Any, target: Any) -> Callable[[Config], Any]:
    """``apply(op_or_primfunc, config, target)`` as a function of ``config`` alone, for many Configs of
    one program: the analysis, the space and each quantized program are made once, not per Config
    (the cost model applies hundreds of candidates per batch)."""
    from tvm import s_tir

    prog = program_of(op_or_primfunc)
    rules = rules_for(target)
    prepared = _preparer(prog, target)

    def scheduled(config: Config) -> Any:
        this, cfg = prepared(config)
        sch = s_tir.Schedule(this.func, seed=1)
        try:
            rules.apply(sch, this, cfg, target)
        except s_tir.schedule.ScheduleError as e:
            first = str(e).strip().splitlines()[-1]
            raise ScheduleError(f"the {target.kind} rules could not apply config {cfg.to_json()}: {first}") from None
        return sch

    return scheduled


def scheduled_program(op_or_primfunc: Any, config: Config, target: Any) -> Any:
    """The PrimFunc that ``config``'s schedule, and so its stored trace, applies to: the lowered op,
    or the program a quantize, tensorize or pad knob rewrote it into (same parameters)."""
    return _preparer(program_of(op_or_primfunc), target)(config)[0].func


def _preparer(prog: Program, target: Any) -> Callable[[Config], tuple[Program, Config]]:
    """``config -> (the program it schedules, its Config for that program)``, checking ``config``
    against ``prog``'s space; each rewritten program is made once."""
    rules = rules_for(target)
    space = Space(tuple(rules.knobs(prog, target)))
    quantized: dict[tuple[str, str], tuple[Any, Program, list[Any]]] = {}
    rewritten: dict[tuple[int, tuple[tuple[str, str], ...]], Program] = {}  # by the program (kept alive above) and its rewrite knobs

    def prepared(config: Config) -> tuple[Program, Config]:
        if not space.is_valid(config):
            explain_inapplicable(prog, space, config, target)  # why a value is not offered here, if it can say
            space.check(config)
        this, cfg = prog, config
        scheme = config["quantize"] if "quantize" in config else "none"
        if scheme != "none":
            # the quantize rewrite: schedule the int8 program the config's quantize value describes
            stage = quantize.quantized_stage(prog.func)
            value = str(config[f"{stage}.tensorize"]) if f"{stage}.tensorize" in config else "none"
            if (str(scheme), value) not in quantized:
                q = quantize.quantized_program(prog.func, str(scheme), value)
                qprog = gpu.exact_division(q.program) if target.kind == "cuda" else q.program  # its rounding must match the reference
                quantized[str(scheme), value] = (q, qprog, list(rules.knobs(qprog, target)))
            q, this, knobs = quantized[str(scheme), value]
            cfg = quantize.quantized_config(config, q, knobs)
        key = (id(this), rewrite_key(cfg))
        if key not in rewritten:
            # conv2d tensorized: its activation packed and padded; untensorized: its padding copied out of the loop
            rewritten[key] = padding.prepare(tensorize.prepare(this, cfg, target), cfg, target)
        return rewritten[key], cfg

    return prepared


def rewrite_key(cfg: Config) -> tuple[tuple[str, str], ...]:
    """The values of the knobs that rewrite the program before it is scheduled (tensorize, pad)."""
    return tuple(sorted((name, str(v)) for name, v in cfg.items() if name.endswith(".tensorize") or ".pad." in name))


def explain_inapplicable(prog: Program, space: Space, config: Config, target: Any) -> None:
    """Raise ScheduleError saying why, for a quantize or tensorize value the space does not offer
    here (a float op without calibration, a target without VNNI, an extent the intrinsic does not divide)."""
    names = set(space.names)
    if "quantize" in config and "quantize" in names:
        v = config["quantize"]
        why = quantize.program_reasons(prog.func).get(v) if isinstance(v, str) else None
        if why and v not in space.knob("quantize").choices:
            raise ScheduleError(f"knob quantize: {v!r} does not apply: {why}")
    q_stage = quantize.quantized_stage(prog.func)
    for b in prog.blocks:
        knob = f"{b.name}.tensorize"
        if knob in config and knob in names and config[knob] not in space.knob(knob).choices:
            why = tensorize.reasons(prog, b, target, quantizable=b.name == q_stage).get(str(config[knob]))
            if why:
                raise ScheduleError(f"knob {knob}: {config[knob]!r} does not apply: {why}")


def show_scheduled(op: Any, config: Config, target: Any) -> str:
    """The scheduled TIR of ``op`` under ``config``, as TVMScript text (``opforge show --config``)."""
    return str(apply(op, config, target).mod["main"].script())
