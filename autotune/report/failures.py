"""Failed trials by reason: what each stored status means to a person, and messages grouped by pattern."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from .model import FailureGroup

#: stored status -> the reason a person reads (run_error: the kernel crashed or raised)
REASONS: dict[str, str] = {
    "build_error": "build error",
    "timeout": "timeout",
    "run_error": "crash",
    "wrong_result": "wrong result",
}

# a number standing alone (not the 2 of "L2" or the 90 of "sm_90")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_PATTERN_CHARS = 120


def reason_of(status: str) -> str:
    """The reason shown for a failed trial's stored status."""
    try:
        return REASONS[status]
    except KeyError:
        raise ValueError(f"status {status!r} is not a failure; expected one of {sorted(REASONS)}") from None


def pattern_of(error: str | None) -> str:
    """An error's first line with numbers and addresses blanked, so trials failing alike group together."""
    if not error:
        return "(no message stored)"
    first = error.strip().splitlines()[0] if error.strip() else ""
    return _NUMBER.sub("N", _HEX.sub("0x…", first))[:_PATTERN_CHARS] or "(no message stored)"


class FailureTally:
    """Counts failures by (reason, message pattern) and by op, keeping the first message of each."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._examples: dict[tuple[str, str], str] = {}
        self._by_op: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)

    def add(self, status: str, error: str | None, op_name: str) -> None:
        key = (reason_of(status), pattern_of(error))
        self._counts[key] += 1
        self._examples.setdefault(key, (error or "").strip()[:400])
        self._by_op[key][op_name] += 1

    def add_all(self, items: Iterable[tuple[str, str | None, str]]) -> None:
        for status, error, op_name in items:
            self.add(status, error, op_name)

    def groups(self) -> tuple[FailureGroup, ...]:
        """Groups in reason order (build error, timeout, crash, wrong result), most common first."""
        order = {r: i for i, r in enumerate(REASONS.values())}
        keys = sorted(self._counts, key=lambda k: (order[k[0]], -self._counts[k], k[1]))
        return tuple(
            FailureGroup(reason, pattern, self._examples[(reason, pattern)], self._counts[(reason, pattern)], dict(self._by_op[(reason, pattern)]))
            for reason, pattern in keys
        )
