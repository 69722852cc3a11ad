"""Target names resolve to TVM targets: features detected, the right mcpu, edge triples, peaks by dtype."""

import dataclasses
import json

import pytest

from targets import Peaks, Target, UnknownTargetError, get_target
from targets.cpu import full_rate_bits_of, isa_summary, nominal_peaks, pick_mcpu, read_cpuinfo, read_family, read_mhz
from targets.cuda import datasheet_peaks

SAPPHIRE_CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
cpu MHz\t\t: 2000.000
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni amx_tile amx_int8 amx_bf16
"""

GRAVITON_CPUINFO = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
"""


def test_cpuinfo_gives_model_flags_and_clock():
    model, flags = read_cpuinfo(SAPPHIRE_CPUINFO)
    assert model == "Intel(R) Xeon(R) Platinum 8480+"
    assert "avx512_vnni" in flags and "amx_int8" in flags
    assert read_mhz(SAPPHIRE_CPUINFO) == 2000.0 and read_mhz(GRAVITON_CPUINFO) is None


ZEN4_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16
"""


def test_zen4_runs_256_bit_vectors_at_full_rate_and_other_cpus_every_width():
    vendor, family = read_family(ZEN4_CPUINFO)
    assert (vendor, family) == ("AuthenticAMD", 25)
    _, flags = read_cpuinfo(ZEN4_CPUINFO)
    assert full_rate_bits_of(vendor, family, flags) == 256
    assert full_rate_bits_of("AuthenticAMD", 25, ("avx2", "fma")) is None  # Zen 3: no AVX-512, 256-bit is full width
    assert full_rate_bits_of("AuthenticAMD", 26, flags) is None  # Zen 5: 512-bit units
    assert full_rate_bits_of(*read_family(SAPPHIRE_CPUINFO), read_cpuinfo(SAPPHIRE_CPUINFO)[1]) is None
    assert read_family(GRAVITON_CPUINFO) == ("", None)
    t = Target(name="cpu", kind="cpu", tvm={"kind": "llvm"}, vector_bits=512, full_rate_bits=256)
    assert (t.vector_lanes(32), t.full_rate_lanes(32)) == (16, 8)
    assert Target(**json.loads(json.dumps(dataclasses.asdict(t)))) == t
    assert dataclasses.replace(t, full_rate_bits=None).full_rate_lanes(32) == 16


def test_features_are_named_as_people_name_them():
    _, x86 = read_cpuinfo(SAPPHIRE_CPUINFO)
    assert isa_summary(x86) == ("AVX2", "AVX-512", "VNNI", "AMX")
    _, arm = read_cpuinfo(GRAVITON_CPUINFO)
    assert isa_summary(arm) == ("NEON", "dotprod")


@pytest.mark.parametrize(
    "arch, flags, mcpu",
    [
        ("x86_64", ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "amx_tile", "amx_int8"), "sapphirerapids"),
        ("x86_64", ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"), "cascadelake"),
        ("x86_64", ("avx2", "fma", "avx512f", "avx512bw"), "skylake-avx512"),
        ("x86_64", ("avx2", "fma", "avx_vnni"), "alderlake"),
        ("x86_64", ("avx2", "fma"), "haswell"),
        ("x86_64", ("sse2",), None),
        ("aarch64", ("asimd", "asimddp"), "neoverse-n1"),
        ("aarch64", ("asimd",), "cortex-a72"),
    ],
)
def test_mcpu_follows_the_detected_features(arch, flags, mcpu):
    assert pick_mcpu(arch, flags) == mcpu


def test_cpu_target_builds_a_tvm_target():
    t = get_target("cpu")
    assert t.kind == "cpu" and t.tvm["kind"] == "llvm" and t.cores >= 1 and not t.is_cross
    assert t.tvm_target().kind.name == "llvm"
    assert len(t.fingerprint()) == 16
    assert get_target("cpu").canonical() == t.canonical()


def test_core_count_can_be_given_and_must_be_a_number():
    assert get_target("cpu:1").cores == 1
    assert get_target("aarch64:8").cores == 8 and get_target("aarch64:8").tvm["num-cores"] == 8
    with pytest.raises(ValueError, match=r"core count, e.g. cpu:4"):
        get_target("cpu:many")


def test_nominal_peak_is_cores_clock_lanes_fma_pipes():
    p = nominal_peaks(("avx2", "fma", "avx512f", "avx512_vnni"), cores=2, mhz=2000.0)
    assert p.gflops["float32"] == pytest.approx(2 * 2.0 * 16 * 2 * 2)
    assert p.gflops["int8"] == pytest.approx(4 * p.gflops["float32"]) and p.bandwidth_gbs is None
    assert p.source.startswith("nominal") and nominal_peaks(("avx2",), 2, None) is None
    assert "int8" not in nominal_peaks(("avx2", "fma"), 1, 3000.0).gflops  # no dot product, no int8 figure


@pytest.mark.parametrize(
    "name, triple, mattr, toolchain, isa",
    [
        ("aarch64", "aarch64-linux-gnu", ["+neon", "+dotprod"], "aarch64-linux-gnu-g++", ("NEON", "dotprod")),
        ("armv7", "armv7a-linux-gnueabihf", ["+neon", "+vfp4"], "arm-linux-gnueabihf-g++", ("NEON",)),
        ("riscv64", "riscv64-linux-gnu", ["+64bit", "+m", "+a", "+f", "+d", "+c"], "riscv64-linux-gnu-g++", ()),
    ],
)
def test_edge_targets_cross_compile_for_their_triple(name, triple, mattr, toolchain, isa):
    t = get_target(name)
    assert t.tvm["mtriple"] == triple and t.tvm["mattr"] == mattr and t.toolchain == toolchain
    assert t.is_cross and not t.is_gpu and isa_summary(t.features) == isa
    assert t.tvm_target().attrs["mtriple"] == triple
    assert t.peaks is None  # the board's clock is unknown here: only a calibration gives peaks


def test_every_target_has_its_own_fingerprint():
    names = ["cpu", "cpu:1", "cuda:sm_80", "cuda:sm_90", "aarch64", "armv7", "riscv64"]
    assert len({get_target(n).fingerprint() for n in names}) == len(names)


def test_more_hardware_facts_change_the_fingerprint_not_the_target():
    t = get_target("aarch64")
    remote = t.with_hardware(rpc_key="rasp4")
    assert remote.canonical() == t.canonical() and remote.fingerprint() != t.fingerprint()


def test_cuda_target_carries_the_limits_tvm_needs():
    t = get_target("cuda:sm_90")
    assert t.is_gpu and t.tvm["arch"] == "sm_90"
    assert t.tvm["max_shared_memory_per_block"] > 0 and t.tvm["max_threads_per_block"] == 1024
    assert t.tvm_target().kind.name == "cuda"


@pytest.mark.parametrize(
    "gpu, arch, label",
    [
        ("NVIDIA H100 80GB HBM3", "sm_90", "NVIDIA H100 SXM"),
        ("NVIDIA H100 PCIe", "sm_90", "NVIDIA H100 PCIe"),
        ("NVIDIA A100-SXM4-80GB", "sm_80", "NVIDIA A100 SXM"),
        ("NVIDIA A100-PCIE-40GB", "sm_80", "NVIDIA A100 PCIe"),
        ("unknown", "sm_89", "NVIDIA L4 (typical sm_89; no GPU detected)"),
    ],
)
def test_gpu_peaks_come_from_the_datasheet_of_the_named_gpu(gpu, arch, label):
    p = datasheet_peaks(gpu, arch)
    assert p.source == f"datasheet: {label}" and p.bandwidth_gbs > 0 and p.gflops["float16"] > p.gflops["float32"]


def test_an_unlisted_gpu_has_no_peaks_rather_than_a_neighbours():
    assert datasheet_peaks("NVIDIA L40S", "sm_89") is None  # not the L4's figures


def test_peaks_by_dtype_agree_with_the_tune_summary():
    from autotune.summary import peak_gflops

    t = get_target("cuda:sm_90")
    assert peak_gflops(t, "float16") == t.peak_gflops("float16") == 989_000
    assert t.peak_gflops("int32") == t.peak_gflops("int8")  # int8 dot products accumulate in int32
    assert peak_gflops(t, "float64") is None
    with pytest.raises(KeyError, match="no peak for 'float64'"):
        t.peak_gflops("float64")
    assert peak_gflops(get_target("aarch64"), "float32") is None


def test_target_survives_the_json_trip_to_the_build_workers():
    t = get_target("cpu").with_peaks(Peaks({"float32": 100.0}, 20.0, "calibrated"))
    back = Target(**json.loads(json.dumps(dataclasses.asdict(t))))
    assert back == t and back.peaks == t.peaks and back.features == t.features


def test_unknown_target_is_one_line_listing_the_known_ones():
    with pytest.raises(UnknownTargetError, match=r"unknown target 'tpu'; expected one of \['aarch64', 'armv7', 'cpu', 'cuda', 'riscv64'\]"):
        get_target("tpu")


def test_bad_cuda_arch_is_rejected():
    with pytest.raises(ValueError, match=r"unknown CUDA architecture 'ampere'"):
        get_target("cuda:ampere")


def test_nvidia_smi_line_gives_the_sm():
    from targets.cuda import parse_smi

    assert parse_smi("NVIDIA H100 80GB HBM3, 9.0, 550.54.15") == {"gpu": "NVIDIA H100 80GB HBM3", "sm": "sm_90", "driver": "550.54.15"}


@pytest.mark.gpu
def test_the_present_gpu_is_detected_with_its_sm_and_peaks():
    from targets import has_cuda

    if not has_cuda():
        pytest.skip("needs an NVIDIA GPU (nvidia-smi finds none here)")
    t = get_target("cuda")
    assert t.tvm["arch"].startswith("sm_") and t.hardware["gpu"] != "unknown" and t.hardware["driver"]
    assert t.name == f"cuda:{t.tvm['arch']}"
