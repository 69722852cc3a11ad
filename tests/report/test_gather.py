"""Gathering a report from the database: best, untuned, failures, int8, strategies, filters, peaks."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from autotune.report import Filters, Peaks, gather
from autotune.report.failures import REASONS
from report_samples import T0, sample_target, trial_records, workload_of
from tuning_db import Workload


def _pair(data, op_name, fingerprint_prefix, size=None):
    found = [p for p in data.pairs if p.op_name == op_name and p.target.fingerprint.startswith(fingerprint_prefix) and (size is None or p.sizes.get("M") == size)]
    assert len(found) == 1, found
    return found[0]


def test_best_matches_the_database_best_and_untuned_is_the_first_trial(sample_db):
    data = gather(sample_db)
    assert data.records == sample_db.count_records() == 320
    assert len(data.pairs) == 8
    for p in data.pairs:
        best = sample_db.best(p.workload_key, p.target.canonical, p.target.fingerprint)
        assert p.best_secs == pytest.approx(best.median_secs)
        assert p.best_team == best.team and p.best_at == best.created_at
        assert p.best_config and "C.unroll=" in p.best_config
        first = sample_db.records_for(p.workload_key, p.target.canonical, p.target.fingerprint)[0]
        assert p.untuned_secs == pytest.approx(first.median_secs)
        assert p.speedup_vs_untuned == pytest.approx(first.median_secs / best.median_secs)
        assert p.trials == 40 and sum(s.secs.count(math.inf) for s in p.series) == p.failed


def test_gflops_come_from_the_canonical_text(sample_db):
    data = gather(sample_db)
    p = _pair(data, "matmul", "fa11", 256)
    assert p.flops == 2 * 256**3
    assert p.gflops == pytest.approx(2 * 256**3 / p.best_secs / 1e9)
    assert list(p.sizes) == ["M", "K", "N"]  # the op's declared order, not the stored (sorted) one


def test_failures_are_counted_by_reason(sample_db):
    data = gather(sample_db)
    stored = Counter(r.status for w in sample_db.workloads() for r in sample_db.records_for(w.key) if r.status != "ok")
    by_reason = Counter()
    for g in data.failures:
        by_reason[g.reason] += g.count
    assert by_reason == Counter({REASONS[s]: n for s, n in stored.items()})
    assert data.failed == sum(p.failed for p in data.pairs)
    # messages differing only in numbers form one group
    wrong = [g for g in data.failures if g.reason == "wrong result"]
    assert len(wrong) == 1 and wrong[0].pattern.startswith("wrong result: max abs error N")


def test_int8_points_are_the_ok_trials_of_int8_workloads(sample_db):
    data = gather(sample_db)
    ok_int8 = sum(p.trials - p.failed for p in data.pairs if p.op_name == "matmul_int8")
    assert len(data.int8) == ok_int8 > 0
    assert {pt.op_name for pt in data.int8} == {"matmul_int8"}
    assert all(pt.gflops > 0 and pt.rel_l2_error >= 0 for pt in data.int8)


def test_a_quantized_float_trial_joins_the_int8_chart(tmp_path, rng):
    from autotune.report.facts import quantized
    from tuning_db import open_db

    assert quantized('{"C.quantize":"int8","C.unroll":4}') and not quantized('{"C.quantize":"none"}') and not quantized("[1]")
    from dsl.library import matmul

    w, t = workload_of(matmul().bind(M=32, N=32, K=32)), sample_target("0123456789abcdef")
    with open_db(str(tmp_path / "q.db")) as db:
        db.add_workload(w)
        db.add_target(t)
        recs = trial_records(w, t, 4, rng, T0, 1e-4, "kernels", fail_rate=0.0)
        quant = replace(recs[1], config='{"C.quantize":"int8","C.unroll":4}', rel_l2_error=0.01)
        db.add_records([recs[0], quant, recs[2]])
        data = gather(db)
    assert [pt.rel_l2_error for pt in data.int8] == [0.01]


def test_filters_select_ops_targets_and_workloads(sample_db):
    assert {p.op_name for p in gather(sample_db, Filters(ops=("softmax",))).pairs} == {"softmax"}
    data = gather(sample_db, Filters(targets=("b0b0",)))
    assert {p.target.fingerprint for p in data.pairs} == {"b0b0000000000002"} and data.records == 160
    key = gather(sample_db).pairs[0].workload_key
    assert {p.workload_key for p in gather(sample_db, Filters(workload_keys=(key,))).pairs} == {key}
    empty = gather(sample_db, Filters(ops=("conv2d_nchw",)))
    assert empty.pairs == () and empty.records == 0 and empty.filters == {"op": ["conv2d_nchw"]}


def test_peaks_from_stored_facts_unless_given(sample_db):
    data = gather(sample_db)
    calibrated = _pair(data, "matmul", "fa11", 64)
    assert calibrated.target.peaks.gflops == {"float32": 200.0, "int8": 800.0}
    assert calibrated.peak_percent == pytest.approx(100 * calibrated.gflops / 200.0)
    assert _pair(data, "matmul", "b0b0", 64).target.peaks is None
    given = gather(sample_db, peaks={"b0b0000000000002": Peaks({"*": 50.0}, 10.0, "test")})
    p = _pair(given, "matmul", "b0b0", 64)
    assert p.peak_gflops == 50.0 and p.target.peaks.source == "test"
    assert _pair(given, "matmul_int8", "fa11").peak_gflops == 800.0  # int8 before int32


def test_numpy_speedups_only_where_given(sample_db):
    data = gather(sample_db)
    assert all(p.speedup_vs_numpy is None for p in data.pairs) and "not stored" in data.numpy_source
    p = _pair(data, "matmul", "fa11", 64)
    given = gather(sample_db, numpy_secs={(p.workload_key, p.target.fingerprint): 2 * p.best_secs}, numpy_source="this run")
    assert _pair(given, "matmul", "fa11", 64).speedup_vs_numpy == pytest.approx(2.0) and given.numpy_source == "this run"


def test_a_workload_that_does_not_parse_is_listed_without_gflops(tmp_path, rng):
    from tuning_db import open_db

    w = Workload("f" * 64, "op from another opforge { ? }", "mystery", {"N": 8}, ("float32",))
    t = sample_target("0123456789abcdef")
    with open_db(str(tmp_path / "m.db")) as db:
        db.add_workload(w)
        db.add_target(t)
        db.add_records(trial_records(w, t, 5, rng, T0, 1e-4, "kernels", fail_rate=0.0))
        (p,) = gather(db).pairs
    assert p.op_name == "mystery" and p.flops is None and p.gflops is None and p.best_secs is not None


def test_a_random_and_a_guided_tune_into_one_database_draw_two_curves(db_url):
    from click.testing import CliRunner

    from autotune.cli import cli
    from autotune.report import render_html
    from autotune.report.charts import tuning_curves
    from tuning_db import open_db

    for strategy in (("--strategy", "random"), ()):  # then the default strategy, resuming the random run's trials
        args = ["tune", "matmul", "--shape", "M=32,N=32,K=32", "--trials", "3", "--repeats", "1", "--db", db_url, *strategy]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    with open_db(db_url) as db:
        data = gather(db)
    (p,) = data.pairs
    assert data.strategy_recorded and data.strategies == ("evolutionary", "random")
    # the untuned default is measured once, by the first run: three trials each, none unrecorded
    assert {s.strategy: len(s.secs) for s in p.series} == {"random": 3, "evolutionary": 3} and p.trials == 6
    lines = tuning_curves([p]).axes[0].get_lines()
    assert {line.get_label(): line.get_linestyle() for line in lines} == {"random": "--", "evolutionary": "-"}
    page = render_html(data)
    assert "strategies: evolutionary, random (random dashed)" in page and 'id="strategy-note"' not in page


def test_trials_without_a_strategy_form_their_own_series(tmp_path, rng):
    from dsl.library import matmul
    from tuning_db import open_db

    w, t = workload_of(matmul().bind(M=32, N=32, K=32)), sample_target("0123456789abcdef")
    older = trial_records(w, t, 3, rng, T0, 1e-4, "kernels", fail_rate=0.0)
    tagged = [replace(r, strategy="random") for r in trial_records(w, t, 2, rng, T0 + timedelta(hours=1), 1e-4, "kernels", fail_rate=0.0)]
    with open_db(str(tmp_path / "s.db")) as db:
        db.add_workload(w)
        db.add_target(t)
        db.add_records(older)
        assert not gather(db).strategy_recorded
        db.add_records(tagged)
        data = gather(db)
    (p,) = data.pairs
    assert data.strategies == ("random",)
    assert [(s.strategy, len(s.secs)) for s in p.series] == [(None, 3), ("random", 2)]


def test_tuning_time_leaves_out_pauses_between_runs(tmp_path, rng):
    from dsl.library import matmul
    from tuning_db import open_db

    w, t = workload_of(matmul().bind(M=32, N=32, K=32)), sample_target("0123456789abcdef")
    start = T0
    first = trial_records(w, t, 3, rng, start, 1e-4, "kernels", fail_rate=0.0)
    later = trial_records(w, t, 3, rng, start + timedelta(days=2), 1e-4, "kernels", fail_rate=0.0)
    with open_db(str(tmp_path / "p.db")) as db:
        db.add_workload(w)
        db.add_target(t)
        db.add_records(first + later)
        ((series,),) = [p.series for p in gather(db).pairs]
    assert series.tuning_secs == (0.0, 1.0, 2.0, 2.0, 3.0, 4.0)
