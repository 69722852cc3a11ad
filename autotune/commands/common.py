"""What several commands share: reading ``--shape``/``--param`` text and finding the op a user named."""

from __future__ import annotations

import importlib.util
import json
import inspect
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from dsl import Op, VerifyError, verify

from .errors import CliError

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z0-9_.+-]+)\s*$")


def parse_assignments(text: str, what: str) -> dict[str, str]:
    """``"M=64,N=64"`` -> ``{"M": "64", "N": "64"}``; a malformed item is a one-line error."""
    out: dict[str, str] = {}
    if not text or not text.strip():
        raise CliError(f"{what} is empty; expected NAME=VALUE pairs separated by commas, e.g. M=64,N=64,K=64")
    for item in text.split(","):
        m = _ASSIGN.match(item)
        if not m:
            raise CliError(f"malformed {what} item {item.strip()!r}; expected NAME=VALUE, e.g. M=64")
        name, value = m.groups()
        if name in out:
            raise CliError(f"{what} names {name} twice")
        out[name] = value
    return out


def parse_shape(text: str) -> dict[str, int]:
    """``"M=1024,N=1024,K=1024"`` -> sizes; every value a positive int."""
    sizes = {}
    for name, value in parse_assignments(text, "--shape").items():
        if not re.fullmatch(r"\d+", value) or int(value) <= 0:
            raise CliError(f"--shape {name}={value}: a size must be a positive integer")
        sizes[name] = int(value)
    return sizes


def _convert(value: str, default: Any, name: str) -> Any:
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            return tuple(int(x) for x in value.split("x"))
    except ValueError:
        raise CliError(f"--param {name}={value}: expected a {type(default).__name__}") from None
    return None if value.lower() == "none" else value


def parse_params(text: str | None, builder: Callable[..., Op]) -> dict[str, Any]:
    """``"stride=2,padding=1"`` -> keyword arguments of ``builder``, typed by its defaults."""
    if not text:
        return {}
    sig = inspect.signature(builder)
    accepted = [p for p in sig.parameters if p != "dtype"]
    out: dict[str, Any] = {}
    for name, value in parse_assignments(text, "--param").items():
        if name not in sig.parameters or name == "dtype":
            raise CliError(f"--param {name}: {builder.__name__} takes {accepted or 'no parameters'}")
        out[name] = _convert(value, sig.parameters[name].default, name)
    return out


def load_user_builder(spec: str) -> Callable[..., Op] | Op:
    """``path/to/my_ops.py:my_op``: the op (or op builder) a user wrote in their own file."""
    path_text, _, attr = spec.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise CliError(f"no such file {path_text!r} (from {spec!r}); expected path/to/file.py:op_name")
    module_name = f"opforge_user_{abs(hash(str(path.resolve())))}"
    spec_obj = importlib.util.spec_from_file_location(module_name, path)
    if spec_obj is None or spec_obj.loader is None:
        raise CliError(f"cannot import {path_text!r} as Python")
    module = importlib.util.module_from_spec(spec_obj)
    sys.modules[module_name] = module
    try:
        spec_obj.loader.exec_module(module)
    except Exception as e:  # the user's file failed to import: report it in one line
        raise CliError(f"importing {path_text} failed: {type(e).__name__}: {e}") from None
    if not hasattr(module, attr):
        names = sorted(n for n, v in vars(module).items() if isinstance(v, Op) or (callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module_name))
        raise CliError(f"{path_text} has no {attr!r}; it defines {names}")
    return getattr(module, attr)


def find_builder(name: str) -> Callable[..., Op] | Op:
    """A library op by name, or a user's op from ``file.py:name``."""
    if ":" in name and name.split(":")[0].endswith(".py"):
        return load_user_builder(name)
    from dsl import library

    try:
        return library.LIBRARY[name]
    except KeyError:
        raise CliError(f"unknown op {name!r}; expected one of {sorted(library.LIBRARY)} or path/to/file.py:op_name") from None


