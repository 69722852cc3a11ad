"""Target names a user types (``cpu``, ``cuda``, ``cuda:sm_90``) and the Targets they mean."""

from __future__ import annotations

from typing import Callable

from .cpu import host_cpu
from .cuda import cuda_target
from .target import Target

TARGETS: dict[str, Callable[[str | None], Target]] = {
    "cpu": lambda arg: host_cpu(int(arg) if arg else None),
    "cuda": lambda arg: cuda_target(arg),
}


class UnknownTargetError(ValueError):
    pass


def get_target(name: str) -> Target:
    """``get_target("cpu")``, ``get_target("cuda:sm_90")``; unknown names list the known ones."""
    base, _, arg = name.partition(":")
    if base not in TARGETS:
        raise UnknownTargetError(f"unknown target {name!r}; expected one of {sorted(TARGETS)}")
    return TARGETS[base](arg or None)
