"""Knob and Space: named finite domains, and everything the search asks of them.

Knobs are independent of each other: every combination of in-domain values is a valid
config. That keeps ``is_valid``, sampling, mutation and crossover exact and cheap; a rule that
would need a constraint between two knobs chooses a meaning that is legal for every value
instead (see the rule sets' docstrings).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .config import Config, Value, normalize_value
from .errors import ScheduleError

#: the share of one-knob mutations that take a value next to the current one (the rest: any other)
NEAR_SHARE = 0.5


@dataclass(frozen=True)
class Knob:
    """One decision of a schedule: ``Knob("C.unroll", (0, 16, 64, 512))``.

    ``doc`` says what the knob does (``opforge space`` prints it); ``default`` is the value of
    an untuned schedule (the first choice when not given).
    """

    name: str
    choices: tuple[Value, ...]
    doc: str = ""
    default: Value | None = None

    def __post_init__(self) -> None:
        choices = tuple(normalize_value(self.name, c) for c in self.choices)
        if not choices:
            raise ScheduleError(f"knob {self.name} has an empty domain")
        if len(set(choices)) != len(choices):
            raise ScheduleError(f"knob {self.name} repeats a choice in {choices!r}")
        object.__setattr__(self, "choices", choices)
        if self.default is not None:
            d = normalize_value(self.name, self.default)
            if d not in choices:
                raise ScheduleError(f"knob {self.name}: default {d!r} is not one of its choices {_preview(choices)}")
            object.__setattr__(self, "default", d)

    @property
    def initial(self) -> Value:
        return self.choices[0] if self.default is None else self.default

    def describe_domain(self, limit: int = 8) -> str:
        return _preview(self.choices, limit)


def format_value(v: Value) -> str:
    """A value as a person reads it: ``(8,16,2,4)``, ``true``, ``'inline'``, ``64``."""
    if isinstance(v, tuple):
        return "(" + ",".join(str(x) for x in v) + ")"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, str) else str(v)


def _preview(choices: Sequence[Value], limit: int = 8) -> str:
    if len(choices) <= limit:
        return "{" + ", ".join(format_value(c) for c in choices) + "}"
    head = ", ".join(format_value(c) for c in choices[: limit - 2])
    return "{" + f"{head}, ..., {format_value(choices[-1])}" + "} " + f"({len(choices)} choices)"


@dataclass(frozen=True)
class Space:
    """The schedules of one program for one target: a tuple of independent knobs."""

    knobs: tuple[Knob, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "knobs", tuple(self.knobs))
        names = [k.name for k in self.knobs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ScheduleError(f"space repeats knob names {dup}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.knobs)

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        raise ScheduleError(f"unknown knob {name!r}; this space's knobs are {list(self.names)}")

    @property
    def size(self) -> int:
        """Product of the domain sizes (an exact int, possibly huge)."""
        return math.prod(len(k.choices) for k in self.knobs)

    # validity -----------------------------------------------------------------
    def check(self, cfg: Config) -> None:
        """Raise ScheduleError naming the first knob whose value is missing, unknown or out of domain."""
        known = set(self.names)
        extra = sorted(set(cfg) - known)
        if extra:
            raise ScheduleError(f"config sets unknown knob {extra[0]!r} (value {cfg[extra[0]]!r}); this space's knobs are {sorted(known)}")
        for k in self.knobs:
            if k.name not in cfg:
                raise ScheduleError(f"config has no value for knob {k.name}; valid values are {k.describe_domain()}")
            v = cfg[k.name]
            # True == 1 in Python: a bool must not pass for an int knob (or the reverse)
            if not any(c == v and type(c) is type(v) for c in k.choices):
                hint = _hint(k, v)
                raise ScheduleError(f"knob {k.name}: value {format_value(v)} is not valid; valid values are {k.describe_domain()}{hint}")

    def is_valid(self, cfg: Config) -> bool:
        try:
            self.check(cfg)
        except ScheduleError:
            return False
        return True

    # search -------------------------------------------------------------------
    def default(self) -> Config:
        """The untuned starting point the rule set chose for each knob."""
        return Config.of({k.name: k.initial for k in self.knobs})

    def sample(self, n: int, rng: np.random.Generator) -> list[Config]:
        """``n`` configs drawn uniformly per knob; distinct while the space has that many."""
        out: list[Config] = []
        seen: set[Config] = set()
        distinct = min(n, self.size)
        attempts = 0
        while len(out) < n:
            cfg = Config.of({k.name: k.choices[int(rng.integers(len(k.choices)))] for k in self.knobs})
            attempts += 1
            if cfg in seen and len(seen) < distinct and attempts < 50 * n:
                continue
            seen.add(cfg)
            out.append(cfg)
        return out

    def neighbors(self, cfg: Config, rng: np.random.Generator, k: int = 8, near: float = NEAR_SHARE) -> list[Config]:
        """Up to ``k`` distinct configs that differ from ``cfg`` in exactly one knob.

        A share ``near`` of them takes a value next to the current one (``near_choice``: a tile
        factor moved between two levels, the next unroll depth), the rest any other value: a
        uniformly drawn split of a long loop is a jump, not a step, so refining a good tile needs both.
        """
        self.check(cfg)
        mutable = [kn for kn in self.knobs if len(kn.choices) > 1]
        total = sum(len(kn.choices) - 1 for kn in mutable)
        out: list[Config] = []
        seen: set[Config] = {cfg}
        attempts = 0
        while mutable and len(out) < min(k, total) and attempts < 50 * k:
            attempts += 1
            kn = mutable[int(rng.integers(len(mutable)))]
            current = kn.choices.index(cfg[kn.name])
            if rng.random() < near:
                value = near_choice(kn.choices, current, rng)
            else:
                pick = int(rng.integers(len(kn.choices) - 1))
                value = kn.choices[pick + (pick >= current)]
            new = cfg.replace(**{kn.name: value})
            if new not in seen:
                seen.add(new)
                out.append(new)
        return out

    def exchange(self, cfg: Config, rng: np.random.Generator, innermost: bool = False) -> Config | None:
        """``cfg`` with a prime factor moved between the same level of two tile knobs of one block
        (equal-length tuples, names alike up to the first dot), each knob's other levels changed as
        little as its domain allows; None when no such move exists.

        The product of that level over the two loops stays, so the register tile keeps its number of
        accumulators: conv2d's 16 accumulators of 1 row x 16 output channels become 2 x 8, which
        loads fewer vectors per FMA. A one-knob move gets there only through a tile of 32
        accumulators (spilled, slow) or of 8 (half idle), which the model then learns to avoid.
        ``innermost``: that level only (the register tile).
        """
        self.check(cfg)
        pairs = self._tile_pairs
        for _ in range(4 * len(pairs)):
            a, b = pairs[int(rng.integers(len(pairs)))]
            va, vb = _factors(cfg[a.name]), _factors(cfg[b.name])
            level = len(va) - 1 if innermost else 1 + int(rng.integers(len(va) - 1))
            primes = _prime_factors(va[level])
            if not primes:
                continue
            p = primes[int(rng.integers(len(primes)))]
            new_a = _closest_with(a.choices, va, level, va[level] // p, rng)
            new_b = _closest_with(b.choices, vb, level, vb[level] * p, rng)
            if new_a is not None and new_b is not None:
                return cfg.replace(**{a.name: new_a, b.name: new_b})
        return None

    @functools.cached_property
    def _tile_pairs(self) -> list[tuple[Knob, Knob]]:
        """Ordered pairs of tile knobs ``exchange`` may move a factor between (computed once: it runs per child)."""
        tiles = [kn for kn in self.knobs if len(kn.choices) > 1 and _coordinates(kn.choices) is not None and isinstance(kn.initial, tuple)]
        return [(a, b) for a in tiles for b in tiles
                if a is not b and len(a.initial) == len(b.initial) > 1 and a.name.split(".")[0] == b.name.split(".")[0]]  # type: ignore[arg-type]

    def crossover(self, a: Config, b: Config, rng: np.random.Generator) -> Config:
        """Each knob's value taken from ``a`` or ``b`` with equal chance (valid, as knobs are independent)."""
        self.check(a)
        self.check(b)
        take = rng.integers(2, size=len(self.knobs))
        return Config.of({kn.name: (a if t == 0 else b)[kn.name] for kn, t in zip(self.knobs, take)})

    def encode(self, cfg: Config) -> np.ndarray:
        """A fixed-length float vector: log2 of sizes, 0/1 for flags, the choice index for names."""
        self.check(cfg)
        feats: list[float] = []
        for kn in self.knobs:
            v = cfg[kn.name]
            if isinstance(v, bool):
                feats.append(float(v))
            elif isinstance(v, int):
                feats.append(math.log2(1 + max(v, 0)))
            elif isinstance(v, tuple):
                feats.extend(math.log2(max(x, 1)) for x in v)
            else:
                feats.append(float(kn.choices.index(v)))
        return np.asarray(feats, dtype=np.float64)

    def describe(self) -> list[tuple[str, str, int, str]]:
        """(name, domain preview, domain size, doc) per knob, for ``opforge space``."""
        return [(k.name, k.describe_domain(), len(k.choices), k.doc) for k in self.knobs]


