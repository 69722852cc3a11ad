"""NVIDIA GPUs: the SM is detected from the driver where one is present, or given (``sm_90``)."""

from __future__ import annotations

import shutil
import subprocess

from .target import Target

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
    if not out:
        return None
    name, cap, driver = (x.strip() for x in out[0].split(","))
    return {"gpu": name, "sm": "sm_" + cap.replace(".", ""), "driver": driver}


def has_cuda() -> bool:
    return detect_gpu() is not None


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
    )
