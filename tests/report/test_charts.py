"""Each chart draws something a person can see, from hand-made report values."""

from __future__ import annotations

import base64
import io
import math
from datetime import datetime, timezone

import numpy as np
import pytest

from autotune.report import FailureGroup, Int8Point, PairReport, Peaks, Series, TargetReport
from autotune.report.charts import failures_chart, int8_chart, roofline_chart, to_data_uri, tuning_curves
from autotune.report.charts.curves import _steps
from autotune.report.failures import pattern_of, reason_of

T = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _target(peaks: Peaks | None = None) -> TargetReport:
    return TargetReport("cpu", '{"name":"cpu"}', "fa11ce0000000001", peaks)


def _pair(series: tuple[Series, ...], flops: int | None = 2 * 64**3, target: TargetReport | None = None) -> PairReport:
    secs = [s for x in series for s in x.secs if math.isfinite(s)]
    return PairReport(
        op_name="matmul", workload_key="a" * 64, sizes={"M": 64, "K": 64, "N": 64}, dtypes=("float32",), target=target or _target(),
        flops=flops, bytes_moved=3 * 64 * 64 * 4, trials=sum(len(x.secs) for x in series), failed=0,
        best_secs=min(secs) if secs else None, best_config=None, best_team="kernels", best_host="h", best_at=T, first_at=T, last_at=T,
        teams=("kernels",), untuned_secs=None, numpy_secs=None, series=series,
    )


def _pixels(fig) -> np.ndarray:
    """The PNG the page embeds, decoded."""
    from matplotlib.image import imread

    uri = to_data_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    return imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")


def _coloured(img: np.ndarray) -> int:
    """Pixels that are neither white nor grey nor black: the data (lines, markers, bars), not the axes."""
    rgb = img[..., :3]
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 0.2).sum())


def test_steps_keep_only_the_improvements_and_the_last_trial():
    series = Series("evolutionary", (4.0, math.inf, 2.0, 3.0, 2.0, 1.0, 5.0), tuple(float(i) for i in range(7)))
    trials, times, values = _steps(series, flops=None)
    assert trials == [1, 3, 6, 7] and times == [0.0, 2.0, 5.0, 6.0]
    assert values == [4000.0, 2000.0, 1000.0, 1000.0]  # ms without a FLOP count


def test_tuning_curves_draw_guided_and_random_lines():
    guided = Series("evolutionary", (1e-3, 5e-4, 2e-4), (0.0, 1.0, 2.0))
    rand = Series("random", (1e-3, 8e-4, 6e-4), (0.0, 1.0, 2.0))
    fig = tuning_curves([_pair((guided, rand))])
    left, right = fig.axes
    assert [line.get_linestyle() for line in left.get_lines()] == ["-", "--"]
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["evolutionary", "random"]
    assert left.get_ylabel() == "best-so-far GFLOP/s" and "wall time" in right.get_title()
    assert _coloured(_pixels(fig)) > 1000


def test_tuning_curves_of_only_failures_say_so():
    fig = tuning_curves([_pair((Series(None, (math.inf, math.inf), (0.0, 1.0)),))])
    assert "no successful trial" in [t.get_text() for t in fig.axes[0].texts]
    with pytest.raises(ValueError, match="needs the pairs"):
        tuning_curves([])


def test_roofline_has_peak_lines_only_when_calibrated():
    series = (Series(None, (1e-4,), (0.0,)),)
    bare = roofline_chart(_target(), [_pair(series)])
    assert "not calibrated" in bare.axes[0].get_title() and not bare.axes[0].get_lines()
    peaks = _target(Peaks({"float32": 500.0}, 50.0, "test"))
    fig = roofline_chart(peaks, [_pair(series, target=peaks)])
    ax = fig.axes[0]
    assert "not calibrated" not in ax.get_title() and len(ax.get_lines()) == 2  # peak line and bandwidth slope
    assert ax.get_ylim()[1] >= 500.0 and _coloured(_pixels(fig)) > 50  # one dot


def test_failures_chart_shows_all_four_reasons():
    groups = [FailureGroup("timeout", "run: timeout", "run: timeout after 20 s", 3, {"matmul": 2, "softmax": 1}),
              FailureGroup("crash", "run: worker died", "run: worker died (SIGSEGV)", 1, {"matmul": 1})]
    fig = failures_chart(groups)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["build error", "timeout", "crash", "wrong result"]
    assert "4 in all" in ax.get_title()
    assert _coloured(_pixels(fig)) > 5000


def test_int8_chart_keeps_exact_results_on_the_axis():
    points = [Int8Point("matmul_int8", "cpu", 10.0, 0.0, 0.0), Int8Point("matmul_int8", "cpu", 12.0, 0.01, 2.0)]
    fig = int8_chart(points)
    ax = fig.axes[0]
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0
    assert _coloured(_pixels(fig)) > 50
    with pytest.raises(ValueError, match="at least one point"):
        int8_chart([])


def test_error_messages_group_by_pattern():
    assert pattern_of("wrong result: max abs error 0.12, relative L2 error 3e-05") == "wrong result: max abs error N, relative L2 error N"
    assert pattern_of("build: bad\ntraceback...") == "build: bad"
    assert pattern_of(None) == pattern_of("") == "(no message stored)"
    assert reason_of("run_error") == "crash"
    with pytest.raises(ValueError, match="not a failure"):
        reason_of("ok")


def test_trials_without_a_strategy_beside_recorded_ones_are_labelled_so():
    older = Series(None, (1e-3, 9e-4), (0.0, 1.0))
    rand = Series("random", (1e-3, 8e-4), (0.0, 1.0))
    fig = tuning_curves([_pair((older, rand))])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["strategy not recorded", "random"]


def test_curve_legends_tell_targets_apart_even_when_short_fingerprints_collide():
    series = (Series(None, (1e-4, 5e-5), (0.0, 1.0)),)
    a = TargetReport("cpu", '{"name":"cpu"}', "bench00000000000", None)
    b = TargetReport("cpu", '{"name":"cpu"}', "bench00000000001", None)
    fig = tuning_curves([_pair(series, target=a), _pair(series, target=b)])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["cpu (bench00000000000) · all trials", "cpu (bench00000000001) · all trials"]
