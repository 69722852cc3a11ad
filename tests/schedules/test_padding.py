"""The pad knob: a padded read's bounds test moved out of the innermost loop, the sums unchanged."""

import numpy as np
import pytest

from cases import check_config
from dsl import library
from dsl.lower import lower
from dsl.reference import reference
from schedules import apply, pack_activation, space_for


def _conv(**sizes):
    return library.get("conv2d_nchw", padding=1).bind(**{**dict(N=1, C=4, H=9, W=7, K=8, R=3, S=3), **sizes})


def _body_of(sch, block):
    text = sch.mod["main"].script()
    return text.split(f'T.sblock("{block}")')[1].split("T.sblock(")[0]


def test_a_padded_conv_offers_the_pad_knob_and_an_unpadded_one_does_not(cpu):
    space = space_for(_conv(), cpu)
    assert space.knob("Y.pad.X").choices == ("copy", "tile", "guard") and space.default()["Y.pad.X"] == "copy"
    assert "Y.pad.F" not in space.names  # the filter is read in bounds
    plain = library.get("conv2d_nchw").bind(N=1, C=4, H=9, W=7, K=8, R=3, S=3)
    assert not [n for n in space_for(plain, cpu).names if ".pad." in n]
    assert not [n for n in space_for(library.get("matmul").bind(M=16, N=16, K=16), cpu).names if ".pad." in n]


@pytest.mark.parametrize("value", ["copy", "tile"])
def test_copy_and_tile_leave_no_bounds_test_in_the_conv(cpu, value):
    op = _conv()
    sch = apply(op, space_for(op, cpu).default().replace(**{"Y.pad.X": value}), cpu)
    assert "if_then_else" not in _body_of(sch, "Y_update")
    assert "if_then_else" in _body_of(sch, "X_pack")  # the padding is written by the copy
    guarded = apply(op, space_for(op, cpu).default().replace(**{"Y.pad.X": "guard"}), cpu)
    assert "X_pack" not in guarded.mod["main"].script() and "if_then_else" in _body_of(guarded, "Y_update")


def test_tile_writes_only_the_window_of_a_tile(cpu):
    op = _conv(H=16, W=16)
    cfg = space_for(op, cpu).default().replace(**{"Y.pad.X": "tile", "Y.tile.oh": (4, 1, 2, 2), "Y.parallel": 4})
    from test_cpu_rules import allocations

    assert allocations(apply(op, cfg, cpu))["X_pack"] == (1, 4, 6, 18)  # 4 output rows + the 3x3 halo


@pytest.mark.parametrize(
    "name, params, shape",
    [
        ("conv2d_nchw", {"padding": 1}, dict(N=1, C=3, H=17, W=13, K=5, R=3, S=3)),
        ("conv2d_nchw", {"padding": (2, 1), "stride": 2}, dict(N=2, C=4, H=11, W=9, K=8, R=3, S=3)),
        ("conv2d_nhwc", {"padding": 1}, dict(N=1, H=9, W=7, C=4, K=8, R=3, S=3)),
        ("depthwise_conv2d_nchw", {"padding": 1}, dict(N=1, C=8, H=9, W=7, R=3, S=3)),
    ],
)
@pytest.mark.parametrize("value", ["copy", "tile", "guard"])
def test_every_pad_value_matches_the_reference_with_every_pack_level(cpu, rng, name, params, shape, value):
    op = library.get(name, **params).bind(**shape)
    space = space_for(op, cpu)
    pad = next(n for n in space.names if ".pad." in n)
    pack = f"{pad.split('.')[0]}.pack.{pad.split('.')[-1]}"
    for level in space.knob(pack).choices if pack in space.names else [None]:
        cfg = space.default().replace(**{pad: value, **({pack: level} if level is not None else {})})
        check_config(op, cfg, cpu, rng)
    for cfg in space.sample(3, np.random.default_rng(3)):
        check_config(op, cfg.replace(**{pad: value}), cpu, rng)


def test_materialize_without_a_channel_split_only_pads(rng):
    op = _conv(H=6, W=5)
    func = pack_activation.materialize(lower(op), "Y", "X", None)
    text = func.script()
    assert "T.Buffer((1, 4, 8, 7)" in text or "(1, 4, 8, 7)" in text  # 6x5 with a one-wide border
    import tvm

    x = rng.standard_normal((1, 4, 6, 5)).astype("float32")
    w = rng.standard_normal((8, 4, 3, 3)).astype("float32")
    ex = tvm.compile(tvm.IRModule({"main": func}), target="llvm")
    out = tvm.runtime.tensor(np.zeros((1, 8, 6, 5), "float32"))
    ex["main"](tvm.runtime.tensor(x), tvm.runtime.tensor(w), out)
    np.testing.assert_allclose(out.numpy(), reference(op, x, w), rtol=1e-5, atol=1e-5)


def test_an_unguarded_read_has_no_padding_to_materialize():
    plain = library.get("conv2d_nchw").bind(N=1, C=4, H=9, W=7, K=8, R=3, S=3)
    assert "no padding to materialize" in pack_activation.reason(lower(plain), "Y", "X", None)
