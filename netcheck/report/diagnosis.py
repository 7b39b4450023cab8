"""The diagnosis: a report's problems grouped by cause, each group with its machines and one fix.

Every format shows the same diagnosis, computed once from the results (`diagnose`). A group gathers the
results that share a cause: the same link of the matrix (source role -> destination role, port), the same
state or named cause, and the same fix. Where the evidence allows, results are correlated across links and
vantage points, and the group says so in words:

- an agent whose every link is silent is one group, "drops everything or is down", not one group a port;
- a port that fails from every machine that tried it to one server is that server's firewall (the fix names
  the server); from only some machines, those machines or their network path;
- a stale hosts-file line for one name, on N machines, is one group with the line to write; a link that failed
  because the stale name led it to the wrong address belongs to that group, not to a firewall;
- a product port on a server that another program holds makes the links that pass to it suspect: they may
  have reached that program, not the product (`Diagnosis.suspect` says so beside those passes).

Groups are ordered by what blocks the deployment most: problems on the management server or the installing
machine first (they stop every agent), then fails before errors before warnings, then more machines first.

Pure: a function of the report's results (typed evidence or the plain mappings of a loaded report alike).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netcheck.model.checks import Report, Result
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.model.record import record

SILENT = frozenset((State.FILTERED, State.UNREACHABLE))
"""States where the target said nothing at all (or the network said it cannot be reached)."""

_VERDICT_RANK = {Verdict.FAIL: 0, Verdict.ERROR: 1, Verdict.WARN: 2, Verdict.PASS: 3, Verdict.SKIP: 4}
_PROBLEMS = frozenset((Verdict.FAIL, Verdict.ERROR, Verdict.WARN))
_INSTALLING = frozenset((Role.CONSOLE, Role.MANAGEMENT_SERVER))
"""The roles of the machine that installs agents (remote installation runs from the console or the server)."""

ROLE_WORDS = {
    Role.CONSOLE: "console",
    Role.MANAGEMENT_SERVER: "management server",
    Role.AGENT: "agent",
    Role.LICENSE_SERVER: "license server",
    Role.STORAGE_NODE: "storage node",
    Role.VCENTER: "vCenter Server or ESX(i) host",
    Role.CLOUD_STORAGE: "cloud storage",
    Role.CATALOG: "catalog",
    Role.BROWSER: "browser",
}
"""Every role in a helpdesk's words (a test holds it to the Role enumeration)."""

_LOGIN_CAUSES = (
    "bad-password",
    "account-",
    "password-",
    "network-logon-denied",
    "ssh-login-refused",
    "guest-login",
    "ssh-host-key",
    "smb-login-error",
)
"""Named access causes (prefixes) where the agent refused the login itself."""


@record
class Group:
    """Results that share one cause, the machines they affect, and the one fix."""

    cause: str
    """What is wrong, in plain words (correlations said in words: "from every agent that tried")."""
    verdict: Verdict
    """The worst verdict of the group's results: fail, error or warn."""
    machines: tuple[str, ...]
    """Every machine the group affects, in the report's order (agents under their host names where known)."""
    fix: str
    """The one thing to do."""
    checks: tuple[str, ...]
    """The ids of the checks the group covers (passes made suspect included)."""
    link: str = ""
    """The matrix link, "agent -> management-server:9876", or what was looked at ("name ms.corp.example")."""
    blocks_all: bool = False
    """The problem is on the management server or the installing machine: it stops every agent."""
    note: str = ""
    """A second sentence where evidence allows one (say, whether fixing a name is enough)."""

    @property
    def count(self) -> int:
        """How many machines the group affects (len(machines))."""
        return len(self.machines)


