"""netcheck merge: reports from several vantage points (the console, each agent) as one report and matrix.

A vantage point is identified by host name + role + start time. The same run given twice (a report copied
twice, or once alone and once inside a merged report) is merged once. Two vantage points may share a host
name: one machine in two roles (console and management server at once), or clones and containers that all
call themselves the same; both are kept, with a note, and the second clone's checks carry NAME#2 so every
check id stays unique. Hosts that could not be checked at all (a fleet engine could not reach them) become
rows of their own (`unreachable_result`), so they are never silently missing.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import replace

from netcheck.model.checks import Check, Report, Result, Target, Vantage, check_id, located_id
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.model.record import record
from netcheck.report.json import ReportError


@record
class Unreachable:
    """A host the fleet engine could not reach, so no report exists for it: it becomes one `error` row."""

    hostname: str
    reason: str = ""
    role: Role = Role.AGENT


@record
class Merged:
    report: Report
    notes: tuple[str, ...]
    """Warnings for the user (shared host names, duplicates merged once); the report is complete without them."""


def _one_phase_and_product(reports: Sequence[Report]) -> None:
    """Reports of different phases or products judge links by different rules: they are not merged."""
    for each, values in (("phase", {r.phase for r in reports}), ("product", {r.product for r in reports})):
        if len(values) > 1:
            raise ReportError(f"the reports are of different {each}s ({', '.join(sorted(values))}): merge one {each} at a time")


def merge_with_notes(reports: Sequence[Report], *, tool_version: str, unreachable: Sequence[Unreachable] = ()) -> Merged:
    """One report whose checks carry the machine that ran them (source_host) and whose ids stay unique, with one
    row per unreachable host, and the notes the user should see."""
    if not reports or len(reports) + len(unreachable) < 2:
        raise ReportError("merge needs at least two reports (or one report and an unreachable host)")
    _one_phase_and_product(reports)
    notes: list[str] = []
    vantages: list[Vantage] = []
    named: dict[str, list[Vantage]] = {}  # host name -> its vantage points so far (a dict: fleets have thousands)
    labels: set[str] = set()
    results: list[Result] = []
    seen: set[tuple[str, str, str]] = set()
    taken_ids: set[str] = set()
    merged_reports: list[Report] = []
    orphans: list[Result] = []
    for report in reports:
        kept_any = False
        runs, rows = _runs(report)
        orphans += rows
        for vantage, own_results, stored_as in runs:
            key = _identity(vantage)
            if key in seen:
                notes.append(f"{vantage.hostname} as {vantage.role} started {vantage.started_at}: given twice, merged once")
                continue
            seen.add(key)
            kept_any = True
            same_name = named.setdefault(vantage.hostname, [])
            label = _label(vantage, same_name, labels)
            if same_name:
                notes.append(_shared_name_note(vantage, same_name, label))
            vantages.append(vantage)
            same_name.append(vantage)
            labels.add(label)
            for result in own_results:
                check = result.check
                if result.source_host and result.source_host != stored_as:
                    # run on another machine for this vantage point (an agent's own links, seen through SSH):
                    # it keeps that machine and its id
                    results.append(replace(result, check=replace(check, id=_unique(check.id, taken_ids))))
                    continue
                unique_id = _unique(_id_on(check, label, stored_as), taken_ids)
                results.append(replace(result, check=replace(check, id=unique_id), source_host=label))
        if kept_any:
            merged_reports.append(report)
    rows_by_host: dict[str, Result] = {r.source_host: r for r in orphans}
    for host in unreachable:
        rows_by_host[host.hostname] = unreachable_result(host)
    for hostname, row in rows_by_host.items():
        if hostname in labels or hostname in named:
            notes.append(f"{hostname} is listed as unreachable but a report from it was given: its report is kept")
            continue
        results.append(replace(row, check=replace(row.check, id=_unique(row.check.id, taken_ids))))
    first = merged_reports[0]
    return Merged(
        Report(
            tool_version=tool_version,
            started_at=min(r.started_at for r in merged_reports),
            duration_s=round(sum(r.duration_s for r in merged_reports), 3),
            vantage=Vantage(f"merged from {len(vantages)} vantage points", first.vantage.role, "", ()),
            phase=first.phase,
            product=first.product,
            method="+".join(sorted({m for r in merged_reports for m in r.method.split("+")})),
            results=tuple(results),
            merged_from=tuple(vantages),
        ),
        tuple(notes),
    )


def unreachable_result(host: Unreachable) -> Result:
    """The row for a host that produced no report: `error`, because none of its checks could be run."""
    reason = host.reason.strip().replace("\n", " ") or "no report from this host"
    check = Check(
        f"host:reachable@{host.hostname}",
        Kind.HOST,
        host.role,
        Target(host.hostname, host.role),
        purpose="running netcheck on this host",
    )
    return Result(
        check,
        State.UNREACHABLE,
        Verdict.ERROR,
        f"not checked: netcheck did not run on {host.hostname} ({reason})",
        "Power the host on, check that the fleet engine reaches it (SSH or WinRM) and that it has Python 3.11 or "
        "later, then run again.",
        source_host=host.hostname,
    )


def parse_unreachable(spec: str) -> Unreachable:
    """'HOST' or 'HOST=REASON' (the reason is free text; the first '=' splits)."""
    hostname, _, reason = spec.partition("=")
    if not hostname.strip() or any(c.isspace() for c in hostname.strip()):
        raise ReportError(f"--unreachable {spec!r}: expected HOST or HOST=REASON")
    return Unreachable(hostname.strip(), reason.strip())


def _runs(report: Report) -> tuple[list[tuple[Vantage, list[Result], str]], list[Result]]:
    """The runs a report holds (itself, or each vantage point of a merged report with its own checks and the
    label its checks carry there: '' for a report that was not merged), and the rows of unreachable hosts a
    merged report carries (they belong to no vantage point).

    A check of a merged report belongs to the vantage point whose label and role it carries; one carrying
    another machine (an agent's own links, seen through SSH from the vantage point before it) belongs to the
    run it follows, as merge wrote it."""
    if not report.merged_from:
        vantage = report.vantage if report.vantage.started_at else replace(report.vantage, started_at=report.started_at)
        return [(vantage, list(report.results), "")], []
    labels: list[str] = []
    named: dict[str, list[Vantage]] = {}
    by_label: dict[tuple[str, str], list[Result]] = {}
    for vantage in report.merged_from:
        same_name = named.setdefault(vantage.hostname, [])
        labels.append(_label(vantage, same_name, set(labels) if same_name else ()))
        same_name.append(vantage)
        by_label[(labels[-1], str(vantage.role))] = []
    orphans = []
    current: list[Result] | None = None
    for result in report.results:
        key = (result.source_host, str(result.check.source))
        if key in by_label:
            current = by_label[key]
            current.append(result)
        elif current is not None and result.check.kind is not Kind.HOST:
            current.append(result)
        else:
            orphans.append(result)
    runs = [
        (vantage, by_label[(label, str(vantage.role))], label) for vantage, label in zip(report.merged_from, labels, strict=True)
    ]
    return runs, orphans


def _identity(vantage: Vantage) -> tuple[str, str, str]:
    return (vantage.hostname, str(vantage.role), vantage.started_at)


def _label(vantage: Vantage, earlier: Sequence[Vantage], labels: Container[str]) -> str:
    """The host name; NAME#2, NAME#3... when an earlier vantage point of that name (`earlier`) has the same role
    (clones, or two runs), so their checks stay apart. One machine in two roles keeps its name: the roles tell
    them apart."""
    if not any(v.hostname == vantage.hostname and v.role == vantage.role for v in earlier):
        return vantage.hostname
    label, n = vantage.hostname, 1
    while label in labels:
        n += 1
        label = f"{vantage.hostname}#{n}"
    return label


def _shared_name_note(vantage: Vantage, earlier: Sequence[Vantage], label: str) -> str:
    roles = [str(v.role) for v in earlier if v.hostname == vantage.hostname]
    if str(vantage.role) not in roles:
        return f"{vantage.hostname} reported as {', '.join([*roles, str(vantage.role)])}: one machine in several roles, all kept"
    return (
        f"two vantage points are called {vantage.hostname} ({vantage.role}, started at different times: two runs, "
        f"or clones or containers that share a name): the later one is shown as {label}"
    )


def _id_on(check: Check, label: str, already_on: str) -> str:
    """The check's id as run on `label` ('tcp:agent@win1->ms:9876', 'host:firewall@win1'), built by located_id.

    A check of a merged report already carries its host (already_on); it keeps its id unless that host's
    label changed in this merge, and then gets the id of the same check located on the new label."""
    if not already_on:
        return located_id(check, label)
    if already_on == label:
        return check.id
    return located_id(replace(check, id=_unlocated_id(check, already_on)), label)


def _unlocated_id(check: Check, host: str) -> str:
    """The id `check` had before it was located on `host` (what located_id starts from).

    Links and services are rebuilt from their fields by located_id itself; names and access checks from
    theirs. Host and discovery ids name their aspect, which a loaded report does not carry: their host
    suffix (and the #n merge may have added to keep ids unique) is cut off."""
    if check.kind in (Kind.TCP, Kind.SERVICE):
        return check.id
    if check.kind in (Kind.NAME, Kind.ACCESS):
        return check_id(check.kind, check.source, check.target.name, None if check.kind is Kind.NAME else check.port)
    located = re.fullmatch(rf"(.+)@{re.escape(host)}(?:#\d+)?", check.id)
    return located[1] if located else check.id


def _unique(check_id: str, taken: set[str]) -> str:
    """Ids stay unique even when one machine reports in two roles (its `host:` checks would repeat)."""
    unique, n = check_id, 1
    while unique in taken:
        n += 1
        unique = f"{check_id}#{n}"
    taken.add(unique)
    return unique
