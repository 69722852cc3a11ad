"""Target names resolve to TVM target dictionaries; feature detection picks the right mcpu."""

import pytest

from targets import UnknownTargetError, get_target
from targets.cpu import pick_mcpu, read_cpuinfo

SAPPHIRE_CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni amx_tile amx_int8 amx_bf16
"""


def test_cpuinfo_gives_model_and_flags():
    model, flags = read_cpuinfo(SAPPHIRE_CPUINFO)
    assert model == "Intel(R) Xeon(R) Platinum 8480+"
    assert "avx512_vnni" in flags and "amx_int8" in flags


@pytest.mark.parametrize(
    "flags, mcpu",
    [
        (("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "amx_tile", "amx_int8"), "sapphirerapids"),
        (("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"), "cascadelake"),
        (("avx2", "fma", "avx512f", "avx512bw"), "skylake-avx512"),
        (("avx2", "fma"), "haswell"),
        (("sse2",), None),
    ],
)
def test_mcpu_follows_the_detected_features(flags, mcpu):
    assert pick_mcpu("x86_64", flags) == mcpu


def test_cpu_target_builds_a_tvm_target():
    t = get_target("cpu")
    assert t.kind == "cpu" and t.tvm["kind"] == "llvm" and t.cores >= 1
    assert t.tvm_target().kind.name == "llvm"
    assert len(t.fingerprint()) == 16
    assert get_target("cpu").canonical() == t.canonical()


def test_cpu_core_count_can_be_given():
    assert get_target("cpu:1").cores == 1


def test_cuda_target_carries_the_limits_tvm_needs():
    t = get_target("cuda:sm_90")
    assert t.is_gpu and t.tvm["arch"] == "sm_90"
    assert t.tvm["max_shared_memory_per_block"] > 0 and t.tvm["max_threads_per_block"] == 1024
    assert t.tvm_target().kind.name == "cuda"


def test_unknown_target_is_one_line_listing_the_known_ones():
    with pytest.raises(UnknownTargetError, match=r"unknown target 'tpu'; expected one of \['cpu', 'cuda'\]"):
        get_target("tpu")


def test_bad_cuda_arch_is_rejected():
    with pytest.raises(ValueError, match=r"unknown CUDA architecture 'ampere'"):
        get_target("cuda:ampere")
