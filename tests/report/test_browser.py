"""The report as a person sees it: rendered by headless Chromium, screenshot checked pixel by pixel.

A probe copy of the page adds one script that writes where each chart landed (and the page's
height) into a hidden element; ``--dump-dom`` reads it back, and the screenshot of the same
page at the same width is cropped to each chart, which must show drawn data, not a blank box.
Skipped where Debian's chromium is missing (``scripts/install_chromium.sh`` installs it).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from autotune.report import write_report
from autotune.report.html import SECTION_TITLES
from tuning_db import open_db

CHROMIUM = shutil.which("chromium")
WIDTH = 1400
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/install_chromium.sh installs Debian's package)")

_PROBE = """<pre id="probe" style="display:none"></pre><script>
const rects = [...document.querySelectorAll('img.chart')].map(img => {
  const r = img.getBoundingClientRect();
  return {id: img.parentElement.id, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height, loaded: img.complete && img.naturalWidth > 0};
});
document.getElementById('probe').textContent = JSON.stringify({width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight, charts: rects});
</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="opforge-chromium-") as profile:
        return subprocess.run(
            [
                CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--force-device-scale-factor=1", f"--user-data-dir={profile}", *args,
            ],
            capture_output=True, text=True, timeout=180, check=False,
        )


@pytest.fixture(scope="module")
def rendered(sample_db_path: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The sample report's DOM (as Chromium built it), its chart boxes and its full-page screenshot."""
    folder = tmp_path_factory.mktemp("browser")
    page = folder / "report.html"
    with open_db(sample_db_path) as db:
        write_report(db, page)
    probe = folder / "probe.html"
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    dom = _chromium(f"--window-size={WIDTH},1000", "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="probe"[^>]*>(.*?)</pre>', dom.stdout, re.S)
    assert found, "the probe script did not run"
    layout = json.loads(html.unescape(found.group(1)))
    shot = folder / "report.png"
    result = _chromium(f"--window-size={WIDTH},{layout['height']}", f"--screenshot={shot}", probe.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    from matplotlib.image import imread

    return {"dom": dom.stdout, "layout": layout, "pixels": imread(str(shot))[..., :3], "screenshot": shot}


def test_titles_and_captions_are_in_the_dom(rendered):
    dom = rendered["dom"]
    assert [html.unescape(t) for t in re.findall(r"<h2>(.*?)</h2>", dom)] == list(SECTION_TITLES.values())
    captions = [html.unescape(c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", dom)]
    for start in ("tuning curve of matmul M=64,K=64,N=64", "tuning curve of matmul_int8", "tuning curve of softmax", "roofline of cpu (fa11ce00)", "roofline of cpu (b0b00000): not calibrated"):
        assert any(c.startswith(start) for c in captions), (start, captions)
    assert any("failed trials by reason" in c for c in captions) and any("int8" in c for c in captions)


def test_every_chart_is_loaded_and_on_the_page(rendered):
    charts, height = rendered["layout"]["charts"], rendered["pixels"].shape[0]
    assert rendered["layout"]["width"] <= WIDTH  # nothing runs off the right edge (the table wraps its configs)
    assert len(charts) == 8
    for c in charts:
        assert c["loaded"], c["id"]
        assert c["w"] >= 600 and c["h"] >= 250, c
        assert c["y"] + c["h"] <= height, c  # inside the screenshot


def test_screenshot_shows_drawn_data_in_every_chart(rendered):
    pixels = rendered["pixels"]
    for c in rendered["layout"]["charts"]:
        x, y, w, h = (int(round(c[k])) for k in ("x", "y", "w", "h"))
        crop = pixels[y : y + h, x : x + w]
        ink = (crop.min(axis=2) < 0.6).mean()  # text, axes, lines
        coloured = ((crop.max(axis=2) - crop.min(axis=2)) > 0.2).sum()  # the data's colours
        assert 0.01 < ink < 0.6, (c["id"], ink)
        assert coloured > 40, (c["id"], coloured)


def test_screenshot_shows_the_embedded_images_unscaled(rendered):
    """What Chromium drew in each chart's box is the PNG the page embeds, pixel for pixel (almost)."""
    import base64
    import io

    from matplotlib.image import imread

    embedded = dict(re.findall(r'<figure class="chart" id="([^"]+)"><img class="chart" src="data:image/png;base64,([^"]+)"', rendered["dom"]))
    for c in rendered["layout"]["charts"]:
        png = imread(io.BytesIO(base64.b64decode(embedded[c["id"]])), format="png")[..., :3]
        x, y = int(round(c["x"])), int(round(c["y"]))
        crop = rendered["pixels"][y : y + png.shape[0], x : x + png.shape[1]]
        assert crop.shape == png.shape, c["id"]
        assert np.abs(crop - png).mean() < 0.02, c["id"]

