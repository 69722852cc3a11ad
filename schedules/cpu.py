"""The CPU rule set: knobs derived from the block structure, and how a config is applied.

Rules, by block role (see ``structure.py``); no rule looks at an op's name:

- ``tiled`` (a reduction with reuse: matmul, conv, dense, batch matmul, depthwise conv):
  SSRSRS multi-level tiling (each spatial loop split into 4 levels, each reduction loop into
  2), a local accumulator tile or a fused element-wise epilogue at spatial level 1 or 2
  (``write_at``), packed panels of the reused inputs (``pack.<buffer>``), the outer spatial
  tiles fused and run in parallel, the innermost spatial loop vectorized, the register block
  unrolled, TVM's auto-unroll pragma, and the reduction's init hoisted. A zero-padded read
  (conv2d's) is copied padded out of the loop nest, whole or per outer tile (``pad``, ``padding.py``).
- ``reduction`` without reuse (softmax / layer-norm statistics, pooling, reduce ops):
  parallel outer spatial loops, reduction innermost or a vectorized spatial loop innermost.
  A non-output one is computed at its consumer's slice loop (the row loop of softmax and
  layer norm), so no full-size intermediate is written.
- ``spatial`` (element-wise, broadcast, transpose): a non-output one is inlined, computed at its
  consumers' slice loop, or left at the root; an output one gets parallel outer loops and a
  vectorized inner loop of ``target.vector_lanes(bits)`` lanes (or a multiple).
- ``opaque``: left as lowered (correct, untuned).

Knobs are independent: every in-domain combination is legal. Where one knob makes another
moot (an output element-wise block fused as an epilogue ignores its own ``parallel`` /
``vector`` / ``unroll``), the docstring of the knob says so.
"""

from __future__ import annotations

import math
from typing import Any

from . import primitives as prim
from . import padding, quantize, tensorize
from .config import Config
from .factors import divisors, needs_guarded_splits, pick_split, split_choices
from .space import Knob
from .structure import BlockInfo, Program, Read

UNROLL_STEPS = (0, 16, 64, 512)
MAX_REGISTER_TILE = 64  # cap of an innermost tile factor: it is unrolled or vectorized
STRUCTURE = "SSRSRS"


def lanes_for(block: BlockInfo, target: Any) -> int:
    return max(1, min(64, int(target.vector_lanes(block.dtype_bits))))


# --- knobs -----------------------------------------------------------------------------------


def knobs(prog: Program, target: Any) -> list[Knob]:
    """The CPU knobs of every block of ``prog``, then the op-level reserved ones."""
    out: list[Knob] = []
    schemes = quantize.scheme_choices(prog.func)
    q_stage = quantize.quantized_stage(prog.func) if len(schemes) > 1 else None
    packs = _pack_stages(prog)
    for b in prog.blocks:
        if b.name in packs:
            continue  # an activation packing stage added for tensorize: scheduled with its consumer
        if b.role == "tiled":
            out += _tiled_knobs(b, target)
            out += padding.knobs(prog, b)
            offered = tensorize.choices(prog, b, target, quantizable=b.name == q_stage)
            out.append(Knob(f"{b.name}.tensorize", offered, default="none",
                            doc="dot-product instruction for the innermost loops (vnni / avx2 / sdot; the weight is packed into its "
                            "layout); for a float op used only while it is quantized"))
            out += tensorize.dot_knobs(b, target, offered)
        elif b.role in ("spatial", "reduction") and not b.is_output:
            out.append(_compute_knob(b))
        elif b.role == "spatial":
            out += _spatial_knobs(b, target)
        elif b.role == "reduction":
            out += _reduction_knobs(b, target)
    out.append(Knob("quantize", schemes, default="none",
                    doc="int8 compute with int32 accumulation and dequantization (weights scaled per tensor or per output "
                    "channel, activations from calibration); offered for a calibrated float op"))
    return out


def _compute_knob(b: BlockInfo) -> Knob:
    choices = (["inline"] if b.inlinable else []) + (["at_consumer"] if b.consumers else []) + ["root"]
    return Knob(
        f"{b.name}.compute", tuple(choices), default=choices[0],
        doc="where this intermediate is computed: inline (into its consumers), at_consumer (at the "
        "consumers' slice loop, e.g. the row loop; the root when there is none) or root (its own loop nest)",
    )


