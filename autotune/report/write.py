"""Gather, render and write a report in one call: what ``opforge report`` and ``opforge tune --report`` run."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .gather import Filters, gather
from .html import MAX_WORKLOADS, render_html
from .model import Peaks, ReportData


def write_report(
    db: Any,
    path: str | os.PathLike[str],
    filters: Filters = Filters(),
    peaks: Mapping[str, Peaks] | None = None,
    numpy_secs: Mapping[tuple[str, str], float] | None = None,
    numpy_source: str = "",
    max_workloads: int = MAX_WORKLOADS,
) -> ReportData:
    """Render the records of ``db`` matching ``filters`` into the HTML file ``path``; returns what it shows.

    The file is written whole or not at all (a temporary file renamed into place).
    """
    data = gather(db, filters, peaks, numpy_secs, numpy_source)
    page = render_html(data, max_workloads)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return data
