"""Runs planned checks: names first, then TCP links, with bounded concurrency; never raises for a check.

Any exception inside a check becomes an `error` result carrying its message, so one broken probe
cannot turn into a wrong verdict or take the whole run down.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from netcheck import __version__

if TYPE_CHECKING:  # the access stage (and its optional libraries) is imported only when a run logs in to agents
    from netcheck.observe.access.credentials import Credentials
    from netcheck.observe.access.stage import SmbObserver, SshObserver
from netcheck.classify import (
    classify_discovery,
    classify_name,
    classify_tcp,
    error_result,
    judge_host,
    judge_identified,
    misdirected,
    settle_unknown_os,
    skipped_link,
    unresolved_link,
    wants_identification,
)
from netcheck.classify.access import access_os, access_skip, classify_access, servers_for, timed_out
from netcheck.errors import InputError
from netcheck.model.address import ip_version, is_address
from netcheck.model.checks import Check, Report, Result, Target, Vantage, check_id, link_key
from netcheck.model.kinds import AgentOS, Kind, Method, Phase, Product, Role, State
from netcheck.model.matrix import PortKey
from netcheck.model.observations import DiscoveryFacts, HostFacts, Observation, Reply, ServiceAnswer, ServiceFailure, TcpReply
from netcheck.model.record import record
from netcheck.observe.discovery import observe_discovery
from netcheck.observe.host import host_facts, os_description, vantage
from netcheck.observe.names.dns import DnsConfig, system_dns_config
from netcheck.observe.names.hosts import default_hosts_path
from netcheck.observe.names.observe import HostsSource, NameObservation, load_hosts, observe_name
from netcheck.observe.probes import syn as syn_probe
from netcheck.observe.probes.service import identify_service
from netcheck.observe.probes.tcp import connect_probe
from netcheck.observe.probes.timing import Congestion, Timing, policy_for
from netcheck.parse.discovery import non_dns_reason
from netcheck.parse.windows import SYN_ON_WINDOWS

Progress = Callable[[int, int], None]
NameObserver = Callable[[str, DnsConfig, HostsSource, float], Awaitable[NameObservation]]
ConnectProbe = Callable[..., Awaitable[Observation]]
SynBatch = Callable[..., dict[tuple[str, int], Observation]]


@record
class RunOptions:
    phase: Phase = Phase.PRE_INSTALL
    method: Method = Method.AUTO
    timeout_s: float = 2.0
    """The longest wait for an answer: probes wait their network's RTT-adapted timeout, at most this."""
    retries: int = 1
    concurrency: int = 256
    rate_pps: int = 100000
    """SYN probes sent per second at most (a ceiling: the congestion window decides below it)."""
    source_os: str | None = None
    """This machine's OS, for the source-port ranges in remediations (platform.system() + release)."""
    dns_servers: tuple[str, ...] = ()
    """Name servers to ask instead of the system's (--dns-server)."""
    hosts_path: Path | None = None
    """A hosts file to read instead of this machine's (--hosts-file)."""
    identify_services: bool = True
    """On open ports, find out what answers (SSH banner, SMB negotiate, TLS, the netcheck responder)."""
    expect_responder: bool = False
    """A `netcheck listen` runs on the targets: a reset on a product port is then suspicious."""
    token: bytes | None = field(default=None, repr=False)
    """The shared secret of `netcheck listen --token`, to authenticate responders."""
    credentials: Credentials | None = None
    """Who logs in to the agents for the access checks (None: they are skipped)."""
    servers: tuple[tuple[Target, int], ...] = ()
    """The management server and license server with their product port: agents visited through SSH must reach them."""
    product: Product = Product.BACKUP_ADVANCED_11
    """Whose connection sheet the checks follow: the report names it."""


