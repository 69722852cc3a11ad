"""Zero padding out of the innermost loop: the CPU knob ``<block>.pad.<buffer>`` and its rewrite.

A padded conv2d reads its input under a bounds test (``if_then_else(1 <= oh + r < 57 and ...,
X[..], 0)``), and that test sits in the innermost, vectorized loop: every vector of ``X`` becomes a
masked load. ``copy`` writes the padded input once into a stage of its own (``X_pack``, by
``pack_activation.materialize`` with no channel split) before the tile loops, and the block reads it
with no test; ``tile`` computes that stage's window under the outermost (parallel) tile loop
instead, halo included; ``guard`` keeps the bounds test in the loop. 1x64x56x56 conv2d 3x3 on 2
cores: the default schedule 3.73 ms with the test, 2.89 ms without it.
"""

from __future__ import annotations

from typing import Any

from . import pack_activation
from .config import Config
from .space import Knob
from .structure import BlockInfo, Program, analyze

VALUES = ("copy", "tile", "guard")


def knob_name(block: str, buffer: str) -> str:
    return f"{block}.pad.{buffer}"


def padded_reads(prog: Program, b: BlockInfo) -> list[str]:
    """The buffers ``b`` reads under a bounds test alone (zero padding), which ``copy`` can materialize."""
    if b.role != "tiled":
        return []
    return [r.buffer for r in b.reads if r.buffer not in b.writes and pack_activation.reason(prog.func, b.name, r.buffer, None) is None]


def knobs(prog: Program, b: BlockInfo) -> list[Knob]:
    return [
        Knob(knob_name(b.name, buf), VALUES, default="copy",
             doc=f"{buf}'s zero padding: copy (a padded copy written once, before the tile loops), tile (the padded window "
             f"written under the outermost tile loop; as copy when pack 3 packs all of {buf} first) or guard (a bounds test "
             f"on every read in the loop); ignored where a tensorized schedule already packs {buf}")
        for buf in padded_reads(prog, b)
    ]


def prepare(prog: Program, cfg: Config, target: Any) -> Program:
    """``prog`` with each padded read whose knob is not ``guard`` materialized (``prog`` itself if none)."""
    if target.kind == "cuda":
        return prog
    func = prog.func
    for b in prog.blocks:
        for buf in padded_reads(prog, b):
            name = knob_name(b.name, buf)
            if name in cfg and cfg.text(name) != "guard":
                func = pack_activation.materialize(func, b.name, buf, None)
    if func is prog.func:
        return prog
    return analyze(func, {b.name: [it.name for it in b.iters] for b in prog.blocks})


def separated(prog: Program) -> Any:
    """``prog``'s PrimFunc with every padded read of a tiled block written by a stage of its own, the
    form TOPI gives a padded conv2d (for a tuner that takes a PrimFunc and decides itself where the
    padding is computed, as MetaSchedule does)."""
    func = prog.func
    for b in prog.blocks:
        for buf in padded_reads(prog, b):
            func = pack_activation.materialize(func, b.name, buf, None)
    return func


def twin_config(cfg: Config) -> Config | None:
    """``cfg`` for the program lowered without bounds tests (``dsl.lower(op, guards=False)``), which
    schedules like the guarded one: ``cfg`` less its ``guard`` pad knobs; None where ``cfg`` copies a
    padding out (the twin has no padding to copy, so it would stand for another program)."""
    pads = {name: v for name, v in cfg.items() if ".pad." in name}
    if any(v != "guard" for v in pads.values()):
        return None
    return Config.of({name: v for name, v in cfg.items() if name not in pads})


def sources(sch: Any, block: Any) -> dict[str, str]:
    """{materialized buffer: the buffer it pads} for the padding stages feeding ``block``."""
    out = {}
    for p in sch.get_producers(block):
        stage = sch.get(p)
        if pack_activation.is_pack_stage(stage) and len(stage.reads) == 1:
            out[str(stage.writes[0].source.name)] = str(stage.reads[0].source.name)
    return out
