"""C and C++: examples/cpp built with CMake, run on the exported library, bit for bit the Python result."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from autotune.export import load

EXAMPLES = Path(__file__).parents[2] / "examples" / "cpp"

pytestmark = pytest.mark.skipif(
    not (shutil.which("cmake") and shutil.which("g++") and shutil.which("gcc")), reason="needs cmake, g++ and gcc"
)


@pytest.fixture(scope="module")
def built(exported_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("cpp-build")
    for cmd in (
        ["cmake", "-S", str(EXAMPLES), "-B", str(build), f"-DOPFORGE_EXPORT_DIR={exported_dir}", "-DCMAKE_BUILD_TYPE=Release"],
        ["cmake", "--build", str(build), "-j", "2"],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return build


@pytest.fixture
def inputs(rng, tmp_path: Path) -> list[np.ndarray]:
    arrays = [rng.standard_normal((64, 64), dtype=np.float32) for _ in range(2)]
    for name, x in zip(("a", "b"), arrays):
        x.tofile(tmp_path / f"{name}.bin")
    return arrays


def test_cpp_program_runs_the_library_through_tvm_runtime(built: Path, exported_dir: Path, inputs, tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(built / "run_kernel"), str(exported_dir / "matmul.so"), str(exported_dir / "matmul.json"), "matmul",
         str(tmp_path / "a.bin"), str(tmp_path / "b.bin"), str(tmp_path / "c.bin")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = np.fromfile(tmp_path / "c.bin", np.float32).reshape(64, 64)
    assert out.tobytes() == load(exported_dir / "matmul.so")(*inputs).tobytes()


def test_cpp_program_names_a_missing_kernel(built: Path, exported_dir: Path) -> None:
    proc = subprocess.run(
        [str(built / "run_kernel"), str(exported_dir / "matmul.so"), str(exported_dir / "matmul.json"), "conv", "x"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1 and "no kernel conv; it holds: matmul" in proc.stderr


def test_plain_c_program_calls_the_c_entry_point_without_tvm(built: Path, exported_dir: Path, inputs, tmp_path: Path) -> None:
    linked = subprocess.run(["ldd", str(built / "c_matmul")], capture_output=True, text=True).stdout
    assert "tvm" not in linked.replace(str(exported_dir), "")  # only the exported library and libc
    proc = subprocess.run(
        [str(built / "c_matmul"), str(tmp_path / "a.bin"), str(tmp_path / "b.bin"), str(tmp_path / "c.bin")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrong size: status 2 (opforge_matmul: A needs 4096 elements (float32[64x64]))" in proc.stdout
    out = np.fromfile(tmp_path / "c.bin", np.float32).reshape(64, 64)
    assert out.tobytes() == load(exported_dir / "matmul.so")(*inputs).tobytes()
