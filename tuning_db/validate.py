"""Checks for entries that come from outside (an import file, another team's database).

Every field is checked for type, size and form before anything is stored; configs and traces
are parsed as data and matched against known knob forms and TVM schedule instruction names.
Nothing in a file is ever executed or unpickled.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from .records import STATUSES, STRATEGY_NAME, Record, TargetInfo, TvmModule, Workload

MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_TEXT_CHARS = 1024 * 1024
MAX_TRACE_CHARS = 2 * 1024 * 1024
MAX_ERROR_CHARS = 64 * 1024
MAX_KNOBS = 256
MAX_LIST_ITEMS = 64
MAX_REPEATS = 1000
MAX_KNOB_INT = 2**31 - 1
MAX_SIZE = 2**40
MAX_RUN_SECS = 86_400.0
MAX_JSON_DEPTH = 64

KEY = re.compile(r"^[0-9a-f]{64}$")
# knob names are "<stage>.<decision>[.<loop or buffer>]"; stage, loop and buffer names come from the op
KNOB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]*$")
DTYPE = re.compile(r"^[a-z][a-z0-9_]*$")
FINGERPRINT = re.compile(r"^[0-9a-z_\-]{1,64}$")
PRINTABLE = re.compile(r"^[\x20-\x7e]*$")

# the schedule instructions of TVM 0.27 (tvm.s_tir.schedule.InstructionKind); a test checks each is registered
INSTRUCTIONS = frozenset(
    """SampleCategorical SamplePerfectTile SamplePartitionedTile SampleComputeLocation GetSBlock GetLoops
    GetChildBlocks GetProducers GetConsumers GetOutputBlocks Merge Split LoopPartition Fuse Reorder
    ReorderBlockIterVar AddUnitLoop Parallel Vectorize Bind Unroll CacheRead CacheWrite ReindexCacheRead
    ReindexCacheWrite CacheInplace CacheIndex ReIndex ComputeAt ReverseComputeAt ComputeInline
    ReverseComputeInline DecomposeReduction RFactor StorageAlign SetScope UnsafeSetDType Blockize Tensorize
    Annotate Unannotate TransformLayout TransformBlockLayout DecomposePadding PadEinsum RollingBuffer
    EnterPostproc UnsafeHideBufferAccess AnnotateBufferAccess""".split()
)

_WORKLOAD_FIELDS = {"type", "key", "text", "op_name", "sizes", "dtypes"}
_TARGET_FIELDS = {"type", "name", "canonical", "fingerprint", "hardware"}
_RECORD_FIELDS = {"type"} | set(Record.__dataclass_fields__)
# a record without a strategy / calibration is exported without the field, as before schemas 0003 / 0005
_RECORD_OPTIONAL = frozenset({"strategy", "calibration"})
_TVM_MODULE_FIELDS = {"type"} | set(TvmModule.__dataclass_fields__)
SHASH = re.compile(r"^-?[0-9]{1,20}$")
# a trace saved with tvm.ir.save_json holds only these node types: plain values and number immediates
_TRACE_NODE_TYPES = {"ffi.String", "ffi.Array", "int", "float", "bool", "None", "ir.IntImm", "ir.FloatImm", "ir.PrimType"}


class InvalidEntry(ValueError):
    """One entry that cannot be accepted, with the reason."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidEntry(message)


def loads(text: str | bytes, what: str) -> Any:
    """Parse JSON strictly: no NaN/Infinity, no overflowing numbers, bounded nesting."""

    def no_constant(name: str) -> Any:
        raise InvalidEntry(f"{what}: {name} is not a number JSON allows")

    def bounded_int(digits: str) -> int:
        check(len(digits.lstrip("-")) <= 19, f"{what}: integer {digits[:24]}... is too large")
        return int(digits)

    def finite_float(digits: str) -> float:
        value = float(digits)
        check(math.isfinite(value), f"{what}: number {digits[:24]} is out of range")
        return value

    try:
        value = json.loads(text, parse_constant=no_constant, parse_int=bounded_int, parse_float=finite_float)
    except RecursionError:
        raise InvalidEntry(f"{what}: nested too deeply") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidEntry(f"{what}: not valid JSON ({e})") from None
    check(_depth(value) <= MAX_JSON_DEPTH, f"{what}: nested deeper than {MAX_JSON_DEPTH}")
    return value