@record
class Probes:
    """The I/O edge, swappable in tests."""

    observe_name: NameObserver = observe_name
    dns_config: Callable[[], DnsConfig] = system_dns_config
    load_hosts: Callable[[Path], HostsSource] = load_hosts
    discovery: Callable[[], DiscoveryFacts] = observe_discovery
    host_facts: Callable[[Sequence[int], bool], HostFacts] = host_facts
    identify: Callable[[PortKey, str, int, float, bytes | None], Awaitable[ServiceAnswer]] = identify_service
    connect: ConnectProbe = connect_probe
    syn_batch: SynBatch = syn_probe.syn_probe_batch
    syn_available: Callable[[], bool] = syn_probe.syn_available
    vantage: Callable[[Role], Vantage] = vantage
    ssh: SshObserver | None = None
    """None: the real SSH visit (netcheck.observe.access.ssh)."""
    smb: SmbObserver | None = None
    """None: the real SMB visit (netcheck.observe.access.smb)."""


def name_setup(options: RunOptions, probes: Probes) -> tuple[DnsConfig, HostsSource]:
    """The DNS configuration and hosts file every name check of the run uses (read once)."""
    config = probes.dns_config()
    if options.dns_servers:
        config = DnsConfig(options.dns_servers, config.search, config.ndots, "--dns-server")
    return config, probes.load_hosts(options.hosts_path or default_hosts_path())


def resolve_method(method: Method, probes: Probes) -> Method:
    """auto → syn when raw sockets are available, connect otherwise; syn without raw sockets is bad input."""
    if method is Method.AUTO:
        return Method.SYN if probes.syn_available() else Method.CONNECT
    if method is Method.SYN and not probes.syn_available():
        if sys.platform.startswith("win"):
            raise InputError(SYN_ON_WINDOWS)
        raise InputError("--method syn needs raw sockets: run as root (or with CAP_NET_RAW), or use --method connect")
    return method


