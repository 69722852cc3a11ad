"""A Relax MLP with opforge's tuned kernels against the same model untuned, in one run on this CPU.

Builds a two-layer MLP (dense+bias+relu, dense+bias) with relax's ``nn`` frontend whose layers are
opforge ops, tunes each layer (``--trials`` per layer, into ``--db`` or a temporary SQLite file),
then compiles the model three ways and times ``forward`` with TVM's time evaluator:
untuned (the same model, no database), tuned (opforge's database applied through the MetaSchedule
adapter) and TVM's stock model (``nn.Linear`` legalized by TVM's default CPU pipeline, untuned).
Prints each time and the speed-up of the tuned model (goal > 1.0).
Run: ``python bench/bench_relax.py [--trials 32] [--batch 64] [--sizes 512,1024,256] [--db PATH]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile

THREADS = os.environ.setdefault("TVM_NUM_THREADS", str(len(os.sched_getaffinity(0))))


def models(batch: int, d_in: int, hidden: int, d_out: int):  # noqa: ANN201
    """(opforge layers, opforge MLP module, stock relax MLP module), the same weights' shapes."""
    from tvm.relax.frontend import nn

    from autotune.export import relax as orx
    from dsl.library import dense

    l1 = dense(bias=True, epilogue="relu").bind(M=batch, K=d_in, N=hidden)
    l2 = dense(bias=True).bind(M=batch, K=hidden, N=d_out)

    class OpforgeMLP(nn.Module):
        def __init__(self) -> None:
            self.w1, self.b1 = nn.Parameter((hidden, d_in), "float32"), nn.Parameter((hidden,), "float32")
            self.w2, self.b2 = nn.Parameter((d_out, hidden), "float32"), nn.Parameter((d_out,), "float32")

        def forward(self, x):  # noqa: ANN001, ANN201
            return orx.call(l2, orx.call(l1, x, self.w1, self.b1), self.w2, self.b2)

    class StockMLP(nn.Module):
        def __init__(self) -> None:
            self.fc1, self.fc2 = nn.Linear(d_in, hidden), nn.Linear(hidden, d_out)

        def forward(self, x):  # noqa: ANN001, ANN201
            return self.fc2(nn.relu(self.fc1(x)))

    spec = {"forward": {"x": nn.spec.Tensor((batch, d_in), "float32")}}
    mine, _ = OpforgeMLP().export_tvm(spec)
    stock, _ = StockMLP().export_tvm(spec)
    return (l1, l2), mine, stock


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=32, help="trials per layer")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--sizes", default="512,1024,256", help="input,hidden,output widths")
    p.add_argument("--db", default=None, help="tuning database (default: a temporary SQLite file)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    import numpy as np
    import tvm
    from tvm import relax

    from autotune.export import relax as orx
    from autotune.session import TuneOptions, TuningSession
    from autotune.store import DBStore
    from targets import get_target

    d_in, hidden, d_out = (int(x) for x in a.sizes.split(","))
    layers, mine, stock = models(a.batch, d_in, hidden, d_out)
    target = get_target("cpu")
    db_url = a.db or f"sqlite:///{tempfile.mkdtemp(prefix='opforge-bench-relax-')}/tune.db"
    opts = TuneOptions(trials=a.trials, seed=a.seed)
    store = DBStore.open(db_url)
    with TuningSession(target, opts) as session:
        for op in layers:
            session.tuner(session.prepare(op), store).tune(opts.budget())
    tuned, scheduled = orx.apply_database(mine, store.db, target)

    rng = np.random.default_rng(a.seed)
    dev = tvm.cpu()
    shapes = [(a.batch, d_in), (hidden, d_in), (hidden,), (d_out, hidden), (d_out,)]
    host = [rng.standard_normal(s).astype("float32") for s in shapes]
    args = [tvm.runtime.tensor(x, dev) for x in host]
    x, w1, b1, w2, b2 = host
    expected = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    times = {}
    for name, mod in (("untuned", mine), ("tuned", tuned), ("tvm stock", stock)):
        vm = relax.VirtualMachine(tvm.compile(mod, target=target.tvm_target()), dev)
        out = vm["forward"](*args).numpy()
        np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3)
        evaluator = vm.time_evaluator("forward", dev, number=0, repeat=7, min_repeat_ms=200)
        times[name] = evaluator(*args).median
    store.close()
    print(f"relax MLP {a.batch}x{d_in} -> {hidden} (relu) -> {d_out}, float32, {a.trials} trials/layer, {THREADS} threads")
    print(f"opforge kernels scheduled from the database: {', '.join(scheduled)}")
    for name, secs in times.items():
        print(f"{name:>10}: {secs * 1e3:.3f} ms")
    print(f"speed-up tuned vs untuned (same model): {times['untuned'] / times['tuned']:.1f}x (goal > 1.0)")
    print(f"speed-up tuned vs TVM's stock untuned MLP: {times['tvm stock'] / times['tuned']:.1f}x")
    print(f"database: {db_url}")


if __name__ == "__main__":
    main()