Entry = Workload | TargetInfo | Record | TvmModule


def parse_line(text: str | bytes) -> Entry:
    """One exported line as the value it describes, or InvalidEntry saying what is wrong."""
    check(len(text) <= MAX_LINE_BYTES, f"line longer than {MAX_LINE_BYTES} bytes")
    entry = loads(text, "line")
    check(isinstance(entry, dict), "line is not a JSON object")
    kind = entry.get("type")
    parsers: dict[str, Callable[[dict[str, Any]], Entry]] = {
        "workload": workload_of,
        "target": target_of,
        "record": record_of,
        "tvm_module": tvm_module_of,
    }
    check(kind in parsers, f"unknown entry type {kind!r}; expected one of {sorted(parsers)}")
    return parsers[kind](entry)


def workload_of(entry: Mapping[str, Any]) -> Workload:
    _fields(entry, _WORKLOAD_FIELDS, "workload")
    key = _string(entry, "key", 64, KEY)
    sizes = entry["sizes"]
    check(isinstance(sizes, dict) and len(sizes) <= MAX_KNOBS, f"workload sizes must be an object of at most {MAX_KNOBS} names")
    for name, value in sizes.items():
        check(IDENT.match(name) is not None and len(name) <= 64, f"workload size name {name[:80]!r} is not an identifier")
        check(_is_int(value) and 0 <= value <= MAX_SIZE, f"workload size {name}={_short(value)} is not an integer in [0, {MAX_SIZE}]")
    dtypes = entry["dtypes"]
    check(isinstance(dtypes, list) and len(dtypes) <= MAX_LIST_ITEMS, "workload dtypes must be a list of dtype names")
    for dtype in dtypes:
        check(isinstance(dtype, str) and len(dtype) <= 32 and DTYPE.match(dtype) is not None, f"unknown dtype form {_short(dtype)}")
    return Workload(
        key=key,
        text=_string(entry, "text", MAX_TEXT_CHARS),
        op_name=_string(entry, "op_name", 128, IDENT),
        sizes=sizes,
        dtypes=tuple(dtypes),
    )


def target_of(entry: Mapping[str, Any]) -> TargetInfo:
    _fields(entry, _TARGET_FIELDS, "target")
    hardware = entry["hardware"]
    check(isinstance(hardware, dict), "target hardware must be an object")
    check(len(json.dumps(hardware)) <= 64 * 1024, "target hardware facts exceed 64 KiB")
    return TargetInfo(
        name=_string(entry, "name", 128, IDENT),
        canonical=_string(entry, "canonical", 4096, PRINTABLE),
        fingerprint=_string(entry, "fingerprint", 64, FINGERPRINT),
        hardware=hardware,
    )


def record_of(entry: Mapping[str, Any]) -> Record:
    _fields(entry, _RECORD_FIELDS, "record", optional=_RECORD_OPTIONAL)
    run_secs = entry["run_secs"]
    check(isinstance(run_secs, list) and len(run_secs) <= MAX_REPEATS, f"run_secs must be a list of at most {MAX_REPEATS} numbers")
    for secs in run_secs:
        check(_is_number(secs) and 0 <= secs <= MAX_RUN_SECS, f"run_secs value {_short(secs)} is not a time in [0, {MAX_RUN_SECS}] s")
    status = entry["status"]
    check(status in STATUSES, f"unknown status {_short(status)}; expected one of {list(STATUSES)}")
    check(status != "ok" or len(run_secs) > 0, "an ok record must have run_secs")
    config = _string(entry, "config", 64 * 1024)
    check_config(config)
    trace = entry["trace"]
    if trace is not None:
        check(isinstance(trace, str) and len(trace) <= MAX_TRACE_CHARS, f"trace must be JSON text of at most {MAX_TRACE_CHARS} chars")
        check_trace(trace)
    team = entry["team"]
    strategy = entry.get("strategy")
    calibration = entry.get("calibration")
    if calibration is not None:
        check_calibration(_string(entry, "calibration", 4096))
    return Record(
        workload_key=_string(entry, "workload_key", 64, KEY),
        target=_string(entry, "target", 4096, PRINTABLE),
        fingerprint=_string(entry, "fingerprint", 64, FINGERPRINT),
        config=config,
        trace=trace,
        run_secs=tuple(run_secs),
        status=status,
        error=None if entry["error"] is None else _string(entry, "error", MAX_ERROR_CHARS),
        max_abs_error=_error_metric(entry, "max_abs_error"),
        rel_l2_error=_error_metric(entry, "rel_l2_error"),
        opforge_version=_string(entry, "opforge_version", 64, PRINTABLE),
        tvm_version=_string(entry, "tvm_version", 64, PRINTABLE),
        host=_string(entry, "host", 255, PRINTABLE),
        team=None if team is None else _string(entry, "team", 255, PRINTABLE),
        created_at=_time(entry["created_at"]),
        strategy=None if strategy is None else _string(entry, "strategy", 32, STRATEGY_NAME),
        calibration=calibration,
    )