@record
class Diagnosis:
    """A report's groups, in order, its one-line headline, and notes beside passes that may be wrong."""

    groups: tuple[Group, ...]
    headline: str
    verdict: Verdict
    suspect: Mapping[str, str] = field(default_factory=dict)
    """Check id -> why its pass is suspect (a product port held by another program)."""
    passed: int = 0
    """Checks that passed (suspect ones included)."""
    skipped: int = 0
    total: int = 0
    placed: Mapping[int, int] = field(default_factory=dict, repr=False, compare=False)
    """id(result) -> the index of its group in `groups` (check ids may repeat: access checks of one agent)."""

    misled: Mapping[int, str] = field(default_factory=dict, repr=False, compare=False)
    """id(result) -> how a stale name misled that link ("the stale hosts line sent it to 198.18.0.99, not ...")."""

    def row_note(self, result: Result) -> str:
        """What to say beside a result's row: a pass made suspect, or a link that a stale name misled."""
        suspect = self.suspect.get(result.check.id) if result.verdict is Verdict.PASS else None
        if suspect:
            return f"suspect: {suspect}"
        return self.misled.get(id(result), "")

    def group_number(self, result: Result) -> int | None:
        """The 1-based number of the group `result` is in (a result of the report diagnosed), else None."""
        index = self.placed.get(id(result))
        return None if index is None else index + 1

    def group_dicts(self) -> list[dict[str, Any]]:
        """The JSON report's `diagnosis` list."""
        return [group_to_dict(group) for group in self.groups]


def group_to_dict(group: Group) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cause": group.cause,
        "verdict": str(group.verdict),
        "count": group.count,
        "machines": list(group.machines),
        "fix": group.fix,
        "checks": list(group.checks),
        "link": group.link,
        "blocks_all": group.blocks_all,
    }
    if group.note:
        data["note"] = group.note
    return data


_last: list[tuple[Report, Diagnosis]] = []
"""The last report diagnosed, with its diagnosis: a renderer's parts each ask for the same report's."""


def diagnose(report: Report) -> Diagnosis:
    """The report's diagnosis, computed once for the report rendered (every part of a format asks for it)."""
    if _last and _last[0][0] is report:
        return _last[0][1]
    diagnosis = _Diagnoser(report).diagnosis()
    _last[:] = [(report, diagnosis)]
    return diagnosis


# --- Words a helpdesk reads ---------------------------------------------------------------------------------


def state_words(result: Result, *, causes: bool = True) -> str:  # noqa: PLR0911, PLR0912 - one return a state
    """A result's state as a person reads it: "reachable, nothing listens yet (expected before installation)"
    for a closed port that may be closed, "login refused" for a refused login (the JSON keeps the enum values).
    An access result's named causes follow ("login refused: bad-password-1326") unless `causes` is False."""
    state, kind = result.state, result.check.kind
    if kind is Kind.ACCESS:
        if state is State.ENABLED:
            return "logged in"
        if state is State.DISABLED:
            named_causes = access_causes(result)
            named = ": " + ", ".join(named_causes) if named_causes and causes else ""
            if named_causes and named_causes[0].endswith("-timeout"):
                return "the visit did not finish in time" + named
            if not named_causes or any(cause.startswith(_LOGIN_CAUSES) for cause in named_causes):
                return "login refused" + named
            return "logged in, not ready" + named
    if state is State.CLOSED:
        if result.verdict is Verdict.PASS:
            return "reachable, nothing listens yet (expected before installation)"
        return "refused: nothing listens"
    if state is State.FILTERED:
        return "no answer (dropped by a firewall)"
    if state is State.UNREACHABLE:
        return "unreachable (no route, or the machine is off)"
    if state is State.BLOCKED_LOCALLY:
        return "blocked by this machine's own firewall"
    if state is State.NOT_PROBED:
        return "not tried"
    if state is State.UNRESOLVED:
        return "name does not resolve"
    if state is State.ERROR:
        return "check failed to run"
    return str(state)


def access_causes(result: Result) -> tuple[str, ...]:
    """The named causes of an access result (typed evidence or a loaded report's mapping)."""
    evidence: Any = result.evidence
    causes = getattr(evidence, "causes", None)
    if causes is None and isinstance(evidence, Mapping):
        causes = evidence.get("causes")
    return tuple(str(c) for c in causes or ())


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def first_machines(machines: Sequence[str], shown: int = 5) -> str:
    """'a, b, c and 2,497 more'."""
    head = ", ".join(machines[:shown])
    rest = len(machines) - shown
    return f"{head} and {rest:,} more" if rest > 0 else head


