"""The report page: one self-contained HTML file (inline CSS, charts as embedded PNG, no script, no network)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from html import escape

from matplotlib.figure import Figure

from ..summary import format_secs
from .charts import failures_chart, int8_chart, roofline_chart, size_px, to_data_uri, tuning_curves
from .model import PairReport, ReportData

#: tuning-curve sections drawn at most (each is one chart); the table lists every workload
MAX_WORKLOADS = 40

TITLE = "opforge tuning report"
SECTION_TITLES = {
    "table": "Best kernels by workload and target",
    "curves": "Tuning curves",
    "roofline": "Roofline",
    "failures": "Failed trials by reason",
    "int8": "int8: speed against accuracy loss",
    "notes": "How to read this page",
}

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin: 18px 0 4px; } .meta, .note { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 12px; } th, td { border: 1px solid #ddd; padding: 3px 5px; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; } td.cfg { text-align: left; font-family: monospace; font-size: 11px; min-width: 160px; white-space: normal; overflow-wrap: anywhere; }
figure.chart { margin: 8px 0 16px; } figure.chart img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; } code { font-size: 12px; }
"""


def _num(x: float | None, suffix: str = "", digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}{suffix}"


def _when(moment: datetime | None, zone: bool = True) -> str:
    return moment.strftime("%Y-%m-%d %H:%M" + (" UTC" if zone else "")) if moment else "-"


