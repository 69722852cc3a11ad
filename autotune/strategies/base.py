"""What every strategy shares: ask/tell, and never proposing a Config twice.

``propose(k)`` returns up to ``k`` distinct Configs never proposed or observed before (fewer
only when the space has no more); ``observe(configs, results)`` reports what measuring them gave
(including trials from an earlier run, on resume). ``score`` is the cost model's opinion of a
batch of Configs, higher = faster, or None while it has learnt nothing.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Protocol, Sequence

import numpy as np

Score = Callable[[Sequence[Any]], "np.ndarray | None"]


class Strategy(Protocol):
    def propose(self, k: int) -> list[Any]: ...

    def observe(self, configs: Sequence[Any], results: Sequence[Any]) -> None: ...


def cost_of(result: Any) -> float:
    """Seconds of a result (a MeasureResult, or a plain number); inf for a failure."""
    cost = result if isinstance(result, (int, float)) else result.cost
    return float(cost) if cost == cost else math.inf  # NaN counts as a failure


class SearchState:
    """Configs seen so far (proposed or observed) and the cost of each observed one."""

    def __init__(self, space: Any, rng: np.random.Generator) -> None:
        self.space = space
        self.rng = rng
        self.seen: set[str] = set()
        self.costs: dict[str, float] = {}
        self.configs: dict[str, Any] = {}
        self.history: list[float] = []  # cost of each observed trial, in order

    def mark(self, configs: Sequence[Any]) -> None:
        for c in configs:
            self.seen.add(c.to_json())

    def observe(self, configs: Sequence[Any], results: Sequence[Any]) -> None:
        if len(configs) != len(results):
            raise ValueError(f"observe got {len(configs)} configs and {len(results)} results")
        for c, r in zip(configs, results):
            key = c.to_json()
            self.seen.add(key)
            self.configs[key] = c
            self.costs[key] = min(self.costs.get(key, math.inf), cost_of(r))
            self.history.append(cost_of(r))

    def best(self, n: int) -> list[Any]:
        """The ``n`` fastest measured Configs that did not fail."""
        ranked = sorted((cost, key) for key, cost in self.costs.items() if math.isfinite(cost))
        return [self.configs[key] for _, key in ranked[:n]]

    def trials_since_gain(self, min_gain: float = 0.0) -> int:
        """Trials observed since the best cost last fell by more than ``min_gain`` (a share) below
        the best at the gain before; all of them while none succeeded. Small steps add up: five 1%
        steps are one 5% gain."""
        best, since = math.inf, 0
        for cost in self.history:
            if cost < best * (1.0 - min_gain):  # inf * (1 - g) is inf: the first success counts
                best, since = cost, 0
            else:
                since += 1
        return since

    def fresh_random(self, k: int, max_rounds: int = 8) -> list[Any]:
        """Up to ``k`` random valid Configs not seen before (fewer once the space runs dry)."""
        out: list[Any] = []
        keys: set[str] = set()
        for _ in range(max_rounds):
            if len(out) >= k:
                break
            for c in self.space.sample(2 * (k - len(out)) + 4, self.rng):
                key = c.to_json()
                if key not in self.seen and key not in keys:
                    out.append(c)
                    keys.add(key)
                    if len(out) == k:
                        break
        return out
