"""Linking a built kernel into a shared library for its target, and checking what a library was built for.

Host targets link with TVM's default (the host ``g++``); edge targets with their cross ``g++``
(Debian's ``g++-aarch64-linux-gnu`` and friends, installed by ``scripts/edge/install_toolchains.sh``).
"""

from __future__ import annotations

import shutil
import struct
from typing import Any

from .target import Target

# e_machine of the ELF header (the System V ABI's table), as readelf names them
ELF_MACHINES = {3: "Intel 80386", 40: "ARM", 62: "Advanced Micro Devices X86-64", 183: "AArch64", 243: "RISC-V"}


class ToolchainMissingError(RuntimeError):
    """The cross compiler an edge target needs is not installed."""


def check_toolchain(target: Target) -> None:
    """Raise ToolchainMissingError, saying how to install it, where ``target``'s compiler is absent."""
    if target.toolchain and shutil.which(target.toolchain) is None:
        raise ToolchainMissingError(
            f"{target.name} kernels link with {target.toolchain}, which is not installed; "
            f"run scripts/edge/install_toolchains.sh (Debian's cross toolchains)"
        )


def export_library(executable: Any, path: str, target: Target) -> str:
    """Write ``executable`` (``tvm.compile``'s result) as a shared library that ``target`` can load."""
    if target.toolchain is None:
        executable.export_library(path)
        return path
    from tvm.support import cc

    check_toolchain(target)
    executable.export_library(path, fcompile=cc.cross_compiler(target.toolchain))
    return path


def elf_machine(path: str) -> str:
    """The machine an ELF file was built for (``"AArch64"``, ``"ARM"``, ``"Advanced Micro Devices X86-64"``)."""
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        raise ValueError(f"{path} is not an ELF file")
    endian = "<" if header[5] == 1 else ">"
    (machine,) = struct.unpack(endian + "H", header[18:20])
    return ELF_MACHINES.get(machine, f"machine {machine}")