def resolve_op(name: str, shape: dict[str, int], dtype: str | None = None, params: dict[str, Any] | str | None = None) -> Op:
    """The bound, verified op a command works on; every failure is a one-line CliError."""
    builder = find_builder(name)
    if isinstance(builder, Op):
        if dtype or params:
            raise CliError(f"{name} is a fixed op; --dtype and --param apply only to op builders")
        op = builder
    else:
        if isinstance(params, str) or params is None:
            params = parse_params(params, builder)
        kwargs = dict(params)
        if dtype is not None:
            if "dtype" not in inspect.signature(builder).parameters:
                raise CliError(f"{name} has no dtype choice")
            kwargs["dtype"] = dtype
        try:
            op = builder(**kwargs)
        except (TypeError, ValueError) as e:
            raise CliError(str(e)) from None
        if not isinstance(op, Op):
            raise CliError(f"{name} returned {type(op).__name__}, not a dsl.Op")
    free = [d.name for d in op.free_dims]
    unknown = sorted(set(shape) - set(free))
    if unknown:
        raise CliError(f"--shape names {', '.join(unknown)}, which {op.name} does not have; its dimensions are {','.join(free)}")
    missing = [d for d in free if d not in shape and d not in dict(op.bindings)]
    if missing:
        raise CliError(f"--shape is missing {', '.join(missing)}; {op.name} needs {','.join(f'{d}=...' for d in free)}")
    try:
        return verify(op.bind(shape), require_bound=True)
    except VerifyError as e:
        raise CliError(f"{op.name} does not verify: {e}") from None


def quantize_target(target: Any, quantize: str | None, max_rel_error: float | None) -> tuple[Any, float | None]:
    """(target, error budget) of a ``--quantize int8 [--max-rel-error E]`` command: the target tagged
    with the budget (a quantize run's records live apart), or ``target`` and None without --quantize."""
    if max_rel_error is not None and not quantize:
        raise CliError("--max-rel-error bounds the error of quantized kernels; add --quantize int8")
    if not quantize:
        return target, None
    from ..accuracy import DEFAULT_MAX_REL_ERROR, quantized_target

    budget = max_rel_error if max_rel_error is not None else DEFAULT_MAX_REL_ERROR
    return quantized_target(target, budget), budget


def shape_option(required: bool = True) -> Callable:
    return click.option("--shape", "shape_text", required=required, metavar="NAME=SIZE,...", help="Sizes of the op's dimensions, e.g. M=1024,N=1024,K=1024.")


def op_options(f: Callable) -> Callable:
    """The options every op-taking command shares: --shape, --dtype, --param."""
    f = click.option("--param", "param_text", default=None, metavar="NAME=VALUE,...", help="Op parameters, e.g. stride=2,padding=1.")(f)
    f = click.option("--dtype", default=None, help="Element type (float32, float16, bfloat16, int8, ...).")(f)
    f = shape_option()(f)
    return f


def read_json_lines(path: str, option: str, accepted: tuple[str, ...], example: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of each line of a ``--workloads``/``--ops-file`` file (blank and ``#`` lines skipped).

    Each object needs ``op`` and ``shape`` and no key outside ``accepted``; a line that is not such an
    object is a one-line error naming ``path``, the line and ``example``. Lines are read one at a time,
    so a caller's own check of line n runs before line n + 1 is looked at.
    """
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise CliError(f"cannot read {option} {path}: {e.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise CliError(f"{path}:{n}: not JSON ({e.msg}); expected one object per line like {{\"op\": \"matmul\", \"shape\": \"M=64,N=64,K=64\"}}") from None
        if not isinstance(item, dict) or "op" not in item or "shape" not in item:
            raise CliError(f"{path}:{n}: each line needs \"op\" and \"shape\", e.g. {example}")
        unknown = sorted(set(item) - set(accepted))
        if unknown:
            raise CliError(f"{path}:{n}: unknown keys {unknown}; accepted: {', '.join(accepted)}")
        yield n, item
