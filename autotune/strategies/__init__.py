"""Search strategies behind a registry: ``make_strategy("evolutionary", space, rng, score)``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .base import Score, SearchState, Strategy, cost_of
from .evolutionary import EvolutionaryStrategy
from .grid import GridStrategy
from .random import RandomStrategy

STRATEGIES: dict[str, Callable[..., Strategy]] = {
    "evolutionary": EvolutionaryStrategy,
    "random": RandomStrategy,
    "grid": GridStrategy,
}
DEFAULT_STRATEGY = "evolutionary"


def make_strategy(name: str, space: Any, rng: np.random.Generator, score: Score | None = None, **options: Any) -> Strategy:
    """The strategy registered as ``name``; ``score`` guides those that use a cost model."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown search strategy {name!r}; expected one of {sorted(STRATEGIES)}")
    return STRATEGIES[name](space, rng, score, **options)


__all__ = [
    "DEFAULT_STRATEGY", "STRATEGIES", "EvolutionaryStrategy", "GridStrategy", "RandomStrategy", "Score",
    "SearchState", "Strategy", "cost_of", "make_strategy",
]