def allow_open_files(wanted: int) -> None:
    """Raise this process's open-file limit so `wanted` sockets fit (the soft limit is often 1024)."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    except (ImportError, ValueError, OSError):
        pass  # the runner's bound still holds; connects beyond the limit become error results


def run(
    checks: Sequence[Check],
    role: Role,
    options: RunOptions,
    *,
    probes: Probes | None = None,
    on_progress: Progress | None = None,
) -> Report:
    """Run the checks from this machine (in `role`) into one Report; the method is resolved here, once.

    Raises InputError when the options ask for what this machine cannot do (--method syn without privileges).
    """
    probes = probes or Probes()
    options = replace(options, method=resolve_method(options.method, probes), source_os=options.source_os or os_description())
    if options.method is Method.CONNECT:
        allow_open_files(options.concurrency + 256)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    results = asyncio.run(run_checks(checks, options, probes=probes, on_progress=on_progress))
    return Report(
        tool_version=__version__,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 3),
        vantage=probes.vantage(role),
        phase=options.phase,
        method=str(options.method),
        results=tuple(results),
        product=options.product,
    )


async def run_checks(
    checks: Sequence[Check],
    options: RunOptions,
    *,
    probes: Probes | None = None,
    on_progress: Progress | None = None,
) -> list[Result]:
    """Run every check and return one result each, in the order of `checks` (services follow their link).

    Stages: names first (links need their addresses), then, at the same time, this machine and the non-DNS
    needs (judged on what the names showed) and every TCP link; then the access checks (which need the links);
    then agents given without an OS are settled by what answers on their links; services are identified on the
    open ones last.
    """
    run = _Run(checks, options, probes or Probes(), on_progress)
    by_kind: dict[Kind, list[Check]] = {kind: [] for kind in Kind}  # one pass over 50,000 checks, not one a kind
    for check in checks:
        if check.skip_reason:
            run.done(skipped_link(check))
        else:
            by_kind[check.kind].append(check)
    resolved, observations = await run.names(by_kind[Kind.NAME])
    # This machine's facts (firewall commands, sockets) are mostly waiting on other programs: gathered while
    # the links are probed, not before.
    await asyncio.gather(
        run.host(by_kind[Kind.HOST], resolved),
        run.discovery(by_kind[Kind.DISCOVERY], observations),
        run.links(by_kind[Kind.TCP], resolved),
    )
    extra = await run.access(by_kind[Kind.ACCESS], resolved)
    settled = settle_unknown_os([run.results[c.id] for c in checks] + extra)
    if not options.identify_services:
        return settled
    return await identify_services(settled, options, run.probes, run.limit)


class _Run:
    """The state of one run: the results so far, the concurrency bound, and progress reporting."""

    def __init__(
        self,
        checks: Sequence[Check],
        options: RunOptions,
        probes: Probes,
        on_progress: Progress | None,
    ) -> None:
        self.total = len(checks)
        self.options, self.probes, self.on_progress = options, probes, on_progress
        self.results: dict[str, Result] = {}
        self.limit = asyncio.Semaphore(max(1, options.concurrency))
        self.lock = threading.Lock()  # the SYN engine reports from its worker thread
        self.dns_config: DnsConfig | None = None
        self.timing = Timing(policy_for(options.timeout_s, options.retries))
        self.window = _Window(options.concurrency)

    def done(self, result: Result) -> None:
        with self.lock:
            self.results[result.check.id] = result
            if self.on_progress:
                self.on_progress(len(self.results), self.total)

    def fail(self, checks: Iterable[Check], exc: Exception, prefix: str = "") -> None:
        """An unexpected failure is an error result for each check it hit, never a verdict."""
        for check in checks:
            if check.id not in self.results:
                self.done(error_result(check, f"{prefix}{type(exc).__name__}: {exc}"))

    async def names(self, checks: list[Check]) -> tuple[dict[str, Result], list[NameObservation]]:
        observations: list[NameObservation] = []
        if not checks:
            return {}, observations
        config, hosts = await asyncio.to_thread(name_setup, self.options, self.probes)
        self.dns_config = config

        async def one(check: Check) -> None:
            async with self.limit:
                try:
                    observation = await self.probes.observe_name(check.target.name, config, hosts, self.options.timeout_s)
                    observations.append(observation)
                    self.done(classify_name(check, observation))
                except Exception as exc:  # noqa: BLE001
                    self.fail([check], exc)

        await asyncio.gather(*(one(c) for c in checks))
        return {c.target.name.lower(): self.results[c.id] for c in checks}, observations

    async def host(self, checks: list[Check], resolved: Mapping[str, Result]) -> None:
        if not checks:
            return
        try:
            ports = [c.port for c in checks if c.port]
            snapshot = await asyncio.to_thread(self.probes.host_facts, ports, self.probes.syn_available())
        except Exception as exc:  # noqa: BLE001
            self.fail(checks, exc)
            return
        for check in checks:
            try:
                self.done(judge_host(check, snapshot, resolved, self.options.phase))
            except Exception as exc:  # noqa: BLE001
                self.fail([check], exc)

    async def discovery(self, checks: list[Check], observations: list[NameObservation]) -> None:
        if not checks:
            return
        try:
            config = self.dns_config or (await asyncio.to_thread(name_setup, self.options, self.probes))[0]
            non_dns = non_dns_reason(config.nameservers, observations)
            facts = await asyncio.to_thread(self.probes.discovery)
            for check in checks:
                self.done(classify_discovery(check, facts, non_dns, names_given=bool(observations)))
        except Exception as exc:  # noqa: BLE001
            self.fail(checks, exc)

    async def access(self, checks: list[Check], resolved: Mapping[str, Result]) -> list[Result]:
        """Log in to each agent whose install link is open (the others are skipped, with why); returns the
        agent-side results (links whose source is an agent, seen through SSH)."""
        if not checks:
            return []
        from netcheck.observe.access.credentials import NO_CREDENTIALS  # noqa: PLC0415 - only runs with access checks
        from netcheck.observe.access.smb import observe_smb  # noqa: PLC0415
        from netcheck.observe.access.ssh import observe_ssh  # noqa: PLC0415
        from netcheck.observe.access.stage import VISIT_BUDGET_S, AccessSetup, visit_agents  # noqa: PLC0415

        o = self.options
        links = {link_key(r.check): r for r in self.results.values() if r.check.kind is Kind.TCP and r.check.port_key}
        visits: list[tuple[Check, AgentOS, Result]] = []
        for check in checks:
            link = links.get(link_key(check))
            agent_os = access_os(check)
            cannot = NO_CREDENTIALS if o.credentials is None else o.credentials.can_log_in(agent_os)
            skip = access_skip(check, link, cannot)
            if skip is not None:
                self.done(skip)
            elif link is not None:
                visits.append((check, agent_os, link))
        if not visits or o.credentials is None:
            return []
        servers = servers_for(o.servers, resolved)
        setup = AccessSetup(o.credentials, [(s.target, s.port) for s in servers], o.phase, o.timeout_s)
        try:
            ssh, smb = self.probes.ssh or observe_ssh, self.probes.smb or observe_smb
            seen = await visit_agents(visits, setup, observe_ssh=ssh, observe_smb=smb)
        except Exception as exc:  # noqa: BLE001
            self.fail([check for check, _os, _link in visits], exc)
            return []
        extra: list[Result] = []
        for visit in seen:
            if visit.seen is not None:
                results = classify_access(visit.check, visit.seen, servers, o.phase)
            elif visit.timed_out:
                results = [timed_out(visit.check, visit.address, VISIT_BUDGET_S)]
            else:
                results = [error_result(visit.check, visit.error)]
            self.done(results[0])
            extra += results[1:]
        self.total += len(extra)
        for result in extra:
            self.done(result)
        return extra

    def judge(self, check: Check, observation: Observation) -> Result:
        o = self.options
        return classify_tcp(check, observation, phase=o.phase, source_os=o.source_os, expect_responder=o.expect_responder)

    async def links(self, checks: list[Check], resolved: Mapping[str, Result]) -> None:
        """Probe every link at its address: by SYN (IPv4, when the method is syn) or by connect."""
        to_probe: list[tuple[Check, str]] = []
        for check in checks:
            if is_address(check.target.name):
                address = check.target.name
            else:
                name = resolved.get(check.target.name.lower())
                if name is None or name.state is not State.RESOLVED or not name.address:
                    self.done(unresolved_link(check, check_id(Kind.NAME, check.source, check.target.name)))
                    continue
                address = name.address
            wrong = misdirected(check, address)
            if wrong is not None:
                self.done(wrong)
            else:
                to_probe.append((check, address))
        syn = self.options.method is Method.SYN  # the SYN engine speaks IPv4 only
        syn_jobs: list[tuple[Check, str]] = []
        connect_jobs: list[tuple[Check, str]] = []
        for job in to_probe:
            (syn_jobs if syn and ip_version(job[1]) == 4 else connect_jobs).append(job)
        await asyncio.gather(self.syn(syn_jobs), self.connect_all(connect_jobs))

    async def connect_all(self, jobs: list[tuple[Check, str]]) -> None:
        """A pool of --concurrency workers takes the jobs in order (30,000 tasks would cost more than the
        probes); the window decides how many of them probe at a time."""
        await self.connect_pool(jobs)
        # A network may have shown its losses only after some of its silent probes had used the retries
        # allowed then: those get their network's retries now.
        await self.connect_pool([(c, a) for c, a in jobs if self.retry_later(c, a)])

    async def connect_pool(self, jobs: list[tuple[Check, str]]) -> None:
        pending = iter(jobs)

        async def worker() -> None:
            for check, address in pending:  # one iterator shared by every worker: each job is taken once
                await self.connect(check, address)

        await asyncio.gather(*(worker() for _ in range(min(len(jobs), self.window.high))))

    def retry_later(self, check: Check, address: str) -> bool:
        """A silent connect probe that used fewer attempts than its network now deserves."""
        result = self.results.get(check.id)
        reply = result.evidence if result is not None else None
        if not isinstance(reply, TcpReply) or reply.method != "connect" or reply.reply is not Reply.NONE:
            return False
        return reply.attempts <= self.timing.retries(address)

    async def connect(self, check: Check, address: str) -> None:
        """One connect probe, within the congestion window (at most --concurrency), with the run's timing."""
        started = await self.window.acquire()
        observation = None
        try:
            o = self.options
            observation = await self.probes.connect(
                address, check.port, timeout_s=o.timeout_s, retries=o.retries, timing=self.timing
            )
            self.done(self.judge(check, observation))
        except Exception as exc:  # noqa: BLE001
            self.fail([check], exc)
        finally:
            self.window.release(started, observation)

    async def syn(self, jobs: list[tuple[Check, str]]) -> None:
        if not jobs:
            return
        by_key: dict[tuple[str, int], list[Check]] = {}
        for check, address in jobs:
            by_key.setdefault((address, check.port or 0), []).append(check)

        def seen(key: tuple[str, int], observation: Observation) -> None:
            for check in by_key[key]:
                self.done(self.judge(check, observation))

        o = self.options
        try:
            await asyncio.to_thread(
                self.probes.syn_batch,
                list(by_key),
                timeout_s=o.timeout_s,
                retries=o.retries,
                on_observation=seen,
                rate_pps=o.rate_pps,
            )
        except Exception as exc:  # noqa: BLE001
            self.fail([c for c, _a in jobs], exc, "SYN probe failed: ")
        for check, _address in jobs:
            if check.id not in self.results:
                self.done(error_result(check, "SYN probe returned no observation"))