def tvm_module_of(entry: Mapping[str, Any]) -> TvmModule:
    _fields(entry, _TVM_MODULE_FIELDS, "tvm_module")
    module_json = _string(entry, "module_json", MAX_TEXT_CHARS)
    graph = loads(module_json, "module_json")  # kept as text; TVM loads it only when asked for that module
    check(isinstance(graph, dict) and isinstance(graph.get("nodes"), list), "module_json is not a TVM JSON node graph")
    return TvmModule(
        workload_key=_string(entry, "workload_key", 64, KEY),
        shash=_string(entry, "shash", 21, SHASH),
        module_json=module_json,
    )


def check_config(text: str) -> dict[str, Any]:
    """A Config's JSON: a flat object of knob name -> int | str | bool | list of int."""
    config = loads(text, "config")
    check(isinstance(config, dict), "config must be a JSON object of knob name -> value")
    check(len(config) <= MAX_KNOBS, f"config has {len(config)} knobs; at most {MAX_KNOBS}")
    for name, value in config.items():
        check(len(name) <= 64 and KNOB_NAME.match(name) is not None, f"unknown knob name form {name[:80]!r}; expected {KNOB_NAME.pattern}")
        if isinstance(value, bool):
            continue
        if _is_int(value):
            check(abs(value) <= MAX_KNOB_INT, f"knob {name}={value} is out of range (|v| <= {MAX_KNOB_INT})")
        elif isinstance(value, str):
            check(len(value) <= 128 and PRINTABLE.match(value) is not None, f"knob {name} has a string value that is not short printable text")
        elif isinstance(value, list):
            check(len(value) <= MAX_LIST_ITEMS, f"knob {name} lists {len(value)} values; at most {MAX_LIST_ITEMS}")
            for item in value:
                check(_is_int(item) and abs(item) <= MAX_KNOB_INT, f"knob {name} holds {_short(item)}; expected integers")
        else:
            raise InvalidEntry(f"knob {name} has a {type(value).__name__} value; expected int, str, bool or list of int")
    return config


def check_calibration(text: str) -> dict[str, Any]:
    """An activation calibration's JSON: {"activation": name, "absmax": number >= 0, "batches": int >= 0, "source": text}."""
    cal = loads(text, "calibration")
    check(isinstance(cal, dict) and set(cal) == {"activation", "absmax", "batches", "source"},
          "calibration must be an object of activation, absmax, batches and source")
    check(isinstance(cal["activation"], str) and KNOB_NAME.match(cal["activation"]) is not None, "calibration activation must be a tensor name")
    check(_is_number(cal["absmax"]) and 0 <= cal["absmax"] < 1e38, "calibration absmax must be a finite number >= 0")
    check(_is_int(cal["batches"]) and 0 <= cal["batches"] <= MAX_KNOB_INT, "calibration batches must be a count")
    check(isinstance(cal["source"], str) and len(cal["source"]) <= 1024 and PRINTABLE.match(cal["source"]) is not None,
          "calibration source must be short printable text")
    return cal


