"""netcheck merge: reports from several vantage points (the console, each agent) as one report and matrix.

A vantage point is identified by host name + role + start time + addresses. The same run given twice (a report
copied twice, or once alone and once inside a merged report) is merged once. Two vantage points may share a host
name: one machine in two roles (console and management server at once: one label, and its checks whose ids name
no role get it, `host:firewall@agent@vm`), or clones, containers and machines left with a default name that all
call themselves the same; both are kept, with a note, and the second one's checks carry NAME#2 so every check id
stays unique. Hosts that could not be checked at all (Ansible could not reach them, netcheck could not run, or
their report cannot be used) become rows of their own (`unreachable_result`), so they are never silently missing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from netcheck.model.checks import Check, Report, Result, Target, Vantage, check_id, located_id
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.model.record import record
from netcheck.report.json import ReportError


@record
class Unreachable:
    """A host that gave no readable report: the fleet engine could not reach it, netcheck could not run there,
    or what came back is not a netcheck report (`unreadable`). It becomes one `error` row."""

    hostname: str
    reason: str = ""
    role: Role = Role.AGENT
    unreadable: bool = False
    """netcheck's report came back but could not be read (not JSON, too large, too deep, not netcheck's)."""


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
    row per unreachable host, and the notes the user should see.

    Linear in the checks and vantage points: labels and ids are made unique by `_Allocator`, whose counters
    only move forward."""
    if not reports or len(reports) + len(unreachable) < 2:
        raise ReportError("merge needs at least two reports (or one report and an unreachable host)")
    _one_phase_and_product(reports)
    runs, merged_reports, orphans, notes = _distinct_runs(reports)
    vantages = [vantage for vantage, _, _ in runs]
    labels = _labels(vantages)
    notes += _shared_name_notes(vantages, labels)
    roles_of: dict[str, set[Role]] = {}
    for vantage, label in zip(vantages, labels, strict=True):
        roles_of.setdefault(label, set()).add(vantage.role)
    ids = _Allocator()
    results: list[Result] = []
    for (vantage, own_results, stored_as), label in zip(runs, labels, strict=True):
        in_roles = len(roles_of[label]) > 1  # one machine in several roles: its role-less ids carry the role
        for result in own_results:
            check = result.check
            if result.source_host and result.source_host != stored_as:
                # run on another machine for this vantage point (an agent's own links, seen through SSH):
                # it keeps that machine and its id
                results.append(replace(result, check=replace(check, id=ids.unique(check.id))))
                continue
            unique_id = ids.unique(_id_on(check, label, stored_as, vantage.role, in_roles=in_roles))
            results.append(replace(result, check=replace(check, id=unique_id), source_host=label))
    rows_by_host: dict[str, Result] = {r.source_host: r for r in orphans}
    for host in unreachable:
        rows_by_host[host.hostname] = unreachable_result(host)
    hostnames = {v.hostname for v in vantages}
    for hostname, row in rows_by_host.items():
        if hostname in roles_of or hostname in hostnames:
            notes.append(f"{hostname} is listed as unreachable but a report from it was given: its report is kept")
            continue
        results.append(replace(row, check=replace(row.check, id=ids.unique(row.check.id))))
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


def _distinct_runs(
    reports: Sequence[Report],
) -> tuple[list[tuple[Vantage, list[Result], str]], list[Report], list[Result], list[str]]:
    """Every run the reports hold, each once (a run given twice is noted), the reports that gave one, and the
    rows of unreachable hosts that merged reports carry."""
    notes: list[str] = []
    runs: list[tuple[Vantage, list[Result], str]] = []
    seen: set[tuple[str, str, str, tuple[str, ...]]] = set()
    merged_reports: list[Report] = []
    orphans: list[Result] = []
    for report in reports:
        kept_any = False
        report_runs, rows = _runs(report)
        orphans += rows
        for run in report_runs:
            vantage = run[0]
            key = _identity(vantage)
            if key in seen:
                notes.append(f"{vantage.hostname} as {vantage.role} started {vantage.started_at}: given twice, merged once")
                continue
            seen.add(key)
            kept_any = True
            runs.append(run)
        if kept_any:
            merged_reports.append(report)
    return runs, merged_reports, orphans, notes


