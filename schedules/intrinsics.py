# mypy: disable-error-code="valid-type"
"""Tensor intrinsics for tensorize, registered with TVM once per process and only when needed.

``import tvm.s_tir.tensor_intrin`` registers every intrinsic TVM has (CUDA mma/wmma variants,
Hexagon, ROCm, ...) and takes 30-60 s. A schedule needs one family, so ``load`` executes only the
TVM module that defines it (``x86.py``: 0.2 s, ``arm_cpu.py``: 0.4 s, ``cuda.py``: ~8 s) under
its own module name in ``sys.modules``: a later full import of the package finds it there and
registers nothing twice. The module cache makes the cost once per process, so each build worker
of the autotuner's pool pays it on its first tensorized build and never again.

Two are registered here. VNNI takes the description of TVM's ``dot_16x4_vnni`` (``x86.py``)
with an implementation for the LLVM TVM 0.27 ships (LLVM 22 declares ``vpdpbusd`` over
``<64 x i8>`` operands; TVM's own implementation passes ``<16 x i32>`` and fails to verify).
The AVX2 fallback (``pmaddubsw`` + ``pmaddwd`` on 256-bit registers) is not in TVM at all; it
has the same description at 8 lanes.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass
from typing import Any

_PACKAGE = "tvm.s_tir.tensor_intrin"


@dataclass(frozen=True)
class Intrin:
    """One dot-product intrinsic: its TVM name, the output lanes and reduction width it covers,
    and the activation / weight dtypes it reads."""

    name: str
    lanes: int
    width: int
    act_dtype: str
    weight_dtype: str


#: tensorize value -> the intrinsic (CPU: C[lanes] += A[width] . B[lanes, width])
CPU_INTRINS = {
    "vnni": Intrin("opforge_dot_16x4_vnni", 16, 4, "uint8", "int8"),
    "avx2": Intrin("opforge_dot_8x4_avx2", 8, 4, "uint8", "int8"),
    "sdot": Intrin("dot_4x4_i8i8s32_sdot", 4, 4, "int8", "int8"),
}
#: GPU: dp4a is C[0] += A[4] . B[4]; mma the m16n8k32 int8 tensor-core instruction (with its loads)
GPU_INTRINS = {
    "dp4a": Intrin("dp4a_s8s8s32", 1, 4, "int8", "int8"),
    "mma": Intrin("mma_i8i8i32", 16, 32, "int8", "int8"),
}


@functools.lru_cache(maxsize=None)
def _tvm_module(name: str) -> Any:
    full = f"{_PACKAGE}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    from tvm import s_tir

    spec = importlib.util.spec_from_file_location(full, f"{s_tir.__path__[0]}/tensor_intrin/{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"TVM has no tensor intrinsic module {full}")
    module = importlib.util.module_from_spec(spec)
    module.__package__ = _PACKAGE
    sys.modules[full] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full]
        raise
    return module


@functools.lru_cache(maxsize=None)
def load(value: str) -> Intrin:
    """Register the intrinsic of tensorize value ``value`` (once per process) and describe it."""
    if value == "vnni":
        _register_vnni()
    elif value == "avx2":
        _register_avx2()
    elif value == "sdot":
        _tvm_module("dot_product_common")
        _tvm_module("arm_cpu")
    elif value == "dp4a":
        _tvm_module("dot_product_common")
    elif value == "mma":
        _tvm_module("cuda")
    else:
        raise ValueError(f"unknown tensorize value {value!r}; expected one of {sorted({**CPU_INTRINS, **GPU_INTRINS})}")
    return {**CPU_INTRINS, **GPU_INTRINS}[value]


def _register_vnni() -> None:
    """C[0:16] += sum_k u8 A[k] * s8 B[i, k]: one vpdpbusd (u8 x s8 quads summed into int32, no saturation)."""
    from tvm.s_tir import TensorIntrin
    from tvm.script import tirx as T

    desc = _tvm_module("x86").dot_product_16x4_u8i8i32_desc

    @T.prim_func(s_tir=True)
    def impl(
        A: T.Buffer((4,), "uint8", offset_factor=1),
        B: T.Buffer((16, 4), "int8", offset_factor=1),
        C: T.Buffer((16,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:16], A[0:4], B[0:16, 0:4])
            T.writes(C[0:16])
            a_i32 = T.reinterpret(A.vload([0], "uint8x4"), dtype="int32")
            a_u8x64 = T.reinterpret(T.broadcast(a_i32, 16), dtype="uint8x64")
            C[T.ramp(T.int32(0), 1, 16)] = T.call_llvm_pure_intrin(
                T.llvm_lookup_intrinsic_id("llvm.x86.avx512.vpdpbusd.512"),
                C.vload([0], dtype="int32x16"), a_u8x64, B.vload([0, 0], dtype="int8x64"), dtype="int32x16",
            )

    TensorIntrin.register(CPU_INTRINS["vnni"].name, desc, impl, override=True)


def _register_avx2() -> None:
    """C[0:8] += sum_k u8 A[k] * s8 B[i, k]: pmaddubsw (u8 x s8 pairs -> int16) then pmaddwd by ones."""
    from tvm.s_tir import TensorIntrin
    from tvm.script import tirx as T

    @T.prim_func(s_tir=True)
    def desc(
        A: T.Buffer((4,), "uint8", offset_factor=1),
        B: T.Buffer((8, 4), "int8", offset_factor=1),
        C: T.Buffer((8,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:8], A[0:4], B[0:8, 0:4])
            T.writes(C[0:8])
            for i in T.serial(0, 8):
                for k in T.serial(0, 4):
                    with T.sblock("update"):
                        vi, vk = T.axis.remap("SR", [i, k])
                        C[vi] = C[vi] + T.cast(A[vk], "int32") * T.cast(B[vi, vk], "int32")

    @T.prim_func(s_tir=True)
    def impl(
        A: T.Buffer((4,), "uint8", offset_factor=1),
        B: T.Buffer((8, 4), "int8", offset_factor=1),
        C: T.Buffer((8,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:8], A[0:4], B[0:8, 0:4])
            T.writes(C[0:8])
            a_i32 = T.reinterpret(A.vload([0], "uint8x4"), dtype="int32")
            a_u8x32 = T.reinterpret(T.broadcast(a_i32, 8), dtype="uint8x32")
            pairs = T.call_llvm_pure_intrin(
                T.llvm_lookup_intrinsic_id("llvm.x86.avx2.pmadd.ub.sw"), a_u8x32, B.vload([0, 0], dtype="int8x32"), dtype="int16x16"
            )
            C[T.ramp(T.int32(0), 1, 8)] += T.call_llvm_pure_intrin(
                T.llvm_lookup_intrinsic_id("llvm.x86.avx2.pmadd.wd"), pairs, T.int16x16(1), dtype="int32x8"
            )

    TensorIntrin.register(CPU_INTRINS["avx2"].name, desc, impl, override=True)
