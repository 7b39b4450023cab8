"""The HTML report without a browser: what stays readable with JavaScript off (summary, groups, matrix,
diagram), the diagram's rules (each machine once, labels in rows of their own, no diagram above 40 links), the
table's data (one JSON block, safe against hostile host names) and the size bound at 10,000 agents."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from benchmarks.html_render import fleet_report
from netcheck import cli
from netcheck.model.checks import Check, Report, Result, Target
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.report.diagnosis import diagnose
from netcheck.report.html import COLOURS, DIAGRAM_LIMIT, diagram, render_html, role_port_matrix, script_json, table_data
from tests.cli_runner import CliRunner
from tests.report_sites import FIXTURES, HOSTILE, hostile, load, site


class Page(HTMLParser):
    """Tags, the data block's text, the static text before it, and the diagram's machines and label boxes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.data = ""
        self.static = ""
        self.machines: list[str] = []
        self.machine_verdicts: dict[str, str] = {}
        self.labels: list[tuple[float, float, float, float]] = []
        self._in_data = False
        self._before_table = True
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
            self._in_data = a.get("type") == "application/json"
        if a.get("id") == "links-section":
            self._before_table = False
        if tag == "g" and a.get("class") == "machine":
            self.machines.append(a["data-machine"] or "")
            self.machine_verdicts[a["data-machine"] or ""] = a.get("data-verdict") or ""
        if tag == "rect" and a.get("class") == "edge-label":
            self.labels.append(tuple(float(a[k] or 0) for k in ("x", "y", "width", "height")))  # type: ignore[arg-type]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data += data
        elif self._before_table:
            self.static += data


def test_summary_groups_and_fixes_are_static_html() -> None:
    report = site()
    page = Page(render_html(report))
    diagnosis = diagnose(report)
    assert diagnosis.groups
    for group in diagnosis.groups:  # readable with JavaScript off: in the page's text before any script
        assert group.cause in page.static
        assert group.fix in page.static
    assert "blocks every agent" in page.static
    assert page.static.index("held by nginx") < page.static.index("drop everything")  # most blocking first


def test_matrix_counts_links_by_role_and_port_in_merged_reports() -> None:
    rows, ports, cells = role_port_matrix(site())
    assert ports == [22, 445, 9876, 25001]
    assert rows[0] == "console \u2192 license-server" and "agent \u2192 management-server" in rows
    assert cells[("console \u2192 agent", 445)] == {Verdict.FAIL: 2, Verdict.PASS: 2}
    assert cells[("agent \u2192 management-server", 9876)] == {Verdict.PASS: 2}
    text = render_html(site())
    assert "Links by role and port" in text and "2 fail</span> \u00b7 <span class='t-pass'>2 pass" in text


def test_diagram_shows_each_machine_once_unreachable_included_and_a_failing_console() -> None:
    page = Page(render_html(site()))
    assert len(page.machines) == len(set(page.machines))
    # the agents' own reports and the console's links to their addresses are one machine each
    assert "win-agent1" in page.machines and "198.18.0.31" not in page.machines
    assert "lin-agent1" in page.machines and "198.18.0.41" not in page.machines
    assert "lin-agent9" in page.machines  # merge --unreachable
    assert page.machine_verdicts["lin-agent9"] == "error"
    assert page.machine_verdicts["console1"] == "fail"  # its TCP 9876 is held
    assert f'stroke="{COLOURS[Verdict.FAIL]}" stroke-width="3"' in diagram(site())


def test_diagram_labels_never_overlap() -> None:
    page = Page(render_html(site()))
    assert len(page.labels) >= 8
    for i, (x1, y1, w1, h1) in enumerate(page.labels):
        for x2, y2, w2, h2 in page.labels[i + 1 :]:
            apart = x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
            assert apart, f"labels at {(x1, y1)} and {(x2, y2)} overlap"


def test_no_diagram_above_the_limit() -> None:
    report = fleet_report(20)
    links = sum(1 for r in report.results if r.check.kind is Kind.TCP)
    assert links > DIAGRAM_LIMIT
    text = diagram(report)
    assert "<svg" not in text and f"this report has {links} links" in text
    small = replace(report, results=tuple(r for r in report.results if r.check.kind is not Kind.TCP or r.check.port == 445)[:30])
    assert "<svg" in diagram(small)