def unreachable_result(host: Unreachable) -> Result:
    """The row for a host that produced no readable report: `error`, because none of its checks could be run
    (or read)."""
    reason = " ".join(host.reason.split())[:300] or "no report from this host"
    if host.unreadable:
        check = Check(
            f"host:report@{host.hostname}",
            Kind.HOST,
            host.role,
            Target(host.hostname, host.role),
            purpose="reading the report netcheck wrote on this host",
        )
        return Result(
            check,
            State.ERROR,
            Verdict.ERROR,
            f"not checked: the report that came back from {host.hostname} could not be used ({reason})",
            f"Run netcheck on {host.hostname} again, with the options the other machines had, and look at the report "
            "it writes: a file that is not netcheck's JSON was written by something else or cut short (a full disk, a "
            "copy that failed).",
            source_host=host.hostname,
        )
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
        f"Fix what the reason says, then run again: {host.hostname} must be on, the machine that runs the playbook "
        "must be able to log in to it (SSH for Linux, WinRM for Windows), and it needs Python 3.11 or later.",
        source_host=host.hostname,
    )


def readable_reports(paths: Sequence[Path], load: Callable[[Path], Report]) -> tuple[list[Report], list[Unreachable]]:
    """The reports `load` can read, and an unreadable row for each file it cannot, named after the host the
    file is named after (HOST.json, as a fleet engine fetches them): one agent's bad file (random bytes, a
    number of 5,000 digits, 257 MiB, JSON nested 100,000 deep) costs that agent's row, not the site report.
    A report of another phase than most (an agent given other options) is such a row too."""
    read: list[tuple[str, Report]] = []
    rows: list[Unreachable] = []
    for path in paths:
        host = path.name.removesuffix(".json") or path.name
        try:
            read.append((host, load(path)))
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with one agent's file becomes that agent's row
            rows.append(Unreachable(host, str(exc) or type(exc).__name__, unreadable=True))
    phases = Counter(report.phase for _, report in read)
    if len(phases) > 1:
        most = phases.most_common(1)[0][0]
        for host, report in read:
            if report.phase != most:
                why = f"a report of the {report.phase} phase, the others are {most}: merge one phase at a time"
                rows.append(Unreachable(host, why, unreadable=True))
        read = [(host, report) for host, report in read if report.phase == most]
    return [report for _, report in read], rows


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
    run it follows, as merge wrote it. The labels are found again by `_labels`, which gave them: it depends
    only on the vantage points in their order, which the merged report keeps."""
    if not report.merged_from:
        vantage = report.vantage if report.vantage.started_at else replace(report.vantage, started_at=report.started_at)
        return [(vantage, list(report.results), "")], []
    labels = _labels(report.merged_from)
    by_label: dict[tuple[str, str], list[Result]] = {}
    for vantage, label in zip(report.merged_from, labels, strict=True):
        by_label[(label, str(vantage.role))] = []
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
        (vantage, by_label.pop((label, str(vantage.role)), []), label)
        for vantage, label in zip(report.merged_from, labels, strict=True)
    ]
    return runs, orphans


def _identity(vantage: Vantage) -> tuple[str, str, str, tuple[str, ...]]:
    """What tells two runs apart: everything that differs between two machines or two runs of one (host name,
    role, start, addresses). The same run given twice has all four the same."""
    return (vantage.hostname, str(vantage.role), vantage.started_at, tuple(sorted(vantage.addresses)))


def _labels(vantages: Sequence[Vantage]) -> list[str]:
    """Each vantage point's label, in order: its host name; NAME#2, NAME#3... when an earlier vantage point of
    that name has the same role (clones, two runs, machines that share a name), so their checks stay apart.
    One machine in two roles keeps its name: the roles tell them apart. A made label is never a host name of
    the merge nor another label (a machine really called `a#2` keeps its name; the second `a` is `a#3`)."""
    names = _Allocator(v.hostname for v in vantages)
    first_in_role: set[tuple[str, Role]] = set()
    labels = []
    for vantage in vantages:
        key = (vantage.hostname, vantage.role)
        if key in first_in_role:
            labels.append(names.suffixed(vantage.hostname))
        else:
            first_in_role.add(key)
            labels.append(vantage.hostname)
    return labels


def _shared_name_notes(vantages: Sequence[Vantage], labels: Sequence[str]) -> list[str]:
    """A note for each vantage point whose host name an earlier one has: what tells them apart."""
    notes = []
    roles: dict[str, list[str]] = {}
    last: dict[tuple[str, Role], Vantage] = {}
    for vantage, label in zip(vantages, labels, strict=True):
        earlier_roles = roles.setdefault(vantage.hostname, [])
        twin = last.get((vantage.hostname, vantage.role))
        last[(vantage.hostname, vantage.role)] = vantage
        if not earlier_roles:
            earlier_roles.append(str(vantage.role))
            continue
        if twin is None:
            earlier_roles.append(str(vantage.role))
            notes.append(f"{vantage.hostname} reported as {', '.join(earlier_roles)}: one machine in several roles, all kept")
            continue
        differs = [
            what
            for what, mine, theirs in (
                ("addresses", sorted(vantage.addresses), sorted(twin.addresses)),
                ("start times", vantage.started_at, twin.started_at),
                ("operating systems", vantage.os, twin.os),
            )
            if mine != theirs
        ]
        notes.append(
            f"two vantage points are called {vantage.hostname} ({vantage.role}; different {' and '.join(differs)}: "
            f"two runs, or clones or containers that share a name): the later one is shown as {label}"
        )
    return notes


_ROLELESS = (Kind.NAME, Kind.HOST, Kind.DISCOVERY)
"""Kinds whose id does not say the role that ran them: on a machine in several roles their ids carry it."""


def _id_on(check: Check, label: str, already_on: str, role: Role, *, in_roles: bool = False) -> str:
    """The check's id as run on `label` ('tcp:agent@win1->ms:9876', 'host:firewall@win1'), built by located_id;
    on a machine that reports in several roles (`in_roles`), a check whose id has no role gets it, in the
    links' notation: 'host:firewall@agent@vm' beside 'tcp:agent@vm->ms:9876'.

    A check of a merged report already carries its host (already_on); it keeps its id unless that host's
    label changed in this merge, and then gets the id of the same check located on the new label."""
    if check.kind in _ROLELESS and (in_roles or (already_on and already_on != label)):
        base = _unlocated_id(check, already_on, role) if already_on else check.id
        return f"{base}@{role}@{label}" if in_roles else f"{base}@{label}"
    if not already_on:
        return located_id(check, label)
    if already_on == label:
        return check.id
    return located_id(replace(check, id=_unlocated_id(check, already_on, role)), label)


def _unlocated_id(check: Check, host: str, role: Role) -> str:
    """The id `check` had before it was located on `host` (what located_id starts from).

    Links and services are rebuilt from their fields by located_id itself; names and access checks from
    theirs. Host and discovery ids name their aspect, which a loaded report does not carry: their host
    suffix (with the role a machine in several roles adds, and the #n merge may have added to keep ids
    unique) is cut off."""
    if check.kind in (Kind.TCP, Kind.SERVICE):
        return check.id
    if check.kind in (Kind.NAME, Kind.ACCESS):
        return check_id(check.kind, check.source, check.target.name, None if check.kind is Kind.NAME else check.port)
    located = re.fullmatch(rf"(.+?)(?:@{re.escape(str(role))})?@{re.escape(host)}(?:#\d+)?", check.id)
    return located[1] if located else check.id


class _Allocator:
    """Names made unique with #2, #3...; each name's counter only moves forward, so the names a merge makes cost
    probes in proportion to their number (a probing loop from #2 each time would be quadratic: 20,000 checks of
    one link in one report). `probes` counts the set look-ups."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken)
        self.probes = 0
        self._next: dict[str, int] = {}

    def unique(self, name: str) -> str:
        """`name` itself when it is free, else the next free NAME#n."""
        self.probes += 1
        if name not in self.taken:
            self.taken.add(name)
            return name
        return self.suffixed(name)

    def suffixed(self, name: str) -> str:
        """The next free NAME#n (n >= 2), taken."""
        n = self._next.get(name, 2)
        while True:
            self.probes += 1
            candidate = f"{name}#{n}"
            if candidate not in self.taken:
                break
            n += 1
        self._next[name] = n + 1
        self.taken.add(candidate)
        return candidate
