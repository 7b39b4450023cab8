"""netcheck merge: reports from several vantage points (the console, each agent) as one report and matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from netcheck.model import Report, Vantage, located_id
from netcheck.report.json import ReportError


def merge_reports(reports: Sequence[Report], *, tool_version: str) -> Report:
    """One report whose checks carry the machine that ran them (source_host) and whose ids stay unique."""
    if len(reports) < 2:
        raise ReportError("merge needs at least two reports")
    phases = {r.phase for r in reports}
    if len(phases) > 1:
        raise ReportError(f"the reports were taken in different phases ({', '.join(sorted(phases))}): merge one phase at a time")
    vantages: list[Vantage] = []
    results = []
    seen_hosts: set[str] = set()
    for report in reports:
        sources = report.merged_from or (report.vantage,)
        for vantage in sources:
            if vantage.hostname in seen_hosts:
                raise ReportError(f"two reports come from {vantage.hostname}: merge reports taken on different machines")
            seen_hosts.add(vantage.hostname)
        vantages += sources
        for result in report.results:
            host = result.source_host or report.vantage.hostname
            check = result.check
            unique_id = check.id if result.source_host else located_id(check, host)
            results.append(replace(result, check=replace(check, id=unique_id), source_host=host))
    first = reports[0]
    return Report(
        tool_version=tool_version,
        started_at=min(r.started_at for r in reports),
        duration_s=round(sum(r.duration_s for r in reports), 3),
        vantage=Vantage(f"merged from {len(vantages)} vantage points", first.vantage.role, "", ()),
        phase=first.phase,
        method="+".join(dict.fromkeys(m for r in reports for m in r.method.split("+"))),
        results=tuple(results),
        merged_from=tuple(vantages),
    )
