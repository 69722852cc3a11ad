"""Strategies, cost model and tuner on recorded timings: fast, deterministic, no hardware."""

from __future__ import annotations

import json
import math
import os
import signal
import statistics

import numpy as np
import pytest

from autotune.budget import Budget
from autotune.cost_model import XGBCostModel, make_cost_model, relative_throughput
from autotune.features import ConfigFeatures
from autotune.measure.result import MeasureResult
from autotune.store import MemoryStore, Task
from autotune.strategies import STRATEGIES, make_strategy
from autotune.strategies.grid import MAX_GRID
from autotune.tuner import Screen, Tuner, model_score
from fakes import ReplayBuilder, ReplayRunner, load_landscape
from schedules.config import Config
from schedules.space import Knob, Space
from targets import Target

TARGET = Target(name="cpu", kind="cpu", tvm={"kind": "llvm", "num-cores": 1}, cores=1, hardware={"test": 1})


def make_tuner(strategy="evolutionary", seed=0, store=None, cost_model="xgb", runner=None, batch_size=8, slow_cutoff=None, screen=False, **options):
    space, trials = load_landscape()
    model = make_cost_model(cost_model, seed) if cost_model else None
    features = ConfigFeatures(space)
    score = model_score(model, features) if model else None
    screen = Screen(XGBCostModel(seed=seed), ConfigFeatures(space)) if screen else None
    if screen is not None:
        options["screen"] = screen.score()
    strat = make_strategy(strategy, space, np.random.default_rng(seed), score, **options)
    task = Task("synthetic-key", "synthetic text", "synthetic", TARGET)
    runner = runner or ReplayRunner(trials)
    builder = ReplayBuilder(trials)
    tuner = Tuner(
        task, None, space, strat, builder, runner, model, store or MemoryStore(), features, args=(), batch_size=batch_size, strategy_name=strategy,
        slow_cutoff=slow_cutoff, screen=screen,
    )
    return tuner, builder, runner


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_strategy_never_proposes_a_config_twice(name):
    space, _ = load_landscape()
    rng = np.random.default_rng(0)
    strat = make_strategy(name, space, rng, score=lambda cs: -np.arange(len(cs), dtype=float))
    seen = []
    for _ in range(12):
        batch = strat.propose(8)
        assert len(batch) == 8 and all(space.is_valid(c) for c in batch)
        strat.observe(batch, [1.0] * len(batch))
        seen += [c.to_json() for c in batch]
    assert len(seen) == len(set(seen))


def test_grid_covers_a_small_space_once_then_stops():
    space = Space((Knob("a", (1, 2, 3)), Knob("b", (True, False))))
    strat = make_strategy("grid", space, np.random.default_rng(0))
    first = strat.propose(4)
    rest = strat.propose(10)
    assert len(first) == 4 and len(rest) == 2
    assert {c.to_json() for c in first + rest} == {Config.of({"a": a, "b": b}).to_json() for a in (1, 2, 3) for b in (True, False)}
    assert strat.propose(3) == []


def test_grid_refuses_a_huge_space():
    space = Space(tuple(Knob(f"k{i}", tuple(range(10))) for i in range(6)))
    assert space.size > MAX_GRID
    with pytest.raises(ValueError, match="use the 'evolutionary' or 'random' strategy"):
        make_strategy("grid", space, np.random.default_rng(0))


def test_unknown_strategy_names_the_known_ones():
    with pytest.raises(ValueError, match=r"expected one of \['evolutionary', 'grid', 'random'\]"):
        make_strategy("annealing", Space((Knob("a", (1,)),)), np.random.default_rng(0))


def test_evolutionary_keeps_a_share_of_random_exploration():
    space, _ = load_landscape()
    calls = []

    def score(cs):
        calls.append(len(cs))
        return np.array([-float(c["tile_i"]) for c in cs])  # the model loves tile_i == 1

    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, epsilon=0.25)
    batch = strat.propose(8)
    assert calls, "the model was consulted"
    assert sum(c["tile_i"] == 1 for c in batch) >= 6 and len(batch) == 8


def test_diverse_pick_weighs_new_knob_values_against_rank():
    from autotune.strategies.evolutionary import diverse_pick

    def cfg(i, j, u):
        return Config.of({"tile_i": i, "tile_j": j, "unroll": u})

    ranked = [cfg(1, 1, 0), cfg(1, 1, 4), cfg(1, 2, 0), cfg(8, 4, 16), cfg(2, 2, 2)]
    # second pick: rank 0.25 + all three values new (1.25) beats rank 0.75 + one new (1.08)
    assert diverse_pick(ranked, 2) == [ranked[0], ranked[3]]
    assert diverse_pick(ranked, 9) == ranked


