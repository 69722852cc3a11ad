"""Random search: uniform samples of the space, never one seen before. The baseline to beat."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .base import Score, SearchState


class RandomStrategy:
    def __init__(self, space: Any, rng: np.random.Generator, score: Score | None = None) -> None:
        self._state = SearchState(space, rng)

    def propose(self, k: int) -> list[Any]:
        out = self._state.fresh_random(k)
        self._state.mark(out)
        return out

    def observe(self, configs: Sequence[Any], results: Sequence[Any]) -> None:
        self._state.observe(configs, results)