def _parallel_choices(n: int, target: Any) -> tuple[int, ...]:
    return tuple(range(n + 1)) if target.cores > 1 else (0,)


def _default_parallel(outer_extents: list[int], target: Any) -> int:
    """Fewest outer loops whose fused extent gives every core work (4 chunks per core), else all."""
    if target.cores <= 1:
        return 0
    for p in range(1, len(outer_extents) + 1):
        if math.prod(outer_extents[:p]) >= 4 * target.cores:
            return p
    return len(outer_extents)


def _vector_choices(extent: int, lanes: int) -> tuple[int, ...]:
    if extent <= 1:
        return (1,)
    return (1,) + tuple(lanes * 2**m for m in range(3) if lanes * 2**m <= max(lanes, extent))


def _spatial_parallel_loops(n_iters: int) -> int:
    """How many loops a spatial block may fuse for parallelism: its whole outer dims (the last
    dim is the vector loop), or, for a 1-D block, the vector loop's outer part. Whole dims keep
    the row loops of softmax / layer norm intact for the intermediates computed at them."""
    return max(1, n_iters - 1)


def _spatial_knobs(b: BlockInfo, target: Any) -> list[Knob]:
    lanes = lanes_for(b, target)
    last = b.iters[-1].extent
    vec = _vector_choices(last, lanes)
    vec_default = lanes if lanes in vec and last >= lanes else 1
    n_par = _spatial_parallel_loops(len(b.iters))
    outer = [it.extent for it in b.iters[:-1]] if len(b.iters) > 1 else [math.ceil(last / vec_default)]
    note = " (unused when the block is fused as another block's epilogue)"
    return [
        Knob(f"{b.name}.parallel", _parallel_choices(n_par, target), default=_default_parallel(outer, target),
             doc="outer whole dims fused and run in parallel (for a 1-D block: the vector loop's outer part)" + note),
        Knob(f"{b.name}.vector", vec, default=vec_default, doc=f"lanes of the vectorized innermost loop (1: none; {lanes} fill one register)" + note),
        Knob(f"{b.name}.unroll", UNROLL_STEPS, default=0, doc="pragma_auto_unroll_max_step on the outer loop" + note),
    ]


def _contiguous_spatial(b: BlockInfo) -> bool:
    """Whether the reads' contiguous dimension follows the last spatial iterator (pooling NCHW)."""
    last_s = b.spatial[-1]
    reads = [r for r in b.reads if r.buffer not in b.writes and r.last_dim]
    return bool(reads) and all(last_s in r.last_dim for r in reads)


def _reduction_knobs(b: BlockInfo, target: Any) -> list[Knob]:
    lanes = lanes_for(b, target)
    n_s = len(b.spatial)
    last = b.iters[b.spatial[-1]].extent if n_s else 1
    orders = ("reduce_inner", "spatial_inner") if last > 1 else ("reduce_inner",)
    order_default = "spatial_inner" if last >= lanes and _contiguous_spatial(b) else "reduce_inner"
    outer = [b.iters[i].extent for i in b.spatial]
    if order_default == "spatial_inner":
        outer[-1] = math.ceil(last / lanes)
    return [
        Knob(f"{b.name}.parallel", _parallel_choices(n_s, target), default=_default_parallel(outer, target), doc="outer spatial loops fused and run in parallel"),
        Knob(f"{b.name}.order", orders, default=order_default,
             doc=f"reduce_inner: reduction loops innermost; spatial_inner: the last spatial loop split by {lanes} lanes, vectorized, under the reduction loops"),
        Knob(f"{b.name}.unroll", UNROLL_STEPS, default=16, doc="pragma_auto_unroll_max_step on the outer loop"),
    ]


def _reused_reads(b: BlockInfo) -> list[Read]:
    spatial, reduction = set(b.spatial), set(b.reduction)
    return [r for r in b.reads if r.buffer not in b.writes and not spatial <= set(r.iters) and reduction & set(r.iters)]