def test_search_state_counts_trials_since_the_best_gained_enough():
    from autotune.strategies import SearchState

    space, _ = load_landscape()
    state = SearchState(space, np.random.default_rng(0))
    configs = space.sample(8, np.random.default_rng(1))
    state.observe(configs[:3], [math.inf, 2.0, 3.0])  # a failure, the first success, a slower one
    assert state.trials_since_gain(0.03) == 1
    state.observe(configs[3:5], [1.96, math.nan])  # 2% faster: a gain, but not a 3% one
    assert (state.trials_since_gain(0.0), state.trials_since_gain(0.03)) == (1, 3)
    state.observe(configs[5:6], [1.93])  # 3.5% below 2.0: small steps add up
    assert state.trials_since_gain(0.03) == 0
    state.observe(configs[6:], [1.0, 5.0])
    assert state.trials_since_gain(0.03) == 1


def test_a_search_that_stopped_improving_explores_more_until_it_improves():
    space, _ = load_landscape()

    def score(cs):
        return np.array([-float(c["tile_i"]) for c in cs])  # the model loves tile_i == 1

    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, epsilon=0.1, stale_after=8, stale_epsilon=0.5, explore_first=0)
    plain_random = []
    fresh_random = strat._state.fresh_random
    strat._state.fresh_random = lambda k, **kw: plain_random.append(k) or fresh_random(k, **kw)

    first = strat.propose(8)
    assert strat.exploration == 0.1 and sum(c["tile_i"] == 1 for c in first) >= 7 and plain_random == [1]
    strat.observe(first, [1.0] * 8)  # the first improves, seven do not
    assert strat.exploration == 0.1
    second = strat.propose(8)
    strat.observe(second, [2.0] * 8)
    assert strat.exploration == 0.5
    stale = strat.propose(8)
    # four guided picks, two best-scored random samples, two plain random ones
    assert plain_random[-1] == 2 and all(c["tile_i"] == 1 for c in stale[:6])
    strat.observe(stale, [0.99] + [2.0] * 7)  # 1% faster is noise, not a way out
    assert strat.exploration == 0.5
    strat.observe(strat.propose(8), [0.5] + [2.0] * 7)
    assert strat.exploration == 0.1


def test_a_stale_search_reshapes_the_register_tile_of_its_best_config():
    """A quarter of a stale batch's exploration moves a factor between the best Config's innermost
    tile levels (the register tile keeps its size), where a model trained on one basin may not look."""
    from schedules.factors import split_choices

    space = Space((Knob("C.tile.i", split_choices(64, 4, 64)), Knob("C.tile.j", split_choices(64, 4, 64)), Knob("C.unroll", (0, 16))))
    strat = make_strategy("evolutionary", space, np.random.default_rng(0), lambda cs: np.zeros(len(cs)), stale_after=8, explore_first=0)
    best = Config.of({"C.tile.i": (16, 1, 1, 4), "C.tile.j": (4, 1, 1, 16), "C.unroll": 0})
    strat.observe([best] + space.sample(15, np.random.default_rng(1)), [1.0] + [2.0] * 15)
    assert strat.stale
    batch = strat.propose(8)
    # 4 x 16 accumulators become 8 x 8 or 2 x 32 (the outer levels take up the rest), nothing else changes
    reshapes = [c for c in batch if c["C.unroll"] == 0 and (c["C.tile.i"][3], c["C.tile.j"][3]) in ((8, 8), (2, 32))]
    assert len(reshapes) == 1


def test_the_first_trials_explore_before_the_model_is_trusted():
    space, _ = load_landscape()

    def score(cs):
        return np.array([-float(c["tile_i"]) for c in cs])

    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, epsilon=0.1, stale_after=None, stale_epsilon=0.5, explore_first=16)
    shares = []
    for _ in range(3):
        shares.append(strat.exploration)
        batch = strat.propose(8)
        strat.observe(batch, [1.0 / (1 + len(strat._state.history) + i) for i in range(8)])  # every trial a gain
    assert shares == [0.5, 0.5, 0.1]


def test_stale_exploration_settings_are_checked():
    space, _ = load_landscape()
    with pytest.raises(ValueError, match="stale_after"):
        make_strategy("evolutionary", space, np.random.default_rng(0), stale_after=0)
    with pytest.raises(ValueError, match="stale_epsilon"):
        make_strategy("evolutionary", space, np.random.default_rng(0), stale_epsilon=1.5)
    with pytest.raises(ValueError, match="explore_first"):
        make_strategy("evolutionary", space, np.random.default_rng(0), explore_first=-1)
    with pytest.raises(ValueError, match="exchange_prob"):
        make_strategy("evolutionary", space, np.random.default_rng(0), exchange_prob=1.5)


