"""Edge boards: cross-compiled here with Debian's cross toolchains, measured on the board over TVM RPC.

``aarch64`` (NEON and the dot-product extension), ``armv7`` (hard-float with NEON) and ``riscv64``
(RV64GC). The board's clock is not known here, so an edge target has no nominal peaks; a
calibration (keyed by its fingerprint, which includes the RPC device key) supplies them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .target import Target


@dataclass(frozen=True)
class Board:
    """What opforge assumes of one edge architecture."""

    triple: str
    mattr: tuple[str, ...]
    toolchain: str  # Debian's cross g++, from scripts/edge/install_toolchains.sh
    package: str
    features: tuple[str, ...]
    vector_bits: int
    elf_machine: str  # what `readelf -h` calls the machine of its shared libraries
    default_cores: int = 4


BOARDS: dict[str, Board] = {
    "aarch64": Board(
        "aarch64-linux-gnu", ("+neon", "+dotprod"), "aarch64-linux-gnu-g++", "g++-aarch64-linux-gnu",
        ("neon", "dotprod"), 128, "AArch64",
    ),
    "armv7": Board(
        "armv7a-linux-gnueabihf", ("+neon", "+vfp4"), "arm-linux-gnueabihf-g++", "g++-arm-linux-gnueabihf",
        ("neon",), 128, "ARM",
    ),
    "riscv64": Board(
        "riscv64-linux-gnu", ("+64bit", "+m", "+a", "+f", "+d", "+c"), "riscv64-linux-gnu-g++", "g++-riscv64-linux-gnu",
        (), 64, "RISC-V",
    ),
}


def edge_target(name: str, cores: int | None = None) -> Target:
    """The target of edge architecture ``name`` (``aarch64:8``: a board with 8 cores)."""
    board = BOARDS[name]
    n = cores or board.default_cores
    tvm_dict = {"kind": "llvm", "mtriple": board.triple, "mattr": list(board.mattr), "num-cores": n}
    if name == "armv7":
        tvm_dict["mfloat-abi"] = "hard"
    return Target(
        name=name,
        kind=name,
        tvm=tvm_dict,
        features=board.features,
        vector_bits=board.vector_bits,
        cores=n,
        hardware={"arch": name, "triple": board.triple, "mattr": list(board.mattr), "cores": n},
        toolchain=board.toolchain,
    )
