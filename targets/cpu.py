"""The host CPU: ISA features from /proc/cpuinfo, the LLVM ``mcpu`` that fits them, nominal peaks."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Iterator

from .target import Peaks, Target

# features opforge's schedules care about, as /proc/cpuinfo spells them
_X86_FEATURES = (
    "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
    "amx_tile", "amx_int8", "amx_bf16",
)
_ARM_FEATURES = ("asimd", "asimddp", "sve", "i8mm", "neon")

# what a person calls them (the `opforge targets` table)
_ISA_NAMES = (
    ("AVX2", ("avx2",)), ("AVX-512", ("avx512f",)), ("VNNI", ("avx512_vnni", "avx_vnni")), ("AMX", ("amx_tile",)),
    ("NEON", ("asimd", "neon")), ("dotprod", ("asimddp", "dotprod")), ("SVE", ("sve",)),
)

#: FMA pipes per core assumed by the nominal peak (two on every server x86 and Neoverse core since Haswell)
FMA_PIPES = 2


def _cpuinfo_text() -> str:
    p = Path("/proc/cpuinfo")
    return p.read_text() if p.exists() else ""


def _fields(text: str | None) -> Iterator[tuple[str, str]]:
    """(lower-case key, value) of each ``key : value`` line of ``/proc/cpuinfo`` text (read from the file when None)."""
    for line in (_cpuinfo_text() if text is None else text).splitlines():
        key, _, value = line.partition(":")
        yield key.strip().lower(), value


def read_cpuinfo(text: str | None = None) -> tuple[str, tuple[str, ...]]:
    """(model name, flags) of the first processor in ``/proc/cpuinfo`` text."""
    model: str = platform.processor() or "unknown"
    flags: tuple[str, ...] = ()
    for key, value in _fields(text):
        if key in ("model name", "cpu model", "hardware") and model in ("unknown", "", platform.processor()):
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = tuple(value.split())
    return model, flags


def read_mhz(text: str | None = None) -> float | None:
    """The clock ``/proc/cpuinfo`` reports for the first processor (x86 only; None elsewhere)."""
    for key, value in _fields(text):
        if key == "cpu mhz":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def read_family(text: str | None = None) -> tuple[str, int | None]:
    """(vendor id, cpu family) of the first processor in ``/proc/cpuinfo`` text (x86; ``("", None)`` elsewhere)."""
    vendor, family = "", None
    for key, value in _fields(text):
        if key == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key == "cpu family" and family is None and value.strip().isdigit():
            family = int(value)
    return vendor, family


def isa_summary(features: tuple[str, ...]) -> tuple[str, ...]:
    """``("AVX2", "AVX-512", "VNNI", "AMX")``: the detected features as a person names them."""
    f = set(features)
    return tuple(name for name, flags in _ISA_NAMES if f & set(flags))


def pick_mcpu(arch: str, flags: tuple[str, ...]) -> str | None:
    """The LLVM CPU name whose feature set the detected flags cover."""
    f = set(flags)
    if arch == "x86_64":
        if {"amx_tile", "amx_int8", "avx512_vnni", "avx512bw"} <= f:
            return "sapphirerapids"
        if {"avx512_vnni", "avx512bw", "avx512vl"} <= f:
            return "cascadelake"
        if {"avx512f", "avx512bw"} <= f:
            return "skylake-avx512"
        if {"avx_vnni", "avx2", "fma"} <= f:
            return "alderlake"
        if {"avx2", "fma"} <= f:
            return "haswell"
        return None
    if arch == "aarch64":
        return "neoverse-n1" if "asimddp" in f else "cortex-a72"
    return None


def vector_bits_of(features: tuple[str, ...]) -> int:
    f = set(features)
    return 512 if "avx512f" in f else 256 if "avx2" in f else 128


def full_rate_bits_of(vendor: str, family: int | None, features: tuple[str, ...]) -> int | None:
    """The vector width the FMA units run at full rate where it is narrower than the ISA's: AMD family
    25 (Zen 4, the only Zen 3/4 family with AVX-512) executes each 512-bit operation as two 256-bit
    halves, so 8 float32 lanes cost it no FLOP/s. Zen 5 (family 26) has 512-bit units on servers."""
    if vendor == "AuthenticAMD" and family == 25 and "avx512f" in features:
        return 256
    return None


def nominal_peaks(features: tuple[str, ...], cores: int, mhz: float | None) -> Peaks | None:
    """Peaks from the clock and the vector width: cores x GHz x lanes x 2 (FMA) x FMA pipes.

    An upper bound, not a measurement: turbo, AVX-512 down-clocking and shared hosts all differ.
    int8 assumes a 4-way dot product per 32-bit lane (VNNI, NEON sdot) where the CPU has one;
    AMX tiles are not counted. No bandwidth: only ``opforge targets calibrate`` measures it.
    """
    if not mhz or mhz <= 0:
        return None
    ghz = mhz / 1e3
    lanes = vector_bits_of(features) // 32
    per_cycle = lanes * 2 * FMA_PIPES
    gflops = {"float32": cores * ghz * per_cycle, "float64": cores * ghz * per_cycle / 2}
    if {"avx512_vnni", "avx_vnni", "asimddp"} & set(features):
        gflops["int8"] = 4 * gflops["float32"]
    source = f"nominal: {cores} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle ({FMA_PIPES} FMA pipes assumed)"
    return Peaks(gflops, None, source)


def host_cpu(cores: int | None = None) -> Target:
    """The machine this runs on, features detected."""
    arch = platform.machine()
    cpuinfo = _cpuinfo_text()  # read once for the model, flags, family and clock
    model, flags = read_cpuinfo(cpuinfo)
    vendor, family = read_family(cpuinfo)
    wanted = _X86_FEATURES if arch == "x86_64" else _ARM_FEATURES
    features = tuple(x for x in wanted if x in flags)
    mcpu = pick_mcpu(arch, flags)
    n = cores or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    tvm_dict: dict = {"kind": "llvm", "num-cores": n}
    if mcpu:
        tvm_dict["mcpu"] = mcpu
    if arch == "aarch64":
        tvm_dict["mtriple"] = "aarch64-linux-gnu"
        tvm_dict["mattr"] = ["+neon"] + (["+dotprod"] if "asimddp" in features else [])
    return Target(
        name="cpu",
        kind="cpu",
        tvm=tvm_dict,
        features=features,
        vector_bits=vector_bits_of(features),
        full_rate_bits=full_rate_bits_of(vendor, family, features),
        cores=n,
        hardware={"arch": arch, "model": model, "flags": sorted(features), "cores": n},
        peaks=nominal_peaks(features, n, read_mhz(cpuinfo)),
    )
