"""The terminal report: a tabulate table, failing links first, then what to fix for each."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from netcheck.model import Kind, Report, Result, Verdict

_ORDER = {Verdict.FAIL: 0, Verdict.ERROR: 1, Verdict.WARN: 2, Verdict.PASS: 3, Verdict.SKIP: 4}


def link_label(result: Result) -> str:
    check = result.check
    if check.kind is Kind.TCP:
        return f"{check.source} -> {check.target.name}:{check.port}"
    return check.id.replace(":", " ", 1)  # "name ms.corp.example", "discovery network-profile"


def ordered(results: tuple[Result, ...]) -> list[Result]:
    """Failing first; the sort is stable, so the plan's order holds within each verdict."""
    return sorted(results, key=lambda r: _ORDER[r.verdict])


def summary_line(report: Report) -> str:
    counts = ", ".join(f"{report.count(v)} {v}" for v in _ORDER if report.count(v))
    return f"netcheck {report.verdict.upper()}: {counts} ({len(report.results)} checks in {report.duration_s:.1f} s)"


def render_table(report: Report, *, verbose: bool = False) -> str:
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
    v = report.vantage
    lines = [
        f"netcheck {report.tool_version} from {v.hostname} as {v.role} ({v.os}); phase {report.phase}, method {report.method}",
        "",
        tabulate(rows, headers=headers, tablefmt="simple"),
    ]
    fixes = [r for r in ordered(report.results) if r.remediation and r.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.WARN)]
    if fixes:
        lines += ["", "What to fix:"]
        for number, result in enumerate(fixes, start=1):
            wrapped = textwrap.fill(result.remediation, 100, initial_indent="     ", subsequent_indent="     ")
            lines.append(f"{number:>3}. {link_label(result)}\n{wrapped}")
    lines += ["", summary_line(report)]
    return "\n".join(lines) + "\n"