def _vector_dim(b: BlockInfo, r: Read) -> int | None:
    """The dimension of ``r`` indexed by the block's last spatial iterator alone (it becomes the
    contiguous one of a packed panel), or None."""
    last = b.spatial[-1]
    hits = [d for d, its in enumerate(r.dims) if its == (last,)]
    return hits[0] if len(hits) == 1 else None


def _reuse_loop(b: BlockInfo) -> int | None:
    """The spatial loop whose register tile reuses each vector the inner loop loads: the innermost
    one (past the vector loop, extent > 1) indexing none of the reads the vector loop walks (matmul's
    ``i`` reuses a row of ``B``; conv2d NCHW's output channel reuses a row of the input, which its
    output row would not). None when every loop indexes them (depthwise conv)."""
    vector = b.spatial[-1]
    walked = [set(r.iters) for r in b.reads if r.buffer not in b.writes and vector in r.iters]
    for pos in reversed(b.spatial[:-1]):
        if b.iters[pos].extent > 1 and not any(pos in its for its in walked):
            return pos
    return None


def _vector_tile_wants(extent: int, lanes: int) -> tuple[int, ...]:
    """Default inner factors of the vector loop: 2 registers' width, 4 tiles apart; when no
    multiple of ``lanes`` divides ``extent`` (56), its largest divisor up to one register (14)."""
    if needs_guarded_splits(extent) or any(d % lanes == 0 for d in divisors(extent) if d <= MAX_REGISTER_TILE):
        return (1, 4, 2 * lanes)
    return (1, 1, max(d for d in divisors(extent) if d <= lanes))


def _vector_tile_choices(extent: int, lanes: int, full_rate: int) -> tuple[tuple[int, ...], ...]:
    """Splits of the vector loop whose register tile is whole registers or fills most of one (3/4;
    the fullest there is, for a loop with no such factor). LLVM splits a vector of 3.5 registers
    badly: conv2d 1x64x56x56 3x3 with a register tile of 56 or 28 lanes ran at 44-45 GFLOP/s, with
    14 at 397 (16 lanes a register). A narrower tile caps the kernel at its share of the FMA peak,
    unless the units run a narrower vector at full rate (``full_rate`` lanes, 8 of 16 on Zen 4): there
    3/4 of that is enough (Zen 4, conv2d's 56-wide rows: MetaSchedule's best tile was 7 x 8 lanes;
    timed in turn, such tiles ran within 2% of opforge's best 4 x 14-lane Config)."""
    offered = [c for c in split_choices(extent, 4, MAX_REGISTER_TILE) if c[-1] <= lanes or c[-1] % lanes == 0]
    fill = min(math.ceil(3 * min(lanes, full_rate) / 4), max(c[-1] for c in offered if c[-1] <= lanes))
    return tuple(c for c in offered if c[-1] >= fill)


#: independent accumulators a register tile wants (two FMA ports, four cycles each)
ACCUMULATORS = 8