def near_choice(choices: Sequence[Value], current: int, rng: np.random.Generator) -> Value:
    """A choice closest to ``choices[current]`` (ties at random): for tile factors ``(8, 16, 2, 4)``
    the nearest in log2, a factor moved between two levels (``(8, 32, 1, 4)``); for numbers such as
    ``(0, 16, 64, 512)`` the next one up or down; names and flags are all equally near."""
    coords = _coordinates(tuple(choices))
    if coords is None:
        pick = int(rng.integers(len(choices) - 1))
        return choices[pick + (pick >= current)]
    dist = np.abs(coords - coords[current]).sum(axis=1)
    dist[current] = np.inf
    nearest = np.flatnonzero(dist == dist.min())
    return choices[int(nearest[int(rng.integers(len(nearest)))])]


def _closest_with(choices: Sequence[Value], current: Value, level: int, factor: int, rng: np.random.Generator) -> Value | None:
    """The choice with ``factor`` at ``level`` nearest ``current`` in log2 (ties at random), or None."""
    coords = _coordinates(tuple(choices))
    assert coords is not None
    ok = np.flatnonzero(np.isclose(coords[:, level], np.log2(max(factor, 1))))
    if not ok.size:
        return None
    here = np.log2(np.maximum(np.asarray(current, dtype=np.float64), 1.0))
    dist = np.abs(coords[ok] - here).sum(axis=1)
    nearest = ok[dist == dist.min()]
    return choices[int(nearest[int(rng.integers(len(nearest)))])]


