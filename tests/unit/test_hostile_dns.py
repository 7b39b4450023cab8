"""Name checks against hostile name servers on loopback: stray datagrams, records for other names, CNAME chains,
thousands of records, a PTR server that never answers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import dns.message
import dns.rdatatype
import dns.rrset
import pytest

from netcheck.classify import classify_name
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import Kind, Role
from netcheck.model.observations import SystemAnswer
from netcheck.observe.names import observe, system
from netcheck.observe.names.dns import MAX_ADDRESSES, DnsConfig, query_ptr, query_server, summarize
from netcheck.observe.names.observe import NameObservation
from netcheck.observe.names.threads import in_daemon_thread
from netcheck.observe.names.udp import LINK_LOCAL_SLOTS

Reply = tuple[float, bytes, bool]
"""(delay in s, datagram, send it from another socket than the server's)."""


class HostileServer(asyncio.DatagramProtocol):
    """Answers each query with what `script(query)` says: datagrams, delays, a second source."""

    def __init__(self, script: Callable[[dns.message.Message], list[Reply]]) -> None:
        self.script = script
        self.transport: Any = None
        self.queries: list[dns.message.Message] = []
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind(("127.0.0.1", 0))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        self.queries.append(query)
        loop = asyncio.get_running_loop()
        for delay, datagram, elsewhere in self.script(query):
            send = self.other.sendto if elsewhere else self.transport.sendto
            loop.call_later(delay, send, datagram, addr)


async def with_server(script: Callable[[dns.message.Message], list[Reply]], probe: Callable[[int], Awaitable[Any]]) -> Any:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(lambda: HostileServer(script), local_addr=("127.0.0.1", 0))
    try:
        return await probe(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()
        server.other.close()


def answer(query: dns.message.Message, *records: tuple[str, str, str]) -> bytes:
    """A response to `query` whose answer section holds (owner, type, value) records."""
    response = dns.message.make_response(query)
    for owner, rdtype, value in records:
        response.answer.append(dns.rrset.from_text(owner, 300, "IN", rdtype, value))
    return response.to_wire()


CONFIG = DnsConfig(("127.0.0.1",), (), 1, "test")


def ask(script: Callable[[dns.message.Message], list[Reply]], name: str = "ms.lab.test", timeout_s: float = 1.0) -> Any:
    return asyncio.run(with_server(script, lambda port: query_server("127.0.0.1", name, CONFIG, timeout_s, port=port)))


def a_or_empty(query: dns.message.Message, *records: tuple[str, str, str]) -> bytes:
    return answer(query, *records) if query.question[0].rdtype == dns.rdatatype.A else answer(query)


def test_stray_datagrams_before_the_answer_are_ignored() -> None:
    """A wrong id, garbage, another source and another question arrive first; the real answer still counts."""

    def script(query: dns.message.Message) -> list[Reply]:
        wrong_id = dns.message.make_response(query)
        wrong_id.id = (query.id + 1) % 65536
        other_question = dns.message.make_response(dns.message.make_query("evil.example.", "A"))
        other_question.id = query.id
        real = a_or_empty(query, ("ms.lab.test.", "A", "198.18.0.20"))
        return [
            (0, wrong_id.to_wire(), False),
            (0.02, b"\x00garbage", False),
            (0.04, real, True),  # the right answer, from another source: not the server's
            (0.06, other_question.to_wire(), False),
            (0.2, real, False),
        ]

    result = ask(script)
    assert (result.rcode, result.addresses) == ("NOERROR", ("198.18.0.20",))


def test_only_stray_datagrams_is_a_timeout_not_an_error() -> None:
    def script(query: dns.message.Message) -> list[Reply]:
        wrong_id = dns.message.make_response(query)
        wrong_id.id = (query.id + 1) % 65536
        return [(0, wrong_id.to_wire(), False), (0.05, b"\xff" * 40, False)]

    result = ask(script, timeout_s=0.5)
    assert result.rcode == "TIMEOUT"


def test_a_record_for_an_unrelated_owner_is_not_the_answer() -> None:
    result = ask(lambda q: [(0, a_or_empty(q, ("evil.example.", "A", "198.18.6.6")), False)])
    assert result.rcode == "NOERROR" and result.addresses == () and result.ignored == 1


def test_cname_chains_are_followed_and_nothing_else() -> None:
    def script(query: dns.message.Message) -> list[Reply]:
        records = [
            ("ms.lab.test.", "CNAME", "alias.lab.test."),
            ("alias.lab.test.", "CNAME", "real.lab.test."),
            ("real.lab.test.", "A", "198.18.0.20"),
            ("evil.example.", "A", "198.18.6.6"),
            ("ms.lab.test.", "TXT", '"not an address"'),
        ]
        return [(0, a_or_empty(query, *records), False)]

    result = ask(script)
    assert result.addresses == ("198.18.0.20",) and result.ignored == 2


def test_a_cname_loop_ends() -> None:
    query = dns.message.make_query("a.lab.test.", "A")
    response = dns.message.from_wire(
        answer(query, ("a.lab.test.", "CNAME", "b.lab.test."), ("b.lab.test.", "CNAME", "a.lab.test."))
    )
    assert summarize(response).addresses == ()


def test_thousands_of_records_are_capped() -> None:
    def script(query: dns.message.Message) -> list[Reply]:
        response = dns.message.make_response(query)
        if query.question[0].rdtype == dns.rdatatype.A:
            values = [f"198.18.{i // 250}.{i % 250 + 1}" for i in range(2000)]
            response.answer.append(dns.rrset.from_text_list("ms.lab.test.", 300, "IN", "A", values))
        return [(0, response.to_wire(max_size=65535), False)]

    async def probe(port: int) -> Any:
        return await query_server("127.0.0.1", "ms.lab.test", CONFIG, 2, port=port)

    result = asyncio.run(with_server(script, probe))
    assert (len(result.addresses), result.more) == (MAX_ADDRESSES, 2000 - MAX_ADDRESSES)


def test_ptr_answers_for_other_names_are_ignored() -> None:
    def script(query: dns.message.Message) -> list[Reply]:
        owner = query.question[0].name.to_text()
        return [(0, answer(query, ("1.1.1.1.in-addr.arpa.", "PTR", "evil.example."), (owner, "PTR", "ms.lab.test.")), False)]

    names = asyncio.run(with_server(script, lambda port: query_ptr("127.0.0.1", "198.18.0.20", 1, port)))
    assert names == ("ms.lab.test",)


def test_timing_is_bounded_by_the_deadline() -> None:
    started = time.monotonic()
    result = ask(lambda q: [], timeout_s=0.3)
    assert result.rcode == "TIMEOUT" and time.monotonic() - started < 3


# The whole name check: bounded however many records come back and however long the resolvers take.


def many_records_silent_ptr(query: dns.message.Message) -> list[Reply]:
    """100 A records for the name; PTR queries are never answered."""
    question = query.question[0]
    if question.rdtype == dns.rdatatype.PTR:
        return []
    response = dns.message.make_response(query)
    if question.rdtype == dns.rdatatype.A:
        values = [f"198.18.1.{i}" for i in range(1, 101)]
        response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", "A", values))
    return [(0, response.to_wire(), False)]


def test_a_name_with_100_records_and_a_silent_ptr_server_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fast_system(name: str, deadline_s: float | None = None) -> SystemAnswer:
        return SystemAnswer(("198.18.1.1",))

    monkeypatch.setattr(observe, "resolve_system", fast_system)

    async def probe(port: int) -> NameObservation:
        config = DnsConfig(("127.0.0.1",), (), 1, "test", port)
        return await observe.observe_name("many.lab.test", config, observe.HostsSource("/nonexistent"), 0.3)

    started = time.monotonic()
    obs = asyncio.run(with_server(many_records_silent_ptr, probe))
    took = time.monotonic() - started
    assert took < 3  # 100 PTRs one after another at 0.3 s each took 31 s
    assert len(obs.dns[0].addresses) == MAX_ADDRESSES and obs.dns[0].more == 100 - MAX_ADDRESSES
    assert len(obs.ptr) == MAX_ADDRESSES and obs.ptr_more == 100 - MAX_ADDRESSES
    check = Check("name:many.lab.test", Kind.NAME, Role.CONSOLE, Target("many.lab.test", Role.MANAGEMENT_SERVER))
    result = classify_name(check, obs)
    assert f"and {100 - MAX_ADDRESSES} more" in result.detail
    assert len(result.detail) < 2000


def test_a_hanging_system_resolver_costs_each_name_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """30 names whose getaddrinfo hangs: each gets its deadline, side by side, with a bounded number of threads."""
    release = threading.Event()
    started_threads: list[str] = []

    def hanging(name: str, *args: Any, **kwargs: Any) -> Any:
        started_threads.append(name)
        release.wait(20)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(system.socket, "getaddrinfo", hanging)

    async def resolve_all() -> list[SystemAnswer]:
        return await asyncio.gather(*(system.resolve_system(f"n{i}.lab.test", 0.5) for i in range(40)))

    began = time.monotonic()
    try:
        observations = asyncio.run(resolve_all())
        took = time.monotonic() - began
        assert took < 3  # 30 such names took 51 s, the executor queueing them
        assert all(not o.addresses for o in observations)
        assert all("no answer from the system resolver within 0.5 s" in o.error for o in observations)
        assert len(started_threads) == system.MAX_THREADS  # the rest waited for a slot, within their deadline
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while system._slots._value < system.MAX_THREADS and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)  # lingering lookups end and give their slots back


def test_the_system_resolver_still_answers() -> None:
    observation = asyncio.run(system.resolve_system("localhost", 5))
    assert observation.addresses and observation.addresses[0] in ("127.0.0.1", "::1") and not observation.error


def test_link_local_lookups_do_not_queue_behind_each_other() -> None:
    """40 NetBIOS/LLMNR-sized waits side by side: not 6 at a time as in the loop's default executor."""

    async def all_of_them() -> list[None]:
        return await asyncio.gather(*(in_daemon_thread(LINK_LOCAL_SLOTS, time.sleep, 0.5) for _ in range(40)))

    started = time.monotonic()
    asyncio.run(all_of_them())
    assert time.monotonic() - started < 2.5  # queued six at a time they would take 3.5 s at least
