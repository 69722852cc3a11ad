"""Grid search: every valid Config of a small space, in knob order, each once."""

from __future__ import annotations

import itertools
from typing import Any, Iterator, Sequence

import numpy as np

from .base import Score, SearchState

#: spaces larger than this are refused: enumerate them and the run never ends
MAX_GRID = 100_000


class GridStrategy:
    def __init__(self, space: Any, rng: np.random.Generator, score: Score | None = None) -> None:
        if space.size > MAX_GRID:
            raise ValueError(
                f"grid search over {space.size} configs exceeds {MAX_GRID}; use the 'evolutionary' or 'random' strategy"
            )
        self._state = SearchState(space, rng)
        self._points = self._enumerate(space)

    @staticmethod
    def _enumerate(space: Any) -> Iterator[Any]:
        from schedules.config import Config

        names = [k.name for k in space.knobs]
        for values in itertools.product(*(k.choices for k in space.knobs)):
            cfg = Config.of(dict(zip(names, values)))
            if space.is_valid(cfg):
                yield cfg

    def propose(self, k: int) -> list[Any]:
        out = []
        for cfg in self._points:
            if cfg.to_json() not in self._state.seen:
                out.append(cfg)
                if len(out) == k:
                    break
        self._state.mark(out)
        return out

    def observe(self, configs: Sequence[Any], results: Sequence[Any]) -> None:
        self._state.observe(configs, results)
