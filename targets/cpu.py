"""The host CPU: ISA features from /proc/cpuinfo (or lscpu), the LLVM ``mcpu`` that fits them."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from .target import Target

# features opforge's schedules care about, as /proc/cpuinfo spells them
_X86_FEATURES = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")
_ARM_FEATURES = ("asimd", "asimddp", "sve", "i8mm")


def read_cpuinfo(text: str | None = None) -> tuple[str, tuple[str, ...]]:
    """(model name, flags) of the first processor in ``/proc/cpuinfo`` text."""
    if text is None:
        p = Path("/proc/cpuinfo")
        text = p.read_text() if p.exists() else ""
    model, flags = platform.processor() or "unknown", ()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu model", "hardware") and model in ("unknown", "", platform.processor()):
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = tuple(value.split())
    return model, flags


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
        if {"avx2", "fma"} <= f:
            return "haswell"
        return None
    if arch == "aarch64":
        return "neoverse-n1" if "asimddp" in f else "cortex-a72"
    return None


def host_cpu(cores: int | None = None) -> Target:
    """The machine this runs on, features detected."""
    arch = platform.machine()
    model, flags = read_cpuinfo()
    wanted = _X86_FEATURES if arch == "x86_64" else _ARM_FEATURES
    features = tuple(x for x in wanted if x in flags)
    mcpu = pick_mcpu(arch, flags)
    n = cores or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    tvm_dict: dict = {"kind": "llvm", "num-cores": n}
    if mcpu:
        tvm_dict["mcpu"] = mcpu
    if arch == "aarch64":
        tvm_dict["mtriple"] = "aarch64-linux-gnu"
    vector_bits = 512 if "avx512f" in features else 256 if "avx2" in features else 128
    return Target(
        name="cpu",
        kind="cpu",
        tvm=tvm_dict,
        features=features,
        vector_bits=vector_bits,
        cores=n,
        hardware={"arch": arch, "model": model, "flags": sorted(features), "cores": n},
    )
