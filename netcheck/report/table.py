"""The terminal report: a tabulate table, failing links first, then what to fix for each."""

from __future__ import annotations

import textwrap

from netcheck.model import Report
from netcheck.report.base import heading, link_label, link_matrix, needs_attention, ordered, summary_line


def render_table(report: Report, *, verbose: bool = False) -> str:
    from tabulate import tabulate  # noqa: PLC0415 - only the table needs it

    rows = []
    for result in ordered(report.results):
        row = [
            result.verdict.upper(),
            link_label(result),
            result.address or "",
            result.state,
            textwrap.fill(result.detail, 60),
            textwrap.fill(result.check.purpose, 34),
        ]
        if verbose:
            row.append(textwrap.fill(", ".join(f"{k}={v}" for k, v in result.evidence.items()), 50))
        rows.append(row)
    headers = ["verdict", "link", "address", "state", "detail", "purpose"] + (["evidence"] if verbose else [])
    lines = [heading(report), "", tabulate(rows, headers=headers, tablefmt="simple")]
    if report.merged_from:
        sources, targets, cells = link_matrix(report)
        matrix = [[source, *(str(cells.get((source, t), "")).upper() for t in targets)] for source in sources]
        lines += ["", "Link matrix (worst verdict per source and target port):", tabulate(matrix, headers=["from", *targets])]
    fixes = [r for r in needs_attention(report) if r.remediation]
    if fixes:
        lines += ["", "What to fix:"]
        for number, result in enumerate(fixes, start=1):
            wrapped = textwrap.fill(result.remediation, 100, initial_indent="     ", subsequent_indent="     ")
            lines.append(f"{number:>3}. {link_label(result)}\n{wrapped}")
    lines += ["", summary_line(report)]
    return "\n".join(lines) + "\n"
