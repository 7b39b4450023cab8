"""Tests that build their own small lab: a console with its own outbound firewall; 100 silent agents."""

from __future__ import annotations

import subprocess
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


def _max_syn_sent(ns: str, stop: threading.Event, seen: list[int]) -> None:
    while not stop.is_set():
        out = subprocess.run(
            ["ip", "netns", "exec", ns, "ss", "-Htn", "state", "syn-sent"], capture_output=True, text=True, check=False
        )
        seen.append(len(out.stdout.splitlines()))
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
