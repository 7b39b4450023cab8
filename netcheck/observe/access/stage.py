"""The access stage of a run: after the TCP links, log in to each agent whose install link is open.

Linux agents are visited through SSH (and, from there, the agent's own links to the servers); Windows agents
through SMB. Each visit is bounded in time as a whole; one agent's failure is that agent's visit only. The
stage returns what it saw; the runner has it classified (netcheck.classify.access).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from netcheck.model.checks import Check, Result, Target
from netcheck.model.kinds import AgentOS, Phase
from netcheck.model.observations import SmbObservation, SmbSession, SshObservation
from netcheck.model.record import record
from netcheck.observe.access.credentials import Credentials
from netcheck.observe.access.ssh import AgentSideTarget
from netcheck.observe.access.vantage import observe_smb_sessions
from netcheck.observe.names.threads import in_daemon_thread
from netcheck.parse.smb_sessions import sessions_to

VISIT_BUDGET_S = 120.0
"""One agent's whole visit (host key, login, every command) at most."""

SshObserver = Callable[..., Awaitable[SshObservation]]
SmbObserver = Callable[..., Any]


@record
class AccessSetup:
    credentials: Credentials
    servers: Sequence[tuple[Target, int]]
    """The management server and license server the agents must reach, each with its product port."""
    phase: Phase
    timeout_s: float
    concurrency: int = 32
    """Agents visited at once at most (each visit is an SSH session or an SMB connection with a thread)."""


@record
class Visit:
    """What one visit to an agent saw: its observation, or why there is none (the budget ran out, or the visit
    failed with `error`, the password cut out)."""

    check: Check
    address: str
    seen: SshObservation | SmbObservation | None = None
    timed_out: bool = False
    error: str = ""


async def visit_agents(
    visits: Sequence[tuple[Check, AgentOS, Result]],
    setup: AccessSetup,
    *,
    observe_ssh: SshObserver,
    observe_smb: SmbObserver,
    observe_sessions: Callable[[], tuple[SmbSession, ...] | None] = observe_smb_sessions,
) -> list[Visit]:
    """Visit each agent (its access check, its OS, and the open TCP link the installer uses), at most
    `setup.concurrency` at a time: Linux agents through SSH (and from there the agent's own links to the
    servers), Windows agents through SMB. One Visit each, in order; never raises for one agent."""
    credentials = setup.credentials
    servers = [AgentSideTarget(target.name, port) for target, port in setup.servers]
    limit = asyncio.Semaphore(max(1, setup.concurrency))
    # SMB visits block (impacket): each runs in a daemon thread of its own, never in the loop's default pool, so a
    # hung call neither keeps the interpreter from exiting nor starves other users of that pool. A thread gives its
    # slot back when the call returns, whenever that is: lingering calls cap the SMB visits that can start.
    smb_threads = threading.BoundedSemaphore(max(1, setup.concurrency))
    # This machine's own SMB connections, once a run (a Windows vantage only; None elsewhere): the installer's
    # connection to an agent cannot duplicate one made under another account (1219).
    windows = any(agent_os is AgentOS.WINDOWS for _check, agent_os, _link in visits)
    sessions = await asyncio.to_thread(observe_sessions) if windows else None

    async def visit(check: Check, agent_os: AgentOS, link: Result) -> Visit:
        account = credentials.account_for(agent_os)
        assert account is not None  # the runner visits only agents it can log in to
        address = link.address or check.target.name
        port = link.check.port
        assert port is not None  # every TCP link of the plan has its port (the plan's [ports] included)
        try:
            async with limit:
                if agent_os is AgentOS.LINUX:
                    seen: SshObservation | SmbObservation = await asyncio.wait_for(
                        observe_ssh(
                            check.target.name,
                            address,
                            port,
                            account=account,
                            credentials=credentials,
                            targets=servers,
                            timeout_s=setup.timeout_s,
                        ),
                        VISIT_BUDGET_S,
                    )
                else:
                    smb_seen: SmbObservation = await asyncio.wait_for(
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
                    if sessions is not None:
                        mine = sessions_to(sessions, (check.target.name, address))
                        smb_seen = dataclasses.replace(smb_seen, vantage_sessions=mine)
                    seen = smb_seen
        except TimeoutError:
            return Visit(check, address, timed_out=True)
        except Exception as exc:  # noqa: BLE001 - one agent's failure is that agent's error result, never the run's
            return Visit(check, address, error=f"{type(exc).__name__}: {_safe(exc, credentials)}")
        return Visit(check, address, scrubbed(seen, credentials))

    return list(await asyncio.gather(*(visit(*one) for one in visits)))


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
