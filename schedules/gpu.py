"""The GPU (CUDA) rule set: knobs derived from the block structure, and how a config is applied.

Rules, by block role (see ``structure.py``):

- ``tiled`` (matmul, conv, dense, ...): SSSRRSRS multi-level tiling. The spatial loops are split
  into 5 levels: blockIdx, virtual thread (kept at 1), threadIdx, and two register levels; the
  reduction loops into 3. The thread shape is one knob (a factor per spatial loop, with at
  most ``max_threads_per_block`` threads in all), so every config has a legal block size.
  Reused inputs are staged in shared memory under the outer reduction loop, fetched
  cooperatively by all threads of the block (optionally with vector loads); the accumulator
  is a per-thread ``local`` tile; an element-wise epilogue is inlined into its write-back.
- ``reduction`` and ``spatial`` blocks: the outer whole dims are bound to blockIdx.x and the last
  dim is split over threadIdx.x. A non-output reduction (softmax, layer-norm statistics) is
  computed at its consumers' blockIdx (row) loop with its reduction loop spread over the same
  threads (a cross-thread reduction); a non-output element-wise block is inlined, computed at
  the row, or run as its own kernel.
- ``opaque``: left as lowered; such a program has unbound loops and fails to build for CUDA.

A config whose shared memory or thread use exceeds the target's limits raises ScheduleError
from ``apply`` (checked with ``verify_gpu_code`` on the lowered kernel), never a wrong kernel.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any

from . import primitives as prim
from . import quantize, tensorize
from .config import Config
from .errors import ScheduleError
from .factors import divisors, pick_split, powers_of_two, split_choices
from .space import Knob
from .cpu import _epilogue_of
from .structure import BlockInfo, Program

UNROLL_STEPS = (0, 16, 64, 512, 1024)
STRUCTURE = "SSSRRSRS"
THREAD_CHOICES = (32, 64, 128, 256, 512, 1024)
MAX_REGISTER_TILE = 8
#: per-thread local memory (the accumulator tile) a kernel may allocate: 256 four-byte values. A
#: thread has at most 255 registers, so a larger tile only spills, and NVRTC's ptxas takes minutes
#: on one (a 32 x 32 int32 tile of a 128 x 128 x 256 matmul did not compile in 60 s on the H100)
MAX_LOCAL_BYTES = 1024


def exact_division(prog: Program) -> Program:
    """``prog`` with every float32 division computed by CUDA's ``__fdiv_rn`` (IEEE, round to nearest).

    TVM compiles CUDA with ``--use_fast_math``, whose ``a / b`` may be 2 ulp off. A quantized
    program rounds ``w * (127 / amax)`` to int8, so such an error moves a weight one step where
    the product lies at a rounding tie, and the kernel no longer equals its reference (240 of
    131072 outputs of a per-channel quantized dense 128x1024x1024 on the H100).
    """
    import dataclasses

    import tvm_ffi
    from tvm import tirx

    def ieee(div: Any) -> Any:
        return tirx.call_pure_extern("float32", "__fdiv_rn", div.a, div.b) if str(div.ty) == "float32" else div

    return dataclasses.replace(prog, func=tvm_ffi.structural_map(prog.func, [(tirx.Div, ieee)], order="post"))


def _max_threads(target: Any) -> int:
    return int(target.tvm.get("max_threads_per_block", 1024))


# --- knobs -----------------------------------------------------------------------------------


def knobs(prog: Program, target: Any) -> list[Knob]:
    """The GPU knobs of every block of ``prog``, then the op-level reserved ones."""
    out: list[Knob] = []
    schemes = quantize.scheme_choices(prog.func)
    q_stage = quantize.quantized_stage(prog.func) if len(schemes) > 1 else None
    for b in prog.blocks:
        if b.role == "tiled":
            out += _tiled_knobs(b, target)
            offered = tensorize.choices(prog, b, target, quantizable=b.name == q_stage)
            # a float16 product defaults to tensor cores: matmul 4096^3 on an H100 ran 183 TFLOP/s with the
            # mma default against 25 with the SIMT one (an int8 op's default stays SIMT: not measured so)
            kind = tensorize.mma_kind(prog, b) if "mma" in offered else None
            out.append(Knob(f"{b.name}.tensorize", offered, default="mma" if kind is tensorize.MMA_F16 else "none",
                            doc="dp4a: the innermost 4 reduction steps as one __dp4a from shared memory; mma: tensor cores "
                            "(int8: 16 x 16 x 32 steps; float16 with float32 accumulation: 16 x 16 x 16; ldmatrix fragments); "
                            "for a float32 op used only while it is quantized"))
            out += tensorize.dot_knobs(b, target, tuple(v for v in offered if v != "mma"))
            if "mma" in offered:  # a float32 op offers mma only for its int8 quantized form
                out += tensorize.mma_knobs(b, kind or tensorize.MMA_INT8)
        elif b.role in ("spatial", "reduction") and not b.is_output:
            out.append(_compute_knob(b))
        elif b.role in ("spatial", "reduction"):
            out += _row_knobs(b, target)
    out.append(Knob("quantize", schemes, default="none",
                    doc="int8 compute with int32 accumulation and dequantization; offered for a calibrated float op"))
    return out


def _compute_knob(b: BlockInfo) -> Knob:
    choices = (["inline"] if b.inlinable else []) + (["at_consumer"] if b.consumers else []) + ["root"]
    return Knob(f"{b.name}.compute", tuple(choices), default=choices[0],
                doc="where this intermediate is computed: inline, at_consumer (at the consumers' blockIdx row loop, "
                "spread over its threads) or root (a kernel of its own)")


def _row_knobs(b: BlockInfo, target: Any) -> list[Knob]:
    threads = tuple(t for t in THREAD_CHOICES if t <= _max_threads(target))
    return [
        Knob(f"{b.name}.threads", threads, default=128 if 128 in threads else threads[0],
             doc="threadIdx.x extent over the last dim (outer whole dims go to blockIdx.x); the row stages computed at "
             "this block's rows use the same threads"),
        Knob(f"{b.name}.unroll", UNROLL_STEPS, default=16, doc="pragma_auto_unroll_max_step on the block loop"),
    ]


def thread_shapes(extents: list[int], limit: int) -> tuple[tuple[int, ...], ...]:
    """Thread factors per spatial loop (powers of two or divisors, each at most its extent
    rounded up to a power of two) whose product is 32..``limit`` threads (less for tiny loops)."""
    per_loop = [sorted(set(powers_of_two(_next_pow2(e))) | set(divisors(e))) for e in extents]
    total = math.prod(_next_pow2(e) for e in extents)
    low = min(32, total)
    out = [s for s in product(*per_loop) if low <= math.prod(s) <= limit]
    return tuple(sorted(out))


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _tiled_knobs(b: BlockInfo, target: Any) -> list[Knob]:
    out: list[Knob] = []
    spatial = list(b.spatial)
    extents = [b.iters[i].extent for i in spatial]
    shapes = thread_shapes(extents, _max_threads(target))
    wants = [1] * len(spatial)
    # default: 16 x 16 threads over the two innermost spatial loops, as far as they reach
    for pos, want in ((-1, 16), (-2, 16)):
        if len(spatial) >= -pos:
            wants[pos] = want
    default_shape = min(shapes, key=lambda s: (sum(abs(math.log2(x) - math.log2(w)) for x, w in zip(s, wants)), s))
    out.append(Knob(f"{b.name}.threads", shapes, default=default_shape,
                    doc=f"threadIdx factor per spatial loop ({', '.join(b.iters[i].name for i in spatial)}); their product is the block size"))
    for pos, it in enumerate(b.iters):
        if it.kind == "S":
            choices: tuple[tuple[int, ...], ...] = tuple(sorted({(a, c) for a in powers_of_two(MAX_REGISTER_TILE) for c in powers_of_two(MAX_REGISTER_TILE) if a * c <= max(it.extent, 1) or (a, c) == (1, 1)}))
            default = (1, 4) if (1, 4) in choices and pos in spatial[-2:] else (1, 1)
            out.append(Knob(f"{b.name}.tile.{it.name}", choices, default=default,
                            doc="register tile of this spatial loop at levels 4 and 5 (blockIdx level = ceil(extent / (threads * both)))"))
        else:
            choices = split_choices(it.extent, 3, 16)
            out.append(Knob(f"{b.name}.tile.{it.name}", choices, default=pick_split(it.extent, 3, (4, 2), 16),
                            doc="reduction loop split into 3 levels; shared-memory stages are refilled per outer step"))
    for r in _reused_reads(b):
        out.append(Knob(f"{b.name}.shared.{r.buffer}", (True, False), default=True,
                        doc=f"stage the tile of {r.buffer} in shared memory, fetched cooperatively by the block's threads"))
    out += [
        Knob(f"{b.name}.fetch_vector", (1, 2, 4), default=1, doc="vector width of the cooperative shared-memory fetch"),
        Knob(f"{b.name}.unroll", UNROLL_STEPS, default=64, doc="pragma_auto_unroll_max_step on the block loop"),
    ]
    return out


def _reused_reads(b: BlockInfo) -> list[Any]:
    spatial, reduction = set(b.spatial), set(b.reduction)
    return [r for r in b.reads if r.buffer not in b.writes and not spatial <= set(r.iters) and reduction & set(r.iters)]


# --- apply -----------------------------------------------------------------------------------


def apply(sch: Any, prog: Program, cfg: Config, target: Any) -> None:
    """Schedule every block of ``prog`` for CUDA as ``cfg`` says; raise ScheduleError past the GPU's limits."""
    inlined = set()
    for b in prog.blocks:
        if b.role == "spatial" and not b.is_output and cfg.text(f"{b.name}.compute") == "inline":
            prim.inline(sch, sch.get_sblock(b.name))
            inlined.add(b.name)
    alive = [b for b in prog.blocks if b.name not in inlined]
    order = [b.name for b in alive]
    epilogue: dict[str, str] = {}
    for b in alive:
        if b.role == "tiled":
            epi = _epilogue_of(sch, b, prog, order, set(epilogue.values()))
            if epi is not None:
                epilogue[b.name] = epi
    threads_of: dict[str, int] = {}
    for b in reversed(alive):
        if b.name in epilogue.values():
            continue
        if b.role == "tiled":
            value = cfg.text(f"{b.name}.tensorize") if f"{b.name}.tensorize" in cfg else "none"
            if value == "dp4a" and _reads_int8(prog, b):
                tensorize.schedule_dp4a(sch, b, cfg, target, epilogue.get(b.name))
            elif value == "mma" and (kind := tensorize.mma_kind(prog, b)) is not None:
                tensorize.schedule_mma(sch, b, cfg, target, kind)
                if epilogue.get(b.name):  # the tensor-core store writes the int32 / float32 result; the epilogue runs on its own
                    _schedule_rows(sch, prog.block(epilogue[b.name]), 256, 16, target)
            else:
                _schedule_tiled(sch, b, cfg, target, epilogue.get(b.name))
        elif b.role in ("spatial", "reduction") and not b.is_output:
            blk = sch.get_sblock(b.name)
            loop = prim.slice_loop(sch, blk) if cfg.text(f"{b.name}.compute") == "at_consumer" else None
            consumer_threads = _consumer_threads(sch, blk, threads_of)
            if loop is not None and consumer_threads:
                sch.compute_at(blk, loop, preserve_unit_loops=True)
                sch.set_scope(blk, 0, "shared")  # the row is shared by the block's threads
                _spread_inner(sch, b, blk, consumer_threads)
                threads_of[b.name] = consumer_threads
            else:
                threads_of[b.name] = _schedule_rows(sch, b, 256, 16, target)
        elif b.role in ("spatial", "reduction"):
            threads_of[b.name] = _schedule_rows(sch, b, cfg.integer(f"{b.name}.threads"), cfg.integer(f"{b.name}.unroll"), target)
    check_limits(sch, target)


