"""Program features of scheduled candidates, and the cross-workload warm start they allow."""

from __future__ import annotations

import numpy as np

from autotune.cost_model import XGBCostModel
from autotune.features import PROGRAM_FEATURE_LENGTH, ConfigFeatures, ProgramFeatures
from autotune.measure.result import MeasureResult
from autotune.session import TuneOptions, TuningSession
from autotune.store import MemoryStore, Task
from dsl.lower import lower
from schedules import space_for
from schedules.config import Config


def test_program_features_are_fixed_length_and_differ_between_schedules(matmul_32, cpu1, rng):
    func = lower(matmul_32)
    space = space_for(func, cpu1)
    configs = space.sample(6, rng)
    x = ProgramFeatures(func, cpu1)(configs)
    assert x.shape == (6, PROGRAM_FEATURE_LENGTH) and np.isfinite(x).all()
    assert len({row.tobytes() for row in x}) > 1


def test_a_config_that_does_not_apply_gets_a_missing_row(matmul_32, cpu1):
    func = lower(matmul_32)
    space = space_for(func, cpu1)
    bad = Config.of({"no.such.knob": 1})
    x = ProgramFeatures(func, cpu1)([space.default(), bad])
    assert np.isfinite(x[0]).all() and np.isnan(x[1]).all()


def test_a_padded_conv_that_keeps_its_guards_is_described_by_its_guard_free_twin(cpu1, rng):
    from dsl.library import conv2d_nchw
    from schedules.padding import twin_config

    op = conv2d_nchw(padding=1).bind(N=1, C=4, H=8, W=8, K=4, R=3, S=3)
    func, twin = lower(op), lower(op, guards=False)
    configs = [c.replace(**{"Y.pad.X": "guard"}) for c in space_for(func, cpu1).sample(4, rng)]
    described = ProgramFeatures(func, cpu1, twin=twin)(configs)
    assert np.array_equal(described, ProgramFeatures(twin, cpu1)([twin_config(c) for c in configs]))
    assert not np.array_equal(described, ProgramFeatures(func, cpu1)(configs))  # the guards are what differs


def test_a_conv_that_copies_its_padding_out_is_described_as_it_is(cpu1, rng):
    from dsl.library import conv2d_nchw

    op = conv2d_nchw(padding=1).bind(N=1, C=4, H=8, W=8, K=4, R=3, S=3)
    func, twin = lower(op), lower(op, guards=False)
    configs = space_for(func, cpu1).sample(4, rng)
    copied = [c.replace(**{"Y.pad.X": "copy"}) for c in configs]
    described = ProgramFeatures(func, cpu1, twin=twin)(copied)
    assert np.array_equal(described, ProgramFeatures(func, cpu1)(copied))
    guarded = ProgramFeatures(func, cpu1, twin=twin)([c.replace(**{"Y.pad.X": "guard"}) for c in configs])
    assert not np.array_equal(described, guarded)  # two programs, two descriptions


def test_a_config_the_twin_rejects_is_described_by_the_program_itself(matmul_32, cpu1):
    from schedules.api import apply as schedule

    func = lower(matmul_32)
    config = space_for(func, cpu1).default()

    def apply(f, cfg, target):
        if f is not func:
            raise ValueError("the twin cannot take this config")
        return schedule(f, cfg, target)

    x = ProgramFeatures(func, cpu1, apply=apply, twin=object())([config])
    assert np.array_equal(x, ProgramFeatures(func, cpu1)([config]))


def _conv_with_twin():
    from dsl.library import conv2d_nchw

    op = conv2d_nchw(padding=1).bind(N=1, C=4, H=8, W=8, K=4, R=3, S=3)
    return lower(op), lower(op, guards=False)


def test_worker_processes_describe_a_batch_exactly_as_this_process_does(cpu1, rng):
    from autotune.measure.pool import WorkerPool

    func, twin = _conv_with_twin()
    configs = space_for(func, cpu1).sample(40, rng) + [Config.of({"no.such.knob": 1})]
    here = ProgramFeatures(func, cpu1, twin=twin)(configs)
    with WorkerPool(2, env={"TVM_NUM_THREADS": "1"}) as pool:
        there = ProgramFeatures(func, cpu1, twin=twin, workers=pool)(configs)
    assert np.array_equal(there, here, equal_nan=True) and np.isnan(there[-1]).all()


class _FailingPool:
    """Two workers that never answer: every chunk fails the way a crashed worker's does."""

    n_workers = 2

    def __init__(self):
        self.calls = 0

    def map(self, calls, timeout_secs):
        from autotune.measure.pool import Outcome, WorkerCrashed

        self.calls += len(calls)
        return [Outcome(error=WorkerCrashed("planted crash")) for _ in calls]


def test_a_chunk_a_feature_worker_fails_is_described_here(cpu1, rng):
    func, twin = _conv_with_twin()
    configs = space_for(func, cpu1).sample(40, rng)
    pool = _FailingPool()
    x = ProgramFeatures(func, cpu1, twin=twin, workers=pool)(configs)
    assert pool.calls == 2
    assert np.array_equal(x, ProgramFeatures(func, cpu1, twin=twin)(configs))


def test_config_features_use_the_space_encoding(matmul_32, cpu1):
    space = space_for(lower(matmul_32), cpu1)
    assert np.array_equal(ConfigFeatures(space)([space.default()])[0], space.encode(space.default()))


def test_cost_model_warm_starts_from_another_workload_on_the_same_target(cpu1, rng):
    from dsl.library import matmul

    other, this = matmul().bind(M=16, N=16, K=16), matmul().bind(M=32, N=16, K=16)
    store = MemoryStore()
    other_task = Task.of(other, cpu1)
    store.begin(other_task)
    other_space = space_for(lower(other), cpu1)
    for i, cfg in enumerate(other_space.sample(12, rng)):
        store.add_trial(other_task, cfg.to_json(), MeasureResult(run_secs=(1e-6 * (i + 1),)))
    with TuningSession(cpu1, TuneOptions(trials=0, build_workers=1)) as session:
        prepared = session.prepare(this)
        model = XGBCostModel()
        tuner = session.tuner(prepared, store, cost_model=model)
        assert tuner.resume() == 0  # nothing of this workload is stored ...
        assert model.trained  # ... yet the model learnt from the other one


def test_program_keys_are_shared_by_configs_that_differ_in_a_knob_the_rules_ignore(cpu1):
    from autotune.features import program_keys
    from dsl.library import dense

    func = lower(dense(bias=True, epilogue="relu").bind(M=32, N=32, K=32))
    default = space_for(func, cpu1).default()
    assert default["C.write_at"] > 0, "the relu epilogue is fused, so its own knobs are moot"
    moot = default.replace(**{"Y.vector": 1, "Y.unroll": 512})
    other = default.replace(**{"C.unroll": 0})
    keys = program_keys(ProgramFeatures(func, cpu1))([default, moot, other, Config.of({"no.such.knob": 1})])
    assert keys[0] == keys[1] and keys[0] != keys[2] and keys[3] is None