def test_half_the_exploration_is_the_best_scored_random_sample():
    space, _ = load_landscape()

    def score(cs):
        return np.array([float(c["tile_j"]) + 0.01 * float(c["unroll"]) for c in cs])

    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, epsilon=0.25, explore_first=0)
    vetted = strat.propose(8)[-2]  # guided picks, then the vetted sample, then the random one
    others = score(space.sample(400, np.random.default_rng(1)))
    assert score([vetted])[0] >= np.percentile(others, 95)


def test_xgb_ranks_unseen_configs_of_the_landscape():
    space, trials = load_landscape()
    rng = np.random.default_rng(0)
    configs = [c for c in space.sample(400, rng) if trials[c.to_json()]["status"] == "ok"]
    configs = list({c.to_json(): c for c in configs}.values())
    secs = [statistics.median(trials[c.to_json()]["run_secs"]) for c in configs]
    feats = ConfigFeatures(space)
    model = XGBCostModel(seed=0)
    model.update("w", feats(configs[:120]), secs[:120])
    pred = model.predict(feats(configs[120:]))
    rank_corr = np.corrcoef(np.argsort(np.argsort(pred)), np.argsort(np.argsort(-np.asarray(secs[120:]))))[0, 1]
    assert rank_corr > 0.7


def test_xgb_model_round_trips_through_xgboost_json(tmp_path):
    space, trials = load_landscape()
    configs = [c for c in space.sample(60, np.random.default_rng(1))]
    secs = [statistics.median(trials[c.to_json()]["run_secs"]) if trials[c.to_json()]["status"] == "ok" else math.inf for c in configs]
    x = ConfigFeatures(space)(configs)
    model = XGBCostModel(seed=3)
    model.update("w", x, secs)
    path = tmp_path / "model.json"
    model.save(path)
    json.loads(path.read_text())  # XGBoost's own JSON, not a pickle
    again = XGBCostModel.load(path)
    assert np.allclose(again.predict(x), model.predict(x))
    with pytest.raises(ValueError, match=r"\.json or \.ubj"):
        model.save(tmp_path / "model.pkl")


def test_untrained_model_predicts_nothing_until_enough_successes():
    model = XGBCostModel(min_samples=8)
    model.update("w", np.ones((3, 2)), [1.0, 2.0, math.inf])
    assert not model.trained and list(model.predict(np.ones((2, 2)))) == [0.0, 0.0]


def test_relative_throughput_gives_failures_zero():
    assert list(relative_throughput([2.0, 1.0, math.inf, 4.0])) == [0.5, 1.0, 0.0, 0.25]


@pytest.mark.parametrize(
    "budget, trials, elapsed, best, since, expected",
    [
        (Budget(10), 10, 0, 1.0, 0, "trial budget of 10 reached"),
        (Budget(10, timeout_secs=5), 1, 6, 1.0, 0, "time budget of 5 s reached"),
        (Budget(10, goal_secs=0.002), 1, 0, 0.0015, 0, "goal of 2 ms reached"),
        (Budget(10, early_stop=4), 5, 0, 1.0, 4, "no improvement in 4 trials"),
        (Budget(10, goal_secs=0.002, early_stop=4), 3, 0, math.inf, 1, None),
    ],
)
def test_budget_stop_reasons(budget, trials, elapsed, best, since, expected):
    assert budget.stop_reason(trials, elapsed, best, since) == expected


def test_tuner_stores_every_trial_and_measures_none_twice():
    store = MemoryStore()
    tuner, builder, runner = make_tuner(store=store)
    result = tuner.tune(Budget(40))
    assert result.trials == 40 and len(store.trials(tuner.task)) == 40
    assert max(builder.built.values()) == 1
    assert result.failed_trials == sum(not t.result.ok for t in store.trials(tuner.task))
    assert result.best_secs == min(t.result.cost for t in store.trials(tuner.task))
    assert result.stop_reason == "trial budget of 40 reached"


def test_runner_is_told_the_slow_cutoff_as_a_multiple_of_the_best_so_far():
    tuner, _, runner = make_tuner("random", cost_model=None, slow_cutoff=10.0)
    tuner.tune(Budget(24))
    best = np.minimum.accumulate(np.asarray(tuner.history, dtype=float))
    expected = [None] + [10.0 * b if np.isfinite(b) else None for b in best[:-1]]
    assert len(runner.cutoffs) == 24
    for got, want in zip(runner.cutoffs, expected):
        assert got == (None if want is None else pytest.approx(want))


