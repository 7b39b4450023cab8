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
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from netcheck import cli
from netcheck.model import State
from netcheck.observations import Reply
from netcheck.probes import syn
from netcheck.probes.syn import Outcome, syn_probe_batch
from netcheck.probes.syn_evidence import observation_from
from tests.cli_runner import CliRunner

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
@pytest.mark.parametrize(("own_process", "in_thread"), [(True, False), (True, True), (False, False)])
def test_both_ways_see_open_and_closed_on_loopback(listener: int, own_process: bool, in_thread: bool, forked: list[int]) -> None:
    """In a process of its own (forked from this thread, or from a worker thread as the runner does) or here."""
    closed = closed_port()
    seen: list[tuple[str, int]] = []
    batch = partial(
        syn_probe_batch,
        [("127.0.0.1", listener), ("127.0.0.1", closed), ("127.0.0.1", listener)],
        timeout_s=1.0,
        retries=0,
        on_observation=lambda key, _observation: seen.append(key),
        own_process=own_process,
    )
    if in_thread:
        with ThreadPoolExecutor(1) as pool:
            results = pool.submit(batch).result(timeout=30)
    else:
        results = batch()
    assert sorted(seen) == sorted(results) == sorted([("127.0.0.1", listener), ("127.0.0.1", closed)])
    open_, reset = results[("127.0.0.1", listener)], results[("127.0.0.1", closed)]
    assert (open_.state, open_.reply.reply, open_.reply.tcp_flags) == (State.OPEN, Reply.SYN_ACK, "SA")
    assert open_.reply.ttl is not None and 0 < open_.reply.ttl <= 255
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


def first_then_wait(seconds: float) -> Callable[..., None]:
    """A stand-in engine: finishes its first probe, is about to wait (so that outcome goes out), waits
    `seconds`, then finishes the second."""

    def engine(keys: list[tuple[str, int]], *, emit: Callable[[int, Outcome], None], idle: Callable[[], None], **_: Any) -> None:
        emit(0, outcome())
        idle()
        time.sleep(seconds)
        emit(1, outcome())

    return engine


def test_outcomes_arrive_while_the_engine_still_runs(monkeypatch: pytest.MonkeyPatch, forked: list[int]) -> None:
    """Whatever the engine has finished goes out whenever it is about to wait: judging keeps pace with probing."""

    arrived: dict[tuple[str, int], float] = {}

    def judge(key: tuple[str, int], _observation: object) -> None:
        arrived[key] = time.monotonic() - started

    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(first_then_wait(2)))
    started = time.monotonic()
    syn_probe_batch([("198.18.0.31", 445), ("198.18.0.31", 22)], timeout_s=1.0, retries=0, on_observation=judge)
    assert arrived[("198.18.0.31", 445)] < 1.5
    assert arrived[("198.18.0.31", 22)] >= 2
    assert reaped(forked)


def test_collecting_works_on_the_side_while_no_outcome_waits(monkeypatch: pytest.MonkeyPatch, forked: list[int]) -> None:
    """`idle` (netcheck encodes finished checks' JSON there) runs while the engine has nothing to hand over,
    a unit at a time until it has nothing left, and again only once more outcomes came; every outcome is
    delivered."""

    units: list[float] = []

    def idle() -> bool:
        units.append(time.monotonic() - started)
        return len(units) < 5  # five units of work, then nothing left to do

    arrived: dict[tuple[str, int], float] = {}
    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(first_then_wait(1)))
    started = time.monotonic()
    engine = syn.EngineProcess([("198.18.0.31", 445), ("198.18.0.31", 22)], timeout_s=1.0, retries=0, rate_pps=1000)
    engine.idle = idle
    results = engine.collect(
        list(engine.keys), timeout_s=1.0, retries=0, rate_pps=1000, on_observation=lambda k, _o: arrived.setdefault(k, 0.0)
    )
    assert sorted(results) == [("198.18.0.31", 22), ("198.18.0.31", 445)]
    assert sum(at < 1 for at in units) >= 5  # while the engine slept, until it had nothing left
    assert len(units) <= 8  # then once a queue found empty at most (three: before, between and after the outcomes), not in a loop
    assert reaped(forked)