def check_trace(text: str) -> list[Any]:
    """A TVM schedule trace (plain ``trace.as_json()`` or ``tvm.ir.save_json`` of it) using known instructions."""
    trace = plain_trace(loads(text, "trace"))
    check(isinstance(trace, list) and len(trace) == 2 and isinstance(trace[0], list), "trace must be [instructions, decisions]")
    for inst in trace[0]:
        check(isinstance(inst, list) and len(inst) == 4 and isinstance(inst[0], str), "trace instruction must be [kind, inputs, attrs, outputs]")
        check(inst[0] in INSTRUCTIONS, f"unknown schedule primitive {inst[0][:80]!r} in trace")
    return trace


def plain_trace(value: Any) -> Any:
    """Undo ``tvm.ir.save_json`` for the plain node types a trace holds, without TVM."""
    if not (isinstance(value, dict) and "nodes" in value and "root_index" in value):
        return value
    nodes = value["nodes"]
    root = value["root_index"]
    check(isinstance(nodes, list) and _is_int(root) and 0 <= root < len(nodes), "trace node graph is malformed")
    done: dict[int, Any] = {}

    def build(index: int, depth: int) -> Any:
        check(_is_int(index) and 0 <= index < len(nodes), "trace node index out of range")
        check(depth <= MAX_JSON_DEPTH, "trace node graph nested too deeply")
        if index not in done:
            node = nodes[index]
            check(isinstance(node, dict), "trace node is not an object")
            kind = node.get("type")
            check(kind in _TRACE_NODE_TYPES, f"trace node type {_short(kind)} is not accepted; expected one of {sorted(_TRACE_NODE_TYPES)}")
            data = node.get("data")
            if kind == "ffi.Array":
                check(isinstance(data, list), "trace array node holds no list")
                done[index] = [build(i, depth + 1) for i in data]
            elif kind in ("ir.IntImm", "ir.FloatImm"):
                # an object's fields name other nodes: "value" is the index of an int/float node
                check(isinstance(data, dict) and "value" in data, f"trace {kind} node holds no value")
                value = build(data["value"], depth + 1)
                check(_is_number(value), f"trace {kind} node holds no number")
                done[index] = value
            else:
                done[index] = data
        return done[index]

    return build(root, 0)


def _fields(entry: Mapping[str, Any], expected: set[str], what: str, optional: frozenset[str] = frozenset()) -> None:
    missing = expected - optional - entry.keys()
    extra = entry.keys() - expected
    check(not missing, f"{what} lacks {sorted(missing)}")
    check(not extra, f"{what} has unknown fields {sorted(extra)[:5]}; expected {sorted(expected)}")


def _string(entry: Mapping[str, Any], name: str, max_chars: int, pattern: re.Pattern[str] | None = None) -> str:
    value = entry[name]
    check(isinstance(value, str), f"{name} must be a string, not {type(value).__name__}")
    check(len(value) <= max_chars, f"{name} is {len(value)} chars; at most {max_chars}")
    check(pattern is None or pattern.match(value) is not None, f"{name} {value[:80]!r} does not match {pattern.pattern if pattern else ''}")
    return value


def _error_metric(entry: Mapping[str, Any], name: str) -> float | None:
    value = entry[name]
    if value is None:
        return None
    # JSON has no inf/nan; a kernel that printed NaN still has a recorded error
    if value in ("inf", "nan"):
        return float(value)
    check(_is_number(value) and value >= 0, f"{name} must be a non-negative number, 'inf', 'nan' or null")
    return float(value)


def _time(value: Any) -> datetime:
    check(isinstance(value, str) and len(value) <= 40, "created_at must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEntry(f"created_at {value!r} is not an ISO 8601 time") from None
    check(moment.tzinfo is not None, f"created_at {value!r} has no time zone")
    check(2000 <= moment.year <= 2200, f"created_at {value!r} is out of range")
    return moment.astimezone(timezone.utc)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def _short(value: Any) -> str:
    return repr(value)[:80]


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [v for item in level if isinstance(item, (list, dict)) for v in (item.values() if isinstance(item, dict) else item)]
    return depth - 1
