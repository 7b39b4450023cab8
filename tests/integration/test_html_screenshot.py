"""The HTML report rendered by a real browser (Debian's chromium, headless): not blank, verdict colours drawn."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

from netcheck.model.kinds import Verdict
from netcheck.report.html import COLOURS, render_html
from netcheck.report.json import parse_report
from tests.conftest import lab_unavailable
from tests.png import decode_png
from tests.report_helpers import merge_reports

FIXTURES = Path(__file__).parent.parent / "unit" / "fixtures"


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_html_report_renders_with_its_diagram(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        lab_unavailable("chromium is not installed (apt-get install chromium)")
    reports = [
        parse_report((FIXTURES / name).read_text())
        for name in ("report_console.json", "report_agent_win.json", "report_agent_lin.json")
    ]
    page = tmp_path / "report.html"
    page.write_text(render_html(merge_reports(reports, tool_version="0.1.0")))
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,1400", page.as_uri()],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert shot.exists(), "chromium wrote no screenshot"
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 1400)
    counts = Counter(pixels)
    white = counts[(255, 255, 255)]
    assert white < 0.97 * len(pixels), "the page is blank"
    assert len(counts) > 50, "too few colours for a rendered report"
    for verdict in (Verdict.FAIL, Verdict.PASS):
        assert counts[rgb(COLOURS[verdict])] > 200, f"no {verdict} colour drawn: the diagram or badges are missing"
