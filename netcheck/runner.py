"""Runs planned checks: names first, then TCP links, with bounded concurrency; never raises for a check.

Any exception inside a check becomes an `error` result carrying its message, so one broken probe
cannot turn into a wrong verdict or take the whole run down.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netcheck.classify import (
    classify_discovery,
    classify_name,
    classify_service,
    classify_tcp,
    error_result,
    settle_unknown_os,
    skipped_link,
    unresolved_link,
)
from netcheck.discovery import DiscoveryFacts, non_dns_reason, observe_discovery
from netcheck.host.checks import classify_host, classify_subnet
from netcheck.host.facts import HostFacts, host_facts
from netcheck.matrix import port_key_of
from netcheck.model import Check, Kind, Method, Observation, Phase, Result, State, Verdict
from netcheck.names.dns import DnsConfig, system_dns_config
from netcheck.names.hosts import default_hosts_path
from netcheck.names.observe import HostsSource, NameObservation, load_hosts, observe_name
from netcheck.plan import is_address
from netcheck.probes import syn as syn_probe
from netcheck.probes.service import identify_service
from netcheck.probes.tcp import connect_probe

Progress = Callable[[int, int], None]
NameObserver = Callable[[str, DnsConfig, HostsSource, float], Awaitable[NameObservation]]
ConnectProbe = Callable[..., Awaitable[Observation]]
SynBatch = Callable[..., dict[tuple[str, int], Observation]]


@dataclass(frozen=True)
class RunOptions:
    phase: Phase = Phase.PRE_INSTALL
    method: Method = Method.AUTO
    timeout_s: float = 2.0
    retries: int = 1
    concurrency: int = 256
    rate_pps: int = 20000
    """SYN probes sent per second at most."""
    source_os: str | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    dns_servers: tuple[str, ...] = ()
    """Name servers to ask instead of the system's (--dns-server)."""
    hosts_path: Path | None = None
    """A hosts file to read instead of this machine's (--hosts-file)."""
    identify_services: bool = True
    """On open ports, find out what answers (SSH banner, SMB negotiate, TLS, the netcheck responder)."""
    expect_responder: bool = False
    """A `netcheck listen` runs on the targets: a reset on a product port is then suspicious."""
    token: bytes | None = None
    """The shared secret of `netcheck listen --token`, to authenticate responders."""


@dataclass(frozen=True)
class Probes:
    """The I/O edge, swappable in tests."""

    observe_name: NameObserver = observe_name
    dns_config: Callable[[], DnsConfig] = system_dns_config
    load_hosts: Callable[[Path], HostsSource] = load_hosts
    discovery: Callable[[], DiscoveryFacts] = observe_discovery
    host_facts: Callable[[Sequence[int], bool], HostFacts] = host_facts
    identify: Callable[[str, str, int, float, bytes | None], Awaitable[dict[str, Any]]] = identify_service
    connect: ConnectProbe = connect_probe
    syn_batch: SynBatch = syn_probe.syn_probe_batch
    syn_available: Callable[[], bool] = syn_probe.syn_available


def name_setup(options: RunOptions, probes: Probes) -> tuple[DnsConfig, HostsSource]:
    """The DNS configuration and hosts file every name check of the run uses (read once)."""
    config = probes.dns_config()
    if options.dns_servers:
        config = DnsConfig(options.dns_servers, config.search, config.ndots, "--dns-server")
    return config, probes.load_hosts(options.hosts_path or default_hosts_path())


def effective_method(method: Method, probes: Probes) -> Method:
    """auto → syn when raw sockets are available, connect otherwise."""
    if method is Method.AUTO:
        return Method.SYN if probes.syn_available() else Method.CONNECT
    return method


