"""The SYN engine in a process of its own: what it reports is what the engine in this process would see, its
errors come back, it never outlives a run that gave up, and it holds none of this process's descriptors."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from netcheck.model import State
from netcheck.observations import Reply
from netcheck.probes import syn
from netcheck.probes.syn import Outcome, observation_from, syn_probe_batch

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The engine processes forked during the test (other tests' children are none of its business)."""
    pids: list[int] = []
    fork = os.fork

    def spy() -> int:
        pid = fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", spy)
    return pids


def reaped(pids: list[int]) -> bool:
    """Each of `pids` ended and was waited for (no zombie, no orphan)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # bound, never listening, closed when this returns


@needs_root
@pytest.mark.parametrize("own_process", [True, False])
def test_both_ways_see_open_and_closed_on_loopback(listener: int, own_process: bool, forked: list[int]) -> None:
    closed = closed_port()
    seen: list[tuple[str, int]] = []
    results = syn_probe_batch(
        [("127.0.0.1", listener), ("127.0.0.1", closed), ("127.0.0.1", listener)],
        timeout_s=1.0,
        retries=0,
        on_observation=lambda key, _observation: seen.append(key),
        own_process=own_process,
    )
    assert sorted(seen) == sorted(results) == sorted([("127.0.0.1", listener), ("127.0.0.1", closed)])
    open_, reset = results[("127.0.0.1", listener)], results[("127.0.0.1", closed)]
    assert (open_.state, open_.reply.reply, open_.reply.tcp_flags, open_.reply.ttl) == (State.OPEN, Reply.SYN_ACK, "SA", 64)
    assert (reset.state, reset.reply.reply, reset.reply.tcp_flags) == (State.CLOSED, Reply.RST, "RA")
    assert open_.reply.source_port == reset.reply.source_port and open_.reply.source_port is not None
    assert open_.reply.rtt_ms is not None and 0 <= open_.reply.rtt_ms < 1000
    assert 0 < open_.elapsed_ms < 10_000
    assert len(forked) == own_process and reaped(forked)


def outcome(fields: syn.ReplyFields | None = None, **changes: Any) -> Outcome:
    values: dict[str, Any] = {"attempts": 1, "blocked": False, "timeout_ms": None, "no_arp": False, "finished_ms": 3.5}
    values.update(changes)
    return (fields, values["attempts"], values["blocked"], values["timeout_ms"], values["no_arp"], values["finished_ms"], 45000)


def test_an_outcome_becomes_the_observation_the_engine_saw() -> None:
    synack = observation_from("198.18.0.31", outcome(("SA", None, 63, "198.18.0.31", 0.4)))
    assert (synack.state, synack.reply.reply, synack.reply.ttl, synack.reply.rtt_ms) == (State.OPEN, Reply.SYN_ACK, 63, 0.4)
    assert (synack.reply.source_port, synack.elapsed_ms, synack.address) == (45000, 3.5, "198.18.0.31")

    silent = observation_from("198.18.0.31", outcome(attempts=2, timeout_ms=120.0))
    assert (silent.state, silent.reply.reply, silent.reply.attempts, silent.reply.timeout_ms) == (
        State.FILTERED,
        Reply.NONE,
        2,
        120.0,
    )

    no_arp = observation_from("198.18.0.31", outcome(attempts=2, timeout_ms=120.0, no_arp=True))
    assert (no_arp.state, no_arp.reply.no_arp_answer) == (State.UNREACHABLE, True)

    # This machine's own host-unreachable (a failed ARP lookup): the ICMP decides the state, the flag is evidence.
    local = observation_from("198.18.0.31", outcome((None, (4, 3, 1, "198.18.0.10"), 64, "198.18.0.10", 3000.0), no_arp=True))
    assert (local.state, local.reply.reply, local.reply.no_arp_answer) == (State.UNREACHABLE, Reply.ICMP, True)
    assert local.reply.icmp is not None and (local.reply.icmp.type, local.reply.icmp.code) == (3, 1)

    prohibited = observation_from("198.18.0.31", outcome((None, (4, 3, 13, "198.18.0.1"), 63, "198.18.0.1", 0.3)))
    assert (prohibited.state, prohibited.reply.no_arp_answer) == (State.FILTERED, False)

    blocked = observation_from("198.18.0.31", outcome(blocked=True))
    assert (blocked.state, blocked.reply.reply, blocked.reply.error) == (State.BLOCKED_LOCALLY, Reply.ERROR, "EPERM")
    assert blocked.reply.timeout_ms is None


def in_child_only(body: Callable[..., None]) -> Callable[..., None]:
    """A stand-in for engine_outcomes that must never run in the test's own process."""
    parent = os.getpid()

    def stand_in(*args: Any, **kwargs: Any) -> None:
        assert os.getpid() != parent
        body(*args, **kwargs)

    return stand_in


