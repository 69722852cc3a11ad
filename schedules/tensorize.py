"""Tensorize: compute a tiled int8 (or, on tensor cores, float16) block's innermost dot products with one instruction.

A tiled block of the form ``C[.., j] += int32(A[.., k]) * int32(W[k, j] or W[j, k])`` (matmul,
dense; native int8 or quantized), or a conv2d ``Y[n, k, oh, ow] += int32(X[n, c, oh + r, ow + s]) *
int32(F[k, c, r, s])`` (NCHW or NHWC, padded or strided), is split so its innermost loops are
``lanes`` output channels by ``width`` reduction channels, and those loops become one intrinsic call:

- ``vnni``: AVX512-VNNI ``vpdpbusd`` (16 lanes x 4, u8 activations x s8 weights);
- ``avx2``: ``pmaddubsw`` + ``pmaddwd`` (8 lanes x 4; exact for 7-bit activations only);
- ``sdot``: ARM NEON dot product (4 lanes x 4, s8 x s8);
- ``dp4a``: CUDA ``__dp4a`` (one output, 4 reduction steps, s8 x s8) from shared memory;
- ``mma``: CUDA tensor cores, ``mma.sync`` on ``ldmatrix`` fragments (matmul and dense forms, sm_80+): int8
  m16n8k32 into int32, or float16 m16n8k16 into float32 (a float16 op's own product; no quantizing).

The weight is packed into the intrinsic's layout, ``W[k, j] -> Wp[j // lanes, k // width, j % lanes, k % width]``
(a conv2d filter ``F[k, c, r, s] -> Fp[k // lanes, c // width, r, s, k % lanes, c % width]``):
for a quantized op by the weight-quantize stage itself (so an exporter's prepack pass writes
the packed weight once), for a native int8 op by a packing stage of the kernel. A conv2d's
activation is written by a stage of the kernel, padded and with ``width`` channels contiguous
(NCHW4c; ``prepare``, ``pack_activation``), and its NCHW output accumulates in a tile with the
channel last, so the intrinsic reads and writes contiguous, unguarded memory.

Which values a block offers depends on the target's features, the dtypes and the shape;
``reasons`` says why a value is not offered, for the error a config naming it gets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import pack_activation
from . import primitives as prim
from .config import Config
from .errors import ScheduleError
from .factors import split_choices
from .intrinsics import CPU_INTRINS, GPU_INTRINS, Intrin, load
from .space import Knob
from .structure import BlockInfo, Program, Read, analyze

CPU_VALUES = ("vnni", "avx2", "sdot")
GPU_VALUES = ("dp4a", "mma")
MAX_DOT_REGISTERS = 4  # cap of the innermost tile of the vector loop, in intrinsic calls


# --- legality -------------------------------------------------------------------------------------


def dot_layout(b: BlockInfo) -> tuple[Read, Read, int, int] | str:
    """(activation read, weight read, vector iterator, reduction iterator) of a dot-product block,
    or the reason it is not one.

    The weight is read at plain iterators, one per dimension: every reduction iterator and one
    spatial iterator (the output channel, the intrinsic's lanes) that the activation ignores. The
    intrinsic's reduction iterator indexes a dimension of the activation alone (matmul's k,
    conv2d's input channel c; conv2d's r and s move its window and stay outer loops). Where both
    reads qualify (matmul), the weight is the one whose channel is the output's last dimension.
    """
    if b.role != "tiled":
        return f"block {b.name} is not a tiled reduction"
    reads = [x for x in b.reads if x.buffer not in b.writes]
    found = []
    if len(reads) == 2:
        for wt, act in ((reads[0], reads[1]), (reads[1], reads[0])):
            iters = [d[0] for d in wt.dims if len(d) == 1]
            channels = [i for i in iters if b.iters[i].kind == "S"]
            plain = len(iters) == len(wt.dims) == len(set(iters))
            if not plain or len(channels) != 1 or channels[0] in act.iters or not set(b.reduction) <= set(iters):
                continue
            own = [d[0] for d in act.dims if len(d) == 1 and d[0] in b.reduction]
            if own:
                r = act.last_dim[0] if act.last_dim in [(x,) for x in own] else own[-1]
                found.append((act, wt, channels[0], r))
    found.sort(key=lambda x: x[2] != b.spatial[-1])
    if not found:
        names = [b.iters[i].name for i in b.reduction]
        return (f"tensorize needs {b.name} to read a weight indexed by plain iterators (one output channel and all of the reduction "
                f"{names}) and an activation with one dimension indexed by a reduction iterator alone (a matmul, dense or conv2d form)")
    return found[0]


def packs_activation(prog: Program, b: BlockInfo) -> bool:
    """Whether tensorizing ``b`` on a CPU first materializes its activation packed (``pack_activation``):
    its reduction channel is not the contiguous dimension, or the read is guarded (conv2d's padding)."""
    layout = dot_layout(b)
    if isinstance(layout, str):
        return False
    act, _, _, r = layout
    return act.last_dim != (r,) or pack_activation.guarded(prog.func, b.name, act.buffer)


def _has(target: Any, *flags: str) -> bool:
    return bool(set(flags) & set(target.features))


def _feature_reason(value: str, target: Any) -> str | None:
    if value == "vnni" and not _has(target, "avx512_vnni"):
        return f"target {target.name} has no AVX512-VNNI (features {list(target.features)})"
    if value == "avx2" and not _has(target, "avx2"):
        return f"target {target.name} has no AVX2"
    if value == "sdot" and not _has(target, "dotprod", "asimddp"):
        return f"target {target.name} has no ARM dot-product extension (+dotprod)"
    return None


def buffer_dtypes(func: Any) -> dict[str, str]:
    """Element type of every buffer the top-level blocks of ``func`` read or write, by name."""
    from tvm import s_tir

    sch = s_tir.Schedule(func)
    out: dict[str, str] = {}
    for rv in sch.get_child_blocks(sch.get_sblock("root")):
        blk = sch.get(rv)
        for region in (*blk.reads, *blk.writes):
            out[str(region.source.name)] = str(region.source.dtype)
    return out


def reasons(prog: Program, b: BlockInfo, target: Any, quantizable: bool) -> dict[str, str]:
    """Why each tensorize value does not apply to block ``b`` on ``target`` (absent: it applies).

    ``quantizable``: ``b`` is the reduction of a calibrated float op, whose quantize rewrite picks
    the activation storage the intrinsic wants; otherwise ``b`` must already read int8 data.
    """
    values = GPU_VALUES if target.kind == "cuda" else CPU_VALUES
    other = CPU_VALUES if target.kind == "cuda" else GPU_VALUES
    out = {v: f"{v} is a {'CPU' if v in CPU_VALUES else 'CUDA'} instruction; target {target.name} is {target.kind}" for v in other}
    layout = dot_layout(b)
    dtypes = buffer_dtypes(prog.func)
    intrins = GPU_INTRINS if target.kind == "cuda" else CPU_INTRINS
    for v in values:
        intrin = intrins[v]
        why = _feature_reason(v, target)
        if why is None and isinstance(layout, str):
            why = layout
        if why is None and not isinstance(layout, str):
            act, wt, s, r = layout
            n, k = b.iters[s].extent, b.iters[r].extent
            a_dt, w_dt = dtypes.get(act.buffer, "?"), dtypes.get(wt.buffer, "?")
            if v == "mma" and not quantizable and (a_dt, w_dt) == (MMA_F16.in_dtype, MMA_F16.in_dtype):
                why = _mma_reason(b, target, layout, MMA_F16)
                out_dt = dtypes.get(b.writes[0], "?")
                if why is None and out_dt != MMA_F16.acc_dtype:
                    why = f"mma multiplies float16 into a float32 accumulator; {b.name} writes {out_dt}"
            elif not quantizable and a_dt.startswith("float"):
                why = f"{v} computes int8 dot products; {b.name} reads {a_dt}: quantize it (opforge tune --quantize int8)"
            elif not quantizable and (a_dt, w_dt) != (intrin.act_dtype, intrin.weight_dtype):
                why = f"{v} multiplies {intrin.act_dtype} by {intrin.weight_dtype}; {b.name} reads {a_dt} by {w_dt}"
            elif not quantizable and v == "avx2":
                why = ("avx2's pmaddubsw saturates int16 pair sums of full-range uint8 x int8 data (it is offered for quantized "
                       "float ops, whose activations it stores in 7 bits); use vnni or none")
            elif v == "mma" and (mma_why := _mma_reason(b, target, layout, MMA_INT8)):
                why = mma_why
            elif v in GPU_VALUES and (len(b.reduction) != 1 or act.last_dim != (r,)):
                why = (f"{v} tensorizes a matmul or dense form (one reduction loop, the activation contiguous along it); "
                       f"{b.name} reduces over {[b.iters[i].name for i in b.reduction]} (conv2d is tensorized on CPUs only)")
            elif n % intrin.lanes or k % intrin.width:
                why = (f"{v} covers {intrin.lanes} {b.iters[s].name} x {intrin.width} {b.iters[r].name}; extents {n} x {k} are "
                       f"not multiples (no padding is done)")
            elif packs_activation(prog, b):
                why = pack_activation.reason(prog.func, b.name, act.buffer, act.dims.index((r,)), intrin.width)
        if why is not None:
            out[v] = why
    return out


def choices(prog: Program, b: BlockInfo, target: Any, quantizable: bool) -> tuple[str, ...]:
    values = GPU_VALUES if target.kind == "cuda" else CPU_VALUES
    bad = reasons(prog, b, target, quantizable)
    return ("none",) + tuple(v for v in values if v not in bad)


def dot_knobs(b: BlockInfo, target: Any, offered: tuple[str, ...]) -> list[Knob]:
    """Tile knobs of the intrinsic's outer loops, used only while ``<block>.tensorize`` is not none."""
    if len(offered) < 2:
        return []
    layout = dot_layout(b)
    assert not isinstance(layout, str)
    _, _, s, r = layout
    intrins = GPU_INTRINS if target.kind == "cuda" else CPU_INTRINS
    lanes = math.lcm(*(intrins[v].lanes for v in offered[1:]))
    width = 4
    n_out, n_red = b.iters[s].extent // lanes, b.iters[r].extent // width
    note = " (used only while the block is tensorized)"
    if target.kind == "cuda":
        return [Knob(f"{b.name}.dot.tile.{b.iters[r].name}", split_choices(n_red, 3, 16), default=_pick(split_choices(n_red, 3, 16), (4, 2)),
                     doc=f"reduction loop in steps of {width} split into 3 levels" + note)]
    return [
        Knob(f"{b.name}.dot.tile.{b.iters[s].name}", split_choices(n_out, 4, MAX_DOT_REGISTERS),
             default=_pick(split_choices(n_out, 4, MAX_DOT_REGISTERS), (1, 1, 4)),
             doc=f"{b.iters[s].name} in blocks of {lanes} lanes split into 4 levels (the last: intrinsic calls per row of the register tile)" + note),
        Knob(f"{b.name}.dot.tile.{b.iters[r].name}", split_choices(n_red, 2), default=_pick(split_choices(n_red, 2), (16,)),
             doc=f"{b.iters[r].name} in steps of {width} split into 2 levels" + note),
    ]


def _pick(options: tuple[tuple[int, ...], ...], wants: tuple[int, ...]) -> tuple[int, ...]:
    def cost(c: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
        return (sum(abs(math.log2(f) - math.log2(w)) for f, w in zip(c[1:], wants)), c)

    return min(options, key=cost)


# --- CPU schedule ---------------------------------------------------------------------------------


def packed_index_map(wt: Read, s: int, r: int, intrin: Intrin) -> Any:
    """The intrinsic's weight layout: the output channel (iterator ``s``) and the reduction channel
    (``r``) split into blocks, the other dimensions kept in order between, the two inner parts last::

        W[k, j]       -> Wp[j // lanes, k // width, j % lanes, k % width]                 (matmul)
        F[k, c, r, s] -> Fp[k // lanes, c // width, r, s, k % lanes, c % width]         (conv2d NCHW)
    """
    lanes, width = intrin.lanes, intrin.width
    ch, red = wt.dims.index((s,)), wt.dims.index((r,))

    def index_map(*idx: Any) -> list[Any]:
        rest = [x for d, x in enumerate(idx) if d not in (ch, red)]
        return [idx[ch] // lanes, idx[red] // width, *rest, idx[ch] % lanes, idx[red] % width]

    return index_map


def pack_weight(sch: Any, blk: Any, wt: Read, s: int, r: int, intrin: Intrin) -> tuple[Any, bool]:
    """Put the weight into the intrinsic's layout: re-lay the block that produces it, or add a
    packing stage before ``blk`` (a native op's weight input). Returns the block that writes the
    packed weight and whether it is a new one."""
    index_map = packed_index_map(wt, s, r, intrin)
    producers = [p for p in sch.get_producers(blk) if str(sch.get(p).writes[0].source.name) == wt.buffer]
    if not producers and "opforge.prepacked" in (sch.mod["main"].attrs or {}):
        # a prepacked main: the weight parameter itself arrives in the packed layout
        names = [str(x.source.name) for x in sch.get(blk).reads]
        sch.transform_layout(blk, ("read", names.index(wt.buffer)), index_map)
        return blk, False
    new = not producers
    if producers:
        packer = producers[0]
    else:
        names = [str(x.source.name) for x in sch.get(blk).reads]
        packer = sch.cache_read(blk, names.index(wt.buffer), "global")
    sch.transform_layout(packer, ("write", 0), index_map)
    return packer, new


def prepare(prog: Program, cfg: Config, target: Any) -> Program:
    """The program ``cfg`` is scheduled on: ``prog`` with, for each block tensorized on a CPU whose
    int8 activation is not contiguous along the reduction channel or is padded (conv2d NCHW), a
    stage that writes it packed and padded (``pack_activation``). ``prog`` itself when there is none."""
    values = {b.name: cfg[f"{b.name}.tensorize"] if f"{b.name}.tensorize" in cfg else "none" for b in prog.blocks}
    if target.kind == "cuda" or not any(v in CPU_VALUES for v in values.values()):
        return prog
    func = prog.func
    dtypes = buffer_dtypes(func)
    for b in prog.blocks:
        value = values[b.name]
        layout = dot_layout(b)
        if value not in CPU_VALUES or isinstance(layout, str) or not packs_activation(prog, b):
            continue
        act, _, _, r = layout
        if dtypes.get(act.buffer) not in ("int8", "uint8"):
            continue  # a float op not quantized: scheduled untensorized, as it is
        func = pack_activation.materialize(func, b.name, act.buffer, act.dims.index((r,)), CPU_INTRINS[str(value)].width)
    if func is prog.func:
        return prog
    return analyze(func, {b.name: [it.name for it in b.iters] for b in prog.blocks})


def perfect(factors: tuple[int, ...], extent: int) -> tuple[int, ...]:
    """``factors`` with each inner one taken down to a divisor of what is left of ``extent``.

    A tensorized block cannot run under a guard (TVM matches the intrinsic on unpredicated
    blocks), so a tile of 17 rows split (2, 2, 4, 2) becomes (17, 1, 1, 1) and 36 / 4 = 9
    reduction steps split (3, 4) become (3, 3): the same config, legal for every extent.
    """
    left, inner = extent, []
    for f in reversed(factors[1:]):
        d = max(x for x in range(1, min(f, left) + 1) if left % x == 0)
        inner.append(d)
        left //= d
    return (left, *reversed(inner))


def schedule_dot(sch: Any, b: BlockInfo, cfg: Config, target: Any, epilogue: str | None, value: str) -> list[Any]:
    """Tile, pack and tensorize the tiled block ``b`` with intrinsic ``value``; returns helper blocks
    (write-back or fused epilogue, the weight packer) for the caller to vectorize.

    The levels are those of the CPU rules (SSRSRS), the intrinsic's two loops innermost::

        for s0.., s1..:                         # parallel; write-back or epilogue under s0/s1 (write_at)
          for c0, r0, s0(window):               # reduction, outer level
            for s2..: for c1, r1, s1(window):   # the window's loops (conv2d's r, s) stay outer loops
              for s3..:                         # register tile: intrinsic calls
                vpdpbusd(Y_acc[.., k0:k0+16], X_pack[.., c0:c0+4], F_pack[k0/16, c0/4, .., 0:16, 0:4])

    An output whose channel is not its last dimension (conv2d NCHW's k) accumulates in a tile with
    the channel last (16 consecutive int32 lanes): under spatial level 1 (write_at 0 or 1) or 2.
    """
    intrin = load(value)
    layout = dot_layout(b)
    assert not isinstance(layout, str)
    _, wt, s, r = layout
    blk = sch.get_sblock(b.name)
    act_packs = [p for p in sch.get_producers(blk) if pack_activation.is_pack_stage(sch.get(p))]
    packer, new_packer = pack_weight(sch, blk, wt, s, r, intrin)
    loops = list(sch.get_loops(blk))
    v_outer, v_inner = sch.split(loops[s], [None, intrin.lanes])
    r_outer, r_inner = sch.split(loops[r], [None, intrin.width])
    levels: list[list[Any]] = [[], [], [], []]
    red: list[list[Any]] = [[], []]
    for pos, it in enumerate(b.iters):
        if it.kind == "R":
            if pos == r:
                k_factors, loop = perfect(cfg.ints(f"{b.name}.dot.tile.{it.name}"), it.extent // intrin.width), r_outer
            else:
                k_factors, loop = perfect(cfg.ints(f"{b.name}.tile.{it.name}"), it.extent), loops[pos]
            parts = sch.split(loop, [None, k_factors[1]])
            red[0].append(parts[0])
            red[1].append(parts[1])
            continue
        if pos == s:
            factors, loop = perfect(cfg.ints(f"{b.name}.dot.tile.{it.name}"), it.extent // intrin.lanes), v_outer
        else:
            factors, loop = perfect(cfg.ints(f"{b.name}.tile.{it.name}"), it.extent), loops[pos]
        for level, part in enumerate(sch.split(loop, [None, *factors[1:]])):
            levels[level].append(part)
    s0, s1, s2, s3 = levels
    sch.reorder(*s0, *s1, *red[0], *s2, *red[1], *s3, v_inner, r_inner)
    helpers = []
    write_at = cfg.integer(f"{b.name}.write_at")
    tail = prim.write_back(sch, blk, epilogue, write_at, s0, s1)
    if tail is not None:
        helpers.append(tail)
    out_dim = b.spatial.index(s)
    if out_dim != len(b.spatial) - 1:
        if b.is_output and (epilogue is not None or not write_at):
            helpers.append(prim.cache_write_at(sch, blk, (s1 if write_at == 2 else s0)[-1]))
        sch.transform_layout(blk, ("write", 0), lambda *idx: [*idx[:out_dim], *idx[out_dim + 1:], idx[out_dim]])
    prim.parallelize(sch, s0[: cfg.integer(f"{b.name}.parallel")])
    prim.auto_unroll(sch, sch.get_loops(blk)[0], cfg.integer(f"{b.name}.unroll"), explicit=True)
    if cfg.flag(f"{b.name}.unroll_regs"):
        prim.unroll_within(sch, s3, 1, prim.MAX_UNROLLED_REGISTERS)  # one int32 accumulator register per dot product
    init = prim.decompose(sch, blk, red[0][0])
    sch.vectorize(sch.get_loops(init)[-1])
    sch.tensorize(v_inner, intrin.name)
    if new_packer:  # a weight-quantize stage that packs is scheduled with the other stages
        _schedule_packer(sch, packer, target)
    for p in act_packs:
        _schedule_activation_pack(sch, p, target)
    return helpers


def _schedule_packer(sch: Any, packer: Any, target: Any) -> None:
    """The packing stage runs once per call: its outer loop in parallel."""
    loops = sch.get_loops(packer)
    if loops and target.cores > 1:
        sch.parallel(loops[0])


def _schedule_activation_pack(sch: Any, pack: Any, target: Any) -> None:
    """The activation's packing stage (``X_pack[n, cb, h, w, ci]``): rows in parallel, each row's
    ``w x ci`` bytes written as whole vectors (the largest power-of-two width that divides them)."""
    loops = sch.get_loops(pack)
    if len(loops) < 3:
        return
    outer = sch.fuse(*loops[:-2])
    if target.cores > 1:
        sch.parallel(outer)
    row = sch.fuse(*loops[-2:])
    extent = prim.extent(sch, row)
    if extent is None:  # symbolic: no width is known to divide it
        return
    width = max(w for w in (1, 2, 4, 8, 16, 32, 64) if extent % w == 0)
    if width > 1:
        sch.vectorize(sch.split(row, [None, width])[1])


# --- CUDA schedule --------------------------------------------------------------------------------


def schedule_dp4a(sch: Any, b: BlockInfo, cfg: Config, target: Any, epilogue: str | None) -> None:
    """The GPU rules' SSSRRSRS tiling with the reduction in steps of 4 and ``__dp4a`` innermost::

        for bx, vthread, tx, k0, k1, regs, k2, regs:      ...
          C_local[i, j] += A_shared[i, k4*4:k4*4+4] . B_shared[j, k4*4:k4*4+4]   # one __dp4a

    Both operands are staged in shared memory (dp4a reads them from there, whatever the
    ``shared`` knobs say), the weight's tile stored with the reduction dimension last.
    """
    from .gpu import _cooperative_fetch

    intrin = load("dp4a")
    layout = dot_layout(b)
    assert not isinstance(layout, str)
    act, wt, s, r = layout
    blk = sch.get_sblock(b.name)
    for t, pos in zip(cfg.ints(f"{b.name}.threads"), b.spatial):
        it = b.iters[pos]
        span = t * math.prod(cfg.ints(f"{b.name}.tile.{it.name}"))
        if it.extent % span:
            raise ScheduleError(
                f"dp4a runs on unguarded tiles only: extent {it.extent} of {it.name} is not a multiple of its {t} threads x "
                f"register tile {span // t}; pick a thread count and tile that divide it, or tensorize none"
            )
    threads = iter(cfg.ints(f"{b.name}.threads"))
    loops = list(sch.get_loops(blk))
    r_outer, r_inner = sch.split(loops[r], [None, intrin.width])
    levels: list[list[Any]] = [[] for _ in range(5)]
    red: list[list[Any]] = [[], [], []]
    for pos, it in enumerate(b.iters):
        if pos == r:
            k_factors = perfect(cfg.ints(f"{b.name}.dot.tile.{it.name}"), it.extent // intrin.width)
            for level, part in enumerate(sch.split(r_outer, [None, *k_factors[1:]])):
                red[level].append(part)
            continue
        t = next(threads)
        a, c = cfg.ints(f"{b.name}.tile.{it.name}")
        for level, part in enumerate(sch.split(loops[pos], [None, 1, t, a, c])):
            levels[level].append(part)
    s0, s1, s2, s3, s4 = levels
    sch.reorder(*s0, *s1, *s2, *red[0], *red[1], *s3, *red[2], *s4, r_inner)
    bx = sch.fuse(*s0) if len(s0) > 1 else s0[0]
    sch.bind(bx, "blockIdx.x")
    tx = sch.fuse(*s2) if len(s2) > 1 else s2[0]
    sch.bind(tx, "threadIdx.x")
    n_threads = math.prod(cfg.ints(f"{b.name}.threads"))
    local = sch.cache_write(blk, 0, "local")
    sch.reverse_compute_at(local, tx, preserve_unit_loops=True)
    if epilogue is not None:
        sch.reverse_compute_inline(sch.get_sblock(epilogue))
    for read in (act, wt):
        names = [str(x.source.name) for x in sch.get(blk).reads]
        shared = sch.cache_read(blk, names.index(read.buffer), "shared", consumer_blocks=[blk])
        sch.compute_at(shared, red[0][-1], preserve_unit_loops=True)
        if read is wt and wt.dims.index((r,)) == 0:
            sch.transform_layout(shared, ("write", 0), lambda kk, jj: [jj, kk])
        _cooperative_fetch(sch, shared, n_threads, 1, len(read.dims))
    prim.auto_unroll(sch, bx, cfg.integer(f"{b.name}.unroll"), explicit=True)
    prim.decompose(sch, blk, red[0][0])
    sch.tensorize(r_inner, intrin.name)


@dataclass(frozen=True)
class MmaKind:
    """One family of tensor-core instructions: operand and accumulator types, the reduction depth of
    one 16 x 16 step (two m16n8k instructions), and the names of TVM's fragment layouts (A's 16 x k tile;
    B's k x 16 one, a transposed B taking A's) and of its intrinsics for the loads, product, zeroing and
    store (``tvm.s_tir.tensor_intrin.cuda``)."""

    in_dtype: str
    acc_dtype: str
    k: int
    a_layout: str
    b_layout: str
    ldmatrix_a: str
    ldmatrix_b: str
    ldmatrix_b_trans: str
    mma: str
    mma_trans_b: str
    fill: str
    store: str

    @property
    def describe(self) -> str:
        return f"{self.in_dtype} m16n8k{self.k} tensor cores, {self.acc_dtype} accumulation"

    @property
    def copy_lanes(self) -> int:
        """Elements of one 16-byte copy into shared memory."""
        return 16 // np.dtype(self.in_dtype).itemsize


MMA_INT8 = MmaKind(
    in_dtype="int8", acc_dtype="int32", k=32,
    a_layout="shared_16x32_to_ldmatrix_32x16_layout", b_layout="shared_32x16_to_ldmatrix_32x16_layout",
    ldmatrix_a="LDMATRIX_i8_A_INTRIN", ldmatrix_b="LDMATRIX_i8_B_INTRIN", ldmatrix_b_trans="LDMATRIX_i8_B_TRANS_INTRIN",
    mma="MMA_i8i8i32_INTRIN", mma_trans_b="MMA_i8i8i32_TRANS_B_INTRIN",
    fill="MMA_fill_16x16_i32_INTRIN", store="MMA_store_16x16_i32_global_INTRIN",
)
MMA_F16 = MmaKind(
    in_dtype="float16", acc_dtype="float32", k=16,
    a_layout="shared_16x16_to_ldmatrix_32x8_layout", b_layout="shared_16x16_to_ldmatrix_32x8_layout",
    ldmatrix_a="LDMATRIX_f16_A_INTRIN", ldmatrix_b="LDMATRIX_f16_B_INTRIN", ldmatrix_b_trans="LDMATRIX_f16_B_TRANS_INTRIN",
    mma="MMA_f16f16f32_INTRIN", mma_trans_b="MMA_f16f16f32_TRANS_B_INTRIN",
    fill="MMA_fill_16x16_f32_INTRIN", store="MMA_store_16x16_f32_global_INTRIN",
)


def mma_kind(prog: Program, b: BlockInfo) -> MmaKind | None:
    """The tensor-core family of block ``b`` as ``prog`` has it: float16 reads -> MMA_F16, int8 -> MMA_INT8
    (a float32 op's block reads int8 once it is quantized), anything else None."""
    layout = dot_layout(b)
    if isinstance(layout, str):
        return None
    dtype = buffer_dtypes(prog.func).get(layout[0].buffer)
    return MMA_F16 if dtype == "float16" else MMA_INT8 if dtype in ("int8", "uint8") else None


def _mma_reason(b: BlockInfo, target: Any, layout: tuple[Read, Read, int, int], kind: MmaKind) -> str | None:
    """Why ``kind``'s tensor cores cannot compute block ``b`` (None: they can)."""
    act, _, s, r = layout
    if len(b.spatial) != 2 or int(str(target.tvm.get("arch", "sm_0"))[3:]) < 80:
        return f"mma ({kind.describe}) needs a 2-D output and sm_80 or newer"
    if len(b.reduction) != 1 or act.last_dim != (r,):
        return (f"mma tensorizes a matmul or dense form (one reduction loop, the activation contiguous along it); "
                f"{b.name} reduces over {[b.iters[i].name for i in b.reduction]}")
    m, n, k = b.iters[next(p for p in b.spatial if p != s)].extent, b.iters[s].extent, b.iters[r].extent
    if m % 16 or n % 16 or k % kind.k:
        return f"mma covers 16 x 16 x {kind.k} steps; extents {m} x {n} x {k} are not multiples (no padding is done)"
    return None


#: caps of the tensor-core tile domains: a block's 16-wide steps in i or j (256 rows), a warp's, and the
#: reduction steps one shared-memory refill holds. Past them a block's staged tiles outgrow 48 KiB of
#: shared memory or a warp's accumulators its registers: without the caps 93 of 100 random Configs of
#: float16 matmul 4096^3 were past the limits of an sm_90 block
MMA_BLOCK_STEPS, MMA_WARP_STEPS, MMA_SHARED_STEPS = 16, 8, 4


def mma_knobs(b: BlockInfo, kind: MmaKind) -> list[Knob]:
    """Tile knobs of the tensor-core schedule, in 16 x 16 x ``kind.k`` steps (used only while tensorize is mma)."""
    layout = dot_layout(b)
    assert not isinstance(layout, str)
    act, _, s, r = layout
    i = next(p for p in b.spatial if p != s)
    m, n, k = b.iters[i].extent // 16, b.iters[s].extent // 16, b.iters[r].extent // kind.k
    note = " (used only while the block is tensorized with mma)"
    out = []
    for pos, extent, wants in ((i, m, (2, 2, 2, 2)), (s, n, (2, 2, 2, 1))):
        options = tuple(o for o in split_choices(extent, 5, 8) if math.prod(o[2:]) <= MMA_BLOCK_STEPS and o[3] * o[4] <= MMA_WARP_STEPS)
        out.append(Knob(f"{b.name}.mma.tile.{b.iters[pos].name}", options, default=_pick(options, wants),
                        doc=f"16-wide steps split over blockIdx.x, blockIdx.y, warps (threadIdx.y), and two register levels (at most "
                        f"{MMA_BLOCK_STEPS} steps a block, {MMA_WARP_STEPS} a warp)" + note))
    options = tuple(o for o in split_choices(k, 3, 4) if o[1] * o[2] <= MMA_SHARED_STEPS)
    out.append(Knob(f"{b.name}.mma.tile.{b.iters[r].name}", options, default=_pick(options, (2, 1)),
                    doc=f"{kind.k}-deep reduction steps split into 3 levels (shared-memory refill, fragment load, mma; at most "
                    f"{MMA_SHARED_STEPS} steps a refill)" + note))
    return out


def schedule_mma(sch: Any, b: BlockInfo, cfg: Config, target: Any, kind: MmaKind) -> None:
    """Tensor cores: ``mma.sync`` of ``kind`` (int8 m16n8k32, float16 m16n8k16) on ldmatrix-loaded fragments (TVM's intrinsics)::

        for bx, by, ty(warps): for k0: [A, B tiles -> shared]
          for k1: [A, B fragments -> warp registers (ldmatrix)]
            for i3, j3, k2, i4, j4: C_warp[16 x 16] += A_warp[16 x k] . B_warp[k x 16]   # mma
        C_warp -> C (mma store)

    The result is written to the block's own output (int32 or float32): a dequantize, a rounding to
    float16 or another epilogue runs as its own kernel.
    """
    load("mma")
    mod = _intrinsic_module_cuda()
    layout = dot_layout(b)
    assert not isinstance(layout, str)
    act, wt, s, r = layout
    i = next(p for p in b.spatial if p != s)
    if len(b.spatial) != 2:
        raise ScheduleError(f"mma needs a 2-D output; {b.name} has {len(b.spatial)} spatial loops")
    b_trans = wt.dims.index((s,)) == 0  # W[j, k]: dense's layout
    tile = (16, 16, kind.k)
    blk = sch.get_sblock(b.name)
    loops = sch.get_loops(blk)
    li, lj, lk = loops[i], loops[s], loops[r]
    li, i_tc = sch.split(li, [None, tile[0]])
    lj, j_tc = sch.split(lj, [None, tile[1]])
    lk, k_tc = sch.split(lk, [None, tile[2]])
    sch.reorder(li, lj, lk, i_tc, j_tc, k_tc)
    outer = sch.blockize(i_tc)
    fi = perfect(cfg.ints(f"{b.name}.mma.tile.{b.iters[i].name}"), b.iters[i].extent // tile[0])
    fj = perfect(cfg.ints(f"{b.name}.mma.tile.{b.iters[s].name}"), b.iters[s].extent // tile[1])
    fk = perfect(cfg.ints(f"{b.name}.mma.tile.{b.iters[r].name}"), b.iters[r].extent // tile[2])
    i0, i1, i2, i3, i4 = sch.split(li, list(fi))
    j0, j1, j2, j3, j4 = sch.split(lj, list(fj))
    k0, k1, k2 = sch.split(lk, list(fk))
    sch.reorder(i0, j0, i1, j1, j2, i2, k0, k1, i3, j3, k2, i4, j4)
    sch.bind(sch.fuse(i0, j0), "blockIdx.x")
    sch.bind(sch.fuse(i1, j1), "blockIdx.y")
    ty = sch.fuse(j2, i2)
    sch.bind(ty, "threadIdx.y")
    warps = fi[2] * fj[2]
    vector = kind.copy_lanes  # 16 bytes per thread and copy
    for idx in range(2):
        shared = sch.cache_read(outer, idx, "shared")
        sch.compute_at(shared, k0)
        fused = sch.fuse(*sch.get_loops(shared)[-2:])
        _, f1, f2, f3 = sch.split(fused, [None, warps, 32, vector])
        sch.bind(f2, "threadIdx.x")
        sch.bind(f1, "threadIdx.y")
        sch.vectorize(f3)
        sch.storage_align(shared, 0, axis=-2, factor=32, offset=vector)  # no bank conflicts for ldmatrix
    a_warp = sch.cache_read(outer, 0, "warp")
    b_warp = sch.cache_read(outer, 1, "warp")
    sch.compute_at(a_warp, k1)
    sch.compute_at(b_warp, k1)
    c_warp = sch.cache_write(outer, 0, "warp")
    sch.reverse_compute_at(c_warp, ty)
    ii, jj = sch.get_loops(c_warp)[-2:]
    io, ii = sch.split(ii, [None, 16])
    jo, ji = sch.split(jj, [None, 16])
    sch.reorder(io, jo, ii, ji)
    init = sch.decompose_reduction(outer, sch.get_loops(outer)[3])

    def fragment(block: Any, height: int, width: int) -> Any:
        y, x = sch.get_loops(block)[-2:]
        y0, y1 = sch.split(y, [None, height])
        x0, x1 = sch.split(x, [None, width])
        sch.reorder(y0, x0, y1, x1)
        return y1

    kk = kind.k
    loop_a = fragment(a_warp, 16, kk)
    loop_b = fragment(b_warp, 16, kk) if b_trans else fragment(b_warp, kk, 16)
    a_map = getattr(mod, kind.a_layout)
    b_map = a_map if b_trans else getattr(mod, kind.b_layout)
    c_map = mod.shared_16x16_to_ldmatrix_32x8_layout
    sch.transform_layout(a_warp, ("write", 0), lambda y, x: (y // 16, x // kk, *a_map(y % 16, x % kk)))
    if b_trans:
        sch.transform_layout(b_warp, ("write", 0), lambda y, x: (y // 16, x // kk, *b_map(y % 16, x % kk)))
    else:
        sch.transform_layout(b_warp, ("write", 0), lambda y, x: (y // kk, x // 16, *b_map(y % kk, x % 16)))
    sch.transform_layout(c_warp, ("read", 0), lambda y, x: (y // 16, x // 16, *c_map(y % 16, x % 16)))
    sch.tensorize(loop_a, getattr(mod, kind.ldmatrix_a))
    sch.tensorize(loop_b, getattr(mod, kind.ldmatrix_b_trans if b_trans else kind.ldmatrix_b))
    sch.tensorize(sch.get_loops(blk)[-3], getattr(mod, kind.mma_trans_b if b_trans else kind.mma))
    sch.tensorize(init, getattr(mod, kind.fill))  # the init block zeroes exactly one 16 x 16 tile
    sch.tensorize(sch.get_loops(c_warp)[-2], getattr(mod, kind.store))


def _intrinsic_module_cuda() -> Any:
    from .intrinsics import _tvm_module

    return _tvm_module("cuda")
