"""Element types the DSL knows, with their MLIR spellings and numpy equivalents."""

from __future__ import annotations

import numpy as np

#: user-facing dtypes and their MLIR element-type spelling
MLIR_NAMES: dict[str, str] = {
    "float32": "f32",
    "float16": "f16",
    "bfloat16": "bf16",
    "int8": "i8",
    "uint8": "ui8",
    "int32": "i32",
}
#: the internal type of comparisons; users never declare a tensor of it
BOOL = "bool"
_ALL_MLIR = {**MLIR_NAMES, BOOL: "i1"}
_FROM_MLIR = {v: k for k, v in _ALL_MLIR.items()}

FLOATS = frozenset({"float32", "float16", "bfloat16"})
INTS = frozenset({"int8", "uint8", "int32"})


class DTypeError(ValueError):
    """An element type the DSL does not know."""


def check_dtype(dtype: str, what: str) -> str:
    """Return ``dtype`` if it is a tensor dtype, else raise naming ``what`` and the valid ones."""
    if dtype not in MLIR_NAMES:
        raise DTypeError(f"unknown dtype {dtype!r} for {what}; expected one of {sorted(MLIR_NAMES)}")
    return dtype


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def is_int(dtype: str) -> bool:
    return dtype in INTS


def to_mlir(dtype: str) -> str:
    return _ALL_MLIR[dtype]


def from_mlir(name: str) -> str:
    try:
        return _FROM_MLIR[name]
    except KeyError:
        raise DTypeError(f"unknown MLIR element type {name!r}; expected one of {sorted(_FROM_MLIR)}") from None


def numpy_dtype(dtype: str) -> np.dtype:
    """The numpy dtype that stores ``dtype`` (bfloat16 through ml_dtypes)."""
    if dtype == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    if dtype == BOOL:
        return np.dtype(np.bool_)
    return np.dtype(dtype)


def tolerance(dtype: str) -> tuple[float, float]:
    """(rtol, atol) for comparing a kernel's output of ``dtype`` with the reference."""
    return {
        "float32": (1e-4, 1e-4),
        "float16": (1e-2, 1e-2),
        "bfloat16": (5e-2, 5e-2),
    }.get(dtype, (0.0, 0.0))


def scaled_atol(atol: float, want: np.ndarray) -> float:
    """``atol`` scaled by the reference output's largest finite magnitude (at least 1).

    The rounding error of a long float sum grows with the size of its terms, not of its result,
    so an element that cancels to near zero in a large-valued output (matmul K=4096) gets the
    output's scale instead of a bare ``atol`` that float32 accumulation cannot meet.
    """
    finite = np.abs(want[np.isfinite(want)]) if want.size else np.zeros(0)
    return atol * max(1.0, float(finite.max(initial=0.0)))
