"""The manifest written beside an exported library: what each kernel is, where it was tuned, how fast.

Plain frozen dataclasses with one tested JSON round trip (``Manifest.from_json(m.to_json()) == m``).
Standard library only, so a runtime-only install (no compiler, no opforge dependencies) reads it.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

FORMAT = "opforge-export/1"


@dataclass(frozen=True)
class ArgInfo:
    """One kernel parameter, in call order: inputs first, then outputs."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    is_output: bool

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype, "role": "output" if self.is_output else "input"}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ArgInfo:
        return cls(str(d["name"]), tuple(int(x) for x in d["shape"]), str(d["dtype"]), d["role"] == "output")


@dataclass(frozen=True)
class Measured:
    """The timings of the record the kernel comes from: median and spread of its repeats."""

    run_secs: tuple[float, ...]

    @property
    def median_secs(self) -> float:
        return statistics.median(self.run_secs)

    @property
    def spread(self) -> float:
        """(max - min) / median of the repeats: 0.02 means the repeats lie within 2 % of the median."""
        return (max(self.run_secs) - min(self.run_secs)) / self.median_secs if self.median_secs > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_secs": self.median_secs,
            "min_secs": min(self.run_secs),
            "max_secs": max(self.run_secs),
            "spread": self.spread,
            "repeats": len(self.run_secs),
            "run_secs": list(self.run_secs),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Measured:
        return cls(tuple(float(x) for x in d["run_secs"]))


@dataclass(frozen=True)
class KernelInfo:
    """One kernel of the library.

    ``function`` is its name in TVM's calling convention (``lib[function]``), ``c_function`` the
    plain C entry point of the generated header; ``config`` the Config JSON it was built from;
    ``source`` is ``"tuned"`` (the best record) or ``"default"`` (the untuned default schedule,
    exported by ``fallback="default"``); ``record`` the provenance of the record, if any.
    ``prepack`` names the kernel that packs this one's weights (a quantized kernel exported with
    ``prepack=True``: run it once per weight, pass its outputs in the weight's place); ``bound`` maps
    arguments to the ``.npz`` (beside the library) holding them already packed at export.
    """

    name: str
    function: str
    c_function: str
    op_name: str
    workload_key: str
    workload_text: str
    sizes: dict[str, int]
    config: str
    source: str
    args: tuple[ArgInfo, ...]
    measured: Measured | None = None
    record: dict[str, Any] | None = None
    trace_matches_record: bool | None = None
    prepack: str | None = None
    bound: dict[str, str] = field(default_factory=dict)

    @property
    def inputs(self) -> tuple[ArgInfo, ...]:
        return tuple(a for a in self.args if not a.is_output)

    @property
    def outputs(self) -> tuple[ArgInfo, ...]:
        return tuple(a for a in self.args if a.is_output)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "function": self.function,
            "c_function": self.c_function,
            "op": self.op_name,
            "workload_key": self.workload_key,
            "workload_text": self.workload_text,
            "sizes": dict(self.sizes),
            "config": json.loads(self.config),
            "source": self.source,
            "args": [a.to_dict() for a in self.args],
            "measured": self.measured.to_dict() if self.measured else None,
            "record": self.record,
            "trace_matches_record": self.trace_matches_record,
            "prepack": self.prepack,
            "bound": dict(self.bound),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KernelInfo:
        return cls(
            name=d["name"],
            function=d["function"],
            c_function=d["c_function"],
            op_name=d["op"],
            workload_key=d["workload_key"],
            workload_text=d["workload_text"],
            sizes={str(k): int(v) for k, v in d["sizes"].items()},
            config=json.dumps(d["config"], sort_keys=True, separators=(",", ":")),
            source=d["source"],
            args=tuple(ArgInfo.from_dict(a) for a in d["args"]),
            measured=Measured.from_dict(d["measured"]) if d.get("measured") else None,
            record=d.get("record"),
            trace_matches_record=d.get("trace_matches_record"),
            prepack=d.get("prepack"),
            bound={str(k): str(v) for k, v in (d.get("bound") or {}).items()},
        )


@dataclass(frozen=True)
class TargetEntry:
    """The target the library was compiled for, and the hardware fingerprint it was tuned on."""

    name: str
    kind: str
    canonical: str
    fingerprint: str
    tvm: dict[str, Any]
    cores: int
    hardware: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> str:
        """The DLPack device kind tensors must live on: ``"cuda"`` or ``"cpu"``."""
        return "cuda" if self.kind == "cuda" else "cpu"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "canonical": self.canonical, "fingerprint": self.fingerprint,
            "tvm": self.tvm, "cores": self.cores, "hardware": self.hardware, "device": self.device,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TargetEntry:
        return cls(d["name"], d["kind"], d["canonical"], d["fingerprint"], dict(d["tvm"]), int(d["cores"]), dict(d.get("hardware", {})))


@dataclass(frozen=True)
class Manifest:
    """``<name>.json``: the library's files, target, kernels, and the versions that made it."""

    library: str
    header: str | None
    target: TargetEntry
    kernels: tuple[KernelInfo, ...]
    opforge_version: str
    tvm_version: str
    tvm_ffi_version: str
    created_at: str
    runtime_lib: str | None = None

    def kernel(self, name: str | None = None) -> KernelInfo:
        """The kernel called ``name``; with no name, the only kernel of a one-kernel library."""
        names = [k.name for k in self.kernels]
        if name is None:
            if len(self.kernels) != 1:
                raise KeyError(f"{self.library} holds {len(self.kernels)} kernels {names}; name one, e.g. load(path, {names[0]!r})")
            return self.kernels[0]
        for k in self.kernels:
            if k.name == name:
                return k
        raise KeyError(f"{self.library} has no kernel {name!r}; it holds {names}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "library": self.library,
            "header": self.header,
            "runtime_lib": self.runtime_lib,
            "target": self.target.to_dict(),
            "kernels": [k.to_dict() for k in self.kernels],
            "opforge_version": self.opforge_version,
            "tvm_version": self.tvm_version,
            "tvm_ffi_version": self.tvm_ffi_version,
            "created_at": self.created_at,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Manifest:
        if d.get("format") != FORMAT:
            raise ValueError(f"not an opforge export manifest: format {d.get('format')!r}, expected {FORMAT!r}")
        return cls(
            library=d["library"],
            header=d.get("header"),
            target=TargetEntry.from_dict(d["target"]),
            kernels=tuple(KernelInfo.from_dict(k) for k in d["kernels"]),
            opforge_version=d["opforge_version"],
            tvm_version=d["tvm_version"],
            tvm_ffi_version=d["tvm_ffi_version"],
            created_at=d["created_at"],
            runtime_lib=d.get("runtime_lib"),
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"manifest is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ValueError("manifest JSON must be an object")
        return cls.from_dict(data)


def arg_infos(names: Sequence[str], specs: Sequence[Any]) -> tuple[ArgInfo, ...]:
    """ArgInfos from parameter names and ``autotune.measure.ArgSpec``s (shape, dtype, is_output)."""
    return tuple(ArgInfo(n, tuple(s.shape), s.dtype, s.is_output) for n, s in zip(names, specs))
