"""Model-guided evolutionary search over Configs (the default strategy).

Each ``propose(k)``: a population of the best measured Configs plus random samples evolves for a
few generations, children made by one-knob mutation (``space.neighbors``), by a factor moved between
two tile knobs at one level (``space.exchange``, a share ``exchange_prob`` of the mutations) or by
``crossover`` of two parents chosen by tournament on the cost model's score; the fittest by score survive. From the
``diversity * k`` best-scored Configs never seen before (over every generation), ``k`` are picked
greedily by rank plus the share of knob values no earlier pick of the batch has, so a batch is
not ``k`` one-knob variants of the best Config so far. A share ``epsilon`` of each batch explores
(at least one Config of a batch of two or more): half of it the best-scored of this round's random
samples (a new region the model already likes), half random fresh Configs (the model is wrong where
it has seen nothing). 0.1, one random Config in a batch of 8, found better kernels in 128 trials than
0.2 on conv2d and dense (5 seeds: median 70 -> 86 and 247 -> 268 GFLOP/s), a little worse on matmul
(298 -> 282): a random Config of these spaces runs at a tenth of the best. Until the model has
learnt something (``score`` returns None), proposals are random.

A search that finds one good basin early polishes it: the model, trained on that basin, scores its
neighbours highest. Once ``stale_after`` trials went by without the best time falling by
``stale_gain`` (3%: steps of 1% are mostly noise and add up anyway), ``stale_epsilon`` (half) of
each batch explores, until a gain. From scratch on dense 1024 + bias + relu (seed 0), a search
without it found a 139 GFLOP/s basin at trial 5 and spent the rest of its 128 trials there (best
224), while random search's best was 405, a 4 x 32 register tile elsewhere.

A model trained on one basin knows little of the rest of the space: trained on that run's 128
trials, XGBoost ranked random search's 128 Configs with a Spearman correlation of 0.1-0.2 and put
the 405 one 55th. So the first ``explore_first`` trials (32) explore at ``stale_epsilon`` as well,
and the model learns from a spread of the space before its picks take over: in runs of 128 trials
from scratch (no default), 3 seeds each, the best measured during the search went from 210 / 510 /
435 to 359 / 465 / 469 GFLOP/s on dense, 475 / 477 / 413 to 459 / 497 / 491 on matmul, and 265 / 251
/ 280 to 445 / 250 / 242 on conv2d (where other runs of seed 0 without it also reached 450: one run
per seed is noisy).

A basin can also be a register tile the model will not leave. Conv2d from the default reached 16
accumulators as 1 output row x 16 channels (370-386 GFLOP/s) and stayed; 2 rows x 8 channels, with
fewer vector loads per FMA, ran at 450-480, but every one-knob step there passes through 32
accumulators (spilled) or 8 (half the FMA latency hidden), so the model ranks the way out low. So
while stale, a quarter of the exploration reshapes the best measured Configs' register tiles
(``space.exchange`` at the innermost level: a prime factor moved between two tile knobs, their
product kept), and a share ``exchange_prob`` (0.2) of the mutations are exchanges at any level.
Conv2d with the default first, best found in 256 trials, seeds 0-2: exchanges alone 478 / 401 / 376
GFLOP/s, with the reshapes too (seeds 1, 2) 479 / 475; before either, the MetaSchedule benchmark's
256-trial runs (seeds 0, 1) ended at 377 / 369. From scratch the reshapes did not help: those
runs stalled in vector tiles of 1-8 lanes, which the CPU rules no longer offer (a register tile
fills at least 3/4 of a register; see ``schedules.cpu``).

``screen`` (optional) is a second, cheap opinion (a cost model over the space's own encoding): once
it has learnt, it ranks the populations of every generation, and ``score`` only rescores its
``shortlist * k`` best fresh Configs (and the best-screened random samples) before the pick. The
program features ``score`` reads cost milliseconds per Config, the screen's microseconds; scoring
the ~570 candidates of a batch of 8 with ``score`` took longer than building and running the batch.
So the screen ranks a population of ``population`` (512, MetaSchedule's size), ``score`` alone one
of ``model_population``: on conv2d, 512 instead of 128 took the median best at 128 trials from 93 to
119 GFLOP/s (5 seeds) at the same wall time, more random samples per batch finding the fast region.

``identity`` (optional) keys each Config by the program it schedules: a Config whose program was
measured already, or is proposed in the same batch, is passed over. Knobs a rule ignores (a fused
epilogue's own vector width) otherwise give new Configs of old programs, and the diverse pick even
favours them for their new knob values. Random proposals are passed over too, while the draws find
other programs: with 32 trials of half exploration, they are a quarter of a run's first trials.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

import numpy as np

from .base import Score, SearchState

#: a key per Config of the program it schedules (None: unknown); equal keys, one program
Identity = Callable[[Sequence[Any]], Sequence[Hashable | None]]


class EvolutionaryStrategy:
    def __init__(
        self,
        space: Any,
        rng: np.random.Generator,
        score: Score | None = None,
        population: int = 512,
        generations: int = 4,
        epsilon: float = 0.1,
        crossover_prob: float = 0.3,
        exchange_prob: float = 0.2,
        elite: int = 16,
        diversity: int = 4,
        screen: Score | None = None,
        shortlist: int = 8,
        identity: Identity | None = None,
        model_population: int = 128,
        stale_after: int | None = 16,
        stale_epsilon: float = 0.5,
        stale_gain: float = 0.03,
        explore_first: int = 32,
    ) -> None:
        if not (0.0 <= epsilon <= 1.0 and 0.0 <= stale_epsilon <= 1.0):
            raise ValueError(f"epsilon and stale_epsilon are shares of random proposals in [0, 1], got {epsilon}, {stale_epsilon}")
        if not 0.0 <= exchange_prob <= 1.0:
            raise ValueError(f"exchange_prob is a share of the mutations in [0, 1], got {exchange_prob}")
        if not 0.0 <= stale_gain < 1.0:
            raise ValueError(f"stale_gain is a share of the best time in [0, 1), got {stale_gain}")
        if stale_after is not None and stale_after < 1:
            raise ValueError(f"stale_after counts trials without improvement (>= 1, or None for never), got {stale_after}")
        if explore_first < 0:
            raise ValueError(f"explore_first counts trials (>= 0), got {explore_first}")
        if min(population, model_population) < 2 or generations < 0:
            raise ValueError(f"population and model_population must be >= 2 and generations >= 0, got {population}, {model_population}, {generations}")
        if diversity < 1:
            raise ValueError(f"diversity must be >= 1 (picks come from the diversity * k best-scored), got {diversity}")
        if shortlist < diversity:
            raise ValueError(f"shortlist must be >= diversity ({diversity}): the pick needs that many rescored Configs per slot, got {shortlist}")
        self._state = SearchState(space, rng)
        self.space = space
        self.rng = rng
        self.score = score
        self.population = population
        self.generations = generations
        self.epsilon = epsilon
        self.crossover_prob = crossover_prob
        self.exchange_prob = exchange_prob
        self._exchange = getattr(space, "exchange", None)  # a space may offer no exchange moves
        self.elite = elite
        self.diversity = diversity
        self.screen = screen
        self.shortlist = shortlist
        self.identity = identity
        self.model_population = model_population
        self.stale_after = stale_after
        self.stale_epsilon = stale_epsilon
        self.stale_gain = stale_gain
        self.explore_first = explore_first

    def observe(self, configs: Sequence[Any], results: Sequence[Any]) -> None:
        self._state.observe(configs, results)

    @property
    def stale(self) -> bool:
        """Whether ``stale_after`` trials went by without a gain over ``stale_gain`` (the search is polishing one basin)."""
        return self.stale_after is not None and self._state.trials_since_gain(self.stale_gain) >= self.stale_after

    @property
    def exploration(self) -> float:
        """The share of a batch that explores now: ``stale_epsilon`` while stale or in the first
        ``explore_first`` trials, else ``epsilon``."""
        return self._share(self.stale)

    def _share(self, stale: bool) -> float:
        explore = stale or len(self._state.history) < self.explore_first
        return max(self.epsilon, self.stale_epsilon) if explore else self.epsilon

    def propose(self, k: int) -> list[Any]:
        stale = self.stale  # one pass over the history per batch
        share = self._share(stale)
        n_random = int(round(share * k))
        if share > 0 and k > 1:
            n_random = max(n_random, 1)  # keep exploring even in small batches: round(4 * 0.1) == 0
        vetted = n_random // 2  # half the exploration: the best-scored of the random samples scored anyway
        reshaped_n = (n_random - vetted) // 2 if stale else 0  # a quarter of stale exploration
        taken = set(self._programs(list(self._state.configs.values())).values())  # measured, then picked
        chosen = self._guided(k - n_random, vetted, taken) if self.score is not None else []
        chosen += self._reshaped(reshaped_n, taken)
        self._state.mark(chosen)
        out = chosen + self._random(k - len(chosen), taken)
        self._state.mark(out[len(chosen):])
        return out

    def _reshaped(self, n: int, taken: set[Any], tries: int = 8) -> list[Any]:
        """Up to ``n`` register-tile reshapes (``space.exchange`` at the innermost level) of the best
        measured Configs, best first, none of a program in ``taken``; adds their programs to it."""
        if n <= 0 or self._exchange is None:
            return []
        out: list[Any] = []
        for parent in self._state.best(self.elite):
            if not self.space.is_valid(parent):
                continue
            moves = _unique([m for m in (self._exchange(parent, self.rng, innermost=True) for _ in range(tries)) if m is not None])
            out += self._new_programs([m for m in moves if m.to_json() not in self._state.seen], n - len(out), taken)
            if len(out) == n:
                break
        return out

    def _random(self, n: int, taken: set[Any], rounds: int = 4) -> list[Any]:
        """``n`` fresh random Configs, passing over those of a program in ``taken`` (measured or
        picked already) while the draws find others; adds the programs it picks to ``taken``."""
        if self.identity is None:
            return self._state.fresh_random(n)
        out: list[Any] = []
        for _ in range(rounds):
            draws = [c for c in self._state.fresh_random(2 * (n - len(out))) if c not in out]
            if not draws:
                break
            out += self._new_programs(draws, n - len(out), taken)
            if len(out) == n:
                return out
        return out + [c for c in self._state.fresh_random(n + len(out)) if c not in out][: n - len(out)]

    def _new_programs(self, configs: list[Any], n: int, taken: set[Any], program: dict[str, Any] | None = None) -> list[Any]:
        """The first ``n`` of ``configs`` whose program is not in ``taken`` nor of an earlier one; adds
        their programs to ``taken``. ``program``: their keys (``_programs``) where known already."""
        program = program if program is not None else self._programs(configs)
        out: list[Any] = []
        for c in configs:
            if len(out) < n and program[c.to_json()] not in taken:
                taken.add(program[c.to_json()])
                out.append(c)
        return out

    def _scores(self, configs: list[Any], score: Score | None = None) -> np.ndarray | None:
        """Scores of ``configs`` by ``score`` (the model's by default), -inf for a NaN; None while it has learnt nothing."""
        score = score or self.score
        s = score(configs) if configs else np.zeros(0)  # type: ignore[misc]
        if s is None:
            return None
        s = np.asarray(s, dtype=np.float64)
        return np.where(np.isfinite(s), s, -np.inf)

    def _guided(self, k: int, vetted: int, taken: set[Any]) -> list[Any]:
        """``k`` picks from the evolved population, then ``vetted`` best-scored fresh random samples,
        none of a program in ``taken`` (the measured ones); adds the programs it picks to ``taken``."""
        if k + vetted <= 0:
            return []
        evolved = self._evolve()
        if evolved is None:
            return []
        scored, samples, screened = evolved
        fresh_keys = sorted((key for key in scored if key not in self._state.seen), key=lambda key: -scored[key][1])
        fresh = [scored[key][0] for key in fresh_keys]
        new_samples = [scored[key][0] for key in fresh_keys if key in samples]
        if screened:  # the model rescores the screen's shortlist
            fresh, new_samples = fresh[: self.shortlist * k], new_samples[: self.shortlist * vetted]
            final = _unique(fresh + new_samples)
            final_scores = self._scores(final)
            if final_scores is None:
                return []
            scored.update((c.to_json(), (c, s)) for c, s in zip(final, final_scores))
            fresh.sort(key=lambda c: -scored[c.to_json()][1])
            new_samples.sort(key=lambda c: -scored[c.to_json()][1])
        program = self._programs(fresh + new_samples)
        ranked = [c for c in _first_of_each(fresh, program) if program[c.to_json()] not in taken]
        picked = diverse_pick(ranked[: self.diversity * k], k)
        taken |= {program[c.to_json()] for c in picked}
        return picked + self._new_programs(new_samples, vetted, taken, program)

    def _evolve(self) -> tuple[dict[str, tuple[Any, float]], set[str], bool] | None:
        """Every candidate of every generation with its score, the random samples' JSON, and whether
        the screen gave the scores (else the model); None while neither has learnt anything."""
        # stored trials of an older space may not fit this one: only valid parents breed
        parents = [c for c in self._state.best(self.elite) if self.space.is_valid(c)]
        size = self.population if self.screen is not None else self.model_population
        samples = self.space.sample(max(size - len(parents), 0), self.rng)
        pop = _unique(parents + samples)
        scores = self._scores(pop, self.screen) if self.screen is not None else None
        rank = self.screen if scores is not None else self.score  # the screen ranks once it has learnt
        if scores is None:  # the model ranks alone: a population it can afford to featurize
            size = self.model_population
            samples = samples[: max(size - len(parents), 0)]
            pop = _unique(parents + samples)
            scores = self._scores(pop)
        if scores is None:
            return None
        scored = {c.to_json(): (c, s) for c, s in zip(pop, scores)}
        for _ in range(self.generations):
            children = _unique([self._child(pop, scores) for _ in range(size)])
            children = [c for c in children if self.space.is_valid(c)]
            merged = _unique(pop + children)
            merged_scores = self._scores(merged, rank)
            assert merged_scores is not None
            scored.update((c.to_json(), (c, s)) for c, s in zip(merged, merged_scores))
            order = np.argsort(-merged_scores, kind="stable")[:size]
            pop, scores = [merged[i] for i in order], merged_scores[order]
        return scored, {c.to_json() for c in samples}, rank is not self.score

    def _programs(self, configs: list[Any]) -> dict[str, Any]:
        """Config JSON -> the key of the program it schedules (by ``identity``; its own JSON where unknown)."""
        keys = self.identity(configs) if self.identity is not None and configs else [None] * len(configs)
        return {c.to_json(): (key if key is not None else c.to_json()) for c, key in zip(configs, keys)}

    def _pick(self, pop: list[Any], scores: np.ndarray) -> Any:
        i, j = self.rng.integers(len(pop), size=2)
        return pop[i] if scores[i] >= scores[j] else pop[j]

    def _child(self, pop: list[Any], scores: np.ndarray) -> Any:
        a = self._pick(pop, scores)
        if self.rng.random() < self.crossover_prob:
            return self.space.crossover(a, self._pick(pop, scores), self.rng)
        if self._exchange is not None and self.rng.random() < self.exchange_prob:
            moved = self._exchange(a, self.rng)
            if moved is not None:
                return moved
        near = self.space.neighbors(a, self.rng, k=4)
        return near[int(self.rng.integers(len(near)))] if near else a


def diverse_pick(ranked: Sequence[Any], k: int) -> list[Any]:
    """``k`` of ``ranked`` (best first), each pick maximising its rank (1 for the first, 0 for the
    last) plus the share of its knob values that no earlier pick has (AutoTVM's submodular pick)."""
    n = len(ranked)
    if n <= k:
        return list(ranked)
    values = [{(name, repr(v)) for name, v in c.items()} for c in ranked]
    covered: set[tuple[str, str]] = set()
    left, picked = list(range(n)), []
    for _ in range(k):
        best = max(left, key=lambda i: (1.0 - i / (n - 1) + len(values[i] - covered) / max(len(values[i]), 1), -i))
        left.remove(best)
        picked.append(best)
        covered |= values[best]
    return [ranked[i] for i in picked]


def _unique(configs: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for c in configs:
        seen.setdefault(c.to_json(), c)
    return list(seen.values())


def _first_of_each(configs: list[Any], program: dict[str, Any]) -> list[Any]:
    """``configs`` without those whose program an earlier one schedules."""
    seen: set[Any] = set()
    out = []
    for c in configs:
        if program[c.to_json()] not in seen:
            seen.add(program[c.to_json()])
            out.append(c)
    return out
