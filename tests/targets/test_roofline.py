"""A kernel's roofline position: memory- or compute-bound, and how close to the roof it runs."""

import pytest

from targets import Peaks, get_target
from targets.roofline import roofline, roofline_of


def test_low_intensity_is_memory_bound_and_measured_against_the_bandwidth_roof():
    # 1 GFLOP over 4 GB in 1 s on a 100 GFLOP/s, 10 GB/s machine: the roof at 0.25 FLOP/B is 2.5 GFLOP/s
    r = roofline(flops=1e9, bytes_moved=4e9, secs=1.0, peak_gflops=100.0, bandwidth_gbs=10.0)
    assert r.bound == "memory" and r.ridge == 10.0 and r.intensity == 0.25
    assert r.attainable_gflops == pytest.approx(2.5) and r.roof_percent == pytest.approx(40.0)
    assert r.describe() == "memory-bound (0.25 FLOP/B < ridge 10): 40% of the 2.5 GFLOP/s roof"


def test_high_intensity_is_compute_bound_and_measured_against_the_peak():
    r = roofline(flops=100e9, bytes_moved=1e9, secs=2.0, peak_gflops=100.0, bandwidth_gbs=10.0)
    assert r.bound == "compute" and r.attainable_gflops == 100.0 and r.roof_percent == pytest.approx(50.0)


def test_roofline_needs_positive_figures():
    with pytest.raises(ValueError, match="positive"):
        roofline(1e9, 1e9, 1.0, 100.0, 0.0)


def test_an_op_on_a_target_without_bandwidth_has_no_roofline(matmul_16):
    cpu = get_target("cpu:1")
    assert roofline_of(matmul_16, 1e-6, cpu.with_peaks(Peaks({"float32": 50.0}, None, "nominal"))) is None
    r = roofline_of(matmul_16, 1e-6, cpu.with_peaks(Peaks({"float32": 50.0}, 10.0, "calibrated")))
    # 2*16^3 FLOP over 3 float32 16x16 tensors
    assert r.intensity == pytest.approx(2 * 16**3 / (3 * 16 * 16 * 4)) and r.gflops == pytest.approx(2 * 16**3 / 1e-6 / 1e9)
