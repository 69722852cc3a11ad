"""The op library, written in the DSL as a user would write it, and its registry.

``get("conv2d_nchw", stride=2, padding=1)`` builds an unbound op by name; ``describe()``
lists every op's free dims and accepted dtypes for ``opforge ops``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from ..op import Op
from . import conv, elementwise, linalg, norm, pool, quantized, reduce
from .conv import conv2d_nchw, conv2d_nhwc, depthwise_conv2d_nchw
from .elementwise import add, mul, relu, transpose
from .linalg import batch_matmul, dense, matmul
from .norm import layer_norm, softmax
from .pool import avg_pool2d, max_pool2d
from .quantized import conv2d_nchw_int8, matmul_int8
from .reduce import reduce_max, reduce_sum

#: name -> builder; each builder takes keyword parameters only and returns an unbound Op
LIBRARY: dict[str, Callable[..., Op]] = {
    "matmul": matmul,
    "batch_matmul": batch_matmul,
    "dense": dense,
    "conv2d_nchw": conv2d_nchw,
    "conv2d_nhwc": conv2d_nhwc,
    "depthwise_conv2d_nchw": depthwise_conv2d_nchw,
    "max_pool2d": max_pool2d,
    "avg_pool2d": avg_pool2d,
    "softmax": softmax,
    "layer_norm": layer_norm,
    "add": add,
    "mul": mul,
    "relu": relu,
    "reduce_sum": reduce_sum,
    "reduce_max": reduce_max,
    "transpose": transpose,
    "matmul_int8": matmul_int8,
    "conv2d_nchw_int8": conv2d_nchw_int8,
}

#: name -> the dtypes its ``dtype`` parameter accepts (the first is the default)
DTYPES: dict[str, tuple[str, ...]] = {
    "matmul": linalg.MATMUL_DTYPES,
    "batch_matmul": linalg.BATCH_MATMUL_DTYPES,
    "dense": linalg.DENSE_DTYPES,
    "conv2d_nchw": conv.CONV_DTYPES,
    "conv2d_nhwc": conv.CONV_DTYPES,
    "depthwise_conv2d_nchw": conv.CONV_DTYPES,
    "max_pool2d": pool.MAX_POOL_DTYPES,
    "avg_pool2d": pool.AVG_POOL_DTYPES,
    "softmax": norm.SOFTMAX_DTYPES,
    "layer_norm": norm.LAYER_NORM_DTYPES,
    "add": elementwise.ELEMENTWISE_DTYPES,
    "mul": elementwise.ELEMENTWISE_DTYPES,
    "relu": elementwise.ELEMENTWISE_DTYPES,
    "reduce_sum": reduce.REDUCE_SUM_DTYPES,
    "reduce_max": reduce.REDUCE_MAX_DTYPES,
    "transpose": elementwise.ELEMENTWISE_DTYPES,
    "matmul_int8": quantized.QUANTIZED_DTYPES,
    "conv2d_nchw_int8": quantized.QUANTIZED_DTYPES,
}


class UnknownOpError(KeyError):
    """A name that is not in the library; the message lists the names that are."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class OpInfo:
    """What ``opforge ops`` shows for one library op."""

    name: str
    dims: tuple[str, ...]  # free dims, in the order the op first uses them
    dtypes: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]  # keyword parameters besides dtype, with defaults
    summary: str  # first paragraph of the builder's docstring


def get(name: str, **params: Any) -> Op:
    """The library op ``name`` built with ``params``: ``get("dense", bias=True, epilogue="relu")``."""
    try:
        builder = LIBRARY[name]
    except KeyError:
        raise UnknownOpError(f"unknown op {name!r}; expected one of {sorted(LIBRARY)}") from None
    return builder(**params)


def describe() -> dict[str, OpInfo]:
    """Every library op's dims, dtypes, parameters and summary, by name."""
    out: dict[str, OpInfo] = {}
    for name, builder in LIBRARY.items():
        op = builder()
        params = tuple((p.name, p.default) for p in inspect.signature(builder).parameters.values() if p.name != "dtype")
        summary = " ".join((inspect.getdoc(builder) or "").split("\n\n")[0].split())
        out[name] = OpInfo(name, tuple(d.name for d in op.free_dims), DTYPES[name], params, summary)
    return out


__all__ = ["DTYPES", "LIBRARY", "OpInfo", "UnknownOpError", "describe", "get", *LIBRARY]
