"""reference(): evaluate a bound op with numpy alone, the correctness oracle for every kernel.

The semantics are those of ``dsl/lower.py``: stages run in order and each is stored in its
dtype; integers wrap like C (``int8 * int8`` stays int8); ``div`` is true division for floats
and floor division for integers; comparisons give bool. Deliberate differences, so that the
oracle is at least as precise as any kernel (compare with ``dsl.dtypes.tolerance``):

- float16 and bfloat16 are computed in float32 and rounded to their dtype only at stage
  boundaries, at every Cast (its operand and its result) and for constants and pad values;
  sums of them accumulate in float32.
- ``reduce_max``/``reduce_min`` start from -inf/+inf (TVM starts from the dtype's lowest and
  highest finite values); the two differ only when every reduced element is infinite.
- Where C leaves a result undefined the oracle picks one: float -> int casts truncate toward
  zero and saturate at the dtype's range (NaN gives 0); integer division by zero gives 0.
  A kernel that meets such a value is not checked meaningfully there.

Speed: every unguarded read is a zero-copy ``as_strided`` view of its tensor over the stage's
loop domain (a guarded read views the tensor padded with its pad value); a ``sum`` of a product
of reads goes through ``np.einsum(optimize=True)`` (BLAS for matmul and convolutions); other
bodies are evaluated on broadcast views, in chunks of at most ``chunk_elems`` domain points.
"""

from __future__ import annotations

import math
import string
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .dtypes import BOOL, is_float, is_int, numpy_dtype
from .expr import Binary, Cast, Const, Expr, Load, Reduce, Select, Unary, walk
from .index import Affine
from .op import Op, Stage
from .sizes import evaluate
from .verify import verify

#: the most domain points (or strided-view elements, for einsum) one chunk materializes
DEFAULT_CHUNK_ELEMS = 2**22

Box = tuple[tuple[int, ...], tuple[int, ...]]  # (starts, extents) over a stage's domain axes


def reference(op: Op, *arrays: np.ndarray, chunk_elems: int = DEFAULT_CHUNK_ELEMS) -> np.ndarray | tuple[np.ndarray, ...]:
    """The outputs of ``op`` on ``arrays`` (one per input, in order), computed with numpy.

    Returns one array, or a tuple when the op has several outputs. Raises ``VerifyError`` for a
    malformed or unbound op and ``ValueError`` when an array's count, dtype or shape is wrong.
    ``chunk_elems`` bounds the elements one chunk of a stage materializes (memory, not results).
    """
    verify(op, require_bound=True)
    if chunk_elems < 1:
        raise ValueError(f"chunk_elems must be positive, got {chunk_elems}")
    stored = _check_inputs(op, arrays)
    computed: dict[str, np.ndarray] = {}

    def compute_view(name: str, dtype: str) -> np.ndarray:
        if name not in computed:
            computed[name] = _contiguous(_to_compute(stored[name], dtype))
        return computed[name]

    with np.errstate(all="ignore"):
        for st in op.stages:
            stored[st.name] = _eval_stage(op, st, compute_view, chunk_elems)
    outs = tuple(stored[name] for name in op.outputs)
    return outs[0] if len(outs) == 1 else outs


