"""Schedule primitives as small functions over a ``tvm.s_tir.Schedule``.

Each docstring shows a loop nest before and after, for ``C[i, j] += A[i, k] * B[k, j]``.
The functions take and return TVM random variables (``SBlockRV``, ``LoopRV``); they decide
nothing themselves: the rule sets (``cpu.py``, ``gpu.py``) decide from the config.
"""

from __future__ import annotations

from typing import Any, Sequence

import tvm_ffi

Sch = Any  # tvm.s_tir.Schedule
RV = Any  # SBlockRV or LoopRV


def tile(sch: Sch, block: RV, splits: Sequence[tuple[int, ...]], kinds: Sequence[str], structure: str) -> list[list[RV]]:
    """Multi-level tiling: split each loop into levels and interleave them as ``structure`` says.

    ``splits[n]`` are the factors of loop ``n`` outermost first (the outermost may be any value:
    TVM recomputes it as ``ceil(extent / inner)`` and guards the tail with ``T.where``);
    ``kinds[n]`` is ``"S"`` or ``"R"``; ``structure`` such as ``"SSRSRS"`` names the level order.
    Returns the loops of each level, outermost level first::

        for i, j, k:                     for i0, j0:          # S
          C[i,j] += A[i,k]*B[k,j]   ->     for i1, j1:        # S
                                             for k0:          # R
                                               for i2, j2:    # S
                                                 for k1:      # R
                                                   for i3, j3: C[...] += ...   # S
    """
    loops = sch.get_loops(block)
    per_kind: dict[str, list[list[RV]]] = {"S": [], "R": []}
    for kind in "SR":
        n_levels = structure.count(kind)
        per_kind[kind] = [[] for _ in range(n_levels)]
    for lp, factors, kind in zip(loops, splits, kinds):
        n_levels = structure.count(kind)
        if len(factors) != n_levels:
            raise ValueError(f"a {kind} loop needs {n_levels} factors for {structure}, got {factors}")
        parts = sch.split(lp, [None, *factors[1:]]) if n_levels > 1 else [lp]
        for level, part in enumerate(parts):
            per_kind[kind][level].append(part)
    levels: list[list[RV]] = []
    seen = {"S": 0, "R": 0}
    for kind in structure:
        levels.append(per_kind[kind][seen[kind]])
        seen[kind] += 1
    order = [lp for level in levels for lp in level]
    if order:
        sch.reorder(*order)
    return levels


def parallelize(sch: Sch, loops: Sequence[RV]) -> RV | None:
    """Fuse the outer ``loops`` (adjacent, outermost first) and run the fused loop in parallel::

        for i0, j0: ...   ->   for i0_j0_fused in T.parallel(I0 * J0): ...
    """
    if not loops:
        return None
    fused = sch.fuse(*loops) if len(loops) > 1 else loops[0]
    sch.parallel(fused)
    return fused


def split_vector(sch: Sch, loop: RV, lanes: int) -> tuple[RV, RV]:
    """Split ``loop`` so its inner part has ``lanes`` iterations, and vectorize that part::

        for j in range(97):   ->   for j0 in range(7):
                                     for j1 in T.vectorized(16): if j0*16+j1 < 97: ...
    """
    outer, inner = sch.split(loop, [None, lanes])
    sch.vectorize(inner)
    return outer, inner


def vectorize_innermost(sch: Sch, block: RV) -> RV:
    """Vectorize the innermost loop around ``block`` (a spatial loop by construction)::

        for ax0, ax1: Y[...] = ...   ->   for ax0: for ax1 in T.vectorized(N): ...
    """
    loop = sch.get_loops(block)[-1]
    sch.vectorize(loop)
    return loop