def test_the_engines_error_comes_back_as_the_same_oserror(monkeypatch: pytest.MonkeyPatch, forked: list[int]) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(refuse))
    with pytest.raises(PermissionError) as caught:
        syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)
    assert (caught.value.errno, caught.value.strerror) == (errno.EPERM, "Operation not permitted")
    assert forked and reaped(forked)


def test_an_engine_that_dies_without_a_word_is_an_error(monkeypatch: pytest.MonkeyPatch, forked: list[int]) -> None:
    def die(*_args: Any, **_kwargs: Any) -> None:
        os._exit(7)

    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(die))
    with pytest.raises(RuntimeError, match="ended without its results"):
        syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)
    assert forked and reaped(forked)


def test_a_run_that_gives_up_takes_the_engine_with_it(monkeypatch: pytest.MonkeyPatch, forked: list[int]) -> None:
    def stand_in(
        keys: list[tuple[str, int]], *, emit: Callable[[int, Outcome], None], idle: Callable[[], None], **_kwargs: Any
    ) -> None:
        emit(0, outcome())
        idle()  # the engine flushes whenever it is about to wait
        time.sleep(60)

    def judge(_key: tuple[str, int], _observation: object) -> None:
        raise KeyError("the judge failed")

    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(stand_in))
    started = time.monotonic()
    with pytest.raises(KeyError, match="the judge failed"):
        syn_probe_batch([("198.18.0.31", 445), ("198.18.0.31", 22)], timeout_s=1.0, retries=0, on_observation=judge)
    assert time.monotonic() - started < 30  # killed, not waited for
    assert forked and reaped(forked)


def test_the_engine_process_holds_none_of_our_descriptors(monkeypatch: pytest.MonkeyPatch, forked: list[int]) -> None:
    def count_descriptors(keys: list[tuple[str, int]], *, emit: Callable[[int, Outcome], None], **_kwargs: Any) -> None:
        emit(0, outcome(attempts=len(os.listdir("/proc/self/fd"))))

    pipes = [os.pipe() for _ in range(20)]
    try:
        monkeypatch.setattr(syn, "engine_outcomes", in_child_only(count_descriptors))
        results = syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)
    finally:
        for read_fd, write_fd in pipes:
            os.close(read_fd)
            os.close(write_fd)
    # stdin, stdout, stderr, its pipe, and the descriptor listdir itself opened
    assert results[("198.18.0.31", 445)].reply.attempts <= 5
    assert forked and reaped(forked)


def test_without_a_process_to_spare_the_engine_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    here = os.getpid()
    ran_in: list[int] = []

    def stand_in(keys: list[tuple[str, int]], *, emit: Callable[[int, Outcome], None], **_kwargs: Any) -> None:
        ran_in.append(os.getpid())
        emit(0, outcome(timeout_ms=100.0))

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(syn, "engine_outcomes", stand_in)
    results = syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)
    assert ran_in == [here]
    assert results[("198.18.0.31", 445)].state is State.FILTERED


ORPHAN = """
import os, sys, time
from netcheck.probes import syn

def hang(*_args, **_kwargs):
    time.sleep(60)

syn.engine_outcomes = hang
fork = os.fork

def spy():
    pid = fork()
    if pid:
        print(pid, flush=True)
    return pid

os.fork = spy
syn.syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)
"""


def alive(pid: int) -> bool:
    """Running or stopped, not a zombie nobody reaped yet, and not gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_the_engine_dies_with_netcheck_even_when_netcheck_is_killed() -> None:
    netcheck = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert netcheck.stdout is not None
        engine = int(netcheck.stdout.readline())
        assert alive(engine)
        netcheck.kill()  # SIGKILL: nothing of netcheck's own runs
        netcheck.wait(10)
        deadline = time.monotonic() + 10
        while alive(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(engine)
    finally:
        netcheck.kill()
        netcheck.wait(10)