def _tiled_knobs(b: BlockInfo, target: Any) -> list[Knob]:
    lanes = lanes_for(b, target)
    spatial = b.spatial
    reuse = _reuse_loop(b)
    if reuse is None and len(spatial) > 1:
        reuse = spatial[-2]
    out: list[Knob] = []
    outer_extents = []
    vector_wants = _vector_tile_wants(b.iters[spatial[-1]].extent, lanes)
    registers = math.ceil(vector_wants[-1] / lanes)
    for pos, it in enumerate(b.iters):
        if it.kind == "S":
            if pos == spatial[-1]:
                wants = vector_wants
                choices = _vector_tile_choices(it.extent, lanes, int(target.full_rate_lanes(b.dtype_bits)))
            else:
                wants = (16, 2, max(1, ACCUMULATORS // registers)) if pos == reuse else (1, 1, 1)
                choices = split_choices(it.extent, 4, MAX_REGISTER_TILE)
            default = pick_split(it.extent, 4, wants, MAX_REGISTER_TILE, choices)
            outer_extents.append(default[0])
            doc = "spatial loop split into 4 levels (outer, ..., register tile)"
        else:
            choices = split_choices(it.extent, 2)
            default = pick_split(it.extent, 2, (8,))
            doc = "reduction loop split into 2 levels"
        out.append(Knob(f"{b.name}.tile.{it.name}", choices, default=default, doc=doc + "; outer = ceil(extent / inner), a tail is guarded"))
    last = b.iters[spatial[-1]].name
    out.append(Knob(f"{b.name}.write_at", (0, 1, 2), default=2,
                    doc="0: write straight to the output, an element-wise consumer runs on its own; 1/2: accumulate in a "
                    "local tile and write it back (or run the fused epilogue) under spatial tile level 1/2; a tensorized block whose output "
                    "channel is not its last dimension (conv2d NCHW) always accumulates in a tile: 0 acts as 1"))
    for r in _reused_reads(b):
        packed_default = 1 if _vector_dim(b, r) is not None else 0
        out.append(Knob(f"{b.name}.pack.{r.buffer}", (0, 1, 2, 3), default=packed_default,
                        doc=f"copy the panel of {r.buffer} this tile reads into a contiguous buffer under spatial level 1/2, the dimension the "
                        f"vector loop walks made contiguous; 3: all of {r.buffer} once, before the tile loops, in panels of the register "
                        f"tile's width, so no panel is packed twice (0: read in place; "
                        f"no effect once {r.buffer}'s producer is inlined into {b.name})"))
    out += [
        Knob(f"{b.name}.parallel", _parallel_choices(len(spatial), target), default=len(spatial) if target.cores > 1 else 0,
             doc="outermost spatial tile loops fused and run in parallel"),
        Knob(f"{b.name}.vectorize", (True, False), default=True, doc=f"vectorize the register tile's innermost loop ({last}; {lanes} lanes per register)"),
        Knob(f"{b.name}.unroll", UNROLL_STEPS, default=64, doc="pragma_auto_unroll_max_step on the tile"),
        Knob(f"{b.name}.unroll_regs", (False, True), default=False, doc="explicitly unroll the register tile's other loops, innermost first, up to "
             f"{prim.MAX_UNROLLED_REGISTERS} vector registers of it"),
    ]
    return out


# --- apply -----------------------------------------------------------------------------------


def apply(sch: Any, prog: Program, cfg: Config, target: Any) -> None:
    """Schedule every block of ``prog`` in ``sch`` as ``cfg`` says (``cfg`` is already checked)."""
    inlined = set()
    packs = _pack_stages(prog)
    for b in prog.blocks:
        if b.role == "spatial" and not b.is_output and b.name not in packs and cfg.text(f"{b.name}.compute") == "inline":
            prim.inline(sch, sch.get_sblock(b.name))
            inlined.add(b.name)
    alive = [b for b in prog.blocks if b.name not in inlined and b.name not in packs]
    order = [b.name for b in alive]
    epilogue: dict[str, str] = {}
    for b in alive:
        if b.role == "tiled" and cfg.integer(f"{b.name}.write_at") > 0:
            epi = _epilogue_of(sch, b, prog, order, set(epilogue.values()))
            if epi is not None:
                epilogue[b.name] = epi
    fused = set(epilogue.values())
    for b in reversed(alive):
        if b.name in fused:
            continue
        if b.role == "tiled":
            _schedule_tiled(sch, b, cfg, target, epilogue.get(b.name), prog)
        elif b.role in ("spatial", "reduction") and not b.is_output:
            choice = cfg.text(f"{b.name}.compute")
            if choice == "at_consumer" and prim.attach(sch, sch.get_sblock(b.name)) is not None:
                if b.role == "spatial":
                    _vectorize_attached(sch, b, target)
            else:
                _schedule_root_intermediate(sch, b, target)
        elif b.role == "spatial":
            _schedule_spatial(sch, b, cfg.integer(f"{b.name}.parallel"), cfg.integer(f"{b.name}.vector"), cfg.integer(f"{b.name}.unroll"))
        elif b.role == "reduction":
            _schedule_reduction(sch, b, cfg.integer(f"{b.name}.parallel"), cfg.text(f"{b.name}.order"), cfg.integer(f"{b.name}.unroll"), lanes_for(b, target))


def _pack_stages(prog: Program) -> set[str]:
    """Blocks ``tensorize.prepare`` added (a tensorized block's packed activation): no knobs of their own."""
    from tvm import s_tir

    from .pack_activation import is_pack_stage

    if not any(b.name.endswith("_pack") for b in prog.blocks):
        return set()
    sch = s_tir.Schedule(prog.func)
    return {b.name for b in prog.blocks if is_pack_stage(sch.get(sch.get_sblock(b.name)))}


def _epilogue_of(sch: Any, b: BlockInfo, prog: Program, order: list[str], taken: set[str]) -> str | None:
    """The single element-wise consumer of ``b`` that reads its output point for point, if any."""
    from .structure import _read

    consumers = sch.get_consumers(sch.get_sblock(b.name))
    if len(consumers) != 1:
        return None
    blk = sch.get(consumers[0])
    name = blk.name_hint
    if name in taken or name not in order:
        return None
    info = prog.block(name)
    if info.role != "spatial":
        return None
    vars_ = [iv.var for iv in blk.iter_vars]
    reads = [_read(r, vars_) for r in blk.reads if str(r.source.name) == b.writes[0]]
    extents = [b.iters[i].extent for i in b.spatial]
    if not reads or not all(r.identity for r in reads) or [it.extent for it in info.iters] != extents:
        return None
    # TVM moves a consumer under a loop only with all its producer blocks there: the epilogue may
    # read b and function inputs (a bias), not other blocks' outputs (a dequantize's in-kernel scales)
    for p in sch.get_producers(consumers[0]):
        if sch.get(p).name_hint != b.name:
            return None
    return name


def _reads_int8(prog: Program, b: BlockInfo) -> bool:
    dtypes = tensorize.buffer_dtypes(prog.func)
    return any(dtypes.get(r.buffer) in ("int8", "uint8") for r in b.reads)


def _schedule_tiled(sch: Any, b: BlockInfo, cfg: Config, target: Any, epilogue: str | None, prog: Program | None = None) -> None:
    value = cfg.text(f"{b.name}.tensorize") if f"{b.name}.tensorize" in cfg else "none"
    if value != "none" and prog is not None and _reads_int8(prog, b):
        for other in tensorize.schedule_dot(sch, b, cfg, target, epilogue, value):
            _vectorize_inner(sch, other, lanes_for(b, target))
        return
    blk = sch.get_sblock(b.name)
    padded = padding.sources(sch, blk)  # {X_pack: X}: knobs name the buffer the op reads
    kinds = [it.kind for it in b.iters]
    splits = [cfg.ints(f"{b.name}.tile.{it.name}") for it in b.iters]
    s0, s1, r0, s2, r1, s3 = prim.tile(sch, blk, splits, kinds, STRUCTURE)
    tail = prim.write_back(sch, blk, epilogue, cfg.integer(f"{b.name}.write_at"), s0, s1)
    packs = []
    whole = set()
    for r in _reused_reads(b):
        level = cfg.integer(f"{b.name}.pack.{padded.get(r.buffer, r.buffer)}")
        if level == 3:
            panel = splits[b.spatial[-1]][-1]
            packed = prim.pack_whole(sch, blk, r.buffer, _vector_dim(b, r), panel)
            if packed is not None:
                whole.add(r.buffer)
                _vectorize_inner(sch, packed, lanes_for(b, target))
                prim.parallelize(sch, sch.get_loops(packed)[:1] if target.cores > 1 else [])
        elif level:
            packed = prim.pack_read(sch, blk, r.buffer, (s0 if level == 1 else s1)[-1], _vector_dim(b, r))
            if packed is not None:
                packs.append(packed)
    for buf, source in padded.items():
        stage = sch.get_sblock(buf)
        if cfg.text(padding.knob_name(b.name, source)) == "tile" and buf not in whole:  # a whole pack reads it before the tiles
            sch.compute_at(stage, s0[-1], preserve_unit_loops=True)
            _vectorize_inner(sch, stage, lanes_for(b, target))
        else:
            _schedule_padded_copy(sch, stage, target, lanes_for(b, target))
    prim.parallelize(sch, s0[: cfg.integer(f"{b.name}.parallel")])
    prim.auto_unroll(sch, sch.get_loops(blk)[0], cfg.integer(f"{b.name}.unroll"), explicit=True)
    vectorize = cfg.flag(f"{b.name}.vectorize")
    if vectorize:
        sch.vectorize(s3[-1])
        for other in ([tail] if tail is not None else []) + packs:
            _vectorize_inner(sch, other, lanes_for(b, target))
    if cfg.flag(f"{b.name}.unroll_regs"):
        # counted in registers when not vectorized too: LLVM vectorizes that loop itself
        registers = math.ceil((prim.extent(sch, s3[-1]) or MAX_REGISTER_TILE) / lanes_for(b, target))
        prim.unroll_within(sch, s3[:-1], registers, prim.MAX_UNROLLED_REGISTERS)
    if r0:
        init = prim.decompose(sch, blk, r0[0])
        if vectorize:
            sch.vectorize(sch.get_loops(init)[-1])


def _schedule_padded_copy(sch: Any, stage: Any, target: Any, lanes: int) -> None:
    """A padded copy at the root: its outer dimensions fused and run in parallel, each row vectorized."""
    loops = sch.get_loops(stage)
    if len(loops) > 1:
        prim.parallelize(sch, loops[:-1] if target.cores > 1 else [])
    _vectorize_inner(sch, stage, lanes)


def _vectorize_inner(sch: Any, block: Any, lanes: int) -> None:
    """Vectorize the innermost loop of a helper block (write-back, epilogue, packing), split by
    ``lanes`` when it is longer, so no huge vector is formed."""
    loops = sch.get_loops(block)
    if not loops:
        return
    loop = loops[-1]
    # only a loop of this block alone: a unit region leaves no own loop, and vectorizing a shared
    # loop would vectorize the producer's nest too
    if len(sch.get_child_blocks(loop)) != 1:
        return
    extent = prim.extent(sch, loop)
    if extent is None or extent < 2:
        return
    if extent > lanes:
        prim.split_vector(sch, loop, lanes)
    else:
        sch.vectorize(loop)


def _vectorize_attached(sch: Any, b: BlockInfo, target: Any) -> None:
    _vectorize_inner(sch, sch.get_sblock(b.name), lanes_for(b, target))


def _schedule_spatial(sch: Any, b: BlockInfo, parallel: int, vector: int, unroll: int) -> None:
    blk = sch.get_sblock(b.name)
    loops = list(sch.get_loops(blk))
    if vector > 1:
        outer, _ = prim.split_vector(sch, loops[-1], vector)
        loops[-1] = outer
    prim.parallelize(sch, loops[: min(parallel, _spatial_parallel_loops(len(b.iters)))])
    prim.auto_unroll(sch, sch.get_loops(blk)[0], unroll, explicit=True)


def _schedule_reduction(sch: Any, b: BlockInfo, parallel: int, order: str, unroll: int, lanes: int) -> None:
    blk = sch.get_sblock(b.name)
    loops = list(sch.get_loops(blk))
    s_loops = [loops[i] for i in b.spatial]
    r_loops = [loops[i] for i in b.reduction]
    sch.reorder(*s_loops, *r_loops)
    vector_loop = None
    if order == "spatial_inner":
        outer, inner = sch.split(s_loops[-1], [None, lanes])
        sch.reorder(outer, *r_loops, inner)
        sch.vectorize(inner)
        s_loops[-1] = outer
        vector_loop = inner
    prim.parallelize(sch, s_loops[:parallel])
    prim.auto_unroll(sch, sch.get_loops(blk)[0], unroll, explicit=True)
    if vector_loop is not None and r_loops:
        init = prim.decompose(sch, blk, r_loops[0])
        sch.vectorize(sch.get_loops(init)[-1])


def _schedule_root_intermediate(sch: Any, b: BlockInfo, target: Any) -> None:
    """An intermediate left at the root gets a fixed, plain schedule (no knobs of its own)."""
    par = 1 if target.cores > 1 else 0
    if b.role == "spatial":
        lanes = lanes_for(b, target)
        _schedule_spatial(sch, b, par, lanes if b.iters[-1].extent >= lanes else 1, 0)
    else:
        _schedule_reduction(sch, b, min(par, len(b.spatial)), "reduce_inner", 16, lanes_for(b, target))
