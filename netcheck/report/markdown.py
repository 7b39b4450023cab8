"""The ticket report: Markdown that pastes into a helpdesk ticket (header, summary, failures with fixes, table)."""

from __future__ import annotations

from netcheck.model import Report
from netcheck.report.base import link_label, link_matrix, needs_attention, ordered, summary_line


def _cell(text: object) -> str:
    """A table cell: pipes escaped, line breaks flattened (they would end the row)."""
    return str(text if text is not None else "").replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    v = report.vantage
    lines = ["# netcheck report", ""]
    for other in report.merged_from or (v,):
        lines.append(
            f"- **Vantage:** {other.hostname} as {other.role} ({other.os}); addresses {', '.join(other.addresses) or 'none'}"
        )
    lines += [
        f"- **netcheck:** {report.tool_version}; phase {report.phase}; method {report.method}",
        f"- **Started:** {report.started_at}; took {report.duration_s:.1f} s",
        "",
        f"**{summary_line(report)}**",
        "",
    ]
    attention = needs_attention(report)
    if attention:
        lines += ["## What fails, and how to fix it", ""]
        for result in attention:
            where = f" ({result.address})" if result.address else ""
            lines.append(f"- **{result.verdict.upper()}** `{link_label(result)}`{where}: {result.detail}")
            if result.remediation:
                lines.append(f"  - Fix: {result.remediation}")
        lines.append("")
    if report.merged_from:
        sources, targets, cells = link_matrix(report)
        lines += ["## Link matrix", "", "| from | " + " | ".join(map(_cell, targets)) + " |", "|---" * (len(targets) + 1) + "|"]
        for source in sources:
            row = [str(cells.get((source, t), "")).upper() for t in targets]
            lines.append(f"| {_cell(source)} | " + " | ".join(row) + " |")
        lines.append("")
    lines += ["## All checks", "", "| verdict | check | address | state | detail | purpose |", "|---|---|---|---|---|---|"]
    for result in ordered(report.results):
        cells_text = [
            result.verdict.upper(),
            f"`{link_label(result)}`",
            result.address,
            result.state,
            result.detail,
            result.check.purpose,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells_text) + " |")
    return "\n".join(lines) + "\n"


def markdown_chunks(report: Report, *, verbose: bool) -> list[str]:
    return [render_markdown(report)]
