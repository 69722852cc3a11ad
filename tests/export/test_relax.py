"""TVM Relax: a BlockBuilder MLP of opforge ops, compiled with the tuning database applied through MetaSchedule."""

from __future__ import annotations

import numpy as np
import pytest

tvm = pytest.importorskip("tvm")

from tvm import relax  # noqa: E402

from autotune.export import relax as orx  # noqa: E402

B, D, H, O = 32, 64, 128, 32


@pytest.fixture(scope="module")
def layers():
    from dsl.library import dense

    return dense(bias=True, epilogue="relu").bind(M=B, K=D, N=H), dense(bias=True).bind(M=B, K=H, N=O)


@pytest.fixture(scope="module")
def mlp_db(layers, host1, tmp_path_factory):
    """Both layers tuned for 3 trials (the untuned default schedule is the first)."""
    from autotune.session import TuneOptions, TuningSession
    from autotune.store import DBStore

    store = DBStore.open(f"sqlite:///{tmp_path_factory.mktemp('relax') / 'mlp.db'}")
    options = TuneOptions(trials=3, seed=0, build_workers=2, repeats=3, min_repeat_ms=5)
    with TuningSession(host1, options) as session:
        for op in layers:
            session.tuner(session.prepare(op), store).tune(options.budget())
    yield store.db
    store.close()


def _mlp(layers):
    l1, l2 = layers
    bb = relax.BlockBuilder()
    params = [relax.Var(n, relax.TensorType(s, "float32")) for n, s in (("x", (B, D)), ("w1", (H, D)), ("b1", (H,)), ("w2", (O, H)), ("b2", (O,)))]
    with bb.function("main", params):
        with bb.dataflow():
            h = orx.emit(bb, l1, *params[:3])
            y = bb.emit_output(orx.emit(bb, l2, h, *params[3:]))
        bb.emit_func_output(y)
    return bb.get()


def _run(mod, target, inputs):
    dev = tvm.cpu()
    vm = relax.VirtualMachine(tvm.compile(mod, target=target.tvm_target()), dev)
    args = [tvm.runtime.tensor(x, dev) for x in inputs]
    out = vm["main"](*args).numpy()
    secs = vm.time_evaluator("main", dev, number=20, repeat=5)(*args).median
    return out, secs


def test_database_schedules_every_opforge_kernel_and_the_model_runs_faster(layers, mlp_db, host1, rng) -> None:
    mod = _mlp(layers)
    assert sorted(orx.tagged_funcs(mod)) == sorted(orx.kernel_symbol(op) for op in layers)
    tuned, scheduled = orx.apply_database(mod, mlp_db, host1)
    assert scheduled == sorted(orx.kernel_symbol(op) for op in layers)

    inputs = [rng.standard_normal(s).astype(np.float32) for s in ((B, D), (H, D), (H,), (O, H), (O,))]
    x, w1, b1, w2, b2 = inputs
    expected = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    untuned_out, untuned_secs = _run(mod, host1, inputs)
    tuned_out, tuned_secs = _run(tuned, host1, inputs)
    np.testing.assert_allclose(untuned_out, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(tuned_out, expected, rtol=1e-4, atol=1e-4)
    assert tuned_secs * 3 < untuned_secs  # unscheduled loops vs tiled, vectorized kernels: ~25x here


def test_a_kernel_without_records_stays_untuned(layers, host1) -> None:
    from tuning_db import open_db

    with open_db("sqlite://") as empty:
        _, scheduled = orx.apply_database(_mlp(layers), empty, host1)
    assert scheduled == []


def test_a_padded_conv_is_scheduled_on_the_program_its_trace_was_recorded_on(host1, tmp_path, rng) -> None:
    # the default Config copies conv2d's padding into a stage of its own, so its trace names a block
    # (X_pack) the lowered op does not have: MetaSchedule must replay it on the rewritten program
    from autotune.session import TuneOptions, TuningSession
    from autotune.store import DBStore
    from dsl.key import workload_key
    from dsl.library import conv2d_nchw
    from dsl.reference import reference

    op = conv2d_nchw(padding=1).bind(N=1, C=8, H=10, W=10, K=16, R=3, S=3)
    store = DBStore.open(f"sqlite:///{tmp_path / 'conv.db'}")
    options = TuneOptions(trials=1, seed=0, build_workers=1, repeats=2, min_repeat_ms=1)
    with TuningSession(host1, options) as session:
        session.tuner(session.prepare(op), store).tune(options.budget())
    assert '"Y.pad.X":"copy"' in store.db.best(workload_key(op), host1.canonical(), host1.fingerprint()).config
    bb = relax.BlockBuilder()
    x, w = relax.Var("x", relax.TensorType((1, 8, 10, 10), "float32")), relax.Var("w", relax.TensorType((16, 8, 3, 3), "float32"))
    with bb.function("main", [x, w]):
        with bb.dataflow():
            y = bb.emit_output(orx.emit(bb, op, x, w))
        bb.emit_func_output(y)
    tuned, scheduled = orx.apply_database(bb.get(), store.db, host1)
    store.close()
    assert scheduled == [orx.kernel_symbol(op)]
    assert "X_pack" in orx.tagged_funcs(tuned)[orx.kernel_symbol(op)].script()
    xs, ws = rng.standard_normal((1, 8, 10, 10)).astype(np.float32), rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    out, _ = _run(tuned, host1, [xs, ws])
    np.testing.assert_allclose(out, reference(op, xs, ws), rtol=1e-4, atol=1e-4)
