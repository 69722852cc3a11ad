"""What the rules look at: the block structure of a TIR PrimFunc.

For every top-level block: its iterators (spatial ``S`` / reduction ``R`` / other ``O``) with
extents, the buffers it reads and which of its iterators index each, whether it writes a
function output, its producers and consumers, and a role the rule sets dispatch on:

- ``tiled``: a reduction with data reuse (a read that moves along a reduction iterator but
  ignores a spatial one: matmul, conv);
- ``reduction``: a reduction without reuse (row max/sum of softmax, layer-norm statistics, pooling);
- ``spatial``: no reduction iterator (element-wise, broadcast, transpose);
- ``opaque``: anything the rules do not understand (left as lowered, still correct).

Nothing here looks at an op's name, so a user's own op or a hand-written PrimFunc gets the same analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

_KINDS = {0: "S", 2: "R"}  # tvm IterVar.DataPar / CommReduce; anything else is "O"


@dataclass(frozen=True)
class Iter:
    name: str
    kind: str  # "S", "R" or "O"
    extent: int


@dataclass(frozen=True)
class Read:
    """One buffer a block reads and the positions of the block iterators its index uses."""

    buffer: str
    iters: tuple[int, ...]
    identity: bool  # read at exactly [v0, v1, ...] of the block's own iterators
    dims: tuple[tuple[int, ...], ...] = ()  # per buffer dimension, the iterators indexing it

    @property
    def last_dim(self) -> tuple[int, ...]:
        """The iterators indexing the last (contiguous) dimension."""
        return self.dims[-1] if self.dims else ()


@dataclass(frozen=True)
class BlockInfo:
    name: str
    iters: tuple[Iter, ...]
    reads: tuple[Read, ...]
    writes: tuple[str, ...]
    is_output: bool
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    dtype_bits: int
    inlinable: bool
    role: str

    @property
    def spatial(self) -> tuple[int, ...]:
        return tuple(i for i, it in enumerate(self.iters) if it.kind == "S")

    @property
    def reduction(self) -> tuple[int, ...]:
        return tuple(i for i, it in enumerate(self.iters) if it.kind == "R")

    def read(self, buffer: str) -> Read | None:
        return next((r for r in self.reads if r.buffer == buffer), None)


@dataclass(frozen=True)
class Program:
    """The analysed PrimFunc: blocks in program (topological) order."""

    func: Any
    blocks: tuple[BlockInfo, ...]

    def block(self, name: str) -> BlockInfo:
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(f"no block {name!r}; blocks are {[b.name for b in self.blocks]}")


def analyze(func: Any, axis_names: Mapping[str, Sequence[str]] | None = None) -> Program:
    """Analyse ``func`` (a ``tvm.tirx.PrimFunc``); ``axis_names`` renames a block's iterators
    (the DSL's axis names, so knobs read ``C.tile.i`` rather than ``C.tile.i0``)."""
    import tvm
    from tvm import s_tir

    sch = s_tir.Schedule(func)
    root = sch.get_sblock("root") if _has_root(sch) else None
    blocks_rv = sch.get_child_blocks(root) if root is not None else []
    infos = []
    for rv in blocks_rv:
        block = sch.get(rv)
        name = block.name_hint
        names = _iter_names(block, (axis_names or {}).get(name))
        iters = tuple(
            Iter(n, _KINDS.get(int(iv.iter_type), "O"), _const(iv.dom.extent)) for n, iv in zip(names, block.iter_vars)
        )
        vars_ = [iv.var for iv in block.iter_vars]
        reads = tuple(_read(r, vars_) for r in block.reads)
        writes = tuple(str(w.source.name) for w in block.writes)
        is_output = bool(s_tir.schedule.analysis.is_output_block(sch, rv))
        dtype_bits = tvm.DataType(str(block.writes[0].source.dtype)).bits if block.writes else 32
        simple = _simple_loops(sch, rv, block)
        role = _role(iters, reads, writes, simple)
        infos.append(
            dict(
                name=name, iters=iters, reads=reads, writes=writes, is_output=is_output,
                producers=tuple(sch.get(p).name_hint for p in sch.get_producers(rv)),
                consumers=tuple(sch.get(c).name_hint for c in sch.get_consumers(rv)),
                dtype_bits=dtype_bits, role=role,
            )
        )
    out = []
    for d in infos:
        inlinable = d["role"] == "spatial" and not d["is_output"] and _can_inline(func, d["name"])
        out.append(BlockInfo(inlinable=inlinable, **d))
    return Program(func, tuple(out))


def _has_root(sch: Any) -> bool:
    try:
        sch.get_sblock("root")
    except Exception:  # noqa: BLE001 - tvm raises a plain error for a missing block name
        return False
    return True


def _iter_names(block: Any, given: Sequence[str] | None) -> list[str]:
    raw = [str(iv.var.name) for iv in block.iter_vars]
    names = list(given) if given is not None and len(given) == len(raw) else [n[2:] if n.startswith("v_") else n for n in raw]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}{seen[n]}")
    return out