def _figure(fig: Figure, caption: str, chart_id: str) -> str:
    width, height = size_px(fig)
    return (
        f'<figure class="chart" id="{escape(chart_id)}"><img class="chart" src="{to_data_uri(fig)}" width="{width}" height="{height}" '
        f'alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _table(pairs: Sequence[PairReport]) -> str:
    head = (
        '<tr><th class="l">op, dtypes</th><th class="l">shape</th><th class="l">target, fingerprint</th><th>best time</th>'
        "<th>GFLOP/s</th><th>% of peak</th><th>vs untuned</th><th>vs numpy</th><th>trials (failed)</th>"
        '<th class="l">best found (UTC)</th><th class="l">by team, host</th><th class="l">best config</th></tr>'
    )
    rows = []
    for p in pairs:
        rows.append(
            "<tr>"
            f'<td class="l">{escape(p.op_name)}<br>{escape(",".join(p.dtypes))}</td><td class="l">{escape(p.shape)}</td>'
            f'<td class="l">{escape(p.target.name)}<br><code>{escape(p.target.fingerprint)}</code></td><td>{format_secs(p.best_secs)}</td>'
            f"<td>{_num(p.gflops)}</td><td>{_num(p.peak_percent, '%')}</td><td>{_num(p.speedup_vs_untuned, 'x', 2)}</td>"
            f"<td>{_num(p.speedup_vs_numpy, 'x', 2)}</td><td>{p.trials:,} ({p.failed:,})</td><td class=\"l\">{_when(p.best_at, zone=False)}</td>"
            f'<td class="l">{escape(p.best_team or "-")}<br>{escape(p.best_host or "")}</td><td class="cfg">{escape(p.best_config or "-")}</td>'
            "</tr>"
        )
    return f'<table id="best-table">{head}{"".join(rows)}</table>'


def _curves(data: ReportData, max_workloads: int) -> str:
    by_workload: dict[str, list[PairReport]] = defaultdict(list)
    for p in data.pairs:
        by_workload[p.workload_key].append(p)
    parts = []
    if not data.strategy_recorded:
        parts.append(
            '<p class="note" id="strategy-note">No random-search curve: no trial here records which search strategy '
            "measured it (stored before schema 0003, or re-measured outside a search), so every trial of a workload "
            "and target forms one curve.</p>"
        )
    elif "random" not in data.strategies:
        parts.append(
            '<p class="note" id="strategy-note">No random-search curve: no trial here was measured by random search; '
            "run <code>opforge tune --strategy random</code> into the same database to draw it beside the guided one.</p>"
        )
    for n, (key, pairs) in enumerate(by_workload.items()):
        if n == max_workloads:
            parts.append(f'<p class="note">{len(by_workload) - max_workloads} more workloads have no curve here; narrow the report with --op or --target.</p>')
            break
        p = pairs[0]
        name = f"{p.op_name} {p.shape} ({','.join(p.dtypes)})"
        strategies = sorted({s.strategy for q in pairs for s in q.series if s.strategy})
        caption = f"tuning curve of {name}, key {key[:12]}" + (f"; strategies: {', '.join(strategies)} (random dashed)" if strategies else "")
        fig = tuning_curves(pairs)
        parts.append(f"<h3>{escape(name)}</h3>{_figure(fig, caption, f'curve-{key[:12]}')}")
    return "".join(parts) or '<p class="note">No records.</p>'


def _rooflines(data: ReportData) -> str:
    parts = []
    for t in data.targets:
        pairs = [p for p in data.pairs if p.target == t]
        if t.peaks:
            bw = f", {t.peaks.bandwidth_gbs:,.0f} GB/s" if t.peaks.bandwidth_gbs else ", bandwidth not calibrated"
            peaks = ", ".join(f"{'any dtype' if d == '*' else d} {g:,.0f} GFLOP/s" for d, g in sorted(t.peaks.gflops.items())) or "peak FLOP/s not calibrated"
            caption = f"roofline of {t.label}: {peaks}{bw} (from {t.peaks.source})"
        else:
            caption = f"roofline of {t.label}: not calibrated (run `opforge targets calibrate`); kernels placed without peak lines"
        parts.append(_figure(roofline_chart(t, pairs), caption, f"roofline-{t.fingerprint[:12]}"))
    return "".join(parts) or '<p class="note">No targets.</p>'


def _failures(data: ReportData) -> str:
    if not data.failures:
        return '<p class="note" id="no-failures">No failed trials.</p>'
    chart = _figure(failures_chart(data.failures), f"{data.failed:,} failed trials by reason", "failures-chart")
    rows = "".join(
        f'<tr><td class="l">{escape(g.reason)}</td><td>{g.count:,}</td><td class="l">{escape(", ".join(sorted(g.by_op)))}</td>'
        f'<td class="cfg">{escape(g.example or g.pattern)}</td></tr>'
        for g in data.failures[:30]
    )
    more = f'<p class="note">{len(data.failures) - 30} rarer messages not listed.</p>' if len(data.failures) > 30 else ""
    table = f'<table id="failures-table"><tr><th class="l">reason</th><th>trials</th><th class="l">ops</th><th class="l">example message</th></tr>{rows}</table>'
    return chart + table + more


def _int8(data: ReportData) -> str:
    missing = (
        f'<p class="note">{data.int8_without_accuracy:,} ok int8 trials have no stored accuracy loss or FLOP count and are not shown.</p>'
        if data.int8_without_accuracy
        else ""
    )
    if not data.int8:
        return '<p class="note" id="no-int8">No int8 or quantized records.</p>' + missing
    caption = f"{len(data.int8):,} ok int8/quantized trials: GFLOP/s against relative L2 error"
    return _figure(int8_chart(data.int8), caption, "int8-chart") + missing


def _notes(data: ReportData) -> str:
    items = [
        "<b>vs untuned</b>: best time against the first trial of the workload on that target; the tuner measures the "
        "untuned default schedule first, so the first stored trial is that schedule.",
        f"<b>vs numpy</b>: {escape(data.numpy_source)}.",
        "<b>% of peak</b> and the roofline lines use the target's peaks (calibrated, nominal or datasheet: each "
        "roofline caption says which); a target without them shows '-'.",
        "<b>GFLOP/s</b> counts the op's arithmetic from its canonical text (multiply-add = 2).",
        "<b>tuning time</b> on the curves adds the gaps between consecutive trials, leaving out pauses over 10 minutes "
        "(a new run).",
    ]
    return "<ul class=\"note\">" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def render_html(data: ReportData, max_workloads: int = MAX_WORKLOADS) -> str:
    """The page for ``data``: the table, tuning curves, rooflines, failures and int8 chart, with notes."""
    filters = "; ".join(f"{k}: {', '.join(v)}" for k, v in data.filters.items())
    meta = (
        f"database <code>{escape(data.source)}</code> · {data.records:,} records · {len(data.pairs):,} workload/target pairs · "
        f"generated {_when(data.generated_at)}" + (f" · filtered by {escape(filters)}" if filters else "")
    )
    sections = [
        ("table", _table(data.pairs) if data.pairs else '<p class="note">No records match.</p>'),
        ("curves", _curves(data, max_workloads)),
        ("roofline", _rooflines(data)),
        ("failures", _failures(data)),
        ("int8", _int8(data)),
        ("notes", _notes(data)),
    ]
    body = "".join(f'<section id="{key}"><h2>{escape(SECTION_TITLES[key])}</h2>{html}</section>' for key, html in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(TITLE)}</title><style>{_CSS}</style></head>"
        f'<body><h1>{escape(TITLE)}</h1><p class="meta">{meta}</p>{body}</body></html>\n'
    )
