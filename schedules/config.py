"""Config: one value per knob, an immutable mapping with a canonical JSON text.

A Config holds opforge's own knob values (not TVM's trace), so a stored record keeps its
meaning when TVM changes its trace format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Union

from .errors import ScheduleError

Value = Union[int, str, bool, tuple[int, ...]]


def normalize_value(name: str, value: Any) -> Value:
    """``value`` as a Config value: bool, int, str or a tuple of ints (lists become tuples)."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int) or (hasattr(value, "__index__") and not isinstance(value, float)):
        return int(value)
    if isinstance(value, (list, tuple)):
        items = []
        for x in value:
            if isinstance(x, bool) or not (isinstance(x, int) or hasattr(x, "__index__")):
                raise ScheduleError(f"knob {name}: tuple value {value!r} holds {x!r}; a tuple value holds ints only")
            items.append(int(x))
        return tuple(items)
    raise ScheduleError(f"knob {name}: value {value!r} is a {type(value).__name__}; expected an int, a str, a bool or a tuple of ints")


@dataclass(frozen=True)
class Config(Mapping[str, Value]):
    """One value per knob: ``Config.of({"C.tile.i": (8, 16, 2, 4), "C.vectorize": True})``.

    ``values`` is sorted by knob name, so two configs with the same values compare and hash equal.
    """

    # the field the contract names; it shadows Mapping.values(), so iterate items() instead
    values: tuple[tuple[str, Value], ...]  # type: ignore[assignment]

    def __post_init__(self) -> None:
        names = [k for k, _ in self.values]
        if names != sorted(names) or len(set(names)) != len(names):
            raise ScheduleError("Config.values must be sorted by knob name without repeats; build configs with Config.of(mapping)")

    @classmethod
    def of(cls, mapping: Mapping[str, Any]) -> "Config":
        """A Config from any mapping of knob name to value (lists are read as tuples)."""
        for k in mapping:
            if not isinstance(k, str):
                raise ScheduleError(f"knob names are strings; got {k!r}")
        return cls(tuple(sorted((k, normalize_value(k, v)) for k, v in mapping.items())))

    # Mapping ------------------------------------------------------------------
    def __getitem__(self, name: str) -> Value:
        for k, v in self.values:
            if k == name:
                return v
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self.values)

    def __len__(self) -> int:
        return len(self.values)

    def _typed(self) -> tuple[tuple[str, str, Value], ...]:
        # True == 1 in Python; a config with true for a knob is not the one with 1
        return tuple((k, type(v).__name__, v) for k, v in self.values)

    def __hash__(self) -> int:
        return hash(self._typed())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self._typed() == other._typed()
        return NotImplemented

    # typed reads, for the rule sets ------------------------------------------------
    def integer(self, name: str) -> int:
        v = self[name]
        if isinstance(v, bool) or not isinstance(v, int):
            raise ScheduleError(f"knob {name}: value {v!r} is not an int")
        return v

    def ints(self, name: str) -> tuple[int, ...]:
        v = self[name]
        if not isinstance(v, tuple):
            raise ScheduleError(f"knob {name}: value {v!r} is not a tuple of ints")
        return v

    def text(self, name: str) -> str:
        v = self[name]
        if not isinstance(v, str):
            raise ScheduleError(f"knob {name}: value {v!r} is not a string")
        return v

    def flag(self, name: str) -> bool:
        v = self[name]
        if not isinstance(v, bool):
            raise ScheduleError(f"knob {name}: value {v!r} is not true or false")
        return v

    # JSON ---------------------------------------------------------------------
    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces, tuples as lists."""
        return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in self.values}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Config":
        """The Config that ``to_json`` wrote; a JSON object of knob name to value."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ScheduleError(f"config is not valid JSON ({e}); expected an object such as {{\"C.vectorize\": true}}") from None
        if not isinstance(data, dict):
            raise ScheduleError(f"config JSON must be an object of knob name to value, got {type(data).__name__}")
        return cls.of(data)

    def replace(self, **changes: Any) -> "Config":
        """A copy with some knobs changed (dotted names: ``cfg.replace(**{"C.unroll": 64})``)."""
        merged = dict(self.values)
        merged.update(changes)
        return Config.of(merged)

    def __repr__(self) -> str:
        return f"Config({self.to_json()})"