def _reads_int8(prog: Program, b: BlockInfo) -> bool:
    dtypes = tensorize.buffer_dtypes(prog.func)
    return any(dtypes.get(r.buffer) in ("int8", "uint8") for r in b.reads)


def _consumer_threads(sch: Any, blk: Any, threads_of: dict[str, int]) -> int | None:
    values = {threads_of.get(sch.get(c).name_hint) for c in sch.get_consumers(blk)}
    return values.pop() if len(values) == 1 and None not in values else None


def _schedule_rows(sch: Any, b: BlockInfo, threads: int, unroll: int, target: Any) -> int:
    """Outer whole spatial dims -> blockIdx.x; the last spatial dim (or the reduction, when the
    block has no spatial dim left) over ``threads`` threadIdx.x. Returns the thread count."""
    blk = sch.get_sblock(b.name)
    loops = list(sch.get_loops(blk))
    s_loops = [loops[i] for i in b.spatial]
    r_loops = [loops[i] for i in b.reduction]
    if s_loops and r_loops:
        sch.reorder(*s_loops, *r_loops)
    if b.role == "reduction":
        # rows of a reduction: one row per block, the reduction spread over the threads
        rows = sch.fuse(*s_loops) if len(s_loops) > 1 else (s_loops[0] if s_loops else sch.add_unit_loop(r_loops[0]))
        sch.bind(rows, "blockIdx.x")
        red = sch.fuse(*r_loops) if len(r_loops) > 1 else r_loops[0]
        _, inner = sch.split(red, [None, threads])
        sch.bind(inner, "threadIdx.x")
        prim.auto_unroll(sch, rows, unroll, explicit=True)
        return threads
    outer = s_loops[:-1]
    _, tx = sch.split(s_loops[-1], [None, threads])
    if outer:
        bx = sch.fuse(*outer) if len(outer) > 1 else outer[0]
        sch.bind(bx, "blockIdx.x")
        # the last dim's outer part stays a serial loop inside the block, so rows stay whole
        sch.bind(tx, "threadIdx.x")
    else:
        bx = sch.get_loops(blk)[0]
        sch.bind(bx, "blockIdx.x")
        sch.bind(tx, "threadIdx.x")
    prim.auto_unroll(sch, bx, unroll, explicit=True)
    return threads


