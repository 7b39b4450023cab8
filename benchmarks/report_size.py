"""Report size benchmark: what each format makes of a 10,000-agent report, without a network.

    python3 benchmarks/report_size.py                  (10,000 agents)
    python3 benchmarks/report_size.py --agents 1000

The report is the scale lab's (benchmarks/scale.py) built from results, as a console run on it makes them: each
agent, of unknown OS, has three links from the console (445, 25001, 22) and two identifications (445, 22).
Three quarters of the agents listen on 445 and 22 and refuse 25001 (reachable, nothing listens yet: a pass);
a quarter drop everything (three failing links, their identifications not needed). With the console's own
checks that is 50,009 checks, 7,500 of them failing, for 10,000 agents.

It prints, per format (the table at 80 columns, the table with --all, Markdown, JSON, and HTML when
netcheck.report.html renders it), the lines, characters and UTF-8 bytes and the time to render, the diagnosis
included (each format renders a report of its own, so none finds it made already).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netcheck.model import Check, Kind, Phase, Report, Result, Role, State, Target, Vantage, Verdict
from netcheck.observations import TcpReply

PURPOSE = {
    445: "Sending files (installation packages, Acroinst.exe, Msi_setup.exe)",
    25001: "Sending installation parameters",
    22: "Sending files (installation packages) and starting installation (SSH)",
}
_HOST_CHECKS = (
    ("host:interfaces", State.ENABLED, "interfaces: eth0 198.18.0.10/24"),
    ("host:port-9876", State.NOT_APPLICABLE, "TCP 9876 is free on this machine"),
    ("host:port-25001", State.NOT_APPLICABLE, "TCP 25001 is free on this machine"),
    ("host:source-ports", State.ENABLED, "source ports 32768-60999, within the documented Linux range 32768-61000"),
    ("host:firewall", State.DISABLED, "no local firewall rules"),
    ("host:privileges", State.ENABLED, "privileged: raw SYN probes with packet evidence are available"),
)
_DISCOVERY = ("network-discovery", "file-and-printer-sharing", "network-profile")


def agent_address(index: int, *, silent: bool) -> str:
    """The scale lab's prefixes: listening agents in 198.19.0.0/17, silent ones in 198.19.128.0/17."""
    number = index + 1
    return f"198.19.{(128 if silent else 0) + number // 256}.{number % 256}"


def synthetic_report(agents: int = 10_000) -> Report:
    """The console's report on the scale lab: a quarter of the agents drop everything, the rest refuse 25001."""
    results: list[Result] = []
    console = Role.CONSOLE
    for index in range(agents):
        silent = index % 4 == 3
        address = agent_address(index, silent=silent)
        target = Target(address, Role.AGENT)
        for port in (445, 25001, 22):
            check = Check(f"tcp:console->{address}:{port}", Kind.TCP, console, target, port, PURPOSE[port])
            if silent:
                reply = TcpReply("syn", "timeout", attempts=2, timeout_ms=250.0)
                fix = (
                    f"Allow TCP {port} from this console to {address} on every firewall between them and on "
                    f"{address}'s own firewall, for source ports 32768-60999 (this machine's range)."
                )
                detail = "filtered (no answer after 2 attempts)"
                results.append(Result(check, State.FILTERED, Verdict.FAIL, detail, fix, address, reply))
            elif port == 25001:
                reply = TcpReply("syn", "rst", ttl=64, rtt_ms=0.21, tcp_flags="RA")
                detail = "reachable; nothing listens yet (expected before installation) (RST, ttl 64, 0.21 ms)"
                results.append(Result(check, State.CLOSED, Verdict.PASS, detail, "", address, reply))
            else:
                reply = TcpReply("syn", "syn-ack", ttl=64, rtt_ms=0.2, tcp_flags="SA")
                results.append(Result(check, State.OPEN, Verdict.PASS, "open (SYN-ACK, ttl 64, 0.2 ms)", "", address, reply))
        for port in (445, 22):
            check = Check(f"service:console->{address}:{port}", Kind.SERVICE, console, target, port, PURPOSE[port])
            if silent:
                detail = f"not probed: TCP {port} did not answer"
                results.append(Result(check, State.NOT_PROBED, Verdict.SKIP, detail, "", address))
            else:
                detail = "SMB 3.1.1 (dialects 3.0, 3.1.1); signing required" if port == 445 else "SSH 2.0: OpenSSH 9.2p1"
                results.append(Result(check, State.OPEN, Verdict.PASS, detail, "", address))
    here = Target("console1", console)
    for aspect in _DISCOVERY:
        check = Check(f"discovery:{aspect}", Kind.DISCOVERY, console, here, purpose="Discovery of agents by name")
        detail = "names resolve through DNS: not needed for installation"
        results.append(Result(check, State.NOT_APPLICABLE, Verdict.SKIP, detail))
    for check_id, state, detail in _HOST_CHECKS:
        port = int(check_id.rsplit("-", 1)[1]) if check_id.startswith("host:port-") else None
        check = Check(check_id, Kind.HOST, console, here, port, "This machine's readiness")
        results.append(Result(check, state, Verdict.PASS, detail, evidence={"listening": None} if port else {}))
    vantage = Vantage("console1", console, "linux", ("198.18.0.10",))
    return Report("1.0.0", "2026-12-07T12:00:00+00:00", 1.4, vantage, Phase.PRE_INSTALL, "syn", tuple(results))


def _measure(render: Callable[[], str]) -> tuple[str, float]:
    start = time.perf_counter()
    text = render()
    return text, time.perf_counter() - start


def formats(report: Report) -> dict[str, Callable[[], str]]:
    from netcheck.report.json import render_json  # noqa: PLC0415
    from netcheck.report.markdown import render_markdown  # noqa: PLC0415
    from netcheck.report.table import render_table  # noqa: PLC0415

    made: dict[str, Callable[[], str]] = {
        "table (80 columns)": lambda: render_table(report, width=80),
        "table --all (80 columns)": lambda: render_table(report, width=80, show_all=True),
        "markdown": lambda: render_markdown(report),
        "json": lambda: render_json(report),
    }
    try:
        from netcheck.report.html import render_html  # noqa: PLC0415
    except ImportError:
        return made
    made["html"] = lambda: render_html(report)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--skip", action="append", default=[], help="A format not to render (say 'table --all').")
    args = parser.parse_args()
    start = time.perf_counter()
    report = synthetic_report(args.agents)
    built = time.perf_counter() - start
    failing = report.count(Verdict.FAIL)
    print(f"# {platform.node() or 'machine'}: Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"{args.agents:,} agents: {len(report.results):,} checks, {failing:,} failing (built in {built:.2f} s)")
    from netcheck.report.diagnosis import diagnose  # noqa: PLC0415

    _, took = _measure(lambda: str(diagnose(report)))
    groups = len(diagnose(report).groups)
    print(f"diagnosis: {groups} group{'' if groups == 1 else 's'} in {took:.2f} s")
    print(f"{'format':<26} {'lines':>9} {'characters':>12} {'bytes':>12} {'seconds':>8}")
    for name in formats(report):
        if any(skip in name for skip in args.skip):
            continue
        render = formats(synthetic_report(args.agents))[name]  # a report of its own: its diagnosis is timed too
        text, took = _measure(render)
        lines = text.count("\n")
        print(f"{name:<26} {lines:>9,} {len(text):>12,} {len(text.encode()):>12,} {took:>8.2f}")


if __name__ == "__main__":
    main()