def auto_unroll(sch: Sch, loop: RV, max_step: int, explicit: bool) -> None:
    """Ask TVM's unroll pass to unroll, under ``loop``, every loop nest of up to ``max_step`` steps.

    ``explicit`` unrolls in TIR (copies of the body) rather than leaving a hint for LLVM/NVCC::

        for i1: for k1: ...   ->   for i1 (pragma_auto_unroll_max_step=64, pragma_unroll_explicit=1): ...
    """
    if max_step <= 0:
        return
    sch.annotate(loop, "pragma_auto_unroll_max_step", max_step)
    sch.annotate(loop, "pragma_unroll_explicit", int(explicit))


def unroll(sch: Sch, loops: Sequence[RV]) -> None:
    """Unroll ``loops`` explicitly (a register block)::

        for i3 in range(4): for j3 in T.vectorized(32): ...   ->   for i3 in T.unroll(4): ...
    """
    for lp in loops:
        sch.unroll(lp)


#: vector registers an explicitly unrolled register tile may hold (AVX-512 has 32): a larger
#: tile only spills, and unrolled whole it takes LLVM 24-30 s to build (conv2d 1x64x56x56, a
#: 64 x 8 x 14-lane tile; 0.2 s rolled, 1.5 s for 32 registers): the CPU rules unroll a tile's
#: inner loops up to this many (``unroll_within``) and leave the rest rolled
MAX_UNROLLED_REGISTERS = 32


def extent(sch: Sch, loop: RV) -> int | None:
    """The loop's constant trip count, or None where it is symbolic."""
    try:
        return int(sch.get(loop).extent)
    except (TypeError, ValueError):
        return None


def unroll_within(sch: Sch, loops: Sequence[RV], body_size: int, limit: int) -> list[RV]:
    """Unroll ``loops`` explicitly, innermost first, while the unrolled copies of a body of
    ``body_size`` (vector registers, say) stay within ``limit``; returns the loops unrolled::

        for i3 in range(8): for k3 in range(4): body(2)   --limit 16-->   for i3 in range(8): for k3 in T.unroll(4): ...
    """
    done: list[RV] = []
    size = body_size
    for lp in reversed(loops):
        n = extent(sch, lp)
        if n is None:  # symbolic: its copies are not known
            break
        size *= n
        if size > limit:
            break
        done.append(lp)
    unroll(sch, done)
    return done


def cache_write_at(sch: Sch, block: RV, loop: RV, scope: str = "global") -> RV:
    """Accumulate ``block``'s output in a tile buffer, written back under ``loop``::

        for i0, j0:                         for i0, j0:
          for i1, j1, k: C[i,j] += ...  ->    for i1, j1, k: C_tile[i,j] += ...
                                              for ax0, ax1: C[...] = C_tile[...]

    The tile buffer is allocated per ``loop`` iteration (TVM compacts it to the tile).
    """
    wb = sch.cache_write(block, 0, scope)
    sch.reverse_compute_at(wb, loop, preserve_unit_loops=True)
    return wb


def fuse_epilogue(sch: Sch, consumer: RV, loop: RV) -> None:
    """Compute an element-wise ``consumer`` inside the producer's tile, under ``loop``::

        for i, j, k: D[i,j] += ...           for i0, j0:
        for i, j: Y[i,j] = relu(D[i,j]+b)  ->  for i1, j1, k: D[...] += ...
                                               for ax0, ax1: Y[...] = relu(D[...] + b[...])

    so the full-size ``D`` is never written to memory (only the tile).
    """
    sch.reverse_compute_at(consumer, loop, preserve_unit_loops=True)


def write_back(sch: Sch, block: RV, epilogue: str | None, write_at: int, s0: Sequence[RV], s1: Sequence[RV]) -> RV | None:
    """Where a tiled block's result goes, by the ``write_at`` knob: 0 straight to the output (None
    returned); 1 or 2 under the last loop of spatial level 1 / 2, as the fused ``epilogue`` block
    if there is one, else as a local accumulator tile written back there. Returns that block."""
    if not write_at:
        return None
    loop = (s0 if write_at == 1 else s1)[-1]
    if epilogue is not None:
        tail = sch.get_sblock(epilogue)
        fuse_epilogue(sch, tail, loop)
        return tail
    return cache_write_at(sch, block, loop)