def _spread_inner(sch: Any, b: BlockInfo, blk: Any, threads: int) -> None:
    """A block computed at a row loop: spread its innermost loop (its row, or its reduction)
    over the consumer's threads, so a reduction becomes a cross-thread reduction."""
    loop = sch.get_loops(blk)[-1]
    _, inner = sch.split(loop, [None, threads])
    sch.bind(inner, "threadIdx.x")


def _schedule_tiled(sch: Any, b: BlockInfo, cfg: Config, target: Any, epilogue: str | None) -> None:
    blk = sch.get_sblock(b.name)
    threads = cfg.ints(f"{b.name}.threads")
    splits: list[tuple[int, ...]] = []
    kinds: list[str] = []
    t_iter = iter(threads)
    for it in b.iters:
        kinds.append(it.kind)
        if it.kind == "S":
            t = next(t_iter)
            a, c = cfg.ints(f"{b.name}.tile.{it.name}")
            splits.append((math.ceil(it.extent / (t * a * c)), 1, t, a, c))  # blockIdx, vthread, threadIdx, registers
        else:
            splits.append(cfg.ints(f"{b.name}.tile.{it.name}"))
    s0, s1, s2, r0, r1, s3, r2, s4 = prim.tile(sch, blk, splits, kinds, STRUCTURE)
    bx = sch.fuse(*s0) if len(s0) > 1 else s0[0]
    sch.bind(bx, "blockIdx.x")
    tx = sch.fuse(*s2) if len(s2) > 1 else s2[0]
    sch.bind(tx, "threadIdx.x")
    n_threads = math.prod(threads)
    local = sch.cache_write(blk, 0, "local")
    sch.reverse_compute_at(local, tx, preserve_unit_loops=True)
    if epilogue is not None:
        sch.reverse_compute_inline(sch.get_sblock(epilogue))  # the element-wise epilogue rides the write-back
    fetch_vector = cfg.integer(f"{b.name}.fetch_vector")
    for r in _reused_reads(b):
        if not cfg.flag(f"{b.name}.shared.{r.buffer}"):
            continue
        names = [str(x.source.name) for x in sch.get(blk).reads]
        if r.buffer not in names:
            continue
        shared = sch.cache_read(blk, names.index(r.buffer), "shared", consumer_blocks=[blk])
        sch.compute_at(shared, r0[-1], preserve_unit_loops=True)
        _cooperative_fetch(sch, shared, n_threads, fetch_vector, len(r.dims))
    prim.auto_unroll(sch, bx, cfg.integer(f"{b.name}.unroll"), explicit=True)
    if r0:
        prim.decompose(sch, blk, r0[0])


