"""Materialize a tiled block's activation read as a packed, padded stage a dot-product intrinsic reads.

A conv2d NCHW block reads its activation guarded, and strided along the reduction channel::

    Y[n, k, oh, ow] += int32(if_then_else(0 <= oh + r - 1 < H and ..., X[n, c, oh + r - 1, ow + s - 1], 0)) * int32(F[k, c, r, s])

A dot-product intrinsic (x86 ``vpdpbusd``) wants ``width`` consecutive reduction channels
contiguous and no guard (TVM matches an intrinsic on the exact body). ``materialize`` adds a
stage that writes the padded activation with that dimension split into blocks of ``width``
(NCHW4c for conv2d NCHW), and rewrites the block to read it unguarded::

    X_pack[n, cb, h, w, ci] = if_then_else(1 <= h < H + 1 and 1 <= w < W + 1, X[n, cb * 4 + ci, h - 1, w - 1], 0)
    Y[n, k, oh, ow] += int32(X_pack[n, c // 4, oh + r, ow + s, c % 4]) * int32(F[k, c, r, s])

With no channel to split (``channel_dim=None``) the stage only pads: a float conv2d reads
``X_pack[n, c, oh + r, ow + s]`` with no bounds test in its innermost loop (the CPU rules' ``pad`` knob).

The padding is the guarded read's own value (a quantized activation's zero point), so every sum
is unchanged. The new stage carries the annotation ``PACK_ATTR`` naming the block it feeds: the
CPU rules leave it to that block's tensorized schedule.
"""

from __future__ import annotations

from typing import Any

PACK_ATTR = "opforge.pack_for"


def pack_name(buffer: str) -> str:
    return f"{buffer}_pack"


def is_pack_stage(block: Any) -> bool:
    """Whether ``block`` (a ``tvm.s_tir.SBlock``) is a stage ``materialize`` added."""
    return PACK_ATTR in (block.annotations or {})


def guarded(func: Any, block: str, buffer: str) -> bool:
    """Whether ``block`` of ``func`` reads ``buffer`` under an ``if_then_else`` guard (conv padding)."""
    found = _find(func, block)
    return found is not None and any(_is_if_then_else(e) for e in _loads_of(found[1].body.value, buffer))


def reason(func: Any, block: str, buffer: str, channel_dim: int | None, width: int = 1) -> str | None:
    """Why ``materialize`` cannot pack ``buffer`` for ``block`` of ``func`` (None: it can)."""
    found = _find(func, block)
    if found is None:
        return f"no block {block!r} with a single store"
    blk = found[1]
    read = _activation_read(blk, buffer)
    if isinstance(read, str):
        return read
    load, is_guarded, _ = read
    if any(_int(x) is None for x in load.source.shape):
        return f"{buffer} has a symbolic shape"
    if channel_dim is None:
        return None if is_guarded else f"block {block} reads {buffer} unguarded: there is no padding to materialize"
    idx = load.indices[channel_dim]
    extent = _int(load.source.shape[channel_dim])
    if not any(idx.same_as(iv.var) for iv in blk.iter_vars):
        return f"{buffer} is read at {idx} in dimension {channel_dim}; packing needs a plain reduction iterator there"
    if extent is None or extent % width:
        return f"{buffer}'s dimension {channel_dim} has extent {extent}, not a multiple of {width} (no channel padding is done)"
    return None


