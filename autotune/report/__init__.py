"""``opforge report``: the tuning database as one self-contained HTML page people look at.

``gather`` reads plain values from the database (``model``), one module per chart draws them
(``charts``), and ``html`` assembles the page; ``write_report`` does all three.
"""

from .gather import Filters, gather
from .html import render_html
from .model import FailureGroup, Int8Point, PairReport, Peaks, ReportData, Series, TargetReport
from .peaks import peaks_from_facts, peaks_of_target
from .write import write_report

__all__ = [
    "FailureGroup",
    "Filters",
    "Int8Point",
    "PairReport",
    "Peaks",
    "ReportData",
    "Series",
    "TargetReport",
    "gather",
    "peaks_from_facts",
    "peaks_of_target",
    "render_html",
    "write_report",
]
