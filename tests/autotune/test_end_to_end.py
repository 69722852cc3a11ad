"""One real tuning run: matmul 32x32x32, 8 trials, real builders and runner, a SQLite database."""

from __future__ import annotations

import math
import time

import pytest

from autotune.session import TuneOptions, TuningSession
from autotune.store import DBStore


@pytest.fixture
def options():
    return TuneOptions(trials=8, seed=0, build_workers=2, repeats=3, min_repeat_ms=5, run_timeout_secs=20, build_timeout_secs=60)


def test_real_tune_of_a_small_matmul_stores_every_trial_and_resumes(matmul_32, cpu1, options, tmp_path):
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    start = time.monotonic()
    with TuningSession(cpu1, options) as session:
        prepared = session.prepare(matmul_32)
        store = DBStore.open(url)
        events = []
        result = session.tuner(prepared, store, on_trial=events.append).tune(options.budget())
        assert result.trials == 8 and [e.index for e in events] == list(range(1, 9))
        assert math.isfinite(result.best_secs) and result.best_config is not None
        stored = store.trials(prepared.task)
        assert len(stored) == 8 and {t.strategy for t in stored} == {"evolutionary"}
        assert stored[0].config == prepared.space.default().to_json()  # the untuned baseline goes first
        ok = [t for t in stored if t.result.ok]
        assert ok and all(t.result.max_abs_error < 1e-3 and t.result.trace for t in ok)
        store.close()

        # the same run again: nothing stored is measured twice
        store = DBStore.open(url)
        again = session.tuner(prepared, store).tune(options.budget())
        configs = [t.config for t in store.trials(prepared.task)]
        assert again.resumed_trials == 8 and len(configs) == 16 and len(set(configs)) == 16
        store.close()
    assert time.monotonic() - start < 60


def test_measure_rounds_builds_each_config_once_and_times_it_every_round(matmul_32, cpu1, options):
    from autotune.revalidate import StoredConfig

    with TuningSession(cpu1, options) as session:
        prepared = session.prepare(matmul_32)
        builds = []
        build = session.builder.build
        session.builder.build = lambda *a, **k: builds.append(a[1]) or build(*a, **k)  # type: ignore[method-assign]
        unreadable = StoredConfig('{"no such knob": 1}')
        default, bad = session.measure_rounds(prepared, [prepared.space.default(), unreadable], rounds=3)
        assert len(builds) == 1 and len(builds[0]) == 2  # one build of both, not one per round
        assert len(default) == 3 and all(r.ok and math.isfinite(r.median_secs) for r in default)
        assert len(bad) == 3 and not any(r.ok for r in bad) and bad[0].status == "build_error"
        assert not [f for f in _files(session) if f.endswith(".so")]  # the builds are deleted afterwards


def _files(session: TuningSession) -> list[str]:
    import os

    return [f for _, _, files in os.walk(session._dir.name) for f in files]