def materialize(func: Any, block: str, buffer: str, channel_dim: int | None, width: int = 1) -> Any:
    """``func`` with a stage writing ``buffer`` padded and packed (``channel_dim`` split by ``width``
    into an outer dimension in place and an inner one appended last; ``None``: padded only) and
    ``block`` reading that.

    Raises ValueError with ``reason``'s text when the read cannot be packed.
    """
    import tvm
    from tvm import s_tir, tirx

    why = reason(func, block, buffer, channel_dim, width)
    found = _find(func, block)
    read = _activation_read(found[1], buffer) if found is not None else "no such block"
    if why is not None or found is None or isinstance(read, str):
        raise ValueError(f"cannot pack {buffer} for block {block}: {why or read}")
    path, blk = found
    load, guarded, pad = read
    src = load.source
    shape = [int(x) for x in src.shape]
    ana = _analyzer(blk)
    lo, hi = [], []
    for d, idx in enumerate(load.indices):
        bound = ana.const_int_bound(idx)
        lo.append(max(0, -int(bound.min_value)) if d != channel_dim else 0)
        hi.append(max(0, int(bound.max_value) - (shape[d] - 1)) if d != channel_dim else 0)
    if not guarded and (any(lo) or any(hi)):
        raise ValueError(f"block {block} reads {buffer} unguarded outside its bounds")
    packed_shape = [shape[d] + lo[d] + hi[d] if d != channel_dim else shape[d] // width for d in range(len(shape))]
    if channel_dim is not None:
        packed_shape.append(width)
    packed = tirx.decl_buffer(packed_shape, src.dtype, pack_name(buffer))

    # the packing stage: one spatial iterator per packed dimension
    ivars = [tirx.Var(f"v_{buffer.lower()}{d}", "int32") for d in range(len(packed_shape))]
    lvars = [tirx.Var(f"{buffer.lower()}{d}", "int32") for d in range(len(packed_shape))]
    src_idx = []
    conds = []
    for d in range(len(shape)):
        if d == channel_dim:
            src_idx.append(ivars[d] * width + ivars[-1])
            continue
        src_idx.append(ivars[d] - lo[d] if lo[d] else ivars[d])
        if lo[d]:
            conds.append(ivars[d] >= lo[d])
        if hi[d]:
            conds.append(ivars[d] < lo[d] + shape[d])
    value: Any = tirx.BufferLoad(src, src_idx)
    if conds:
        value = tirx.if_then_else(tirx.all(*conds), value, pad)
    store = tirx.BufferStore(packed, value, ivars)
    iter_vars = [tirx.IterVar(tvm.ir.Range(0, n), v, 0) for v, n in zip(ivars, packed_shape)]
    pack_blk = s_tir.SBlock(
        iter_vars,
        [tirx.BufferRegion(src, [tvm.ir.Range.from_min_extent(i, 1) for i in src_idx])],
        [tirx.BufferRegion(packed, [tvm.ir.Range.from_min_extent(v, 1) for v in ivars])],
        pack_name(buffer),
        store,
        annotations={PACK_ATTR: block},
    )
    nest: Any = s_tir.SBlockRealize(list(lvars), True, pack_blk)
    for v, n in reversed(list(zip(lvars, packed_shape))):
        nest = tirx.For(v, 0, n, tirx.ForKind.SERIAL, nest)

    # the block reads the packed stage unguarded
    plain = _analyzer(None)  # no iterator ranges: keep unit iterators (v_n) by name
    dst_idx = [(plain.simplify(idx + lo[d]) if lo[d] else idx) if d != channel_dim else tirx.floordiv(idx, width)
               for d, idx in enumerate(load.indices)]
    if channel_dim is not None:
        dst_idx.append(tirx.floormod(load.indices[channel_dim], width))
    new_load = tirx.BufferLoad(packed, dst_idx)
    old = _read_expr(blk, buffer)
    new_value = _replace(blk.body.value, old, new_load)
    new_body = tirx.BufferStore(blk.body.buffer, new_value, blk.body.indices)
    reads = [r if not r.source.same_as(src) else tirx.BufferRegion(packed, [tvm.ir.Range.from_min_extent(i, 1) for i in dst_idx])
             for r in blk.reads]
    new_blk = s_tir.SBlock(blk.iter_vars, reads, blk.writes, blk.name_hint, new_body, blk.init, blk.alloc_buffers,
                           blk.match_buffers, blk.annotations)

    root = func.body.block
    stmts = list(root.body.seq) if isinstance(root.body, tirx.SeqStmt) else [root.body]
    at = next(i for i, s in enumerate(stmts) if s.same_as(path[0]))
    stmts[at] = _rebuild(path[0], new_blk)
    stmts.insert(at, nest)
    new_root = s_tir.SBlock(root.iter_vars, root.reads, root.writes, root.name_hint, tirx.SeqStmt(stmts), root.init,
                            [*root.alloc_buffers, packed], root.match_buffers, root.annotations)
    realize = func.body
    return func.with_body(s_tir.SBlockRealize(realize.iter_values, realize.predicate, new_root))


# --- helpers --------------------------------------------------------------------------------------


def _int(x: Any) -> int | None:
    try:
        return int(x)
    except (TypeError, ValueError):
        return None


def _analyzer(blk: Any | None) -> Any:
    """An arithmetic analyzer that knows the ranges of ``blk``'s iterators."""
    from tvm.sym.analyzer import Analyzer

    ana = Analyzer()
    for iv in (blk.iter_vars if blk is not None else []):
        ana.bind(iv.var, iv.dom)
    return ana


def _find(func: Any, name: str) -> tuple[list[Any], Any] | None:
    """(the loops from the root's child down to the realize, the block) of block ``name``:
    a top-level block under a perfect loop nest, as TVM's te lowering makes it."""
    from tvm import s_tir, tirx

    root = func.body.block
    stmts = list(root.body.seq) if isinstance(root.body, tirx.SeqStmt) else [root.body]
    for top in stmts:
        path, st = [], top
        while isinstance(st, tirx.For):
            path.append(st)
            st = st.body
        if isinstance(st, s_tir.SBlockRealize) and st.block.name_hint == name:
            if not isinstance(st.block.body, tirx.BufferStore):
                return None
            return [*path, st], st.block
    return None


def _is_if_then_else(e: Any) -> bool:
    import tvm

    return isinstance(e, tvm.ir.Call) and str(getattr(e.op, "name", "")) in ("prim.if_then_else", "tirx.if_then_else")


def _children(e: Any) -> list[Any]:
    import tvm
    from tvm import tirx

    if isinstance(e, tvm.ir.TensorLoad):
        return []
    if isinstance(e, tvm.ir.Call):
        return list(e.args)
    if isinstance(e, tirx.Cast):
        return [e.value]
    if isinstance(e, tirx.Select):
        return [e.condition, e.true_value, e.false_value]
    if hasattr(e, "a") and hasattr(e, "b"):
        return [e.a, e.b]
    return []


def _loads_of(e: Any, buffer: str) -> list[Any]:
    """The expressions of ``e`` that read ``buffer``: a guarded read as its ``if_then_else``."""
    import tvm

    if _is_if_then_else(e) and isinstance(e.args[1], tvm.ir.TensorLoad) and str(e.args[1].source.name) == buffer:
        return [e]
    if isinstance(e, tvm.ir.TensorLoad):
        return [e] if str(e.source.name) == buffer else []
    return [x for c in _children(e) for x in _loads_of(c, buffer)]


def _read_expr(blk: Any, buffer: str) -> Any:
    return _loads_of(blk.body.value, buffer)[0]


def _activation_read(blk: Any, buffer: str) -> tuple[Any, bool, Any] | str:
    """(the BufferLoad, whether guarded, the padding value) of the one read of ``buffer`` in ``blk``,
    or why it is not one plain or padding-guarded read."""
    import tvm
    import tvm_ffi
    from tvm import tirx

    found = _loads_of(blk.body.value, buffer)
    if len(found) != 1:
        return f"block {blk.name_hint} reads {buffer} {len(found)} times; packing needs exactly one read"
    e = found[0]
    if isinstance(e, tvm.ir.TensorLoad):
        return e, False, None
    cond, load, pad = e.args
    bounds = tirx.all(*[tirx.all(i >= 0, i < n) for i, n in zip(load.indices, load.source.shape)])
    ana = _analyzer(blk)
    if not tvm_ffi.structural_equal(ana.simplify(cond), ana.simplify(bounds)):
        return f"block {blk.name_hint} reads {buffer} under a guard that is not its bounds check (only zero padding is materialized)"
    return load, True, pad


def _replace(e: Any, old: Any, new: Any) -> Any:
    """``e`` with the node ``old`` (by identity) replaced by ``new``."""
    import tvm
    from tvm import tirx

    if e.same_as(old):
        return new
    if isinstance(e, tvm.ir.TensorLoad):
        return e
    if isinstance(e, tvm.ir.Call):
        if _contains(e, old):
            raise ValueError(f"cannot rewrite a read inside a call to {e.op}")
        return e
    if isinstance(e, tirx.Cast):
        return tirx.Cast(str(e.ty), _replace(e.value, old, new))
    if isinstance(e, tirx.Select):
        return tirx.Select(*(_replace(x, old, new) for x in (e.condition, e.true_value, e.false_value)))
    if hasattr(e, "a") and hasattr(e, "b"):
        return type(e)(_replace(e.a, old, new), _replace(e.b, old, new))
    return e


def _contains(e: Any, node: Any) -> bool:
    return e.same_as(node) or any(_contains(c, node) for c in _children(e))


def _rebuild(st: Any, new_blk: Any) -> Any:
    """The perfect loop nest ``st`` with its block replaced by ``new_blk``."""
    from tvm import s_tir, tirx

    if isinstance(st, s_tir.SBlockRealize):
        return s_tir.SBlockRealize(st.iter_values, st.predicate, new_blk)
    return tirx.For(st.loop_var, st.min, st.extent, st.kind, _rebuild(st.body, new_blk), st.thread_binding, st.annotations)