def pack_read(sch: Sch, block: RV, buffer: str, loop: RV, inner_dim: int | None = None, scope: str = "global") -> RV | None:
    """Copy the part of ``buffer`` that ``block`` reads under ``loop`` into a contiguous panel,
    with dimension ``inner_dim`` moved last (the one the vectorized loop walks)::

        for i0, j0:                        for i0, j0:
          for i1, k, j1:                     for ax0, ax1: W_pack[ax1, ax0] = W[j0*J + ax0, ax1]
            C[..] += X[..] * W[j, k]   ->    for i1, k, j1: C[..] += X[..] * W_pack[k, j1]

    Returns None when ``block`` no longer reads ``buffer`` (its producer was inlined into it).
    """
    cached = _copy_for(sch, block, buffer, scope)
    if cached is None:
        return None
    rank = len(sch.get(cached).writes[0].region)
    if inner_dim is not None and inner_dim != rank - 1:
        order = [d for d in range(rank) if d != inner_dim] + [inner_dim]
        sch.transform_layout(cached, ("write", 0), lambda *idx: [idx[d] for d in order])
    sch.compute_at(cached, loop, preserve_unit_loops=True)  # one loop per dimension, for the reorder
    if inner_dim is not None and inner_dim != rank - 1:
        # walk the panel in its own (new) order, so the innermost loop writes contiguously
        loops = sch.get_loops(cached)[-rank:]
        sch.reorder(*[loops[d] for d in order])
    return cached


