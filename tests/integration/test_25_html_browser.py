"""The HTML report in a real browser (headless Chromium, file:// pages only): the table's filters and sort work
(the filter set through the URL's fragment, the DOM read back after the script ran), the summary and groups
are there with JavaScript off, hostile host names add no element, a 10,000-agent report is drawn a page of rows at a time,
and a screenshot shows the verdict colours."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.html_render import fleet_report
from netcheck.model.kinds import Kind, Verdict
from netcheck.report.diagnosis import diagnose
from netcheck.report.html import COLOURS, render_html
from tests.browser import dump_dom, link_table, screenshot
from tests.png import decode_png
from tests.report_sites import hostile, site


@pytest.fixture
def site_page(tmp_path: Path) -> Path:
    page = tmp_path / "site.html"
    page.write_text(render_html(site()))
    return page


def test_filter_by_verdict_and_port(site_page: Path, tmp_path: Path) -> None:
    report = site()
    everything = link_table(dump_dom(site_page, tmp_path))
    assert len(everything.rows) == len(report.results)
    assert f"of {len(report.results)} shown" in everything.info
    table = link_table(dump_dom(site_page, tmp_path, "verdict=fail&port=445"))
    expected = [r for r in report.results if r.verdict is Verdict.FAIL and r.check.port == 445]
    assert len(table.rows) == len(expected) > 0
    assert {row["verdict"] for row in table.rows} == {"FAIL"} and {row["port"] for row in table.rows} == {"445"}


def test_filter_by_role_text_and_group(site_page: Path, tmp_path: Path) -> None:
    report = site()
    roles = link_table(dump_dom(site_page, tmp_path, "role=management-server"))
    expected = [r for r in report.results if "management-server" in (r.check.source, r.check.target.role)]
    assert len(roles.rows) == len(expected) > 0
    text = link_table(dump_dom(site_page, tmp_path, "q=198.18.0.33"))
    assert text.rows and all("198.18.0.33" in " ".join(row.values()) for row in text.rows)
    assert len(text.rows) < len(report.results)
    first = diagnose(report).groups[1]
    group = link_table(dump_dom(site_page, tmp_path, "group=2"))
    assert len(group.rows) == len(set(first.checks))
    nothing = link_table(dump_dom(site_page, tmp_path, "q=no-such-host-anywhere"))
    assert not nothing.rows and "No check matches" in nothing.info


def test_sort_by_port_descending(site_page: Path, tmp_path: Path) -> None:
    table = link_table(dump_dom(site_page, tmp_path, "sort=port&desc=1"))
    ports = [int(row["port"] or 0) for row in table.rows]
    assert ports == sorted(ports, reverse=True) and ports[0] == 25001
    by_verdict = link_table(dump_dom(site_page, tmp_path, "sort=verdict"))
    assert by_verdict.rows[0]["verdict"] == "FAIL" and by_verdict.rows[-1]["verdict"] == "SKIP"


def test_summary_and_groups_without_javascript(tmp_path: Path) -> None:
    """The page with its script refused (its own Content-Security-Policy set to script-src 'none', so Chromium runs
    none of it, as with JavaScript off) still holds the verdict, every group with its fix, the matrix and the
    diagram; only the table, which the script draws, stays empty and hidden."""
    report = site()
    text = render_html(report)
    assert "script-src 'unsafe-inline'" in text
    page = tmp_path / "no-script.html"
    page.write_text(text.replace("script-src 'unsafe-inline'", "script-src 'none'"))
    dom = dump_dom(page, tmp_path)
    assert '<html lang="en" data-drawn-ms' not in dom  # the script did not run
    for group in diagnose(report).groups:
        assert html.escape(group.fix, quote=False) in dom  # as the DOM serialises text
    assert "Links by role and port" in dom and "<svg" in dom
    assert not link_table(dom).rows and '<div id="links-section" hidden="">' in dom


def test_hostile_host_names_add_no_element(tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(render_html(hostile()))
    dom = dump_dom(page, tmp_path, "q=evil")
    table = link_table(dom)
    assert Counter(table.tags)["script"] == 2 and "img" not in table.tags  # nothing injected, the script ran
    assert len(table.rows) == 1 and "</script><script>alert(1)" in table.rows[0]["to"]  # shown as text


def test_ten_thousand_agents_are_drawn_a_page_at_a_time(tmp_path: Path) -> None:
    """How long Chromium takes is benchmarks/html_render.py's to measure (docs/benchmarks.md); here, that it draws."""
    page = tmp_path / "fleet.html"
    page.write_text(render_html(fleet_report(10000)))
    assert page.stat().st_size < 10_000_000
    dom = dump_dom(page, tmp_path, "verdict=fail&port=25001")
    table = link_table(dom)
    assert len(table.rows) == 100 and "of 2500 shown (60010 checks in all)" in table.info  # one page of rows
    assert 'data-drawn-ms="' in dom  # the page says when it drew the table (the benchmark reads it)


def test_screenshot_shows_the_verdict_colours(site_page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    screenshot(site_page, shot, tmp_path, (1280, 1500))
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 1500)
    counts = Counter(pixels)
    assert counts[(255, 255, 255)] < 0.97 * len(pixels), "the page is blank"
    for verdict in (Verdict.FAIL, Verdict.PASS, Verdict.ERROR, Verdict.WARN):
        colour = COLOURS[verdict]
        assert counts[(int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))] > 100, f"no {verdict} drawn"
    assert any(r.check.kind is Kind.TCP for r in site().results)