def test_data_block_survives_hostile_host_names() -> None:
    text = render_html(hostile())
    page = Page(text)
    assert [s.get("type") for s in page.scripts] == ["application/json", None]  # nothing injected a third script
    assert "</script><script>alert" not in text and "<img" not in text
    data = json.loads(page.data)
    assert any(f"evil{HOSTILE}".replace("\u2028", "\\u2028") == s for s in data["strings"])  # shown, not acted on
    assert script_json(["</script>", "<!--", "&"]) == '["\\u003c/script\\u003e","\\u003c!--","\\u0026"]'


def test_rows_share_templated_details_and_name_their_groups() -> None:
    report = site()
    data = json.loads(Page(render_html(report)).data)
    assert len(data["rows"]) == len(report.results)
    strings = data["strings"]
    fixes = [strings[row[10]] for row in data["rows"] if row[10] >= 0]
    assert any("\x02" in fix for fix in fixes)  # "Allow TCP 445 ... to <address>": one string for every agent
    groups = diagnose(report).groups
    first = [row for row in data["rows"] if 0 in row[13]]
    assert len(first) == len(set(groups[0].checks))


def test_ten_thousand_agents_fit_the_size_bound() -> None:
    report = fleet_report(10000)
    assert len(report.results) == 60010 and report.count(Verdict.FAIL) == 10000  # 4 links an agent (page 2: 9876)
    text = render_html(report)
    size = len(text.encode())
    assert size < 10_000_000, f"{size / 1e6:.1f} MB"
    assert "<svg" not in text and text.count("<tr") < 100  # the rows are drawn by the page, not written out


def test_redacted_html_carries_no_real_name(tmp_path: Path) -> None:
    source = FIXTURES / "report_console.json"
    result = CliRunner().invoke(cli.main, ["report", str(source), "--format", "html", "--redact"])
    assert result.exit_code == 0, result.output
    names = {r.check.target.name for r in load("report_console.json").results if r.check.target.name != "this machine"}
    names |= {"console1", "198.18.0.10", "stale.lab.test", "win-ok.lab.test"}
    leaked = sorted(name for name in names if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", result.output))
    assert not leaked
    assert json.loads(Page(result.output).data)["rows"]


def test_unknown_role_and_self_link_render() -> None:
    """One machine in two roles links to itself: a loop, not a crash."""
    report = load("report_console.json")
    me = Target("console1", Role.MANAGEMENT_SERVER)
    check = Check("tcp:console->console1:9876", Kind.TCP, Role.CONSOLE, me, 9876, "Registration")
    loop = Result(check, State.OPEN, Verdict.PASS, "open", "", "198.18.0.10")
    page = Page(render_html(replace(report, results=(*report.results, loop))))
    assert page.machines.count("console1") == 1
    assert isinstance(report, Report)


def test_a_suspect_pass_carries_its_note_and_repeated_state_words_are_dropped() -> None:
    report = site()
    passing = next(r for r in report.results if r.check.kind is Kind.TCP and r.verdict is Verdict.PASS)
    note = "may have reached nginx, which holds TCP 9876 on ms1, not the product"
    found = diagnose(report)
    data = table_data(report, replace(found, suspect={passing.check.id: note}))
    strings = data["strings"]
    rows = data["rows"]
    assert isinstance(strings, list) and isinstance(rows, list)
    row = rows[report.results.index(passing)]
    assert strings[row[14]] == f"suspect: {note}"
    misled = next(r for r in report.results if r.check.kind is Kind.TCP and r.check.target.name == "stale.lab.test")
    assert "stale hosts line" in strings[rows[report.results.index(misled)][14]]
    closed = next(r for r in report.results if r.detail.startswith("reachable; nothing listens yet"))
    assert rows[report.results.index(closed)][8] == -1  # its detail already says it
    filtered = next(r for r in report.results if r.detail.startswith("filtered"))
    assert strings[rows[report.results.index(filtered)][8]].startswith("no answer")  # words a helpdesk reads