def test_slow_cutoff_must_be_a_multiple_above_one():
    with pytest.raises(ValueError, match="slow_cutoff must be > 1"):
        make_tuner("random", cost_model=None, slow_cutoff=0.5)


def test_every_stored_trial_names_the_strategy_of_its_run():
    store = MemoryStore()
    first, _, _ = make_tuner("random", store=store, cost_model=None)
    first.tune(Budget(8))
    second, _, _ = make_tuner("evolutionary", store=store)
    assert second.resume() == 8  # the random run's trials resume the guided one, still named random
    second.tune(Budget(8))
    assert [t.strategy for t in store.trials(second.task)] == ["random"] * 8 + ["evolutionary"] * 8


def test_resumed_run_measures_nothing_stored_and_warms_the_model():
    store = MemoryStore()
    first, _, _ = make_tuner(store=store, seed=1)
    first.tune(Budget(24))
    second, builder, _ = make_tuner(store=store, seed=1)
    assert second.resume() == 24 and second.cost_model.trained
    result = second.tune(Budget(16))
    stored = [t.config for t in store.trials(second.task)]
    assert len(stored) == 40 and len(set(stored)) == 40
    assert result.resumed_trials == 24 and result.trials == 16


def test_ctrl_c_keeps_every_measured_trial():
    store = MemoryStore()
    space, trials = load_landscape()
    tuner, _, runner = make_tuner(store=store, runner=ReplayRunner(trials, interrupt_after=20))
    result = tuner.tune(Budget(64))
    assert result.stop_reason == "interrupted"
    stored = store.trials(tuner.task)
    assert len(stored) == result.trials
    assert sum(t.result.status != "build_error" for t in stored) == sum(runner.measured.values()) == 20


