"""Redaction and HTML benchmark: `--redact` and the HTML diagram on large synthetic reports.

    python3 benchmarks/redact.py                       (30,000, 100,000 and 200,000 checks)
    python3 benchmarks/redact.py --checks 30000 --checks 100000

A report of N checks: N/3 agents with a name and an address each, three links per agent (445, 25001, 22) with
packet evidence, plus a name check per 10 agents with DNS, hosts-file and PTR evidence and a TLS service with
a certificate subject. It prints, per size, how many pseudonyms redaction made and the seconds to redact, to
redact and render JSON, to redact and render HTML, and to render HTML alone (the diagram). Nothing is asserted: the figures
are for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netcheck.model.checks import Check, Report, Result, Target, Vantage
from netcheck.model.kinds import AgentOS, Kind, Phase, Role, State, Verdict
from netcheck.report.html import render_html
from netcheck.report.json import render_json
from netcheck.report.redact import collect, redact

PURPOSE = {
    445: "Sending files (installation packages, Acroinst.exe, Msi_setup.exe)",
    25001: "Sending installation parameters",
    22: "Sending files (installation packages) and starting installation (SSH)",
}


def synthetic(checks: int) -> Report:
    results: list[Result] = []
    agent = 0
    while len(results) < checks:
        name, address = f"agent{agent}.corp.example", f"198.{18 + agent // 65536 % 2}.{agent // 256 % 256}.{agent % 256}"
        target = Target(name, Role.AGENT, AgentOS.WINDOWS if agent % 2 else AgentOS.LINUX)
        for port in (445, 25001, 22):
            check = Check(f"tcp:console->{name}:{port}", Kind.TCP, Role.CONSOLE, target, port, PURPOSE[port], port != 25001)
            evidence = {"method": "syn", "reply": "syn-ack", "ttl": 64, "rtt_ms": 0.3, "source_port": 40000 + port, "attempts": 1}
            results.append(Result(check, State.OPEN, Verdict.PASS, "open (SYN-ACK, ttl 64, 0.3 ms)", "", address, evidence))
        if agent % 10 == 0:
            check = Check(f"name:{name}", Kind.NAME, Role.CONSOLE, target, None, "Name resolution")
            evidence = {
                "dns": [{"server": "198.18.0.53", "qname": name, "rcode": "NOERROR", "addresses": [address]}],
                "hosts": [{"line": agent, "address": address, "names": [name, f"alias{agent}"]}],
                "ptr": {address: [name]},
                "system": [address],
            }
            detail = f"{name} resolves to {address}; every path agrees, PTR {name} [DNS 198.18.0.53: {address} ttl 300]"
            results.append(Result(check, State.RESOLVED, Verdict.PASS, detail, "", address, evidence))
            subject = f"CN={name}, O=Corp Internal {agent % 7}, emailAddress=admin@{name}"
            tls = Check(f"service:console->{name}:9876", Kind.SERVICE, Role.CONSOLE, target, 9876, "Acquiring a license")
            evidence = {"protocol": "tls", "tls_version": "TLSv1.3", "subject": subject, "issuer": subject}
            results.append(Result(tls, State.OPEN, Verdict.PASS, f"TLSv1.3; certificate {subject}", "", address, evidence))
        agent += 1
    vantage = Vantage("console1.corp.example", Role.CONSOLE, "Linux", ("198.18.0.10",))
    return Report("bench", "2026-11-25T00:00:00+00:00", 1.0, vantage, Phase.PRE_INSTALL, "syn", tuple(results[:checks]))


def timed(action: object) -> str:
    """'wall/cpu' seconds: on a shared machine the CPU time is the steadier figure."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()  # type: ignore[operator]
    return f"{time.perf_counter() - wall:.2f}/{time.process_time() - cpu:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, action="append", help="report sizes (repeatable; default 30000, 100000, 200000)")
    sizes = parser.parse_args().checks or [30000, 100000, 200000]
    print("seconds as wall/cpu")
    print(f"{'checks':>8} {'pseudonyms':>10} {'redact':>12} {'redact+json':>12} {'redact+html':>12} {'html':>12}")
    for size in sizes:
        report = synthetic(size)
        names = len(collect(report)[0].table)
        redact_s = timed(lambda r=report: redact(r))
        json_s = timed(lambda r=report: render_json(redact(r)))
        html_redacted_s = timed(lambda r=report: render_html(redact(r)))
        html_s = timed(lambda r=report: render_html(r))
        print(f"{size:>8} {names:>10} {redact_s:>12} {json_s:>12} {html_redacted_s:>12} {html_s:>12}", flush=True)


if __name__ == "__main__":
    main()
