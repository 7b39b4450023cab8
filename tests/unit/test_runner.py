"""The runner with fake probes: ordering, unresolved names, errors as results, the concurrency bound."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from netcheck.model.checks import Target, Topology
from netcheck.model.kinds import AgentOS, Kind, Method, Role, State, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import DiscoveryFacts, HostFacts, Observation, Reply, ServiceAnswer, SshBanner, TcpReply
from netcheck.observe.names.dns import DnsAnswer, DnsConfig
from netcheck.observe.names.observe import HostsSource, NameObservation
from netcheck.observe.probes.tcp import connect_probe
from netcheck.observe.probes.timing import Timing
from netcheck.observe.runner import Probes, RunOptions, run_checks
from netcheck.plan.planner import plan_checks

CONFIG = DnsConfig(("198.18.0.53",))
HOSTS = HostsSource("/etc/hosts")


async def observe(name: str, config: DnsConfig, hosts: HostsSource, timeout_s: float) -> NameObservation:
    if name == "ms.example":
        answer = DnsAnswer("198.18.0.53", name, "NOERROR", ("198.18.0.20",), 300)
        return NameObservation(name, config, (answer,), hosts.path, system=("198.18.0.20",))
    return NameObservation(name, config, (DnsAnswer("198.18.0.53", name, "NXDOMAIN"),), hosts.path, system_error="not known")


async def identify(key: PortKey, address: str, port: int, timeout_s: float, token: bytes | None) -> ServiceAnswer:
    return SshBanner("2.0", "OpenSSH_9.2p1", "")


def fake_probes(connect: Any = None, **more: Any) -> Probes:
    return Probes(
        observe_name=observe,
        dns_config=lambda: CONFIG,
        load_hosts=lambda path: HostsSource(str(path)),
        discovery=lambda: DiscoveryFacts("linux"),
        identify=identify,
        host_facts=lambda ports, privileged: HostFacts("linux", "Linux 6", privileged, (), {}, "32768 60999"),
        connect=connect or connect_probe,
        syn_available=lambda: False,
        **more,
    )


def test_names_first_unresolved_links_skipped_errors_reported() -> None:
    async def connect(address: str, port: int, **_: Any) -> Observation:
        if port == 25001:
            raise RuntimeError("socket exploded")
        return Observation(State.CLOSED, address, TcpReply("connect", Reply.ERROR, error="ECONNREFUSED"))

    topology = Topology(
        management_server=Target("ms.example", Role.MANAGEMENT_SERVER),
        license_server=Target("nowhere.example", Role.LICENSE_SERVER),
    )
    checks = plan_checks(topology, Role.AGENT)
    results = asyncio.run(run_checks(checks, RunOptions(method=Method.CONNECT), probes=fake_probes(connect)))
    by_id = {r.check.id: r for r in results}
    assert [r.check.id for r in results] == [c.id for c in checks]
    assert by_id["tcp:agent->ms.example:9876"].address == "198.18.0.20"
    assert by_id["tcp:agent->ms.example:9876"].verdict is Verdict.PASS
    assert by_id["name:nowhere.example"].verdict is Verdict.FAIL
    assert by_id["tcp:agent->nowhere.example:9876"].state is State.UNRESOLVED
    assert by_id["tcp:agent->nowhere.example:9876"].verdict is Verdict.SKIP

    windows = plan_checks(Topology(agents=(Target("198.18.0.31", Role.AGENT, AgentOS.WINDOWS),)), Role.CONSOLE)
    results = asyncio.run(run_checks(windows, RunOptions(method=Method.CONNECT), probes=fake_probes(connect)))
    broken = results[1]
    assert broken.check.port == 25001
    assert (broken.state, broken.verdict) == (State.ERROR, Verdict.ERROR)
    assert "RuntimeError: socket exploded" in broken.detail


def test_connect_probes_never_exceed_the_concurrency() -> None:
    in_flight = peak = 0

    async def connect(address: str, port: int, **_: Any) -> Observation:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return Observation(State.OPEN, address, TcpReply("connect", Reply.CONNECTED))

    agents = tuple(Target(f"198.18.1.{i}", Role.AGENT, AgentOS.LINUX) for i in range(1, 101))
    checks = plan_checks(Topology(agents=agents), Role.CONSOLE)
    progress: list[int] = []
    results = asyncio.run(
        run_checks(
            checks,
            RunOptions(method=Method.CONNECT, concurrency=7),
            probes=fake_probes(connect),
            on_progress=lambda d, t: progress.append(d),
        )
    )
    tcp = [r for r in results if r.check.kind is Kind.TCP]
    assert len(tcp) == 200 and all(r.verdict is Verdict.PASS for r in tcp)  # 22 and 9876 (managing agents) each
    assert peak == 7
    assert progress == list(range(1, len(checks) + 1))  # one tick per planned check


def test_syn_engine_failure_becomes_error_results() -> None:
    def syn_batch(*_: Any, **__: Any) -> dict[tuple[str, int], Observation]:
        raise PermissionError("raw sockets gone")

    checks = plan_checks(Topology(agents=(Target("198.18.0.41", Role.AGENT, AgentOS.LINUX),)), Role.CONSOLE)
    probes = replace(fake_probes(), syn_batch=syn_batch, syn_available=lambda: True)
    results = asyncio.run(run_checks(checks, RunOptions(method=Method.SYN), probes=probes))
    assert [(r.state, r.verdict) for r in results if r.check.kind is Kind.TCP] == [(State.ERROR, Verdict.ERROR)] * 2  # 22, 9876
    assert "raw sockets gone" in results[0].detail


def test_discovery_is_judged_against_the_names_seen() -> None:
    async def connect(address: str, port: int, **_: Any) -> Observation:
        return Observation(State.OPEN, address, TcpReply("connect", Reply.CONNECTED))

    agents = (Target("ms.example", Role.AGENT, AgentOS.WINDOWS), Target("gone.example", Role.AGENT, AgentOS.WINDOWS))
    checks = plan_checks(Topology(agents=agents), Role.CONSOLE)
    results = {
        r.check.id: r for r in asyncio.run(run_checks(checks, RunOptions(method=Method.CONNECT), probes=fake_probes(connect)))
    }
    discovery = results["discovery:network-discovery"]
    assert discovery.verdict is Verdict.SKIP and "names resolve through DNS" in discovery.detail

    no_dns = replace(fake_probes(connect), dns_config=lambda: DnsConfig(()))
    results = {r.check.id: r for r in asyncio.run(run_checks(checks, RunOptions(method=Method.CONNECT), probes=no_dns))}
    discovery = results["discovery:file-and-printer-sharing"]
    assert discovery.verdict is Verdict.SKIP and "non-DNS environment (no name server is configured)" in discovery.detail
    assert "Windows feature" in discovery.detail


async def no_connect(address: str, port: int, **_: Any) -> Observation:
    return Observation(State.FILTERED, address, TcpReply("connect", Reply.NONE))


def test_dns_server_option_replaces_the_system_servers() -> None:
    seen: list[DnsConfig] = []

    async def spy(name: str, config: DnsConfig, hosts: HostsSource, timeout_s: float) -> NameObservation:
        seen.append(config)
        return await observe(name, config, hosts, timeout_s)

    checks = plan_checks(Topology(management_server=Target("ms.example", Role.MANAGEMENT_SERVER)), Role.AGENT)
    asyncio.run(
        run_checks(
            checks,
            RunOptions(method=Method.CONNECT, dns_servers=("198.18.0.54",)),
            probes=replace(fake_probes(no_connect), observe_name=spy),  # probes nothing beyond this machine
        )
    )
    assert seen == [DnsConfig(("198.18.0.54",), (), 1, "--dns-server")]


def test_a_remote_role_at_this_machines_own_address_fails_unprobed() -> None:
    """A name that resolves to loopback (a Debian '127.0.1.1 name' line) or 0.0.0.0 would test this machine."""
    probed: list[str] = []

    async def local(name: str, config: DnsConfig, hosts: HostsSource, timeout_s: float) -> NameObservation:
        return NameObservation(name, config, (), hosts.path, system=("127.0.1.1",))

    async def connect(address: str, port: int, **_: Any) -> Observation:
        probed.append(address)
        return Observation(State.CLOSED, address, TcpReply("connect", Reply.ERROR, error="ECONNREFUSED"))

    checks = plan_checks(Topology(management_server=Target("ms.example", Role.MANAGEMENT_SERVER)), Role.AGENT)
    probes = replace(fake_probes(connect), observe_name=local)
    link = next(
        r for r in asyncio.run(run_checks(checks, RunOptions(method=Method.CONNECT), probes=probes)) if r.check.kind is Kind.TCP
    )
    assert (link.state, link.verdict) == (State.NOT_PROBED, Verdict.FAIL)
    assert "resolves to 127.0.1.1, this machine itself" in link.detail and "127.0.1.1 ms.example" in link.remediation

    nowhere = plan_checks(Topology(agents=(Target("0.0.0.0", Role.AGENT, AgentOS.LINUX),)), Role.CONSOLE)
    link = next(
        r for r in asyncio.run(run_checks(nowhere, RunOptions(method=Method.CONNECT), probes=probes)) if r.check.kind is Kind.TCP
    )
    assert link.verdict is Verdict.FAIL and "no machine's address" in link.detail
    assert probed == []  # neither was probed

    literal = plan_checks(Topology(agents=(Target("127.0.0.1", Role.AGENT, AgentOS.LINUX),)), Role.CONSOLE)
    link = next(
        r for r in asyncio.run(run_checks(literal, RunOptions(method=Method.CONNECT), probes=probes)) if r.check.kind is Kind.TCP
    )
    assert link.verdict is Verdict.FAIL and link.state is State.CLOSED and set(probed) == {"127.0.0.1"}  # typed: probed


def test_connect_window_halves_on_answers_to_retries_and_grows_back() -> None:
    in_flight = 0
    seen: list[int] = []  # how many were in flight as each probe started, in starting order

    async def connect(address: str, port: int, **kwargs: Any) -> Observation:
        nonlocal in_flight
        assert isinstance(kwargs["timing"], Timing)  # every probe shares the run's RTT estimates
        number = len(seen)
        in_flight += 1
        seen.append(in_flight)
        await asyncio.sleep(0.002)
        in_flight -= 1
        lossy = 100 <= number < 160  # answered only on a retry: packets are being lost
        return Observation(State.OPEN, address, TcpReply("connect", Reply.CONNECTED, attempts=2 if lossy else 1))

    agents = tuple(Target(f"198.18.{i // 200}.{i % 200 + 1}", Role.AGENT, AgentOS.LINUX) for i in range(1000))
    checks = plan_checks(Topology(agents=agents), Role.CONSOLE)
    asyncio.run(run_checks(checks, RunOptions(method=Method.CONNECT, concurrency=40), probes=fake_probes(connect)))
    assert max(seen[:100]) == 40  # the window reaches --concurrency
    assert 20 <= max(seen[200:300]) < 30  # cut to half after answers came only to retries (never lower), growing slowly
    assert max(seen[-200:]) == 40  # and grown back once they stopped


def test_silent_probes_get_their_networks_retries_once_it_shows_losses() -> None:
    calls: dict[tuple[str, int], int] = {}

    async def connect(address: str, port: int, **kwargs: Any) -> Observation:
        calls[(address, port)] = calls.get((address, port), 0) + 1
        if address == "198.18.5.1":  # answered, but only to a retry: the network loses packets
            await asyncio.sleep(0.05)
            kwargs["timing"].observe(address, 0.2, attempt=2)
            return Observation(State.OPEN, address, TcpReply("connect", Reply.CONNECTED, attempts=2))
        if calls[(address, port)] == 1:  # silent the first time round, after the 2 attempts allowed then
            return Observation(State.FILTERED, address, TcpReply("connect", Reply.NONE, attempts=2))
        return Observation(State.OPEN, address, TcpReply("connect", Reply.CONNECTED, attempts=3))

    agents = tuple(Target(a, Role.AGENT, AgentOS.LINUX) for a in ("198.18.5.1", "198.18.5.2", "198.18.6.2"))
    checks = plan_checks(Topology(agents=agents), Role.CONSOLE)
    results = asyncio.run(run_checks(checks, RunOptions(method=Method.CONNECT), probes=fake_probes(connect)))
    states = {(r.address, r.check.port): r.state for r in results if r.check.kind is Kind.TCP}
    assert states[("198.18.5.2", 22)] is State.OPEN  # probed again: its network showed losses
    assert calls[("198.18.6.2", 22)] == 1  # another network, no losses seen: its silence stands
    assert states[("198.18.6.2", 22)] is State.FILTERED


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The access checks whose agents the access stage visits (visit_agents), each call's list."""
    from netcheck.observe.access import stage  # noqa: PLC0415

    calls: list[list[str]] = []
    real = stage.visit_agents

    async def spy(visits: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append([check.id for check, _os, _link in visits])
        return await real(visits, *args, **kwargs)

    monkeypatch.setattr(stage, "visit_agents", spy)
    return calls


def _syn_run_with_access(credentials: Any) -> dict[str, Any]:
    """A SYN run of two Linux agents (22 open on one, filtered on the other): the results by id."""

    def syn_batch(targets: list[tuple[str, int]], *, on_observation: Any = None, **_: Any) -> dict[Any, Observation]:
        seen = {}
        for key in targets:
            reply = TcpReply("syn", Reply.SYN_ACK) if key[0] == "198.18.0.41" else TcpReply("syn", Reply.NONE)
            state = State.OPEN if reply.reply is Reply.SYN_ACK else State.FILTERED
            seen[key] = observation = Observation(state, key[0], reply)
            on_observation(key, observation)
        return seen

    async def ssh(*_: Any, **__: Any) -> Any:
        raise ConnectionResetError("the agent hung up")

    agents = (Target("198.18.0.41", Role.AGENT, AgentOS.LINUX), Target("198.18.0.42", Role.AGENT, AgentOS.LINUX))
    checks = plan_checks(Topology(agents=agents), Role.CONSOLE)
    probes = replace(fake_probes(), syn_batch=syn_batch, syn_available=lambda: True, ssh=ssh)
    options = RunOptions(method=Method.SYN, identify_services=False, credentials=credentials)
    results = asyncio.run(run_checks(checks, options, probes=probes))
    return {r.check.id: r for r in results}


def test_access_checks_that_cannot_go_ahead_are_skipped_with_why(staged: list[list[str]]) -> None:
    """Without credentials, or with the link the installer needs not open, an agent is not visited: its access
    check is skipped, saying why."""
    from netcheck.observe.access.credentials import NO_CREDENTIALS  # noqa: PLC0415

    results = _syn_run_with_access(None)
    assert staged == []  # no agent to visit
    open_one, filtered = results["access:console->198.18.0.41:22"], results["access:console->198.18.0.42:22"]
    assert open_one.verdict is Verdict.SKIP and open_one.detail == f"not checked: {NO_CREDENTIALS}"
    assert filtered.verdict is Verdict.SKIP
    assert filtered.detail == "not checked: TCP 22 to 198.18.0.42 is filtered (see tcp:console->198.18.0.42:22)"


def test_an_agent_to_visit_is_left_to_the_access_stage(staged: list[list[str]]) -> None:
    """With credentials, the open agent is visited by the access stage; the filtered one was skipped before it."""
    from netcheck.observe.access.credentials import Credentials, Secret, parse_user  # noqa: PLC0415

    results = _syn_run_with_access(Credentials(linux=parse_user("root"), password=Secret("pw")))
    assert staged == [["access:console->198.18.0.41:22"]]
    assert results["access:console->198.18.0.41:22"].verdict is Verdict.ERROR  # the visit ran: the fake agent hung up
    assert "ConnectionResetError" in results["access:console->198.18.0.41:22"].detail
    assert "is filtered" in results["access:console->198.18.0.42:22"].detail


def test_an_agent_of_unknown_os_is_settled_by_what_answers() -> None:
    """An agent given without an OS: SMB answering makes it Windows (its SSH link is skipped), SSH answering Linux;
    neither answering leaves its failures, asking for the OS."""
    replies = {"198.18.0.51": {445: Reply.SYN_ACK}, "198.18.0.52": {}, "198.18.0.53": {22: Reply.SYN_ACK, 25001: Reply.RST}}
    states = {Reply.SYN_ACK: State.OPEN, Reply.RST: State.CLOSED, Reply.NONE: State.FILTERED}

    def syn_batch(targets: list[tuple[str, int]], *, on_observation: Any = None, **_: Any) -> dict[Any, Observation]:
        seen = {}
        for key in targets:
            reply = replies[key[0]].get(key[1], Reply.NONE)
            seen[key] = observation = Observation(states[reply], key[0], TcpReply("syn", reply))
            on_observation(key, observation)
        return seen

    agents = tuple(Target(address, Role.AGENT) for address in replies)
    checks = plan_checks(Topology(agents=agents), Role.CONSOLE)
    probes = replace(fake_probes(), syn_batch=syn_batch, syn_available=lambda: True)
    options = RunOptions(method=Method.SYN, identify_services=False)
    results = {r.check.id: r for r in asyncio.run(run_checks(checks, options, probes=probes))}

    windows_ssh, silent_smb = results["tcp:console->198.18.0.51:22"], results["tcp:console->198.18.0.52:445"]
    assert windows_ssh.verdict is Verdict.SKIP and "looks like a windows agent" in windows_ssh.detail
    assert silent_smb.verdict is Verdict.FAIL and silent_smb.remediation.endswith("netcheck knows which one must.")
    assert results["tcp:console->198.18.0.53:445"].verdict is Verdict.SKIP
