"""The access stage of a run: after the TCP links, log in to each agent whose install link is open.

Linux agents are visited through SSH (and, from there, the agent's own links to the servers); Windows agents
through SMB. Each visit is bounded in time as a whole; one agent's failure is that agent's result only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from netcheck.access.credentials import NO_CREDENTIALS, Credentials
from netcheck.access.ssh import AgentSideTarget
from netcheck.classify.access import (
    Server,
    access_os,
    agent_side_results,
    classify_smb,
    classify_ssh,
    skipped,
    timed_out,
)
from netcheck.classify.common import error_result
from netcheck.matrix import PortKey, links_for
from netcheck.model import AgentOS, Check, Kind, Phase, Result, Role, State, Target, check_id, link_key
from netcheck.names.threads import in_daemon_thread
from netcheck.observations import NameObservation, SshObservation

VISIT_BUDGET_S = 120.0
"""One agent's whole visit (host key, login, every command) at most."""

SshObserver = Callable[..., Awaitable[SshObservation]]
SmbObserver = Callable[..., Any]

PURPOSES = {
    dest: "; ".join(
        a.link.purpose
        for a in links_for(Role.AGENT, management_server=True)
        if a.link.dest is dest and a.link.port_key is PortKey.PRODUCT
    )
    for dest in (Role.MANAGEMENT_SERVER, Role.LICENSE_SERVER)
}
"""Why an agent connects to each server, as the product's connection matrix says."""


@dataclass(frozen=True)
class AccessSetup:
    credentials: Credentials | None
    servers: Sequence[tuple[Target, int]]
    """The management server and license server the agents must reach, each with its product port."""
    phase: Phase
    timeout_s: float
    concurrency: int = 32
    """Agents visited at once at most (each visit is an SSH session or an SMB connection with a thread)."""


async def run_access(
    checks: Sequence[Check],
    links: Mapping[str, Result],
    names: Mapping[str, Result],
    setup: AccessSetup,
    *,
    observe_ssh: SshObserver,
    observe_smb: SmbObserver,
) -> list[Result]:
    """One result per access check, then the agent-side results of every Linux agent visited.

    `links` holds the results so far: an access check goes ahead only when the TCP link it needs (the same
    target and port key, probed from here) is open.
    """
    by_link: dict[tuple[str, PortKey | None], Result] = {
        link_key(r.check): r
        for r in links.values()
        if r.check.kind is Kind.TCP and not r.source_host and r.check.port_key is not None
    }
    servers = [Server(t, port, PURPOSES[t.role], _addresses_here(t, names)) for t, port in setup.servers if t.role in PURPOSES]

    def decide(check: Check) -> Result | None:
        return access_skip(check, by_link.get(link_key(check)), setup.credentials)

    limit = asyncio.Semaphore(max(1, setup.concurrency))
    # SMB visits block (impacket): each runs in a daemon thread of its own, never in the loop's default pool, so a
    # hung call neither keeps the interpreter from exiting nor starves other users of that pool. A thread gives its
    # slot back when the call returns, whenever that is: lingering calls cap the SMB visits that can start.
    smb_threads = threading.BoundedSemaphore(max(1, setup.concurrency))

    async def visit(check: Check) -> list[Result]:
        link = by_link[link_key(check)]
        credentials = setup.credentials
        assert credentials is not None  # decide() said so
        agent_os = access_os(check)
        account = credentials.account_for(agent_os)
        assert account is not None  # can_log_in said so
        address = link.address or check.target.name
        port = link.check.port
        assert port is not None  # every TCP link of the plan has its port (the plan's [ports] included)
        try:
            async with limit:
                if agent_os is AgentOS.LINUX:
                    targets = [AgentSideTarget(s.target.name, s.port) for s in servers]
                    obs = await asyncio.wait_for(
                        observe_ssh(
                            check.target.name,
                            address,
                            port,
                            account=account,
                            credentials=credentials,
                            targets=targets,
                            timeout_s=setup.timeout_s,
                        ),
                        VISIT_BUDGET_S,
                    )
                    obs = scrubbed(obs, credentials)
                    result = classify_ssh(check, obs)
                    side = []
                    if obs.login == "ok":
                        side = agent_side_results(check.target, obs, servers, phase=setup.phase)
                    return [result, *side]
                seen = await asyncio.wait_for(
                    in_daemon_thread(
                        smb_threads,
                        partial(observe_smb, name=check.target.name),
                        address,
                        account,
                        credentials,
                        setup.timeout_s,
                        port,
                    ),
                    VISIT_BUDGET_S,
                )
                return [classify_smb(check, scrubbed(seen, credentials))]
        except TimeoutError:
            return [timed_out(check, address, VISIT_BUDGET_S)]
        except Exception as exc:  # noqa: BLE001 - one agent's failure is that agent's error result, never the run's
            return [error_result(check, f"{type(exc).__name__}: {_safe(exc, credentials)}")]

    decided = {check.id: decide(check) for check in checks}
    visited = iter(await asyncio.gather(*(visit(c) for c in checks if decided[c.id] is None)))
    groups = [[skip] if (skip := decided[c.id]) is not None else next(visited) for c in checks]
    return [g[0] for g in groups] + [r for g in groups for r in g[1:]]


def access_skip(check: Check, link: Result | None, credentials: Credentials | None) -> Result | None:
    """Why the agent of access `check` is not visited, as its skip result, or None: visit it. `link`: the final
    result of the TCP link the check needs (the same target and port key, probed from here), None if unprobed.
    Pure: the runner decides a check this way as soon as its link's result is final (a SYN probe's is)."""
    if link is None or link.state is not State.OPEN:
        why = f"TCP {check.port} to {check.target.name} is {link.state if link else 'not probed'}"
        see = link.check.id if link else check_id(Kind.TCP, check.source, check.target.name, check.port)
        return skipped(check, f"{why} (see {see})")
    if credentials is None:
        return skipped(check, NO_CREDENTIALS)
    reason = credentials.can_log_in(access_os(check))
    return skipped(check, reason) if reason else None


def _addresses_here(target: Target, names: Mapping[str, Result]) -> tuple[str, ...]:
    name = names.get(target.name.lower())
    if name is None:
        return ()
    evidence = name.evidence
    if isinstance(evidence, NameObservation) and evidence.system:
        return evidence.system
    system = evidence.get("system") if isinstance(evidence, Mapping) else None
    if isinstance(system, list | tuple) and system:
        return tuple(str(a) for a in system)
    return (name.address,) if name.address else ()


def _safe(exc: Exception, credentials: Credentials) -> str:
    """An exception's message with the password cut out, should a library ever have put it there."""
    return credentials.scrub(str(exc))[:300]


ObservationT = TypeVar("ObservationT")


def scrubbed(value: ObservationT, credentials: Credentials) -> ObservationT:
    """An observation with the password cut out of every text in it (error messages, server reasons, command
    output), however deep: an SSH server's disconnect reason or an SMB library's message is the other side's
    text, and the other side was just sent the password."""
    if isinstance(value, str):
        return credentials.scrub(value)  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(scrubbed(item, credentials) for item in value)  # type: ignore[return-value]
    if isinstance(value, list):
        return [scrubbed(item, credentials) for item in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {key: scrubbed(item, credentials) for key, item in value.items()}  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: scrubbed(getattr(value, f.name), credentials) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value