def _factors(v: Value) -> tuple[int, ...]:
    assert isinstance(v, tuple), v
    return v


def _prime_factors(n: int) -> list[int]:
    out, d = [], 2
    while d * d <= n:
        if n % d == 0:
            out.append(d)
            while n % d == 0:
                n //= d
        d += 1
    return out + ([n] if n > 1 else [])


@functools.lru_cache(maxsize=1024)
def _coordinates(choices: tuple[Value, ...]) -> np.ndarray | None:
    """One row per choice: log2 of each factor of a tuple, the rank of a number; None for names and flags."""
    if all(isinstance(c, int) and not isinstance(c, bool) for c in choices):
        ranks = {v: i for i, v in enumerate(sorted(choices))}  # type: ignore[type-var]
        return np.asarray([[ranks[c]] for c in choices], dtype=np.float64)
    if all(isinstance(c, tuple) for c in choices) and len({len(c) for c in choices}) == 1:  # type: ignore[arg-type]
        return np.log2(np.maximum(np.asarray(choices, dtype=np.float64), 1.0))
    return None


def _hint(k: Knob, v: Value) -> str:
    if isinstance(v, tuple) and k.choices and isinstance(k.choices[0], tuple):
        width = len(k.choices[0])
        if len(v) != width:
            return f"; a value is {width} tile factors, outermost first"
        return "; tile factors are (outer, ...inner) with outer = ceil(extent / product of the inner ones)"
    return ""
