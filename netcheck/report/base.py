"""What every renderer shares: ordering, labels, the summary line, and the link matrix of merged reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from netcheck.model.checks import Report, Result
from netcheck.model.kinds import Kind, Verdict

ORDER = {Verdict.FAIL: 0, Verdict.ERROR: 1, Verdict.WARN: 2, Verdict.PASS: 3, Verdict.SKIP: 4}


def link_label(result: Result) -> str:
    check = result.check
    source = f"{check.source}@{result.source_host}" if result.source_host else str(check.source)
    if check.kind in (Kind.TCP, Kind.SERVICE):
        prefix = "" if check.kind is Kind.TCP else "service "
        return f"{prefix}{source} -> {check.target.name}:{check.port}"
    return check.id.replace(":", " ", 1)  # "name ms.corp.example", "discovery network-profile"


def summary_line(report: Report) -> str:
    counts = ", ".join(f"{report.count(v)} {v}" for v in ORDER if report.count(v))
    return f"netcheck {report.verdict.upper()}: {counts} ({len(report.results)} checks in {report.duration_s:.1f} s)"


def heading(report: Report) -> str:
    v = report.vantage
    where = f"{len(report.merged_from)} vantage points" if report.merged_from else f"{v.hostname} as {v.role} ({v.os})"
    product = f"{report.product.full_name} ({report.product})"
    return f"netcheck {report.tool_version} from {where}; {product}; phase {report.phase}, method {report.method}"


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return min(verdicts, key=lambda v: ORDER[v], default=Verdict.SKIP)


def group_links(
    report: Report, row_of: Callable[[Result], str], column_of: Callable[[Result], str]
) -> tuple[list[str], list[str], dict[tuple[str, str], list[Result]]]:
    """The TCP links grouped by (row, column) labels, rows and columns in order of first appearance."""
    cells: dict[tuple[str, str], list[Result]] = {}
    rows: dict[str, None] = {}
    columns: dict[str, None] = {}
    for result in report.results:
        if result.check.kind is not Kind.TCP:
            continue
        row, column = row_of(result), column_of(result)
        rows.setdefault(row, None)
        columns.setdefault(column, None)
        cells.setdefault((row, column), []).append(result)
    return list(rows), list(columns), cells


def compact_link_matrix(
    report: Report, *, most_rows: int = 12, most_columns: int = 6
) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """The link matrix, small at any fleet size: rows are the machines that probed ("host (role)"), or their roles
    when there are more than `most_rows`; columns the destinations ("target:port"), or "role:port" beyond
    `most_columns`. A cell is its worst verdict, and "n/m" when it holds several links (n of m have that verdict)."""
    links = [r for r in report.results if r.check.kind is Kind.TCP and r.verdict is not Verdict.SKIP]
    hosts = {r.source_host or report.vantage.hostname for r in links}
    destinations = {(r.check.target.name, r.check.port) for r in links}

    def source(r: Result) -> str:
        if len(hosts) <= most_rows:
            return f"{r.source_host or report.vantage.hostname} ({r.check.source})"
        return f"{r.check.source}"

    def target(r: Result) -> str:
        return (
            f"{r.check.target.name}:{r.check.port}"
            if len(destinations) <= most_columns
            else f"{r.check.target.role}:{r.check.port}"
        )

    rows, columns, grouped = group_links(report, source, target)
    cells: dict[tuple[str, str], str] = {}
    for key, results in grouped.items():
        kept = [r for r in results if r.verdict is not Verdict.SKIP]
        if not kept:
            continue
        bad = worst(r.verdict for r in kept)
        same = sum(1 for r in kept if r.verdict is bad)
        cells[key] = bad.upper() if len(kept) == 1 else f"{bad.upper()} {same:,}/{len(kept):,}"
    return rows, columns, cells
