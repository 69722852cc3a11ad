"""pack_activation: a guarded, channel-strided activation read materialized as a padded NCHW4c stage."""

import numpy as np
import pytest

from dsl import library
from dsl.lower import lower
from dsl.reference import reference
from schedules import pack_activation


def _run(func, inputs, out_shape):
    import tvm

    ex = tvm.compile(tvm.IRModule({"main": func}), target="llvm")
    dev = tvm.cpu()
    out = tvm.runtime.tensor(np.zeros(out_shape, "int32"), dev)
    ex["main"](*[tvm.runtime.tensor(x, dev) for x in inputs], out)
    return out.numpy()


@pytest.mark.parametrize("params", [{"padding": 1}, {"padding": (2, 1), "stride": 2}, {}])
def test_the_packed_program_computes_the_same_conv(rng, params):
    op = library.get("conv2d_nchw_int8", dtype="uint8", **params).bind(N=1, C=8, H=7, W=6, K=4, R=3, S=3)
    func = pack_activation.materialize(lower(op), "Y", "X", 1, 4)
    text = func.script()
    assert 'T.sblock("X_pack")' in text and "X_pack[v_n, v_c // 4" in text
    assert "if_then_else" not in text.split('T.sblock("Y")')[1]  # the conv reads the padded stage unguarded
    x = rng.integers(0, 256, (1, 8, 7, 6)).astype("uint8")
    w = rng.integers(-128, 128, (4, 8, 3, 3)).astype("int8")
    want = reference(op, x, w)
    np.testing.assert_array_equal(_run(func, [x, w], want.shape), want)


def test_a_channel_count_the_width_does_not_divide_is_refused():
    op = library.get("conv2d_nchw_int8", dtype="uint8", padding=1).bind(N=1, C=6, H=7, W=6, K=4, R=3, S=3)
    assert "not a multiple of 4" in pack_activation.reason(lower(op), "Y", "X", 1, 4)
    with pytest.raises(ValueError, match="not a multiple of 4"):
        pack_activation.materialize(lower(op), "Y", "X", 1, 4)
