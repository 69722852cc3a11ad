"""Library ops at three sizes each (one with odd or prime extents), for the correctness tests."""

from __future__ import annotations

from typing import Any

#: (op name, builder params, three shapes); the last shape of each has odd or prime extents
CASES: list[tuple[str, dict[str, Any], list[dict[str, int]]]] = [
    ("matmul", {}, [dict(M=16, N=16, K=16), dict(M=32, N=48, K=64), dict(M=17, N=97, K=13)]),
    ("batch_matmul", {}, [dict(B=2, M=8, N=16, K=8), dict(B=3, M=16, N=32, K=24), dict(B=3, M=17, N=19, K=7)]),
    ("dense", {}, [dict(M=8, N=16, K=16), dict(M=32, N=64, K=48), dict(M=17, N=97, K=13)]),
    ("dense", {"bias": True, "epilogue": "relu"}, [dict(M=8, N=16, K=16), dict(M=32, N=64, K=48), dict(M=17, N=97, K=13)]),
    ("dense", {"bias": True, "epilogue": "gelu"}, [dict(M=8, N=16, K=16), dict(M=16, N=32, K=32), dict(M=7, N=33, K=11)]),
    ("conv2d_nchw", {"padding": 1}, [dict(N=1, C=4, H=8, W=8, K=8, R=3, S=3), dict(N=2, C=8, H=16, W=16, K=16, R=3, S=3), dict(N=1, C=3, H=17, W=13, K=5, R=3, S=3)]),
    ("conv2d_nchw", {"stride": 2, "padding": 1}, [dict(N=1, C=4, H=8, W=8, K=8, R=3, S=3), dict(N=1, C=8, H=16, W=16, K=8, R=1, S=1), dict(N=2, C=3, H=11, W=7, K=5, R=3, S=3)]),
    ("conv2d_nhwc", {"padding": 1}, [dict(N=1, H=8, W=8, C=4, K=8, R=3, S=3), dict(N=1, H=16, W=16, C=16, K=16, R=3, S=3), dict(N=1, H=17, W=13, C=3, K=5, R=3, S=3)]),
    ("depthwise_conv2d_nchw", {"padding": 1}, [dict(N=1, C=8, H=8, W=8, R=3, S=3), dict(N=2, C=16, H=16, W=16, R=3, S=3), dict(N=1, C=5, H=17, W=13, R=3, S=3)]),
    ("max_pool2d", {"stride": 2}, [dict(N=1, C=4, H=8, W=8, R=2, S=2), dict(N=2, C=16, H=16, W=16, R=2, S=2), dict(N=1, C=3, H=17, W=13, R=3, S=3)]),
    ("avg_pool2d", {"stride": 2, "padding": 1}, [dict(N=1, C=4, H=8, W=8, R=3, S=3), dict(N=2, C=16, H=16, W=16, R=3, S=3), dict(N=1, C=3, H=17, W=13, R=3, S=3)]),
    ("softmax", {}, [dict(M=4, N=16), dict(M=32, N=128), dict(M=7, N=97)]),
    ("layer_norm", {}, [dict(M=4, N=16), dict(M=32, N=128), dict(M=7, N=97)]),
    ("add", {}, [dict(M=4, N=16), dict(M=64, N=128), dict(M=7, N=1000)]),
    ("mul", {}, [dict(M=4, N=16), dict(M=64, N=128), dict(M=7, N=97)]),
    ("relu", {}, [dict(M=4, N=16), dict(M=64, N=128), dict(M=17, N=97)]),
    ("reduce_sum", {}, [dict(M=4, N=16), dict(M=64, N=128), dict(M=17, N=97)]),
    ("reduce_max", {}, [dict(M=4, N=16), dict(M=64, N=128), dict(M=17, N=97)]),
    ("transpose", {}, [dict(M=4, N=16), dict(M=64, N=128), dict(M=17, N=97)]),
    ("matmul_int8", {}, [dict(M=16, N=16, K=16), dict(M=32, N=64, K=64), dict(M=17, N=97, K=13)]),
    ("conv2d_nchw_int8", {"padding": 1}, [dict(N=1, C=4, H=8, W=8, K=8, R=3, S=3), dict(N=1, C=16, H=16, W=16, K=16, R=3, S=3), dict(N=1, C=3, H=17, W=13, K=5, R=3, S=3)]),
]


def case_id(name: str, params: dict[str, Any]) -> str:
    return name + "".join(f"-{k}={v}" for k, v in sorted(params.items()))


def build(name: str, params: dict[str, Any], shape: dict[str, int]) -> Any:
    from dsl import library

    return library.get(name, **params).bind(**shape)


def check_config(op: Any, config: Any, target: Any, rng: Any) -> None:
    """Apply ``config`` to ``op``, compile it for ``target``, run it on random inputs and compare
    every output with ``dsl.reference`` (raises AssertionError naming the config on mismatch)."""
    import numpy as np
    import tvm

    from dsl.inputs import assert_close, random_inputs
    from dsl.reference import reference
    import schedules

    sch = schedules.apply(op, config, target)
    ex = tvm.compile(sch.mod, target=target.tvm_target())
    inputs = random_inputs(op, rng)
    dev = tvm.cpu()
    from dsl.dtypes import numpy_dtype

    outs = [np.zeros(op.shape_of(t), numpy_dtype(t.dtype)) for t in op.output_tensors]
    args = [tvm.runtime.tensor(x, dev) for x in inputs + outs]
    ex["main"](*args)
    want = reference(op, *inputs)
    want = want if isinstance(want, tuple) else (want,)
    for t, got, w in zip(op.output_tensors, args[len(inputs):], want):
        assert_close(got.numpy(), w, t.dtype, f"{op.name} output {t.name} under {config.to_json()}")
