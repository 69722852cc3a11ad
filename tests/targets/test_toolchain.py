"""Edge kernels are cross-compiled with Debian's toolchains: the .so is an ELF for the board's machine."""

from __future__ import annotations

import shutil

import pytest

from targets import Target, get_target
from targets.edge import BOARDS
from targets.toolchain import ToolchainMissingError, check_toolchain, elf_machine, export_library


def _needs(name: str) -> None:
    if shutil.which(BOARDS[name].toolchain) is None:
        pytest.skip(f"needs {BOARDS[name].toolchain}: run scripts/edge/install_toolchains.sh")


def _default_build(name: str, path: str) -> str:
    import tvm

    from dsl.library import matmul
    from dsl.lower import lower
    from schedules import apply_with_trace, space_for

    target = get_target(name)
    func = lower(matmul().bind(M=32, N=32, K=32))
    sch, _ = apply_with_trace(func, space_for(func, target).default(), target)
    return export_library(tvm.compile(sch.mod, target=target.tvm_target()), path, target)


@pytest.mark.parametrize("name", ["aarch64", "armv7", "riscv64"])
def test_edge_kernel_is_an_elf_for_the_boards_machine(name, tmp_path):
    _needs(name)
    path = _default_build(name, str(tmp_path / f"{name}.so"))
    assert elf_machine(path) == BOARDS[name].elf_machine


def test_host_kernel_is_an_elf_for_this_machine(tmp_path):
    import platform

    expected = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}.get(platform.machine())
    if expected is None:
        pytest.skip(f"no expectation for {platform.machine()}")
    assert elf_machine(_default_build("cpu", str(tmp_path / "host.so"))) == expected


def test_the_builder_workers_cross_compile_edge_targets(tmp_path):
    _needs("aarch64")
    from autotune.measure.builder import Builder
    from dsl.library import matmul
    from dsl.lower import lower
    from schedules import space_for

    target = get_target("aarch64")
    func = lower(matmul().bind(M=16, N=16, K=16))
    with Builder(n_workers=1, work_dir=str(tmp_path)) as builder:
        (build,) = builder.build(func, [space_for(func, target).default()], target)
    assert build.ok, build.error
    assert elf_machine(build.artifact) == "AArch64"


def test_a_missing_cross_compiler_says_how_to_install_it():
    t = Target(name="board", kind="board", tvm={"kind": "llvm"}, toolchain="no-such-linux-gnu-g++")
    with pytest.raises(ToolchainMissingError, match=r"no-such-linux-gnu-g\+\+, which is not installed; run scripts/edge/install_toolchains.sh"):
        check_toolchain(t)


def test_elf_machine_rejects_what_is_not_elf(tmp_path):
    p = tmp_path / "x.so"
    p.write_bytes(b"MZ not an elf at all....")
    with pytest.raises(ValueError, match="not an ELF file"):
        elf_machine(str(p))