async def run_checks(
    checks: Sequence[Check],
    options: RunOptions,
    *,
    probes: Probes | None = None,
    on_progress: Progress | None = None,
) -> list[Result]:
    """Run every check and return one result each, in the order of `checks`."""
    probes = probes or Probes()
    total = len(checks)
    results: dict[str, Result] = {}
    limit = asyncio.Semaphore(max(1, options.concurrency))
    lock = threading.Lock()  # the SYN engine reports from its worker thread

    def done(result: Result) -> None:
        with lock:
            results[result.check.id] = result
            if on_progress:
                on_progress(len(results), total)

    for check in checks:
        if check.skip_reason:
            done(skipped_link(check))

    name_checks = [c for c in checks if c.kind is Kind.NAME]
    discovery_checks = [c for c in checks if c.kind is Kind.DISCOVERY]
    dns_config, hosts = await asyncio.to_thread(name_setup, options, probes) if name_checks or discovery_checks else (None, None)
    observations: list[NameObservation] = []

    async def run_name(check: Check) -> None:
        assert dns_config is not None and hosts is not None
        async with limit:
            try:
                observation = await probes.observe_name(check.target.name, dns_config, hosts, options.timeout_s)
                observations.append(observation)
                done(classify_name(check, observation))
            except Exception as exc:  # noqa: BLE001 - an unexpected failure is an error result, never a verdict
                done(error_result(check, f"{type(exc).__name__}: {exc}"))

    await asyncio.gather(*(run_name(c) for c in name_checks))
    resolved = {c.target.name.lower(): results[c.id] for c in name_checks}
    host = [c for c in checks if c.kind is Kind.HOST]
    if host:
        try:
            ports = [c.port for c in host if c.port]
            snapshot = await asyncio.to_thread(probes.host_facts, ports, probes.syn_available())
        except Exception as exc:  # noqa: BLE001
            for check in host:
                done(error_result(check, f"{type(exc).__name__}: {exc}"))
        else:
            for check in host:
                try:
                    done(judge_host(check, snapshot, resolved, options.phase))
                except Exception as exc:  # noqa: BLE001
                    done(error_result(check, f"{type(exc).__name__}: {exc}"))
    if discovery_checks and dns_config is not None:
        non_dns = non_dns_reason(dns_config.nameservers, observations)
        try:
            facts = await asyncio.to_thread(probes.discovery)
            for check in discovery_checks:
                done(classify_discovery(check, facts, non_dns))
        except Exception as exc:  # noqa: BLE001
            for check in discovery_checks:
                done(error_result(check, f"{type(exc).__name__}: {exc}"))

    to_probe: list[tuple[Check, str]] = []
    for check in checks:
        if check.kind is not Kind.TCP or check.skip_reason:
            continue
        if is_address(check.target.name):
            to_probe.append((check, check.target.name))
            continue
        name_result = resolved.get(check.target.name.lower())
        if name_result is None or name_result.state is not State.RESOLVED or not name_result.address:
            done(unresolved_link(check, f"name:{check.target.name}"))
        else:
            to_probe.append((check, name_result.address))

    def judge(check: Check, observation: Observation) -> Result:
        return classify_tcp(
            check,
            observation,
            phase=options.phase,
            source_os=options.source_os,
            ports=options.ports,
            expect_responder=options.expect_responder,
        )

    method = effective_method(options.method, probes)
    syn_jobs = [(c, a) for c, a in to_probe if method is Method.SYN and ":" not in a]
    connect_jobs = [(c, a) for c, a in to_probe if not (method is Method.SYN and ":" not in a)]

    async def run_connect(check: Check, address: str) -> None:
        async with limit:
            try:
                observation = await probes.connect(address, check.port, timeout_s=options.timeout_s, retries=options.retries)
                done(judge(check, observation))
            except Exception as exc:  # noqa: BLE001
                done(error_result(check, f"{type(exc).__name__}: {exc}"))

    async def run_syn() -> None:
        if not syn_jobs:
            return
        by_key: dict[tuple[str, int], list[Check]] = {}
        for check, address in syn_jobs:
            by_key.setdefault((address, check.port or 0), []).append(check)

        def seen(key: tuple[str, int], observation: Observation) -> None:
            for check in by_key[key]:
                done(judge(check, observation))

        try:
            await asyncio.to_thread(
                probes.syn_batch,
                list(by_key),
                timeout_s=options.timeout_s,
                retries=options.retries,
                on_observation=seen,
                rate_pps=options.rate_pps,
            )
        except Exception as exc:  # noqa: BLE001
            for check, _address in syn_jobs:
                if check.id not in results:
                    done(error_result(check, f"SYN probe failed: {type(exc).__name__}: {exc}"))
        for check, _address in syn_jobs:
            if check.id not in results:
                done(error_result(check, "SYN probe returned no observation"))

    await asyncio.gather(run_syn(), *(run_connect(c, a) for c, a in connect_jobs))
    settled = settle_unknown_os([results[c.id] for c in checks], options.ports)
    if not options.identify_services:
        return settled
    return await identify_services(settled, options, probes, limit)


def judge_host(check: Check, snapshot: HostFacts, resolved: Mapping[str, Result], phase: Phase) -> Result:
    if check.id != "host:subnet":
        return classify_host(check, snapshot, phase=phase)
    name = resolved.get(check.target.name.lower())
    address = check.target.name if is_address(check.target.name) else (name.address if name else None)
    return classify_subnet(check, snapshot, address, bool(name and name.evidence.get("hosts")))


_IDENTIFIED = {"ssh", "smb", "install", "product"}


async def identify_services(results: list[Result], options: RunOptions, probes: Probes, limit: asyncio.Semaphore) -> list[Result]:
    """For each open link, a `service` result right after it, and what answered in the link's evidence."""
    now = datetime.now(UTC)

    async def identify(link: Result) -> tuple[Result, Result | None]:
        key = port_key_of(link.check.port, options.ports)
        if link.state is not State.OPEN or link.verdict is Verdict.SKIP or key not in _IDENTIFIED or not link.address:
            return link, None
        async with limit:
            try:
                evidence = await probes.identify(key or "", link.address, link.check.port or 0, options.timeout_s, options.token)
            except Exception as exc:  # noqa: BLE001 - an identification failure is an error result, never a verdict
                evidence = {"protocol": "error", "error": f"{type(exc).__name__}: {exc}"}
        if key == "install" and evidence.get("protocol") == "unknown" and not options.expect_responder:
            return link, None  # nothing is expected to answer on 25001 before installation: nothing to say
        check = replace(link.check, id=link.check.id.replace("tcp:", "service:", 1), kind=Kind.SERVICE)
        service = classify_service(check, evidence, expect_responder=options.expect_responder, now=now)
        service = replace(service, address=link.address)
        field_name = "responder" if evidence.get("protocol") == "netcheck-responder" else "service"
        detail = link.detail
        if field_name == "responder":
            detail = f"{detail}; netcheck responder answered (verified end to end)"
        return replace(link, evidence={**link.evidence, field_name: evidence}, detail=detail), service

    pairs = await asyncio.gather(*(identify(r) for r in results))
    return [r for link, service in pairs for r in (link, service) if r is not None]
