"""Static facts of a stored workload, read from its canonical text: FLOPs, bytes, int8 or not."""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: element types whose trials go on the "speed against accuracy loss" chart
INT8_DTYPES = frozenset({"int8", "uint8"})


@dataclass(frozen=True)
class WorkloadFacts:
    """FLOPs of one evaluation, bytes of its inputs and outputs, and its dims in declared order.

    The numbers are None where the text does not parse.
    """

    flops: int | None
    bytes_moved: int | None
    dims: tuple[str, ...] = ()


def facts_of(text: str) -> WorkloadFacts:
    """Parse the canonical op text (``dsl.parse``) and count; an unreadable text gives no numbers.

    A database may hold workloads written by another opforge version; the report still lists
    them, without GFLOP/s.
    """
    from dsl.analysis import bytes_moved
    from dsl.parser import parse

    try:
        op = parse(text)
        return WorkloadFacts(int(op.flops()), int(bytes_moved(op)), tuple(op.sizes))
    except Exception as e:  # noqa: BLE001 - any unreadable workload only loses its GFLOP/s
        logger.info("no FLOP count for a stored workload: %s", e)
        return WorkloadFacts(None, None)


def is_int8(dtypes: tuple[str, ...]) -> bool:
    """Whether a workload computes on 8-bit integers."""
    return any(d in INT8_DTYPES for d in dtypes)


def quantized(config_json: str) -> bool:
    """Whether a Config turns a ``*.quantize`` knob on (any value but ``"none"``/``false``/``"off"``)."""
    import json

    try:
        config = json.loads(config_json)
    except ValueError:
        return False
    if not isinstance(config, dict):
        return False
    return any(k.split(".")[-1] == "quantize" and v not in ("none", "off", False, None) for k, v in config.items())
