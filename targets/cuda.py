"""NVIDIA GPUs: the SM is detected from the driver where one is present, or given (``sm_90``)."""

from __future__ import annotations

import re
import shutil
import subprocess

from .target import Peaks, Target

# per-SM limits TVM needs in the target dictionary
_SHARED_MEMORY_PER_BLOCK = {"sm_70": 49152, "sm_75": 49152, "sm_80": 49152, "sm_86": 49152, "sm_89": 49152, "sm_90": 49152}


def detect_gpu() -> dict[str, str] | None:
    """Name, SM and driver of GPU 0 via nvidia-smi, or None where no GPU is visible."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout.strip().splitlines()
    except (subprocess.SubprocessError, OSError):
        return None
    return parse_smi(out[0]) if out else None


def parse_smi(line: str) -> dict[str, str]:
    """``"NVIDIA H100 80GB HBM3, 9.0, 550.54"`` (name, compute_cap, driver_version) -> gpu, sm, driver."""
    name, cap, driver = (x.strip() for x in line.split(","))
    return {"gpu": name, "sm": "sm_" + cap.replace(".", ""), "driver": driver}


def has_cuda() -> bool:
    """Whether an NVIDIA GPU is visible here (tests skip GPU work without one)."""
    return detect_gpu() is not None


# dense (no sparsity) datasheet peaks: GFLOP/s by dtype (CUDA cores for float32, tensor cores for the
# 16-bit types and int8) and memory bandwidth in GB/s; matched on the name nvidia-smi reports
_DATASHEETS: tuple[tuple[str, str, dict[str, float], float], ...] = (
    ("H100 PCIe", "NVIDIA H100 PCIe", {"float32": 51_200, "float16": 756_000, "bfloat16": 756_000, "int8": 1_513_000}, 2_000),
    ("H100", "NVIDIA H100 SXM", {"float32": 66_900, "float16": 989_000, "bfloat16": 989_000, "int8": 1_979_000}, 3_350),
    ("H200", "NVIDIA H200 SXM", {"float32": 66_900, "float16": 989_000, "bfloat16": 989_000, "int8": 1_979_000}, 4_800),
    ("A100-PCIE", "NVIDIA A100 PCIe", {"float32": 19_500, "float16": 312_000, "bfloat16": 312_000, "int8": 624_000}, 1_935),
    ("A100", "NVIDIA A100 SXM", {"float32": 19_500, "float16": 312_000, "bfloat16": 312_000, "int8": 624_000}, 2_039),
    ("L4", "NVIDIA L4", {"float32": 30_300, "float16": 121_000, "bfloat16": 121_000, "int8": 242_000}, 300),
    ("A10", "NVIDIA A10", {"float32": 31_200, "float16": 125_000, "bfloat16": 125_000, "int8": 250_000}, 600),
    ("T4", "NVIDIA T4", {"float32": 8_100, "float16": 65_000, "int8": 130_000}, 320),
    ("V100", "NVIDIA V100 SXM2", {"float32": 15_700, "float16": 125_000}, 900),
)
# what an SM without a known GPU name most likely is (the figures of its data-centre part)
_TYPICAL = {"sm_70": "V100", "sm_75": "T4", "sm_80": "A100", "sm_86": "A10", "sm_89": "L4", "sm_90": "H100"}


def datasheet_peaks(gpu_name: str | None, arch: str) -> Peaks | None:
    """Peaks of the GPU named ``gpu_name`` (nvidia-smi's name), else of the typical part of ``arch``."""
    guess = False
    if not gpu_name or gpu_name == "unknown":
        gpu_name, guess = _TYPICAL.get(arch), True
        if gpu_name is None:
            return None
    for needle, label, gflops, bandwidth in _DATASHEETS:
        if re.search(rf"\b{re.escape(needle)}\b", gpu_name, re.IGNORECASE):
            source = f"datasheet: {label}" + (f" (typical {arch}; no GPU detected)" if guess else "")
            return Peaks(dict(gflops), float(bandwidth), source)
    return None


def cuda_target(arch: str | None = None) -> Target:
    """A CUDA target for ``arch`` (``sm_90``), or for the GPU that is present."""
    gpu = detect_gpu()
    if arch is None:
        if gpu is None:
            raise ValueError("no GPU detected; name the architecture, e.g. --target cuda:sm_90")
        arch = gpu["sm"]
    if not arch.startswith("sm_") or not arch[3:].isdigit():
        raise ValueError(f"unknown CUDA architecture {arch!r}; expected sm_NN such as sm_80 or sm_90")
    hardware = dict(gpu) if gpu and gpu["sm"] == arch else {"gpu": "unknown", "sm": arch, "driver": "unknown"}
    return Target(
        name=f"cuda:{arch}",
        kind="cuda",
        tvm={
            "kind": "cuda",
            "arch": arch,
            "max_shared_memory_per_block": _SHARED_MEMORY_PER_BLOCK.get(arch, 49152),
            "max_threads_per_block": 1024,
            "thread_warp_size": 32,
        },
        features=("tensorcore",) if int(arch[3:]) >= 70 else (),
        vector_bits=128,
        cores=1,
        hardware=hardware,
        host={"kind": "llvm"},
        peaks=datasheet_peaks(hardware.get("gpu"), arch),
    )
