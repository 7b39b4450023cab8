"""Issue 23, defect 14: under --redact every host name is pseudonymised, whatever its characters (a PTR answer
with control characters or markup was left readable: it is no single word of the token grammar)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from netcheck.model.checks import Check, Report, Result, Target
from netcheck.model.kinds import AgentOS, Kind, Role, State, Verdict
from netcheck.report.html import render_html
from netcheck.report.json import parse_report, render_json
from netcheck.report.junit import render_junit
from netcheck.report.markdown import render_markdown
from netcheck.report.redact import redact
from netcheck.report.table import render_table

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = (
    "evil\x1b[31m\x08.corp.example",
    "a<script>.corp.example",
    "tab\tname.corp.example",
    "spaced out.corp.example",
    "bslash\\x.corp.example",
)
RENDERERS = {
    "table": lambda r: render_table(r, verbose=True),
    "json": render_json,
    "markdown": render_markdown,
    "junit": render_junit,
    "html": render_html,
}


def ptr_report() -> Report:
    report = parse_report((FIXTURES / "report_console.json").read_text())
    agent = Target("fs01.corp.example", Role.AGENT, AgentOS.WINDOWS)
    name = Check("name:fs01.corp.example", Kind.NAME, Role.CONSOLE, agent, None, "Name resolution")
    result = Result(
        name, State.RESOLVED, Verdict.WARN,
        f"reverse lookup of 198.18.7.7 names {', '.join(HOSTILE)}, not fs01.corp.example",
        "Correct the PTR record of 198.18.7.7.", "198.18.7.7",
        {"ptr": {"198.18.7.7": list(HOSTILE)}},
    )  # fmt: skip
    return replace(report, results=(*report.results, result))


def test_a_hostile_ptr_name_is_pseudonymised_in_the_report() -> None:
    redacted = redact(ptr_report())
    result = redacted.results[-1]
    for word in ("evil", "script", "tab\tname", "spaced", "bslash", "corp.example"):
        assert word not in result.detail and word not in str(result.evidence), (word, result.detail)
    assert result.detail.count("host-") == 6


@pytest.mark.parametrize("name", RENDERERS)
def test_a_hostile_ptr_name_stays_hidden_in_every_format(name: str) -> None:
    text = RENDERERS[name](redact(ptr_report()))
    if name == "html":  # the page's own two scripts (its data, its filter) are the only ones
        assert text.count("<script") == 2
        text = text.replace('<script type="application/json" id="netcheck-data">', "").replace("<script>", "", 1)
    for word in ("evil", "&lt;script", "<script", "tab\tname", "tab\\tname", "spaced", "bslash"):
        assert word not in text, word