def _check_inputs(op: Op, arrays: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    names = [t.name for t in op.inputs]
    if len(arrays) != len(op.inputs):
        raise ValueError(f"op {op.name} takes {len(names)} input arrays ({', '.join(names)}), got {len(arrays)}")
    out: dict[str, np.ndarray] = {}
    for t, arr in zip(op.inputs, arrays):
        if not isinstance(arr, np.ndarray):
            raise ValueError(f"input {t.name}: expected a numpy array, got {type(arr).__name__}")
        want_dtype = numpy_dtype(t.dtype)
        if arr.dtype != want_dtype:
            raise ValueError(f"input {t.name}: dtype {arr.dtype} but the op declares {t.dtype}; convert with .astype()")
        shape = op.shape_of(t)
        if arr.ndim != len(shape):
            raise ValueError(f"input {t.name}: rank {arr.ndim} (shape {arr.shape}) but the op declares rank {len(shape)} {shape}")
        for axis, (got, want, size) in enumerate(zip(arr.shape, shape, t.shape)):
            if got != want:
                raise ValueError(f"input {t.name} axis {axis}: extent {got} but the op needs {want} ({size!r}); full shape {shape}")
        out[t.name] = arr
    return out


def _contiguous(x: np.ndarray) -> np.ndarray:
    """``x`` as a C-contiguous array, keeping 0-d arrays 0-d (``np.ascontiguousarray`` does not)."""
    x = np.asarray(x)
    return x if x.flags.c_contiguous else np.array(x, order="C")


# dtypes -----------------------------------------------------------------------------------
def _compute_dtype(dtype: str) -> np.dtype:
    """The numpy dtype arithmetic of ``dtype`` runs in: float32 for every float dtype."""
    return np.dtype(np.float32) if is_float(dtype) else numpy_dtype(dtype)


def _round_to(x: np.ndarray, dtype: str) -> np.ndarray:
    """Round compute-precision floats to ``dtype`` (a no-op for float32 and integers)."""
    if dtype in ("float16", "bfloat16"):
        return np.asarray(x).astype(numpy_dtype(dtype)).astype(np.float32)
    return x


def _to_compute(x: np.ndarray, dtype: str) -> np.ndarray:
    return np.asarray(x).astype(_compute_dtype(dtype), copy=False)


def _const(value: float | int, dtype: str) -> np.ndarray:
    """A 0-d array holding ``value`` in ``dtype``, widened to the compute dtype."""
    if is_int(dtype):
        return np.asarray(int(value), dtype=np.int64).astype(numpy_dtype(dtype))  # wraps like C
    return np.asarray(value, dtype=np.float64).astype(numpy_dtype(dtype)).astype(np.float32)


def _cast(x: np.ndarray, src: str, dst: str) -> np.ndarray:
    """``cast(x, dst)`` from ``src``: round the operand to ``src``, convert, round to ``dst``."""
    x = _round_to(x, src)
    if src == BOOL or is_int(src):
        if is_float(dst):
            return np.asarray(x).astype(np.float64).astype(numpy_dtype(dst)).astype(np.float32)
        return np.asarray(x).astype(numpy_dtype(dst))  # int -> int wraps, like C
    if is_float(dst):
        return _round_to(np.asarray(x).astype(np.float32), dst)
    info = np.iinfo(numpy_dtype(dst))
    t = np.nan_to_num(np.trunc(np.asarray(x, dtype=np.float64)), nan=0.0)
    return np.clip(t, info.min, info.max).astype(numpy_dtype(dst))


def erf(x: np.ndarray) -> np.ndarray:
    """The error function in float64, vectorized (numpy has none); absolute error below 1e-14.

    Taylor series for |x| < 2.5; beyond, 1 - erfc(|x|) with erfc from its continued fraction.
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    out = np.empty_like(a)
    small = a < 2.5
    s = a[small]
    s2 = s * s
    term = s.copy()  # (-1)^n s^(2n+1) / n!
    total = s.copy()
    for n in range(1, 50):  # the 50th term is below 1e-22 for |x| < 2.5
        term = term * -s2 / n
        total += term / (2 * n + 1)
    out[small] = total * (2.0 / math.sqrt(math.pi))
    b = a[~small]
    frac = b.copy()  # erfc(b) = exp(-b^2) / sqrt(pi) / (b + (1/2)/(b + 1/(b + (3/2)/(b + ...))))
    for k in range(80, 0, -1):
        frac = b + (k / 2.0) / frac
    out[~small] = 1.0 - np.exp(-b * b) / (math.sqrt(math.pi) * frac)
    return np.copysign(out, x)


# element-wise evaluation --------------------------------------------------------------------
_UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "neg": np.negative,
    "abs": np.absolute,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: np.reciprocal(np.sqrt(x)),
    "tanh": np.tanh,
    "erf": lambda x: erf(x).astype(np.asarray(x).dtype),
}
_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum, "min": np.minimum,
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal, "and": np.logical_and, "or": np.logical_or,
}


def _eval(e: Expr, load_value: Callable[[Load], np.ndarray], memo: dict[Expr, np.ndarray]) -> np.ndarray:
    """``e`` in compute precision, each Load replaced by ``load_value(load)`` (broadcasting)."""
    if e in memo:
        return memo[e]
    if isinstance(e, Load):
        v = load_value(e)
    elif isinstance(e, Const):
        v = _const(e.value, e.dtype)
    elif isinstance(e, Unary):
        v = _UNARY[e.fn](_eval(e.x, load_value, memo))
    elif isinstance(e, Binary):
        a, b = _eval(e.a, load_value, memo), _eval(e.b, load_value, memo)
        if e.fn == "div":
            v = np.floor_divide(a, b) if is_int(e.a.dtype) else np.true_divide(a, b)
        else:
            v = _BINARY[e.fn](a, b)
    elif isinstance(e, Cast):
        v = _cast(_eval(e.x, load_value, memo), e.x.dtype, e.dtype)
    elif isinstance(e, Select):
        v = np.where(_eval(e.cond, load_value, memo), _eval(e.a, load_value, memo), _eval(e.b, load_value, memo))
    else:
        raise TypeError(f"reference cannot evaluate {type(e).__name__} inside an expression")
    memo[e] = v
    return v


# strided views -----------------------------------------------------------------------------
class _Source:
    """A read's tensor in compute precision (padded for a guarded read) and its index map."""

    def __init__(self, load: Load, base: np.ndarray, domain: dict[str, int]) -> None:
        self.index: tuple[Affine, ...] = load.index
        self.shift = [0] * base.ndim
        if load.pad is not None:
            widths = []
            for k, (a, n) in enumerate(zip(load.index, base.shape)):
                lo = a.offset + sum(c * (domain[ax.name] - 1) for ax, c in a.terms if c < 0)
                hi = a.offset + sum(c * (domain[ax.name] - 1) for ax, c in a.terms if c > 0)
                widths.append((max(0, -lo), max(0, hi - (n - 1))))
                self.shift[k] = max(0, -lo)
            if any(w != (0, 0) for w in widths):
                pad = _const(load.pad, load.dtype).item()
                base = np.pad(base, widths, mode="constant", constant_values=pad)
        self.base = _contiguous(base)
        self.axes = {ax.name for a in load.index for ax, _ in a.terms}

    def view(self, base: np.ndarray, names: Sequence[str], box: Box, broadcast: bool) -> np.ndarray:
        """``base`` (shaped like ``self.base``) read over ``box``: one view axis per domain axis
        the read uses, plus, with ``broadcast``, a length-1 axis for each one it does not."""
        starts, exts = box
        pos = {n: j for j, n in enumerate(names)}
        item = base.itemsize
        elem_strides = [s // item for s in base.strides] if base.ndim else []
        origin = 0
        step = dict.fromkeys(names, 0)
        for k, a in enumerate(self.index):
            origin += (a.offset + self.shift[k] + sum(c * starts[pos[ax.name]] for ax, c in a.terms)) * elem_strides[k]
            for ax, c in a.terms:
                step[ax.name] += c * elem_strides[k]
        assert 0 <= origin < base.size, "verify() keeps unguarded reads inside their tensor"
        shape, strides = [], []
        for j, n in enumerate(names):
            if n in self.axes:
                shape.append(exts[j])
                strides.append(step[n] * item)
            elif broadcast:
                shape.append(1)
                strides.append(0)
        return as_strided(base.reshape(-1)[origin:], shape=tuple(shape), strides=tuple(strides), writeable=False)


# stages ------------------------------------------------------------------------------------
def _eval_stage(op: Op, st: Stage, compute_view: Callable[[str, str], np.ndarray], chunk_elems: int) -> np.ndarray:
    sizes = op.sizes
    names = [ax.name for ax in st.domain]
    exts = tuple(int(evaluate(ax.extent, sizes)) for ax in st.domain)  # type: ignore[arg-type]
    n_out = len(st.axes)
    domain = dict(zip(names, exts))
    sources = {ld: _Source(ld, compute_view(ld.tensor.name, ld.dtype), domain) for ld in walk(st.body) if isinstance(ld, Load)}
    red = st.body if isinstance(st.body, Reduce) else None
    cdtype = _compute_dtype(st.dtype)
    out = np.empty(exts[:n_out], dtype=cdtype)
    if red is not None:
        out[...] = _identity(red.kind, st.dtype)
    plan = _EinsumPlan.make(red, sources, names, n_out) if red is not None and red.kind == "sum" else None
    cost = plan.cost if plan is not None else math.prod
    for box in _boxes(exts, cost, chunk_elems):
        starts, bexts = box
        if plan is not None:
            part = plan.run(box, st.dtype)
        else:
            body = red.body if red is not None else st.body
            val = _eval(body, lambda ld: sources[ld].view(sources[ld].base, names, box, broadcast=True), {})
            val = np.broadcast_to(val, bexts)
            if red is not None:
                val = _reduce(red.kind, val, tuple(range(n_out, len(names))), cdtype)
            part = val
        sl = tuple(slice(s, s + e) for s, e in zip(starts[:n_out], bexts[:n_out]))
        out[sl] = part if red is None else _COMBINE[red.kind](out[sl], part)
    return _contiguous(out.astype(numpy_dtype(st.dtype), copy=False))


_COMBINE = {"sum": np.add, "max": np.maximum, "min": np.minimum}


def _identity(kind: str, dtype: str) -> float | int:
    """The initial value of a reduction: 0, -inf / the int minimum, +inf / the int maximum."""
    if kind == "sum":
        return 0
    if is_int(dtype):
        info = np.iinfo(numpy_dtype(dtype))
        return int(info.min) if kind == "max" else int(info.max)
    return -math.inf if kind == "max" else math.inf


def _reduce(kind: str, val: np.ndarray, axes: tuple[int, ...], cdtype: np.dtype) -> np.ndarray:
    if kind == "sum":
        return np.sum(val, axis=axes, dtype=cdtype)  # int sums wrap in their dtype, like C
    return (np.max if kind == "max" else np.min)(val, axis=axes)


def _boxes(exts: tuple[int, ...], cost: Callable[[tuple[int, ...]], int], limit: int) -> Iterator[Box]:
    """Split the domain, outermost axis first, into boxes whose ``cost`` is at most ``limit``
    (or as small as single points of the splittable axes make them). An axis the cost hardly
    depends on (an einsum operand that ignores it dominates) is left whole."""

    def split(starts: tuple[int, ...], bexts: tuple[int, ...], axis: int) -> Iterator[Box]:
        if axis == len(bexts) or cost(bexts) <= limit:
            yield starts, bexts
            return
        unit = cost(bexts[:axis] + (1,) + bexts[axis + 1:])
        if 2 * unit > cost(bexts):  # splitting this axis cannot halve the cost: split the next
            yield from split(starts, bexts, axis + 1)
            return
        step = max(1, limit // max(1, unit))
        for s in range(0, bexts[axis], step):
            sub = bexts[:axis] + (min(step, bexts[axis] - s),) + bexts[axis + 1:]
            yield from split(starts[:axis] + (starts[axis] + s,) + starts[axis + 1:], sub, axis + 1)

    yield from split((0,) * len(exts), exts, 0)


# einsum ------------------------------------------------------------------------------------
def _factors(e: Expr) -> list[Expr]:
    if isinstance(e, Binary) and e.fn == "mul":
        return _factors(e.a) + _factors(e.b)
    return [e]


class _EinsumPlan:
    """``sum(f1 * f2 * ...)`` where each factor reads one tensor element-wise (a load under
    casts, unary functions or constant arithmetic) or none: each factor is evaluated once on
    its whole tensor, then viewed over the domain and contracted with ``np.einsum``."""

    def __init__(self, operands: list[tuple[_Source, np.ndarray]], scalar: np.ndarray, names: list[str], n_out: int) -> None:
        self.operands = operands
        self.scalar = scalar
        self.names = names
        self.n_out = n_out
        # integer operands widened for einsum, made once per plan, not once per box
        self._absmax: list[float] | None = None
        self._wide: dict[Any, list[np.ndarray]] = {}

    @classmethod
    def make(cls, red: Reduce, sources: dict[Load, _Source], names: list[str], n_out: int) -> "_EinsumPlan | None":
        if len(names) > len(string.ascii_letters):
            return None
        dtype = red.body.dtype
        scalar = _const(1, dtype)
        operands = []
        for f in _factors(red.body):
            lds = {x for x in walk(f) if isinstance(x, Load)}
            if len(lds) > 1:
                return None
            if not lds:
                scalar = scalar * _eval(f, lambda ld: sources[ld].base, {})
                continue
            src = sources[lds.pop()]
            arr = _eval(f, lambda ld: src.base, {})
            operands.append((src, _contiguous(np.broadcast_to(arr, src.base.shape))))
        if not operands:
            return None
        return cls(operands, scalar, names, n_out)

    def cost(self, bexts: tuple[int, ...]) -> int:
        """Elements einsum may copy for a box: every operand view and the result."""
        ext = dict(zip(self.names, bexts))
        views = sum(math.prod(ext[n] for n in src.axes) for src, _ in self.operands)
        return views + math.prod(bexts[: self.n_out])

    def _widened(self, n_terms: int) -> list[np.ndarray]:
        """The integer operands as float64 (exact, and einsum uses BLAS) where no sum of ``n_terms``
        products can pass 2^53, else as int64. Integer +,* wrap modulo 2^bits, so an exact sum
        wrapped once equals the kernel's."""
        arrays = [arr for _, arr in self.operands]
        if self._absmax is None:
            self._absmax = [float(np.max(np.abs(a.astype(np.int64)))) if a.size else 0.0 for a in arrays]
        wide = np.float64 if float(n_terms) * math.prod(self._absmax) < 2.0**53 else np.int64
        if wide not in self._wide:
            self._wide[wide] = [a.astype(wide) for a in arrays]
        return self._wide[wide]

    def run(self, box: Box, dtype: str) -> np.ndarray:
        starts, bexts = box
        n_out = self.n_out
        letters = dict(zip(self.names, string.ascii_letters))
        used = set().union(*(src.axes for src, _ in self.operands))
        arrays = [arr for _, arr in self.operands]
        n_terms = math.prod(e for n, e in zip(self.names[n_out:], bexts[n_out:]) if n in used)
        missing = math.prod(e for n, e in zip(self.names[n_out:], bexts[n_out:]) if n not in used)
        if is_int(dtype):
            arrays = self._widened(n_terms)
        views = [src.view(a, self.names, box, broadcast=False) for (src, _), a in zip(self.operands, arrays)]
        subs = ["".join(letters[n] for n in self.names if n in src.axes) for src, _ in self.operands]
        out_names = [n for n in self.names[:n_out] if n in used]
        spec = ",".join(subs) + "->" + "".join(letters[n] for n in out_names)
        res = np.einsum(spec, *views, optimize=True)
        if is_int(dtype):
            res = np.asarray(np.rint(res) if res.dtype == np.float64 else res).astype(np.int64)
            res = res * np.int64(missing) * self.scalar.astype(np.int64)
            res = res.astype(numpy_dtype(dtype))
        else:
            res = (res * self.scalar * np.float32(missing)).astype(np.float32)
        shape = [e if n in used else 1 for n, e in zip(self.names[:n_out], bexts[:n_out])]
        return np.broadcast_to(np.reshape(res, shape), bexts[:n_out])