class SigintWhileStoring(MemoryStore):
    """A store that receives a real SIGINT in the middle of writing its ``at``-th trial."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.writes = at, 0

    def add_trial(self, *args, **kwargs):
        super().add_trial(*args, **kwargs)
        self.writes += 1
        if self.writes == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def test_sigint_during_a_store_write_still_counts_the_stored_trial(python_sigint):
    store = SigintWhileStoring(at=5)
    tuner, _, _ = make_tuner(store=store)
    result = tuner.tune(Budget(64))
    assert result.stop_reason == "interrupted"
    assert len(store.trials(tuner.task)) == result.trials == 5


def test_goal_stops_the_run_early():
    tuner, _, runner = make_tuner()
    goal = 1.5 * runner.best_secs()
    result = tuner.tune(Budget(400, goal_secs=goal))
    assert result.stop_reason.startswith("goal of") and result.best_secs <= goal and result.trials < 400


@pytest.mark.parametrize("screen", [False, True], ids=["model", "screened"])
def test_model_guided_search_beats_random_on_the_landscape(screen):
    """Median over 3 seeds of the best after 48 trials: guided at least as good, and better on average."""
    guided, rand = [], []
    for seed in range(3):
        g, _, _ = make_tuner("evolutionary", seed=seed, screen=screen)
        r, _, _ = make_tuner("random", seed=seed, cost_model=None)
        guided.append(g.tune(Budget(48)).best_secs)
        rand.append(r.tune(Budget(48)).best_secs)
    optimum = ReplayRunner(load_landscape()[1]).best_secs()
    assert statistics.median(guided) <= 1.05 * optimum < statistics.median(rand)
    assert sum(guided) < sum(rand)


def test_evolutionary_ignores_stored_configs_the_space_no_longer_has():
    space, _ = load_landscape()
    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score=lambda cs: np.zeros(len(cs)))
    stale = Config.of({"tile_i": 3, "tile_j": 1, "unroll": 0, "vectorize": False, "order": "ij"})  # 3 is not a choice
    strat.observe([stale], [1e-6])
    batch = strat.propose(8)
    assert len(batch) == 8 and all(space.is_valid(c) for c in batch)


def test_screen_ranks_the_population_and_the_model_rescores_only_its_shortlist():
    space, _ = load_landscape()
    model_calls, screen_calls = [], []

    def score(cs):
        model_calls.append(len(cs))
        return np.array([float(c["tile_j"]) for c in cs])

    def screen(cs):
        screen_calls.append(len(cs))
        return np.array([float(c["tile_j"]) + 0.01 * float(c["unroll"]) for c in cs])

    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, screen=screen, shortlist=4, epsilon=0.25)
    batch = strat.propose(8)  # 6 picks, 1 vetted sample, 1 random
    assert len(batch) == 8 and len({c.to_json() for c in batch}) == 8
    assert len(model_calls) == 1 and model_calls[0] <= 4 * 6 + 4 * 1, model_calls
    assert len(screen_calls) == 1 + strat.generations and max(screen_calls) > model_calls[0]
    assert screen_calls[0] > strat.model_population, "the screen ranks the large population"
    best_j = max(c["tile_j"] for c in space.sample(400, np.random.default_rng(1)))
    assert all(c["tile_j"] == best_j for c in batch[:6]), "the picks are the model's favourites among the shortlist"


def test_an_untrained_screen_leaves_the_ranking_to_the_model():
    space, _ = load_landscape()
    model_calls = []

    def score(cs):
        model_calls.append(len(cs))
        return np.zeros(len(cs))

    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, screen=lambda cs: None)
    assert len(strat.propose(8)) == 8
    assert len(model_calls) == 1 + strat.generations
    assert max(model_calls) <= 2 * strat.model_population < strat.population, "the model alone ranks the smaller population"


def test_shortlist_shorter_than_the_diversity_pool_is_refused():
    space, _ = load_landscape()
    with pytest.raises(ValueError, match="shortlist must be >= diversity"):
        make_strategy("evolutionary", space, np.random.default_rng(0), lambda cs: np.zeros(len(cs)), diversity=4, shortlist=2)


def test_tuner_trains_the_screen_on_this_workloads_trials_even_of_an_older_space():
    store = MemoryStore()
    space, _ = load_landscape()
    first, _, _ = make_tuner(store=store, seed=2)
    first.tune(Budget(16))
    stale = Config.of({"tile_i": 3, "tile_j": 1, "unroll": 0, "vectorize": False, "order": "ij"})  # 3 is not a choice
    store.add_trial(first.task, stale.to_json(), MeasureResult(run_secs=(1e-3,)))
    second, _, _ = make_tuner(store=store, seed=2, screen=True)
    assert second.resume() == 17
    assert second.screen.model.trained and second.screen.model.n_samples == 17  # the stale one as a row of missing values
    second.tune(Budget(8))
    assert second.screen.model.n_samples == 25


def test_config_features_of_a_config_outside_the_space_are_missing_values():
    space, _ = load_landscape()
    stale = Config.of({"tile_i": 3, "tile_j": 1, "unroll": 0, "vectorize": False, "order": "ij"})
    rows = ConfigFeatures(space)([space.default(), stale])
    assert np.isfinite(rows[0]).all() and np.isnan(rows[1]).all()
    assert ConfigFeatures(space)([]).shape == (0, rows.shape[1])


def _program(configs):
    """The landscape's programs, were ``unroll`` a knob the rules ignore."""
    return [(c["tile_i"], c["tile_j"], c["vectorize"], c["order"]) for c in configs]


@pytest.mark.parametrize("identity", [None, _program], ids=["by-config", "by-program"])
def test_identity_passes_over_configs_of_a_measured_or_proposed_program(identity):
    space, _ = load_landscape()
    score = lambda cs: np.array([float(c["tile_j"]) - 0.1 * float(c["tile_i"]) for c in cs])  # noqa: E731
    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, identity=identity, epsilon=0.25)
    measured, repeats = [], 0
    for _ in range(4):
        batch = strat.propose(8)
        chosen = _program(batch)  # the guided picks, the vetted samples and the random ones
        repeats += len(chosen) - len(set(chosen)) + len(set(chosen) & set(_program(measured)))
        strat.observe(batch, [1.0] * len(batch))
        measured += batch
    if identity is None:
        assert repeats > 0, "by Config alone the search proposes programs it measured (the test would see nothing)"
    else:
        assert repeats == 0


def test_vetted_samples_of_one_batch_schedule_different_programs():
    space, _ = load_landscape()
    by_tile_j = lambda cs: [c["tile_j"] for c in cs]  # noqa: E731  (a coarse identity: one program per tile_j)
    score = lambda cs: np.array([float(c["tile_j"]) for c in cs])  # noqa: E731  (the best-scored samples share tile_j)
    strat = make_strategy("evolutionary", space, np.random.default_rng(0), score, identity=by_tile_j, epsilon=0.5, stale_after=None)
    batch = strat.propose(8)
    picked = batch[:6]  # four guided picks, two vetted samples (then two random ones: tile_j has only 7 values)
    assert len(set(by_tile_j(picked))) == 6
