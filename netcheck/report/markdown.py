"""The ticket report: Markdown that pastes into a helpdesk ticket (header, summary, failures with fixes, table)."""

from __future__ import annotations

from netcheck.model.checks import Report
from netcheck.report.base import link_label, link_matrix, needs_attention, ordered, summary_line
from netcheck.report.text import markdown, markdown_code


def _cell(text: object) -> str:
    """A table cell: Markdown escaped (pipes included), line breaks shown as \\n (they would end the row)."""
    return markdown(text)


def render_markdown(report: Report) -> str:
    """Every value is escaped (`markdown`, `markdown_code`): a certificate subject or a report file's host name
    cannot add headings, links or HTML to the ticket."""
    v = report.vantage
    lines = ["# netcheck report", ""]
    for other in report.merged_from or (v,):
        addresses = ", ".join(other.addresses) or "none"
        lines.append(
            f"- **Vantage:** {markdown(other.hostname)} as {markdown(other.role)} ({markdown(other.os)}); "
            f"addresses {markdown(addresses)}"
        )
    lines += [
        f"- **Product:** {markdown(report.product.full_name)} ({markdown(report.product)})",
        f"- **netcheck:** {markdown(report.tool_version)}; phase {markdown(report.phase)}; method {markdown(report.method)}",
        f"- **Started:** {markdown(report.started_at)}; took {report.duration_s:.1f} s",
        "",
        f"**{markdown(summary_line(report))}**",
        "",
    ]
    attention = needs_attention(report)
    if attention:
        lines += ["## What fails, and how to fix it", ""]
        for result in attention:
            where = f" ({markdown(result.address)})" if result.address else ""
            lines.append(f"- **{result.verdict.upper()}** {markdown_code(link_label(result))}{where}: {markdown(result.detail)}")
            if result.remediation:
                lines.append(f"  - Fix: {markdown(result.remediation)}")
            if result.check.documented_in:
                lines.append(f"  - Documented in: {markdown(result.check.documented_in)}")
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
            _cell(result.verdict.upper()),
            markdown_code(link_label(result), in_table=True),
            _cell(result.address),
            _cell(result.state),
            _cell(result.detail),
            _cell(result.check.purpose),
        ]
        lines.append("| " + " | ".join(cells_text) + " |")
    return "\n".join(lines) + "\n"


def markdown_chunks(report: Report, *, verbose: bool) -> list[str]:
    return [render_markdown(report)]
