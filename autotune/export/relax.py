"""TVM Relax: opforge kernels inside Relax models, compiled with opforge's database applied.

``call(op, x, w, b)`` (relax's ``nn`` frontend) or ``emit(bb, op, x, w, b)`` (``relax.BlockBuilder``)
add the lowered op as a ``call_tir`` PrimFunc tagged with its workload key. ``apply_database(mod,
db, target)`` links every tagged PrimFunc to its stored workload in ``tuning_db.metaschedule``'s
MetaSchedule adapter and runs TVM's ``MetaScheduleApplyDatabase``, which replays the best stored
trace of each (on the program the trace was recorded on: ``scheduled_programs``); ``build`` then
compiles the model with TVM's default pipeline. A PrimFunc without a record stays untuned, as in
any MetaSchedule flow. Importing this module imports TVM.
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import relax

#: PrimFunc attribute naming the opforge workload a function computes
WORKLOAD_ATTR = "opforge.workload_key"


def kernel_symbol(op: Any) -> str:
    """The PrimFunc's name in a model: op name plus key prefix, so two shapes of one op do not clash."""
    from dsl.key import workload_key

    return f"opforge_{op.name}_{workload_key(op)[:12]}"


def kernel_func(op: Any) -> Any:
    """The lowered op as a PrimFunc named :func:`kernel_symbol` and tagged with its workload key."""
    from dsl.key import workload_key
    from dsl.lower import lower

    return lower(op).with_attr("global_symbol", kernel_symbol(op)).with_attr(WORKLOAD_ATTR, workload_key(op))


def query_module(func: Any) -> Any:
    """The IRModule MetaSchedule asks its database about for ``func`` (its own normalization)."""
    return tvm.IRModule({"main": func.with_attr("tirx.noalias", True)})


def _out_specs(op: Any) -> list[tuple[tuple[int, ...], str]]:
    return [(tuple(op.shape_of(t)), t.dtype) for t in op.output_tensors]


def call(op: Any, *args: Any, name: str | None = None) -> Any:
    """In a relax ``nn.Module.forward``: the bound op applied to ``nn.Tensor`` inputs."""
    from tvm.relax.frontend import nn

    outs = [nn.Tensor.placeholder(shape, dtype) for shape, dtype in _out_specs(op)]
    return nn.op.tensor_ir_op(kernel_func(op), name or kernel_symbol(op), list(args), outs[0] if len(outs) == 1 else outs)


def emit(bb: Any, op: Any, *args: Any) -> Any:
    """In a ``relax.BlockBuilder`` function: emit ``call_tir`` of the bound op on relax expressions."""
    gv = bb.add_func(kernel_func(op), kernel_symbol(op))
    specs = [relax.TensorType(shape, dtype) for shape, dtype in _out_specs(op)]
    return bb.emit(relax.call_tir(gv, list(args), specs[0] if len(specs) == 1 else specs))


def tagged_funcs(mod: Any) -> dict[str, Any]:
    """Every opforge PrimFunc of ``mod`` by its name."""
    return {
        gv.name_hint: f
        for gv, f in mod.functions.items()
        if isinstance(f, tvm.tirx.PrimFunc) and f.attrs is not None and WORKLOAD_ATTR in f.attrs
    }


def database_for(db: Any, target: Any, mod: Any) -> Any:
    """opforge's database as a MetaSchedule ``Database`` for ``target``, with ``mod``'s opforge kernels linked."""
    from tuning_db import TargetInfo
    from tuning_db.metaschedule import MetaScheduleDatabase

    adapter = MetaScheduleDatabase(db, TargetInfo.of(target), target.tvm_target())
    for func in tagged_funcs(mod).values():
        key = str(func.attrs[WORKLOAD_ATTR])
        if db.workload(key) is not None:  # a workload never tuned has nothing to link; it stays untuned
            adapter.link(key, query_module(func))
    return adapter


def scheduled_programs(mod: Any, db: Any, target: Any) -> Any:
    """``mod`` with each opforge kernel replaced by the program its best record's schedule applies to.

    A Config may rewrite the lowered op before scheduling it (a padded conv2d's padding copied into
    a stage of its own), and the record's trace is of that program: MetaSchedule replays it there.
    A record this version's schedule space does not hold leaves its kernel as lowered.
    """
    from schedules import Config, ScheduleError
    from schedules.api import scheduled_program

    mod = mod.clone()
    for name, func in tagged_funcs(mod).items():
        best = db.best(str(func.attrs[WORKLOAD_ATTR]), target.canonical(), target.fingerprint())
        if best is None:
            continue
        try:
            program = scheduled_program(func, Config.from_json(best.config), target)
        except ScheduleError:
            continue
        for k, v in func.attrs.items():
            program = program.with_attr(k, v)
        mod.update_func(mod.get_global_var(name), program)
    return mod


def apply_database(mod: Any, db: Any, target: Any) -> tuple[Any, list[str]]:
    """``mod`` with the best stored schedule of each opforge kernel applied, and the kernels it scheduled."""
    mod = scheduled_programs(mod, db, target)
    adapter = database_for(db, target, mod)
    with target.tvm_target(), adapter:
        scheduled = relax.transform.MetaScheduleApplyDatabase(enable_warning=False)(mod)
    done = [
        name for name, f in tagged_funcs(scheduled).items()
        if f.attrs is not None and bool(f.attrs.get("tirx.is_scheduled", False))
    ]
    return scheduled, sorted(done)


def build(mod: Any, target: Any, db: Any | None = None) -> Any:
    """Compile a Relax model for ``target``; with ``db``, its opforge kernels get their tuned schedules."""
    if db is not None:
        mod, _ = apply_database(mod, db, target)
    return tvm.compile(mod, target=target.tvm_target())