# --- The grouping ----------------------------------------------------------------------------------------------


@dataclass
class _Draft:
    cause: str
    fix: str
    link: str
    results: list[Result] = field(default_factory=list)
    machines: dict[str, None] = field(default_factory=dict)
    blocks_all: bool = False
    note: str = ""
    verdict: Verdict | None = None
    finish: Callable[[_Draft], None] | None = None
    """Finds the group's words and fix once every result is in (a group may hold 10,000)."""

    def add(self, result: Result, machine: str) -> None:
        self.results.append(result)
        self.machines.setdefault(machine, None)

    def group(self) -> Group:
        verdict = self.verdict or min((r.verdict for r in self.results), key=_VERDICT_RANK.__getitem__)
        checks = tuple(dict.fromkeys(r.check.id for r in self.results))
        return Group(self.cause, verdict, tuple(self.machines), self.fix, checks, self.link, self.blocks_all, self.note)


def _stale_name(result: Result) -> tuple[tuple[str, ...], str] | None:
    """(the stale addresses, the right one) when a name result shows a stale hosts-file line, else None."""
    evidence: Any = result.evidence
    seen = getattr(evidence, "seen", None)
    if seen is not None and hasattr(seen, "hosts_file"):  # AgentNameEvidence
        hosts, reference = tuple(seen.hosts_file), tuple(seen.dns) or tuple(evidence.here)
    elif hasattr(evidence, "hosts_addresses"):  # NameObservation
        hosts, reference = tuple(evidence.hosts_addresses), tuple(evidence.dns_addresses)
    elif isinstance(evidence, Mapping):
        raw_hosts, raw_dns = evidence.get("hosts") or [], evidence.get("dns") or []
        if evidence.get("via") == "ssh":
            hosts = tuple(str(a) for a in raw_hosts)
            reference = tuple(str(a) for a in raw_dns) or tuple(str(a) for a in evidence.get("here") or [])
        else:
            hosts = tuple(str(e.get("address")) for e in raw_hosts if isinstance(e, Mapping))
            reference = tuple(str(a) for answer in raw_dns if isinstance(answer, Mapping) for a in answer.get("addresses") or [])
    else:
        return None
    if hosts and reference and not set(hosts) & set(reference):
        return hosts, reference[0]
    return None


def _holder(result: Result) -> str | None:
    """The program that holds a product port, from a failing host check's evidence ({"listening": holder})."""
    evidence: Any = result.evidence
    if result.check.kind is Kind.HOST and isinstance(evidence, Mapping) and result.check.port is not None:
        holder = evidence.get("listening")
        return str(holder) if holder and result.verdict is Verdict.FAIL else None
    return None