def _const(x: Any) -> int:
    try:
        return int(x)
    except (TypeError, ValueError):
        return -1  # symbolic extent: such a block is opaque to the rules


def _read(region: Any, vars_: list[Any]) -> Read:
    from tvm.tirx.analysis import undefined_vars

    used: list[int] = []
    dims: list[tuple[int, ...]] = []
    identity = len(region.region) == len(vars_)
    for d, rng in enumerate(region.region):
        here = sorted({i for v in undefined_vars(rng.min) for i, var in enumerate(vars_) if var.same_as(v)})
        dims.append(tuple(here))
        used.extend(i for i in here if i not in used)
        if identity and not (rng.min.same_as(vars_[d]) and _const(rng.extent) == 1):
            identity = False
    return Read(str(region.source.name), tuple(sorted(used)), identity, tuple(dims))


def _simple_loops(sch: Any, rv: Any, block: Any) -> bool:
    """One loop per iterator, in iterator order, each bound directly (as te lowering makes them)."""
    import tvm_ffi

    realize = tvm_ffi.get_global_func("s_tir.schedule.GetSBlockRealize")(sch, rv)
    loops = [sch.get(lp) for lp in sch.get_loops(rv)]
    if len(loops) != len(block.iter_vars) or not _is_true(realize.predicate):
        return False
    return all(v.same_as(lp.loop_var) for v, lp in zip(realize.iter_values, loops))


def _is_true(e: Any) -> bool:
    try:
        return bool(int(e))
    except (TypeError, ValueError):
        return False


def _role(iters: tuple[Iter, ...], reads: tuple[Read, ...], writes: tuple[str, ...], simple: bool) -> str:
    if not simple or len(writes) != 1 or not iters or any(it.kind == "O" or it.extent < 1 for it in iters):
        return "opaque"
    spatial = {i for i, it in enumerate(iters) if it.kind == "S"}
    if len(spatial) == len(iters):
        return "spatial"
    if not spatial:
        return "reduction"
    # reuse: a read that moves along a reduction iterator but not along some spatial one (A[i, k]
    # in matmul); a read of a broadcast value (count[()] in layer norm) is not reuse
    reduction = set(range(len(iters))) - spatial
    reuse = any(not spatial <= set(r.iters) and reduction & set(r.iters) for r in reads if r.buffer not in writes)
    return "tiled" if reuse else "reduction"


def _can_inline(func: Any, name: str) -> bool:
    """Whether TVM accepts ``compute_inline`` of this block (probed on a scratch schedule)."""
    from tvm import s_tir

    sch = s_tir.Schedule(func)
    try:
        sch.compute_inline(sch.get_sblock(name))
    except s_tir.schedule.ScheduleError:
        return False
    return True