def test_the_engines_other_errors_keep_their_type_and_what_it_finished(
    monkeypatch: pytest.MonkeyPatch, forked: list[int]
) -> None:
    def one_then_fail(keys: list[tuple[str, int]], *, emit: Callable[[int, Outcome], None], **_: Any) -> None:
        emit(0, outcome())
        raise OverflowError("int too big to convert")

    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(one_then_fail))
    with pytest.raises(OverflowError, match="int too big to convert"):
        syn_probe_batch(
            [("198.18.0.31", 445), ("198.18.0.31", 22)], timeout_s=1.0, retries=0, on_observation=lambda k, _o: seen.append(k)
        )
    assert seen == [("198.18.0.31", 445)]  # the outcome finished before the error was judged
    assert reaped(forked)


def test_an_early_engine_hands_over_its_keys_and_probes_the_rest_anew(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """collect(targets): the started engine's observations of its keys, a new batch for any other target, and a
    whole new batch when the run's options differ from the engine's (or it was collected already)."""
    log = tmp_path / "batches"

    def stand_in(keys: list[tuple[str, int]], *, emit: Callable[[int, Outcome], None], timeout_s: float, **_: Any) -> None:
        with log.open("a") as batches:  # each batch runs in a process of its own: it says what it probed here
            batches.write(f"{timeout_s} {sorted(keys)}\n")
        for index in range(len(keys)):
            emit(index, outcome(timeout_ms=100.0))

    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(stand_in))
    early = syn.EngineProcess([("198.18.0.31", 445), ("198.18.0.31", 22)], timeout_s=2.0, retries=1, rate_pps=1000)
    results = early.collect([("198.18.0.31", 22), ("198.18.0.32", 22)], timeout_s=2.0, retries=1, rate_pps=1000)
    assert sorted(results) == [("198.18.0.31", 22), ("198.18.0.32", 22)]  # 445 was not asked for
    assert sorted(log.read_text().splitlines()) == [
        "2.0 [('198.18.0.31', 22), ('198.18.0.31', 445)]",  # the early engine
        "2.0 [('198.18.0.32', 22)]",  # only what it did not probe, anew (at once, beside it)
    ]
    log.unlink()
    other = syn.EngineProcess([("198.18.0.31", 445)], timeout_s=2.0, retries=1, rate_pps=1000)
    deadline = time.monotonic() + 10
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:  # it has begun (else stop() may come first)
        time.sleep(0.01)
    assert list(other.collect([("198.18.0.31", 445)], timeout_s=0.5, retries=1, rate_pps=1000)) == [("198.18.0.31", 445)]
    assert list(other.collect([("198.18.0.31", 445)], timeout_s=2.0, retries=1, rate_pps=1000)) == [("198.18.0.31", 445)]
    assert sorted(log.read_text().splitlines()) == [
        "0.5 [('198.18.0.31', 445)]",  # other options: probed anew with the run's
        "2.0 [('198.18.0.31', 445)]",  # the early engine (its outcomes unused)
        "2.0 [('198.18.0.31', 445)]",  # collected a second time: anew
    ]


SIGINT_IGNORED = """
import os, signal, threading, time
from netcheck.probes import syn

def slow(keys, *, emit, **_):
    time.sleep(1)
    for index in range(len(keys)):
        emit(index, (None, 1, False, 100.0, False, 1.0, 45000))

syn.engine_outcomes = slow
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `netcheck ... &` in a script
threading.Timer(0.3, os.killpg, (0, signal.SIGINT)).start()  # Ctrl-C to the whole group
results = syn.syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)
print(results[("198.18.0.31", 445)].state)
"""


