"""The page: self-contained, every section present, text escaped, honest about what it cannot show."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from autotune.report import Filters, gather, render_html, write_report
from autotune.report.html import SECTION_TITLES
from tuning_db import open_db


@pytest.fixture(scope="module")
def page(sample_db_path: str) -> str:
    """The sample database's page, rendered once for the tests that only read it."""
    with open_db(sample_db_path) as db:
        return render_html(gather(db))


def test_page_is_self_contained(page):
    assert "<script" not in page.lower()
    # every src/href is embedded data or an in-page anchor: the page opens with no network
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert url.startswith(("data:image/png;base64,", "#")), url[:60]
    assert "http://" not in page and "https://" not in page
    assert page.count('<img class="chart"') == 4 + 2 + 1 + 1  # 4 workloads, 2 rooflines, failures, int8


def test_page_has_every_section_and_the_table(page):
    for title in SECTION_TITLES.values():
        assert f"<h2>{title}</h2>" in page
    assert page.count("<tr>") - 1 >= 8  # header + 8 pairs (+ failure rows)
    for text in ("fa11ce0000000001", "b0b0000000000002", "kernels<br>bench-host", "M=256,K=256,N=256", "% of peak", "vs untuned"):
        assert text in page


def test_page_says_what_it_cannot_show(page):
    assert "roofline of cpu (b0b00000): not calibrated" in page
    assert "no trial here records which search strategy" in page
    assert "numpy timings are not stored in the tuning database" in page


def test_page_without_a_random_search_run_says_how_to_draw_one(sample_db_path):
    with open_db(sample_db_path) as db:
        data = gather(db)
    guided = [replace(p, series=tuple(replace(s, strategy="evolutionary") for s in p.series)) for p in data.pairs]
    page = render_html(replace(data, pairs=tuple(guided)))
    assert "no trial here was measured by random search" in page and "opforge tune --strategy random" in page
    assert "records which search strategy" not in page


def test_text_from_the_database_is_escaped(sample_db_path):
    with open_db(sample_db_path) as db:
        data = gather(db)
    evil = replace(data.pairs[0], op_name="<img src=x onerror=alert(1)>", best_team="a&b")
    page = render_html(replace(data, pairs=(evil,) + data.pairs[1:]))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "a&amp;b" in page


def test_curve_sections_are_capped_with_a_note(sample_db_path):
    with open_db(sample_db_path) as db:
        page = render_html(gather(db), max_workloads=1)
    assert page.count('id="curve-') == 1 and "3 more workloads have no curve here" in page


def test_an_empty_selection_renders_a_page_that_says_so(sample_db_path, tmp_path):
    with open_db(sample_db_path) as db:
        data = write_report(db, tmp_path / "out" / "r.html", Filters(ops=("conv2d_nchw",)))
    page = (tmp_path / "out" / "r.html").read_text()
    assert data.pairs == () and "No records match." in page and "No failed trials." in page and "filtered by op: conv2d_nchw" in page
    assert not list((tmp_path / "out").glob(".r.html.*"))  # no temporary file left behind
