"""Hostile strings in every field of a report (a banner, a certificate subject, a report file's host names) are
neutralised in every format: no control character reaches a terminal, no Markdown markup or HTML reaches a
ticket, the JUnit XML stays well-formed, the HTML stays escaped."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from netcheck.model.checks import Report, Target, Vantage
from netcheck.model.kinds import Verdict
from netcheck.report.html import render_html
from netcheck.report.json import parse_report, render_json
from netcheck.report.junit import render_junit
from netcheck.report.markdown import render_markdown
from netcheck.report.table import render_table
from netcheck.report.text import markdown, markdown_code, visible

FIXTURES = Path(__file__).parent / "fixtures"

EVIL = (
    "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\\r\x00\x9b31m\u202eexe.txt"
    "<img src=x onerror=alert(1)>`code`|pipe|**bold** _em_ [link](http://evil.example) ![i](x) &amp; \ud800"
    "\n# Injected heading\n\n- injected item\n<script>alert(1)</script>"
)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def hostile_report() -> Report:
    """The console fixture with EVIL in every string a network or a report file can set."""
    report = parse_report((FIXTURES / "report_console.json").read_text())
    evil_vantage = Vantage(f"console1{EVIL}", report.vantage.role, f"Linux{EVIL}", (f"198.18.0.10{EVIL}",))
    results = tuple(
        replace(
            r,
            check=replace(r.check, target=Target(f"{r.check.target.name}{EVIL}", r.check.target.role, r.check.target.os)),
            detail=f"{r.detail} {EVIL}",
            remediation=f"{r.remediation} {EVIL}" if r.remediation else "",
            address=f"{r.address}{EVIL}" if r.address else None,
            evidence={**r.evidence, "banner": EVIL, "subject": f"CN=fs01{EVIL}, O=Corp"},
        )
        for r in report.results
    )
    return replace(report, vantage=evil_vantage, results=results, started_at=f"2026-11-25{EVIL}", method=f"syn{EVIL}")


def test_visible_escapes_every_control_character() -> None:
    assert visible("a\x1b[2Jb\r\n\x00\x9b\u202e\ud800") == "a\\x1b[2Jb\\r\\n\\x00\\x9b\\u202e\\ud800"
    assert visible(None) == "" and visible("Acroinst.exe, Msi_setup.exe") == "Acroinst.exe, Msi_setup.exe"


def test_markdown_helpers() -> None:
    assert markdown("a|b `c` <d> [e](f) *g* _h_ snake_case") == "a\\|b \\`c\\` \\<d\\> \\[e\\](f) \\*g\\* \\_h\\_ snake_case"
    assert markdown_code("a`b") == "``a`b``" and markdown_code("`x`") == "`` `x` ``"
    assert markdown_code("a|b", in_table=True) == "`a\\|b`"


@pytest.mark.parametrize("render", [render_table, lambda r: render_table(r, verbose=True)])
def test_table_shows_no_control_character(render: object) -> None:
    text = render(hostile_report())  # type: ignore[operator]
    assert not CONTROL.findall(text)
    assert "\\x1b[2J" in text and "\\r" in text  # shown, not acted on
    text.encode("utf-8")  # no lone surrogate: printable on any terminal


def test_markdown_injects_no_heading_link_html_or_row() -> None:
    text = render_markdown(hostile_report())
    assert not CONTROL.findall(text)
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    groups = [h for h in headings if h[:1].isdigit()]  # "1. FAIL: <cause>", the cause escaped
    assert headings == ["netcheck report", "What to fix, most blocking first", *groups, headings[-1]]
    assert headings[-1].startswith("Failing and warning checks")
    inline = [child for t in tokens if t.children for child in t.children]
    assert not [c for c in inline if c.type in ("link_open", "image", "html_inline", "em_open", "strong_open")
                and "evil" in (c.attrGet("href") or c.attrGet("src") or c.content or "")]  # fmt: skip
    assert not [c for c in inline if c.type in ("link_open", "image", "html_inline")]
    assert not [t for t in tokens if t.type == "html_block"]
    table_rows = [t for t in tokens if t.type == "tr_open"]
    attention = [r for r in hostile_report().results if r.verdict in (Verdict.FAIL, Verdict.WARN, Verdict.ERROR)]
    assert len(table_rows) == 1 + len(attention)  # the header and one row a failing check: no row injected
    list_items = [tokens[i + 2].content for i, t in enumerate(tokens) if t.type == "list_item_open"]
    assert not [item for item in list_items if item.startswith("injected item")]


def test_junit_is_well_formed_xml() -> None:
    text = render_junit(hostile_report())
    assert not CONTROL.findall(text)
    root = ET.fromstring(text)  # noqa: S314 - our own output; NUL or ESC would make this raise
    names = [case.get("name") or "" for case in root.iter("testcase")]
    assert sum("\\x1b" in name for name in names) > 5  # link labels carry the hostile target names, shown
    bodies = " ".join(e.text or "" for e in root.iter() if e.tag in ("failure", "error", "system-out"))
    assert "\\x00" in bodies and "\x00" not in bodies


def test_html_stays_escaped_and_shows_control_characters() -> None:
    text = render_html(hostile_report())
    assert not CONTROL.findall(text)

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append(tag)

    parser = Tags()
    parser.feed(text)
    assert "img" not in parser.tags
    assert parser.tags.count("script") == 2  # the page's own: its data block and its table script, nothing injected
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "\\x1b]0;pwned\\x07" in text


def test_json_keeps_the_data_and_stays_valid() -> None:
    text = render_json(hostile_report())
    assert not CONTROL.findall(text)
    data = json.loads(text)
    assert data["vantage"]["hostname"] == f"console1{EVIL}"  # JSON carries the data itself, escaped by json
