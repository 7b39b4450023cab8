"""The ticket report: Markdown that pastes into a helpdesk ticket, at most 30,000 characters at any fleet size.

The headline, the diagnosis (each group: what, how many machines and the first of them, the fix), the first
failing and warning checks, the link matrix of a merged report, and one line naming the attachment that holds
the rest (the JSON report, or its HTML page). Jira's comment limit is 32,767 characters; LIMIT stays under it.
"""

from __future__ import annotations

from netcheck.model import Report
from netcheck.report.base import compact_link_matrix, summary_line
from netcheck.report.diagnosis import Diagnosis, Group, diagnose, first_machines, plural
from netcheck.report.table import MAX_ROWS, ROWS_PER_GROUP, attention_rows, check_label, found_text
from netcheck.report.text import markdown, markdown_code

LIMIT = 30_000
"""Most characters of a ticket report."""
SHOWN_MACHINES = 20
SHOWN_VANTAGES = 10
ATTACHMENT = (
    "**Attachment:** every check, with its evidence, is in the JSON report attached to this ticket "
    "(`netcheck check ... --format json --output netcheck.json`); `netcheck report netcheck.json --format html` "
    "makes it a page to open in a browser."
)


def _cell(text: object) -> str:
    """A table cell: Markdown escaped (pipes included), line breaks shown as \\n (they would end the row)."""
    return markdown(text)


def _group(number: int, group: Group) -> list[str]:
    blocks = " (stops every agent: fix first)" if group.blocks_all else ""
    machines = markdown(first_machines(group.machines, SHOWN_MACHINES))
    lines = [
        f"### {number}. {group.verdict.upper()}: {markdown(group.cause)}{blocks}",
        "",
        f"- **{plural(group.count, 'machine')}:** {machines}",
        f"- **Fix:** {markdown(group.fix)}",
    ]
    if group.note:
        lines.append(f"- **Note:** {markdown(group.note)}")
    return [*lines, ""]


def _header(report: Report, diagnosis: Diagnosis) -> list[str]:
    v = report.vantage
    lines = ["# netcheck report", ""]
    vantages = report.merged_from or (v,)
    for other in vantages[:SHOWN_VANTAGES]:
        addresses = ", ".join(other.addresses) or "none"
        lines.append(
            f"- **Vantage:** {markdown(other.hostname)} as {markdown(other.role)} ({markdown(other.os)}); "
            f"addresses {markdown(addresses)}"
        )
    if len(vantages) > SHOWN_VANTAGES:
        lines.append(f"- **Vantage:** and {len(vantages) - SHOWN_VANTAGES:,} more vantage points (see the attachment)")
    return [
        *lines,
        f"- **netcheck:** {markdown(report.tool_version)}; phase {markdown(report.phase)}; method {markdown(report.method)}",
        f"- **Started:** {markdown(report.started_at)}; took {report.duration_s:.1f} s",
        f"- **Checks:** {markdown(summary_line(report))}",
        "",
        f"**{markdown(diagnosis.headline)}**",
        "",
    ]


def render_markdown(report: Report, *, show_all: bool = False) -> str:
    """Every value is escaped (`markdown`, `markdown_code`): a certificate subject or a report file's host name
    cannot add headings, links or HTML to the ticket. `show_all` changes nothing: a ticket holds LIMIT
    characters; the attachment holds every check."""
    del show_all
    diagnosis = diagnose(report)
    out = _Budget(LIMIT - len(ATTACHMENT) - 200)
    out.add(_header(report, diagnosis))
    if diagnosis.groups:
        out.add(["## What to fix, most blocking first", ""])
        for number, group in enumerate(diagnosis.groups, start=1):
            if not out.add(_group(number, group)):
                left = len(diagnosis.groups) - number + 1
                out.force([f"_... and {plural(left, 'more group')} in the attachment._", ""])
                break
    if report.merged_from:
        sources, targets, cells = compact_link_matrix(report)
        if targets:
            matrix = [
                "## Link matrix",
                "",
                "Worst verdict per source and destination; n/m: n of m links.",
                "",
                "| from | " + " | ".join(map(_cell, targets)) + " |",
                "|---" * (len(targets) + 1) + "|",
            ]
            matrix += [f"| {_cell(s)} | " + " | ".join(_cell(cells.get((s, t), "")) for t in targets) + " |" for s in sources]
            out.add([*matrix, ""])
    rows, left = attention_rows(report, diagnosis, show_all=False)
    if rows:
        out.add(
            [
                f"## Failing and warning checks (up to {ROWS_PER_GROUP} a group, {MAX_ROWS} in all)",
                "",
                "| result | check | found |",
                "|---|---|---|",
            ]
        )
        for shown, (number, result, note) in enumerate(rows):
            verdict = f"{result.verdict.upper()} #{number}" if number else result.verdict.upper()
            label = markdown_code(check_label(result), in_table=True)
            line = f"| {_cell(verdict)} | {label} | {_cell(found_text(result, note, verbose=False))} |"
            if not out.add([line]):
                left += len(rows) - shown
                break
        out.add([""])
        if left:
            out.force([f"_... and {left:,} more failing or warning checks in the attachment._", ""])
    out.force([ATTACHMENT])
    return "\n".join(out.lines) + "\n"


class _Budget:
    """Lines added while they fit in `most` characters (a section that does not fit is not added)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.used = 0
        self.lines: list[str] = []

    def add(self, lines: list[str]) -> bool:
        size = sum(len(line) + 1 for line in lines)
        if self.used + size > self.most:
            return False
        self.force(lines)
        return True

    def force(self, lines: list[str]) -> None:
        self.lines += lines
        self.used += sum(len(line) + 1 for line in lines)


def markdown_chunks(report: Report, *, verbose: bool, show_all: bool = False) -> list[str]:
    return [render_markdown(report, show_all=show_all)]
