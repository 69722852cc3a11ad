"""Tile-factor domains: the ways to split one loop into levels.

A split of a loop of ``extent`` into ``levels`` loops is written outermost first,
``(outer, f1, ..., f_last)``, with ``outer = ceil(extent / (f1 * ... * f_last))``. Two kinds
of splits are offered: *perfect* ones, whose factors all divide the extent (no guard), and,
for an extent no multiple of 8 up to 64 divides (17, 97, 100), *power-of-two* ones, which need
not divide it: TVM's split then adds a predicate (``T.where``) to the block, so the extra
iterations do nothing and the result stays exact. An extent with such a divisor (56, 1000)
gets perfect splits only: a guarded tail there is slower than a perfect tile (extra work and a
branch per inner step), and it would only widen the search.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence


def divisors(n: int) -> tuple[int, ...]:
    small = [d for d in range(1, int(math.isqrt(n)) + 1) if n % d == 0]
    return tuple(sorted(set(small + [n // d for d in small])))


def powers_of_two(limit: int) -> tuple[int, ...]:
    out, p = [], 1
    while p <= limit:
        out.append(p)
        p *= 2
    return tuple(out)


def needs_guarded_splits(extent: int) -> bool:
    """Whether perfect splits lack a vector-friendly tile: no multiple of 8 up to 64 divides ``extent``
    (past 8: a loop that short is one tile anyway)."""
    return extent > 8 and not any(extent % d == 0 for d in range(8, 65, 8))


@lru_cache(maxsize=4096)
def split_choices(extent: int, levels: int, max_innermost: int | None = None) -> tuple[tuple[int, ...], ...]:
    """Every split of ``extent`` into ``levels`` loops offered as a knob domain.

    ``max_innermost`` caps the innermost factor (it is unrolled or vectorized, so it must stay
    small). The order is deterministic: perfect splits and power-of-two splits, sorted.
    """
    if extent < 1 or levels < 1:
        raise ValueError(f"cannot split extent {extent} into {levels} levels")
    if levels == 1:
        return ((extent,),)
    cap = extent if max_innermost is None else max(1, min(extent, max_innermost))
    inner: set[tuple[int, ...]] = set()

    def perfect(rest: int, k: int, prefix: tuple[int, ...]) -> None:
        if k == 0:
            inner.add(prefix)
            return
        for d in divisors(rest):
            if k == 1 and d > cap:
                continue
            perfect(rest // d, k - 1, prefix + (d,))

    def pow2(budget: int, k: int, prefix: tuple[int, ...]) -> None:
        if k == 0:
            inner.add(prefix)
            return
        for p in powers_of_two(budget):
            if k == 1 and p > cap:
                continue
            pow2(budget // p, k - 1, prefix + (p,))

    perfect(extent, levels - 1, ())
    if needs_guarded_splits(extent):
        pow2(extent, levels - 1, ())
    out = {(math.ceil(extent / math.prod(f)),) + f for f in inner}
    return tuple(sorted(out))


def pick_split(
    extent: int, levels: int, wants: tuple[int, ...], max_innermost: int | None = None, choices: Sequence[tuple[int, ...]] | None = None
) -> tuple[int, ...]:
    """The offered split (of ``choices``, by default ``split_choices``) closest to the wished inner
    factors ``wants`` (innermost last), for defaults.

    Closeness is the sum of |log2| distances of the inner factors; a guard-free split wins ties.
    """
    choices = choices if choices is not None else split_choices(extent, levels, max_innermost)

    def cost(c: tuple[int, ...]) -> tuple[float, int, tuple[int, ...]]:
        dist = sum(abs(math.log2(f) - math.log2(max(w, 1))) for f, w in zip(c[1:], wants))
        guarded = int(math.prod(c) != extent)
        return (dist, guarded, c)

    return min(choices, key=cost)