@dataclass
class _Index:
    at_address: defaultdict[tuple[str, Kind, int | None, str | None], list[Result]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """(machine that ran it, kind, port, address) -> the links tried there."""
    agents_tried: defaultdict[tuple[Kind, Role, int | None], set[str]] = field(default_factory=lambda: defaultdict(set))
    """(kind, source role, port) -> the agents a link to them was tried of."""
    server_tried: defaultdict[tuple[Kind, int | None, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    """(kind, port, server) -> the machines that tried it."""


class _Diagnoser:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.alias: dict[str, str] = {}
        self.roles: dict[str, Role] = {}
        for vantage in report.merged_from or (report.vantage,):  # a merged report's own vantage is no machine
            self.alias.setdefault(vantage.hostname, vantage.hostname)
            self.roles.setdefault(vantage.hostname, vantage.role)
            for address in vantage.addresses:
                self.alias.setdefault(address, vantage.hostname)
        self.drafts: dict[tuple[Any, ...], _Draft] = {}
        self.placed: set[int] = set()
        self.suspect: dict[str, str] = {}
        self.misled: dict[int, str] = {}

    # machines -----------------------------------------------------------------------------------------------

    def source(self, result: Result) -> str:
        """The machine that ran the check."""
        return result.source_host or self.report.vantage.hostname

    def target(self, result: Result) -> str:
        """The target machine, under its vantage's host name when one of the reports was made on it."""
        name = result.check.target.name
        return self.alias.get(name) or (result.address and self.alias.get(result.address)) or name

    def machine(self, result: Result) -> str:
        """The machine a problem is on or stops: the agent of a link when there is one, else the target of a link,
        and the machine that ran the check for names, host and discovery checks."""
        check = result.check
        if check.kind in (Kind.TCP, Kind.SERVICE, Kind.ACCESS) and (
            check.target.role is Role.AGENT or check.source is not Role.AGENT
        ):
            return self.target(result)
        return self.source(result)

    def installing_needs(self, result: Result) -> bool:
        """A name of the management server, as the installing machine (console or server) resolves it."""
        role = self.roles.get(self.source(result), result.check.source)
        return role in _INSTALLING and result.check.target.role is Role.MANAGEMENT_SERVER

    @functools.cached_property
    def index(self) -> _Index:
        """Who tried what, found in one walk over the results (the rules ask it for each failing link)."""
        index = _Index()
        for r in self.report.results:
            check = r.check
            if check.kind not in (Kind.TCP, Kind.SERVICE) or r.verdict is Verdict.SKIP:
                continue
            source = self.source(r)
            index.at_address[(source, check.kind, check.port, r.address)].append(r)
            if check.target.role is Role.AGENT:
                index.agents_tried[(check.kind, check.source, check.port)].add(self.target(r))
            else:
                index.server_tried[(check.kind, check.port, self.target(r))].add(source)
        return index

    # the passes ------------------------------------------------------------------------------------------------

    def draft(self, key: tuple[Any, ...], cause: str, fix: str, link: str) -> _Draft:
        found = self.drafts.get(key)
        if found is None:
            found = self.drafts[key] = _Draft(cause, fix, link)
        return found

    def place(self, key: tuple[Any, ...], result: Result, machine: str, *, cause: str, fix: str, link: str) -> _Draft:
        draft = self.draft(key, cause, fix, link)
        draft.add(result, machine)
        self.placed.add(id(result))
        return draft

    def diagnosis(self) -> Diagnosis:
        results = self.report.results
        problems = [r for r in results if r.verdict in _PROBLEMS]
        self.held_ports(results)
        self.silent_agents(results)
        self.stale_names(results, problems)
        for result in problems:
            if id(result) not in self.placed:
                self.by_link(result)
        for draft in self.drafts.values():
            if draft.finish is not None:
                draft.finish(draft)
        drafts = sorted(
            ((draft.group(), draft) for draft in self.drafts.values()),
            key=lambda pair: (not pair[0].blocks_all, _VERDICT_RANK[pair[0].verdict], -pair[0].count, pair[0].cause),
        )
        groups = [group for group, _draft in drafts]
        placed = {id(result): index for index, (_group, draft) in enumerate(drafts) for result in draft.results}
        passed = self.report.count(Verdict.PASS)
        skipped = self.report.count(Verdict.SKIP)
        return Diagnosis(
            tuple(groups),
            _headline(self.report, groups),
            self.report.verdict,
            self.suspect,
            passed,
            skipped,
            len(results),
            placed,
            self.misled,
        )

    def held_ports(self, results: Sequence[Result]) -> None:
        """A product port held by another program on a machine: the host check, and the passes to that port."""
        for result in results:
            holder = _holder(result)
            if holder is None:
                continue
            port, host, role = result.check.port, self.source(result), result.check.source
            passes = [
                r
                for r in results
                if r.verdict is Verdict.PASS
                and r.check.kind in (Kind.TCP, Kind.SERVICE)
                and r.check.port == port
                and (
                    self.target(r) == host
                    or (r.check.target.role is role and role in (Role.MANAGEMENT_SERVER, Role.LICENSE_SERVER))
                )
            ]
            where = f"the {ROLE_WORDS[role]} {host}" if role is not Role.AGENT else host
            cause = f"TCP {port} on {where} is already held by {holder}: the product cannot listen there"
            note = ""
            if passes:
                cause += f", and the {plural(len(passes), 'link')} that pass to it may have reached {holder}, not the product"
                note = "Run netcheck again once the port is free: only then does a pass show the product's port is reachable."
            draft = self.place(
                ("held", host, port),
                result,
                host,
                cause=cause,
                fix=f"On {host}: {result.remediation}" if result.remediation else f"Stop or reconfigure {holder} on {host}.",
                link=f"host port {port} on {host}",
            )
            draft.blocks_all = role in _INSTALLING
            draft.note = note
            for passed in passes:
                self.suspect[passed.check.id] = f"may have reached {holder}, which holds TCP {port} on {host}, not the product"
                draft.add(passed, self.machine(passed) if passed.check.source is not Role.AGENT else self.source(passed))
                self.placed.add(id(passed))

    def silent_agents(self, results: Sequence[Result]) -> None:
        """Agents whose every TCP link (to them and from them) is silent: one group, not one a port."""
        links: dict[str, list[Result]] = defaultdict(list)
        for result in results:
            check = result.check
            if check.kind is not Kind.TCP or result.verdict is Verdict.SKIP:
                continue
            if check.target.role is Role.AGENT:
                links[self.target(result)].append(result)
            elif check.source is Role.AGENT:
                links[self.source(result)].append(result)
        silent: dict[str, list[Result]] = {}
        ports: dict[int, None] = {}
        for agent, found in links.items():
            if not all(r.verdict is Verdict.FAIL and r.state in SILENT for r in found):
                continue
            agent_ports = {r.check.port for r in found}
            if len(agent_ports) < 2 and not all(r.state is State.UNREACHABLE for r in found):
                continue  # one silent port of an agent is that port's problem, grouped by link
            silent[agent] = found
            ports.update(dict.fromkeys(sorted(p for p in agent_ports if p is not None)))
        if not silent:
            return
        silent_names = set(silent)
        sources = sorted(
            {ROLE_WORDS[r.check.source] for found in silent.values() for r in found if r.check.source is not Role.AGENT}
        )
        tried = ", ".join(map(str, ports))
        cause = f"Agents that drop everything or are down: no answer on any port tried ({tried})"
        origin = " or ".join(sources) or "the other machines"
        fix = (
            f"Check that each of these agents is on and connected; if it is, its own firewall (or one in front of it) "
            f"drops everything: allow TCP {tried} from the {origin} to it."
        )
        draft = self.draft(("silent",), cause, fix, "every link of the agent")
        for agent, found in silent.items():
            for result in found:
                draft.add(result, agent)
                self.placed.add(id(result))
        # what else failed on these agents (an identification or a login that could not be made) is the same cause
        for result in results:
            if (
                result.verdict in _PROBLEMS
                and result.check.kind in (Kind.SERVICE, Kind.ACCESS)
                and id(result) not in self.placed
                and self.machine(result) in silent_names
            ):
                draft.add(result, self.machine(result))
                self.placed.add(id(result))

    def stale_names(self, results: Sequence[Result], problems: Sequence[Result]) -> None:
        """Stale hosts-file lines: one group a name and right address; the links they misled join it."""
        stale: dict[tuple[str, str], tuple[tuple[str, ...], str, _Draft]] = {}
        for result in problems:
            if result.check.kind is not Kind.NAME:
                continue
            found = _stale_name(result)
            if found is None:
                continue
            wrong, right = found
            name, host = result.check.target.name, self.source(result)
            line = f"{right} {name}"
            cause = f"Stale hosts-file line: {name} is mapped to {', '.join(wrong)} instead of {right}"
            fix = f"On each machine listed, change the hosts-file line for {name} to '{line}' (or delete it so that DNS is used)."
            draft = self.place(("stale", name, right), result, host, cause=cause, fix=fix, link=f"name {name}")
            draft.blocks_all = draft.blocks_all or self.installing_needs(result)
            stale[(host, name)] = (wrong, right, draft)
        if not stale:
            return
        notes: dict[int, list[str]] = defaultdict(list)
        for result in problems:
            check = result.check
            if check.kind not in (Kind.TCP, Kind.SERVICE) or id(result) in self.placed:
                continue
            host = self.source(result)
            misled = stale.get((host, check.target.name))
            if misled is None or result.address not in misled[0]:
                continue
            _wrong, right, draft = misled
            self.misled[id(result)] = f"the stale hosts line for {check.target.name} sent it to {result.address}, not {right}"
            draft.add(result, host)
            self.placed.add(id(result))
            # the same link from the same machine, tried at the right address
            tried = [r for r in self.index.at_address.get((host, check.kind, check.port, right), ()) if r is not result]
            if not tried:
                words = (
                    f"whether fixing the name is enough on {host} is not known ({right}:{check.port} was not tried "
                    "from there): run netcheck again after the fix"
                )
            elif all(r.verdict is Verdict.PASS for r in tried):
                words = f"fixing the name is enough on {host}: {right}:{check.port} answers from there"
            else:
                words = f"fixing the name is not enough on {host}: {right}:{check.port} fails from there too (see its own group)"
            notes[id(draft)].append(words)
        for _wrong, _right, draft in stale.values():
            if notes.get(id(draft)) and not draft.note:
                links = len(draft.results) - len(draft.machines)
                said = list(dict.fromkeys(notes[id(draft)]))
                shown = "; ".join(said[:3]) + (f"; and {len(said) - 3:,} more" if len(said) > 3 else "")
                draft.note = (
                    f"{plural(links, 'link')} failed because the name led to the stale address, not because of a "
                    f"firewall: {shown}."
                )

    def by_link(self, result: Result) -> None:
        """The general rule: the same matrix link, state or named cause, and fix. Results are only gathered
        here; each group's words and fix are found once it is whole (`_Draft.finish`): 10,000 agents in a group."""
        check = result.check
        kind = check.kind
        key: tuple[Any, ...]
        if kind in (Kind.TCP, Kind.SERVICE):
            self.link_group(result)
            return
        if kind is Kind.ACCESS:
            causes = access_causes(result)
            named = causes[0] if causes else state_words(result)
            link = f"{check.source} -> agent:{check.port} (installation access)"
            cause = f"Installation access over TCP {check.port}: {state_words(result, causes=False)} ({named})" + (
                f" (with {', '.join(causes[1:])})" if len(causes) > 1 else ""
            )
            key = ("access", check.source, check.port, causes or result.detail, result.verdict)
            draft = self.place(key, result, self.target(result), cause=cause, fix="", link=link)
            draft.finish = self.finish_agents
            return
        if kind is Kind.NAME:
            name = check.target.name
            words = "does not resolve" if result.state is State.UNRESOLVED else _first_clause(result.detail, name)
            key = ("name", name, result.state, result.verdict, words if result.state is not State.UNRESOLVED else "")
            host = self.source(result)
            draft = self.place(key, result, host, cause=f"Name {name}: {words}", fix="", link=f"name {name}")
            draft.finish = self.finish_machines
            draft.blocks_all = draft.blocks_all or (self.installing_needs(result) and result.verdict is Verdict.FAIL)
            return
        # host and discovery checks: what was found on the machine that ran them
        host = self.source(result)
        role = self.roles.get(host, check.source)
        what = check.purpose or str(kind)
        key = (str(kind), what, check.port, result.verdict, result.remediation.replace(host, ""))
        cause = f"{_first_clause(result.detail, '')}" if result.detail else what
        if kind is Kind.HOST and result.state is State.UNREACHABLE:  # a merge's row for a host without a report
            cause = "netcheck did not run on these machines: no report from them, none of their checks was made"
        draft = self.place(key, result, host, cause=cause, fix="", link=f"{kind} check: {what}")
        draft.finish = functools.partial(self.finish_found, what=what)
        draft.blocks_all = draft.blocks_all or (role in _INSTALLING and result.verdict is Verdict.FAIL)

    def finish_machines(self, draft: _Draft) -> None:
        """One fix for a group of names or host checks: the machines' names made "each machine listed"."""
        draft.fix = _common_fix([r.remediation for r in draft.results], list(draft.machines))

    def finish_found(self, draft: _Draft, *, what: str) -> None:
        """Host and discovery checks: one finding on every machine is said as it is; several are the check's
        purpose and the first finding."""
        first = draft.results[0]
        if first.state is not State.UNREACHABLE and any(r.detail != first.detail for r in draft.results):
            draft.cause = f"{what}: {_first_clause(first.detail, '')} (and the like: see each check)"
        self.finish_machines(draft)

    def finish_agents(self, draft: _Draft) -> None:
        """One fix for a group of links or logins to agents: the agents' names and addresses made generic."""
        names = [self.target(r) for r in draft.results] + [r.check.target.name for r in draft.results]
        names += [r.address for r in draft.results if r.address]
        draft.fix = _common_fix([r.remediation for r in draft.results], names)

    def link_group(self, result: Result) -> None:
        check = result.check
        source_role, target_role, port = check.source, check.target.role, check.port
        kind = "service " if check.kind is Kind.SERVICE else ""
        words = state_words(result) if check.kind is Kind.TCP else _first_clause(result.detail, "")
        if target_role is Role.AGENT:
            key: tuple[Any, ...] = ("link", check.kind, source_role, target_role, port, result.state, result.verdict, words)
            draft = self.draft(key, "", "", f"{kind}{source_role} -> {target_role}:{port}")
            draft.add(result, self.target(result))
            self.placed.add(id(result))
            draft.finish = functools.partial(self.finish_to_agents, result=result, words=words)
            return
        # links to a server: the same server, from every machine that tried it or from some
        server = self.target(result)
        key = ("link", check.kind, source_role, server, port, result.state, result.verdict, words)
        draft = self.draft(key, "", "", f"{kind}{source_role} -> {target_role} {server}:{port}")
        draft.add(result, self.source(result) if source_role is Role.AGENT else server)
        self.placed.add(id(result))
        draft.finish = functools.partial(self.finish_to_server, result=result, words=words, server=server)

    def finish_to_agents(self, draft: _Draft, *, result: Result, words: str) -> None:
        """Links from one role to agents on one port: every agent failing silently is the source's side."""
        check = result.check
        source_role, port = check.source, check.port
        kind = "service " if check.kind is Kind.SERVICE else ""
        sources = sorted({self.source(r) for r in draft.results})
        tried = self.index.agents_tried.get((check.kind, source_role, port), set())
        if len(tried) >= 3 and len(draft.machines) == len(tried) and result.state in SILENT:
            draft.cause = (
                f"{_role_cap(source_role)} to every agent, {kind}TCP {port}: {words}: the {ROLE_WORDS[source_role]}'s "
                "own firewall or the network in front of it"
            )
            draft.fix = (
                f"Allow outbound TCP {port} on {', '.join(sources)} (its own firewall) and on the network firewall "
                "between it and the agents."
            )
            draft.blocks_all = source_role in _INSTALLING
            return
        draft.cause = f"{_role_cap(source_role)} to agents, {kind}TCP {port}: {words}"
        if check.kind is Kind.TCP and result.state is State.FILTERED:
            origin = f"the {ROLE_WORDS[source_role]} ({', '.join(sources)})"
            draft.fix = (
                f"Allow TCP {port} from {origin} to each agent listed: on the agent's own firewall (inbound) and on "
                "every firewall between them."
            )
        elif check.kind is Kind.TCP and result.state is State.UNREACHABLE:
            draft.fix = (
                f"Check each agent's address and the routing from the {ROLE_WORDS[source_role]} to it "
                "(is it on, is the address right?)."
            )
        else:
            self.finish_agents(draft)

    def finish_to_server(self, draft: _Draft, *, result: Result, words: str, server: str) -> None:
        """Links to one server on one port: from every machine that tried it is the server's side; from some,
        those machines or their path."""
        check = result.check
        source_role, target_role, port = check.source, check.target.role, check.port
        kind = "service " if check.kind is Kind.SERVICE else ""
        tried = self.index.server_tried.get((check.kind, port, server), set())
        failing = {self.source(r) for r in draft.results}
        server_words = f"the {ROLE_WORDS[target_role]} {server}"
        if len(tried) >= 2 and failing >= tried:
            draft.cause = (
                f"{_role_cap(source_role)} to {server_words}, {kind}TCP {port}: {words}, from every machine that tried: "
                f"{server}'s side"
            )
            if result.state in SILENT and check.kind is Kind.TCP:
                draft.fix = (
                    f"On {server}, allow inbound TCP {port} in its own firewall (and in any firewall in front of it), "
                    f"from the {ROLE_WORDS[source_role]}s; if nothing answers at all, check that {server} is on."
                )
            else:
                draft.fix = _common_fix([r.remediation for r in draft.results], [])
            draft.blocks_all = target_role is Role.MANAGEMENT_SERVER and result.verdict is Verdict.FAIL
            return
        some = f"from {plural(len(failing), 'machine')} of {len(tried)}" if len(tried) > 1 else ""
        draft.cause = f"{_role_cap(source_role)} to {server_words}, {kind}TCP {port}: {words}" + (
            f" ({some}: those machines or their network path)" if some else ""
        )
        if result.state in SILENT and check.kind is Kind.TCP and source_role is Role.AGENT:
            draft.fix = (
                f"Allow TCP {port} from each agent listed to {server}: on the agent's own firewall (outbound) and on "
                "the network path between them."
            )
        else:
            draft.fix = _common_fix([r.remediation for r in draft.results], sorted(failing))
        if source_role in _INSTALLING and target_role is Role.MANAGEMENT_SERVER and result.verdict is Verdict.FAIL:
            draft.blocks_all = True


def _role_cap(role: Role) -> str:
    words = ROLE_WORDS[role]
    return words[0].upper() + words[1:]


def _first_clause(detail: str, name: str) -> str:
    """The first clause of a detail, without the machine's name: what is wrong, short."""
    text = detail.split(" [", 1)[0]
    if name and text.startswith(name):
        text = text[len(name) :].lstrip()
    return text.split(";", 1)[0].strip()


def _common_fix(fixes: Iterable[str], names: Iterable[str]) -> str:
    """One fix for a group: the remediation when all agree; otherwise the first with its machine's name put as
    "each machine listed" where that makes them agree; otherwise the first, said to be one example."""
    distinct = list(dict.fromkeys(f for f in fixes if f))
    if len(distinct) <= 1:
        return distinct[0] if distinct else ""
    generic = distinct[0]
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        generic = generic.replace(f"{name}'s", "each listed machine's").replace(name, "each machine listed")
    if generic != distinct[0]:
        return generic
    return f"{distinct[0]} (the group's other checks say the same with their own names)"


def _headline(report: Report, groups: Sequence[Group]) -> str:
    """One line: the verdict, how many problems on how many machines, and what blocks everything."""
    if not groups:
        return f"PASS: all {len(report.results):,} checks passed or were not needed."
    machines: dict[str, None] = {}
    for group in groups:
        machines.update(dict.fromkeys(group.machines))
    fails = [g for g in groups if g.verdict is not Verdict.WARN]
    warns = len(groups) - len(fails)
    verdict = str(report.verdict).upper()
    parts = []
    if fails:
        parts.append(plural(len(fails), "problem"))
    if warns:
        parts.append(plural(warns, "warning"))
    line = f"{verdict}: {' and '.join(parts)} on {plural(len(machines), 'machine')}"
    blocking = [g for g in groups if g.blocks_all]
    if blocking:
        which, stop = ("it", "stops") if len(blocking) == 1 else ("them", "stop")
        line += (
            f"; {plural(len(blocking), 'problem')} on the management server or installing machine {stop} every agent: "
            f"fix {which} first"
        )
    return line + "."