def pack_whole(sch: Sch, block: RV, buffer: str, inner_dim: int | None, panel: int, scope: str = "global") -> RV | None:
    """Copy all of ``buffer`` once, before ``block``'s loops, into panels of ``panel`` along
    ``inner_dim`` (the dimension the vector loop walks), that dimension's panel innermost::

        for j, k: W_pack[j // 32, k, j % 32] = W[j, k]     # once
        for i0, j0, ...: C[..] += X[..] * W_pack[j // 32, k, j % 32]

    A panel that does not divide the dimension (or no ``inner_dim``) keeps whole rows: the
    dimension is just moved last. Returns the copy block (its loops walk the new layout), or
    None when ``block`` no longer reads ``buffer``.
    """
    cached = _copy_for(sch, block, buffer, scope)
    if cached is None:
        return None
    shape = [int(n) for n in sch.get(cached).writes[0].source.shape]
    rank = len(shape)
    if inner_dim is not None:
        others = [d for d in range(rank) if d != inner_dim]
        if 1 < panel < shape[inner_dim] and shape[inner_dim] % panel == 0:
            sch.transform_layout(cached, ("write", 0), lambda *idx: [idx[inner_dim] // panel, *[idx[d] for d in others], idx[inner_dim] % panel])
            loops = sch.get_loops(cached)
            outer, inner = sch.split(loops[inner_dim], [None, panel])
            sch.reorder(outer, *[loops[d] for d in others], inner)
        elif inner_dim != rank - 1:
            order = others + [inner_dim]
            sch.transform_layout(cached, ("write", 0), lambda *idx: [idx[d] for d in order])
            loops = sch.get_loops(cached)
            sch.reorder(*[loops[d] for d in order])
    return cached


def _copy_for(sch: Sch, block: RV, buffer: str, scope: str) -> RV | None:
    """A ``cache_read`` copy of ``buffer`` that only ``block`` reads, or None when ``block`` does not
    read ``buffer`` (its producer was inlined into it)."""
    names = [str(r.source.name) for r in sch.get(block).reads]
    if buffer not in names:
        return None
    return sch.cache_read(block, names.index(buffer), scope, consumer_blocks=[block])


def inline(sch: Sch, block: RV) -> None:
    """Inline an element-wise producer into its consumers::

        for i, j: T[i,j] = A[i,j] * 2        for i, j, k:
        for i, j, k: C[i,j] += T[i,k]*B  ->    C[i,j] += A[i,k] * 2 * B[k,j]
    """
    sch.compute_inline(block)


def slice_loop(sch: Sch, block: RV) -> RV | None:
    """The deepest loop shared by all consumers of ``block`` under which only a slice of its
    output is needed: every loop from the outermost down to it drives only spatial iterators
    that index ``block``'s buffer in each consumer. None when no such loop exists.

    For softmax with ``Y[i, j] = e[i, j] / s[i]`` scheduled as ``for i: for j0: for j1``, the
    slice loop of ``s`` is ``i`` (``j0`` drives ``j``, which does not index ``s``).
    """
    consumers = sch.get_consumers(block)
    if not consumers:
        return None
    buffer = str(sch.get(block).writes[0].source.name)
    nests = [sch.get_loops(c) for c in consumers]
    common: list[RV] = []
    for level in zip(*nests):
        stmts = [sch.get(lp) for lp in level]
        if not all(s.same_as(stmts[0]) for s in stmts):
            break
        common.append(level[0])
    allowed = [_slice_vars(sch, c, buffer) for c in consumers]
    best = None
    for lp in common:
        stmt = sch.get(lp)
        if not _is_outer_kind(stmt):
            break
        var = stmt.loop_var
        if not all(_drives_only(sch, c, var, ok) for c, ok in zip(consumers, allowed)):
            break
        best = lp
    return best


def attach(sch: Sch, block: RV) -> RV | None:
    """Compute ``block`` at its slice loop (``slice_loop``) so only a slice is kept live::

        for i, k: s[i] += e[i,k]            for i:
        for i, j: Y[i,j] = e[i,j] / s[i]  ->  for k: s[i] += e[i,k]
                                              for j: Y[i,j] = e[i,j] / s[i]

    Returns the loop, or None (the block stays at the root) when there is no slice loop.
    """
    lp = slice_loop(sch, block)
    if lp is not None:
        sch.compute_at(block, lp, preserve_unit_loops=True)
    return lp


def decompose(sch: Sch, block: RV, loop: RV) -> RV:
    """Hoist a reduction's initialisation out of the reduction loops, above ``loop``::

        for i, j, k: with init: C=0; C += ...   ->   for i, j: C_init = 0
                                                     for i, j, k: C_update += ...
    """
    return sch.decompose_reduction(block, loop)


def _is_outer_kind(loop: Any) -> bool:
    """Serial, parallel, or bound to blockIdx: loops a whole slice can be computed under."""
    kind = int(loop.kind)
    if kind in (0, 1):
        return True
    binding = getattr(loop, "thread_binding", None)
    return kind == 4 and binding is not None and str(binding.thread_tag).startswith("blockIdx")


def _realize(sch: Sch, block: RV) -> Any:
    return tvm_ffi.get_global_func("s_tir.schedule.GetSBlockRealize")(sch, block)


def _slice_vars(sch: Sch, consumer: RV, buffer: str) -> set[int]:
    """Positions of the consumer's spatial iterators that index ``buffer`` in its reads."""
    from tvm.tirx.analysis import undefined_vars

    blk = sch.get(consumer)
    vars_ = [iv.var for iv in blk.iter_vars]
    ok: set[int] = set()
    for r in blk.reads:
        if str(r.source.name) != buffer:
            continue
        for rng in r.region:
            for v in undefined_vars(rng.min):
                for i, var in enumerate(vars_):
                    if var.same_as(v) and int(blk.iter_vars[i].iter_type) == 0:
                        ok.add(i)
    return ok


def _drives_only(sch: Sch, consumer: RV, loop_var: Any, allowed: set[int]) -> bool:
    from tvm.tirx.analysis import undefined_vars

    realize = _realize(sch, consumer)
    for i, value in enumerate(realize.iter_values):
        if any(v.same_as(loop_var) for v in undefined_vars(value)) and i not in allowed:
            return False
    return True