class _Window:
    """The connect probes' congestion window: at most `Congestion.limit` in flight (never above --concurrency),
    cut when answers come only to retries (a loss), grown by answers and by silence. A plain counter and a
    queue of futures: one event loop, no lock needed, O(1) per probe."""

    def __init__(self, concurrency: int) -> None:
        self.high = max(1, concurrency)
        # Half of --concurrency at least: most in-flight connect probes are silent ones waiting out their
        # timeout, so a window cut to a few dozen starves the run, and a retry answered on a busy machine is
        # as often the event loop's delay as a lost packet.
        low = max(1, self.high // 2)
        self.congestion = Congestion(low=low, high=self.high, window=low)
        self.in_flight = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> float:
        """Wait for room in the window; returns when the probe started (for the drop rule)."""
        if self.waiting or self.in_flight >= self.congestion.limit:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.waiting.append(future)
            await future  # release() counted this probe in
        else:
            self.in_flight += 1
        return time.monotonic()

    def release(self, started: float, observation: Observation | None) -> None:
        self.in_flight -= 1
        if observation is not None:
            attempts = observation.reply.attempts
            if observation.state not in (State.OPEN, State.CLOSED):
                self.congestion.on_silence()
            elif attempts > 1:
                self.congestion.on_drop(started, time.monotonic())
            else:
                self.congestion.on_answer()
        while self.waiting and self.in_flight < self.congestion.limit:
            future = self.waiting.popleft()
            if not future.done():  # a cancelled waiter gave up its turn
                future.set_result(None)
                self.in_flight += 1


async def identify_services(results: list[Result], options: RunOptions, probes: Probes, limit: asyncio.Semaphore) -> list[Result]:
    """For each open link, a `service` result right after it, and what answered in the link's evidence."""
    now = datetime.now(UTC)

    async def identify(link: Result) -> tuple[Result, Result | None]:
        if not wants_identification(link) or link.check.port_key is None or link.address is None:
            return link, None
        async with limit:
            try:
                answer = await probes.identify(
                    link.check.port_key, link.address, link.check.port or 0, options.timeout_s, options.token
                )
            except Exception as exc:  # noqa: BLE001 - an identification failure is an error result, never a verdict
                answer = ServiceFailure(f"{type(exc).__name__}: {exc}")
        return judge_identified(link, answer, expect_responder=options.expect_responder, now=now)

    pairs = await asyncio.gather(*(identify(r) for r in results))
    return [r for link, service in pairs for r in (link, service) if r is not None]