def _cooperative_fetch(sch: Any, block: Any, n_threads: int, vector: int, rank: int) -> None:
    """All threads of the block copy the shared tile together: fuse its loops, split over the threads
    (and ``vector`` lanes), bind threadIdx.x::

        for ax0, ax1: A_shared[..] = A[..]  ->  for f0: for f1 in threadIdx.x(T): for f2 in T.vectorized(V): ...
    """
    loops = sch.get_loops(block)[-rank:]
    fused = sch.fuse(*loops)
    if vector > 1:
        _, tx, vec = sch.split(fused, [None, n_threads, vector])
        sch.vectorize(vec)
    else:
        _, tx = sch.split(fused, [None, n_threads])
    sch.bind(tx, "threadIdx.x")


def check_limits(sch: Any, target: Any) -> None:
    """Raise ScheduleError when the scheduled kernel exceeds the GPU's thread, shared-memory or per-thread register limits."""
    import tvm
    from tvm import s_tir

    t = s_tir.transform
    lowered = tvm.transform.Sequential([
        t.LowerCrossThreadReduction(), t.LowerInitBlock(), t.PlanAndUpdateBufferAllocationLocation(),
        t.ConvertBlocksToOpaque(), t.CompactBufferAllocation(), t.LowerMatchBuffer(), t.LowerOpaqueBlock(),
        tvm.tirx.transform.FlattenBuffer(), t.InjectVirtualThread(),
    ])(sch.mod)
    limits = {
        "max_shared_memory_per_block": int(target.tvm.get("max_shared_memory_per_block", 49152)),
        "max_threads_per_block": _max_threads(target),
        "max_local_memory_per_block": MAX_LOCAL_BYTES,  # TVM counts a thread's local allocations
        "max_vthread": 8,
        "max_vector_bytes": 16,
    }
    for gv, func in lowered.functions.items():
        if not s_tir.analysis.verify_gpu_code(func, limits):
            raise ScheduleError(
                f"kernel {gv.name_hint} exceeds the limits of {target.name} (at most {limits['max_threads_per_block']} threads and "
                f"{limits['max_shared_memory_per_block']} bytes of shared memory per block, {MAX_LOCAL_BYTES} bytes of registers "
                "per thread); pick fewer threads, smaller register tiles, a shorter inner reduction tile or turn a shared stage off"
            )
