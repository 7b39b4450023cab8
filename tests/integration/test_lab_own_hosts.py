"""Tests that build their own small lab: a console with its own outbound firewall; 100 silent agents."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import netcheck, netcheck_json
from tests.lab.netns import Lab
from tests.schema import validate_report

pytestmark = pytest.mark.lab


def test_local_firewall_is_blocked_locally_in_syn_mode(small_lab: Lab) -> None:
    console = small_lab.add_host("console", "198.18.0.10/24")
    small_lab.add_host("agent", "198.18.0.31/24")
    console.nft("table inet lab {\n chain output {\n  type filter hook output priority 0;\n  tcp dport 25001 drop\n }\n}\n")
    code, report = netcheck_json(console, "--method", "syn", "--agent", "198.18.0.31:windows", "--timeout", "0.5")
    validate_report(report)
    link = {c["port"]: c for c in report["checks"] if c["kind"] == "tcp"}
    firewall = next(c for c in report["checks"] if c["id"] == "host:firewall")
    assert firewall["verdict"] == "warn" and "nftables (1 rule)" in firewall["detail"]
    assert (link[25001]["state"], link[25001]["verdict"]) == ("blocked-locally", "fail")
    assert "outbound" in link[25001]["remediation"]
    assert (link[445]["state"], link[445]["verdict"]) == ("closed", "fail")
    assert code == 1


def _syn_sent(ns: str) -> int:
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "ss", "-Htn", "state", "syn-sent"], capture_output=True, text=True, check=False
    )
    return len(out.stdout.splitlines())


def _max_syn_sent(ns: str, stop: threading.Event, seen: list[int]) -> None:
    """How many connects are in flight, sampled. One `ss` dump is not atomic: a socket closed and a new one opened
    while the kernel walks its table can both be listed, so a sample is the smaller of two dumps back to back (a
    real 17th socket in flight shows in both)."""
    while not stop.is_set():
        seen.append(min(_syn_sent(ns), _syn_sent(ns)))
        time.sleep(0.05)


def test_connect_mode_never_has_more_sockets_in_flight_than_concurrency(small_lab: Lab) -> None:
    console = small_lab.add_host("console", "198.18.0.10/24")
    silent = [f"198.18.1.{i}" for i in range(1, 101)]
    sink = small_lab.add_host("sink", "198.18.1.200/16", extra=[f"{a}/16" for a in silent])
    console.run(["ip", "addr", "add", "198.18.0.11/16", "dev", "eth0"])
    sink.nft("table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 22 drop\n }\n}\n")
    stop, seen = threading.Event(), []
    sampler = threading.Thread(target=_max_syn_sent, args=(console.ns, stop, seen))
    sampler.start()
    try:
        args = [arg for address in silent for arg in ("--agent", f"{address}:linux")]
        proc = netcheck(console, "--method", "connect", "--concurrency", "16", "--timeout", "1", "--retries", "0", *args)
    finally:
        stop.set()
        sampler.join()
    assert proc.returncode == 1, proc.stderr
    assert "100 fail" in proc.stdout
    assert max(seen) <= 16
    assert max(seen) >= 8, f"the sampler never saw the probes in flight: {max(seen)}"


def _stderr_of(console_ns: str, args: list[str], *, tty: bool) -> str:
    """Run netcheck in the console namespace with stderr on a pseudo-terminal (or a pipe); return stderr."""
    argv = ["ip", "netns", "exec", console_ns, sys.executable, "-m", "netcheck", "check", *args]
    if not tty:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stderr
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                break  # the pty closes when netcheck exits
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    finally:
        os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal_and_never_with_quiet(small_lab: Lab) -> None:
    console = small_lab.add_host("console", "198.18.0.10/24")
    sink = small_lab.add_host("sink", "198.18.0.50/24")
    sink.nft("table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 22 drop\n }\n}\n")
    args = ["--method", "connect", "--timeout", "1", "--retries", "1", "--agent", "198.18.0.50:linux"]  # about 2 s
    on_terminal = _stderr_of(console.ns, args, tty=True)
    assert "netcheck [" in on_terminal and "checks," in on_terminal
    assert "netcheck [" not in _stderr_of(console.ns, args, tty=False)
    assert "netcheck [" not in _stderr_of(console.ns, [*args, "--quiet"], tty=True)