def test_an_engine_of_a_netcheck_that_ignores_ctrl_c_ignores_it_too() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SIGINT_IGNORED], capture_output=True, text=True, cwd=REPO, timeout=30, start_new_session=True
    )
    assert (done.returncode, done.stdout.strip()) == (0, "filtered"), done.stderr


STDIN_CLOSED = """
import os
from netcheck.probes import syn

def end(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""  # the descriptor listdir itself used

def pipes(keys, *, emit, **_):
    ends = [end(fd) for fd in os.listdir("/proc/self/fd")]
    emit(0, (None, sum(end.startswith("pipe:") for end in ends), False, 100.0, False, 1.0, 45000))

syn.engine_outcomes = pipes
print(syn.syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)[("198.18.0.31", 445)].reply.attempts)
"""


def test_an_engine_of_a_netcheck_started_with_stdin_closed_holds_only_its_own_pipe_end() -> None:
    """With descriptor 0 free, os.pipe() hands it out; the child keeps 0-2, so its pipe ends are moved above."""
    done = subprocess.run(
        [sys.executable, "-c", STDIN_CLOSED + "\n"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        timeout=30,
        preexec_fn=lambda: os.close(0),
    )
    # the engine's own write end and the stdout pipe this test reads (inherited as descriptor 1): nothing else
    assert done.stdout.strip() == "2"


SIGCHLD_IGNORED = """
import signal
from netcheck.probes import syn

def quick(keys, *, emit, **_):
    for index in range(len(keys)):
        emit(index, (None, 1, False, 100.0, False, 1.0, 45000))

syn.engine_outcomes = quick
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # as a parent that ignores SIGCHLD hands it down: no zombie to wait for
print(syn.syn_probe_batch([("198.18.0.31", 445)], timeout_s=1.0, retries=0)[("198.18.0.31", 445)].state)
"""


def test_an_engine_the_kernel_reaped_itself_still_ends_the_run() -> None:
    done = subprocess.run([sys.executable, "-c", SIGCHLD_IGNORED], capture_output=True, text=True, cwd=REPO, timeout=30)
    assert (done.returncode, done.stdout.strip()) == (0, "filtered"), done.stderr
    assert "Traceback" not in done.stderr  # not even from the reader thread


def test_this_module_imports_where_there_is_no_fcntl() -> None:
    """Windows has no fcntl, and the runner imports this module there too (its SYN engine is never started)."""
    code = "import sys; sys.modules['fcntl'] = None; import netcheck.probes.syn, netcheck.runner"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr


@needs_root
def test_an_early_engine_is_stopped_when_the_run_fails_before_collecting_it(
    monkeypatch: pytest.MonkeyPatch, forked: list[int]
) -> None:
    """The CLI starts the engine before the runner; a run that never reaches its SYN probes must not leave it probing."""

    def hang(keys: list[tuple[str, int]], **_: Any) -> None:
        time.sleep(60)

    async def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(hang))
    monkeypatch.setattr("netcheck.runner.run_checks", explode)
    started = time.monotonic()
    result = CliRunner().invoke(cli.app, ["check", "--agent", "127.0.0.1:linux", "--method", "syn"])
    assert result.exit_code == 3 and "kaboom" in result.output
    assert len(forked) == 1 and reaped(forked)
    assert time.monotonic() - started < 30


@needs_root
def test_an_early_engine_is_stopped_when_planning_fails(monkeypatch: pytest.MonkeyPatch, forked: list[int]) -> None:
    """The engine starts before the plan is built (it probes while netcheck plans): a plan that fails stops it."""

    def hang(keys: list[tuple[str, int]], **_: Any) -> None:
        time.sleep(60)

    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("plan kaboom")

    monkeypatch.setattr(syn, "engine_outcomes", in_child_only(hang))
    monkeypatch.setattr("netcheck.plan.plan_checks", explode)
    result = CliRunner().invoke(cli.app, ["check", "--agent", "127.0.0.1:linux", "--method", "syn"])
    assert result.exit_code == 3 and "plan kaboom" in result.output
    assert len(forked) == 1 and reaped(forked)
