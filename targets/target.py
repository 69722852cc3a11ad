"""What a target is: the TVM target dictionary, hardware facts, a fingerprint and peak numbers.

A ``Target`` is plain data; it crosses into schedules (vector width, core count, GPU limits),
autotune (how to build and run) and tuning_db (canonical description and fingerprint). It
survives ``dataclasses.asdict`` -> JSON -> ``Target(**d)`` (the build workers receive it so).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

# int32 is what int8 dot products accumulate into: an int8 matmul's output dtype
_PEAK_ALIASES = {"int32": "int8", "uint8": "int8"}


@dataclass(frozen=True)
class Peaks:
    """A target's peak numbers for "% of peak" and the roofline.

    ``gflops`` maps a dtype (``"float32"``, ``"int8"``) to GFLOP/s (GOP/s for integers);
    ``bandwidth_gbs`` is the memory bandwidth in GB/s; ``source`` says where they came from
    (``"calibrated 2026-11-22"``, ``"nominal: ..."``, ``"datasheet: NVIDIA H100 SXM"``).
    """

    gflops: dict[str, float] = field(default_factory=dict)
    bandwidth_gbs: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "gflops", {str(k): float(v) for k, v in self.gflops.items() if v and v > 0})

    def gflops_for(self, dtype: str) -> float:
        """The peak for ``dtype``; KeyError naming the dtypes that have one."""
        key = dtype if dtype in self.gflops else _PEAK_ALIASES.get(dtype, dtype)
        if key not in self.gflops:
            raise KeyError(f"no peak for {dtype!r}; known for {sorted(self.gflops)}")
        return self.gflops[key]

    def to_dict(self) -> dict[str, Any]:
        return {"gflops": dict(self.gflops), "bandwidth_gbs": self.bandwidth_gbs, "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Peaks":
        return cls(dict(d.get("gflops") or {}), d.get("bandwidth_gbs"), str(d.get("source", "")))


@dataclass(frozen=True)
class Target:
    """One place kernels run.

    ``kind`` is ``"cpu"``, ``"cuda"`` or an edge name (``"aarch64"``, ``"armv7"``, ``"riscv64"``);
    ``tvm`` is the TVM target dictionary (JSON-able); ``features`` the detected ISA features;
    ``vector_bits`` the SIMD width used for vectorized loops; ``full_rate_bits`` the width the vector
    units execute at full rate where it is narrower (Zen 4 runs 512-bit AVX-512 on 256-bit units: a
    256-bit vector costs it no FLOP/s), None where it is ``vector_bits``; ``cores`` the threads a kernel may use;
    ``toolchain`` the cross compiler that links its shared libraries (None: the host's ``g++``);
    ``peaks`` its peak numbers where known (calibrated, nominal or from a datasheet).
    """

    name: str
    kind: str
    tvm: dict[str, Any]
    features: tuple[str, ...] = ()
    vector_bits: int = 128
    full_rate_bits: int | None = None
    cores: int = 1
    hardware: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] | None = None
    toolchain: str | None = None
    peaks: Peaks | None = None

    def __post_init__(self) -> None:
        # a Target that went through JSON comes back with lists and dicts: restore the values
        object.__setattr__(self, "features", tuple(self.features))
        if isinstance(self.peaks, dict):
            object.__setattr__(self, "peaks", Peaks.from_dict(self.peaks))

    def __hash__(self) -> int:
        return hash(self.canonical())

    @property
    def is_gpu(self) -> bool:
        return self.kind == "cuda"

    @property
    def is_cross(self) -> bool:
        """Built here with a cross compiler, measured elsewhere (over RPC)."""
        return self.toolchain is not None

    def vector_lanes(self, dtype_bits: int) -> int:
        """Lanes of one SIMD register for elements of ``dtype_bits`` bits."""
        return max(1, self.vector_bits // dtype_bits)

    def full_rate_lanes(self, dtype_bits: int) -> int:
        """Lanes of the narrowest vector the units execute at full rate (``vector_lanes`` on most CPUs)."""
        return max(1, (self.full_rate_bits or self.vector_bits) // dtype_bits)

    def canonical(self) -> str:
        """A stable JSON text of the TVM target: the target's identity in the database."""
        return json.dumps({"name": self.name, "tvm": self.tvm}, sort_keys=True, separators=(",", ":"))

    def fingerprint(self) -> str:
        """A short hash of the hardware facts (CPU model and flags, GPU name and SM, driver)."""
        text = json.dumps(self.hardware, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def peak_gflops(self, dtype: str) -> float:
        """Peak GFLOP/s for ``dtype`` (what ``autotune.summary`` divides by); KeyError if unknown."""
        if self.peaks is None:
            raise KeyError(f"target {self.name} has no peak numbers; run `opforge targets calibrate`")
        return self.peaks.gflops_for(dtype)

    @property
    def bandwidth_gbs(self) -> float | None:
        return self.peaks.bandwidth_gbs if self.peaks else None

    def with_peaks(self, peaks: Peaks | None) -> "Target":
        return replace(self, peaks=peaks)

    def with_hardware(self, **facts: Any) -> "Target":
        """The same target with more hardware facts (so another fingerprint), e.g. the RPC device key."""
        return replace(self, hardware={**self.hardware, **facts})

    def tvm_target(self) -> Any:
        """The ``tvm.target.Target`` this target compiles for."""
        import tvm

        if self.host is not None:
            return tvm.target.Target(self.tvm, host=self.host)
        return tvm.target.Target(self.tvm)
