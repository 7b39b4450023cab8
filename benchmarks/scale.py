"""Scale benchmark: netcheck against nmap on N agents behind one router hop, in a namespace lab.

    python3 benchmarks/scale.py --agents 10000        (as root; needs iproute2, nftables, nmap)
    python3 benchmarks/scale.py --agents 1000 --wan   (the same fleet behind 100 ms each way and 2 % loss)

The lab: a console, a router, and two agent namespaces that each take a whole address prefix as local
(`ip route add local PREFIX dev lo`), so N agents cost no per-address setup and the console keeps a single
neighbour entry (the router). Three quarters of the agents listen on 22 and 445 and reset 25001 and 9876; a
quarter drop everything. netcheck probes each agent's links of the connection matrix (an agent of unknown OS
has four from the console: 445, 25001 and 22 to install it, 9876 to manage it), with its default options
and with tuned ones, and nmap scans the same ports of the same addresses, in the same run:

    netcheck check --method syn --no-identify        vs  nmap -Pn -sS -T5 --min-rate 10000 --max-retries 1
    netcheck check --method connect --no-identify    vs  nmap -Pn -sT -T4 --max-retries 1

(--no-identify because these nmap scans find port states only, as netcheck then does; netcheck's default also
identifies what answers on every open port, which nmap does with -sV. Everything else is netcheck's default.)

With --wan the router delays every packet 100 ms and drops 2 % of them, each way (200 ms round trip):
`tc netem` when the kernel has it, else a userspace relay doing the same (tests/lab/wan_relay.py). netcheck
runs with its defaults only; nmap gets the same network with its own retry logic (--max-retries 1 would make
nmap itself miss about one answering link in 600 to a double loss).

It prints wall time, peak RSS and, per netcheck run, how many links agree with nmap (netcheck's
`unreachable` counts as nmap's `filtered`: nmap has no such state) and how many are right (the lab knows
the truth: listening agents are open on 22 and 445 and closed on 25001 and 9876, silent ones filtered).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab.netns import Host, Lab, LabError, sweep_stale_namespaces  # noqa: E402

OPEN_PREFIX = ipaddress.ip_network("198.19.0.0/17")  # up to 32,766 listening agents
DROP_PREFIX = ipaddress.ip_network("198.19.128.0/17")  # up to 32,766 silent agents
PORTS = (22, 445, 25001, 9876)

MEASURE = """
import json, resource, subprocess, sys, time
start = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.monotonic() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": rc, "wall_s": round(wall, 2), "maxrss_mb": round(peak, 1)}))
"""


@dataclass(frozen=True)
class Run:
    name: str
    wall_s: float
    maxrss_mb: float
    states: dict[tuple[str, int], str]
    walls: tuple[float, ...] = ()
    """Every run's wall time when the scan was repeated (wall_s is then their median)."""


def repeated(runs: list[Run]) -> Run:
    """One row for a scan run several times: the median wall time, the highest RSS, and the states of the run
    that got the fewest links right (so a repeat can only make the row look worse, never better)."""
    worst = min(runs, key=correct)
    walls = tuple(sorted(r.wall_s for r in runs))
    return Run(runs[0].name, statistics.median(walls), max(r.maxrss_mb for r in runs), worst.states, walls)


def agents(count: int) -> list[str]:
    """Every fourth agent silent, the others listening."""
    opened = OPEN_PREFIX.hosts()
    dropped = DROP_PREFIX.hosts()
    return [str(next(dropped) if index % 4 == 3 else next(opened)) for index in range(count)]


def build(lab: Lab, *, wan: bool = False) -> tuple[Host, str]:
    """The lab; returns the console and how the WAN is emulated ("" without --wan)."""
    lab.build_switch()
    router = lab.add_host("router", "198.18.0.1/24")
    for setting in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0"):
        router.run(["sysctl", "-qw", setting])
    console = lab.add_host("console", "198.18.0.10/24", gateway="198.18.0.1")
    console.run(["sysctl", "-qw", "net.ipv4.conf.all.accept_redirects=0"])
    listening = lab.add_host("agents", "198.18.0.2/24", gateway="198.18.0.1")
    silent = lab.add_host("silent", "198.18.0.3/24", gateway="198.18.0.1")
    listening.run(["ip", "route", "add", "local", str(OPEN_PREFIX), "dev", "lo"])
    silent.run(["ip", "route", "add", "local", str(DROP_PREFIX), "dev", "lo"])
    router.run(["ip", "route", "add", str(OPEN_PREFIX), "via", "198.18.0.2"])
    router.run(["ip", "route", "add", str(DROP_PREFIX), "via", "198.18.0.3"])
    silent.nft("table inet lab {\n chain input {\n  type filter hook input priority 0;\n  meta l4proto tcp drop\n }\n}\n")
    for port in (22, 445):
        start_listener_any(listening, port)
    return console, (slow_down(router, (listening, silent)) if wan else "")


WAN_DELAY_MS, WAN_LOSS_PCT = 100, 2
WAN_MARK, WAN_TABLE, WAN_RETURN_TABLE = 1, 100, 200


def slow_down(router: Host, agents: tuple[Host, ...]) -> str:
    """Delay and drop the router's traffic both ways: netem on its interface, or the userspace relay where
    the kernel has no netem (one TUN device that both directions are routed through). The agents answer the
    console through the router too (not straight across the shared segment), so both directions pass it."""
    for host in agents:
        host.run(["ip", "route", "add", "198.18.0.10/32", "via", "198.18.0.1"])
    netem = ["netem", "delay", f"{WAN_DELAY_MS}ms", "loss", f"{WAN_LOSS_PCT}%"]
    if router.run(["tc", "qdisc", "add", "dev", "eth0", "root", *netem], check=False).returncode == 0:
        return "tc netem"
    relay = router.spawn([sys.executable, str(REPO / "tests" / "lab" / "wan_relay.py"), "wan0", str(WAN_DELAY_MS),
                          str(WAN_LOSS_PCT), str(WAN_MARK)])  # fmt: skip
    deadline = time.monotonic() + 20
    while "wan0" not in router.run(["ip", "link", "show"], check=False).stdout:
        if time.monotonic() > deadline or relay.poll() is not None:
            raise LabError("the WAN relay did not start (no /dev/net/tun?)")
        time.sleep(0.1)
    for setting in ("net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0"):
        router.run(["sysctl", "-qw", setting])
    router.run(["ip", "link", "set", "wan0", "up"])
    router.run(["sysctl", "-qw", "net.ipv4.conf.wan0.rp_filter=0"])
    for prefix, agent in ((OPEN_PREFIX, "198.18.0.2"), (DROP_PREFIX, "198.18.0.3")):
        router.run(["ip", "route", "replace", str(prefix), "dev", "wan0"])  # into the relay...
        router.run(["ip", "route", "add", str(prefix), "via", agent, "table", str(WAN_TABLE)])  # ...and out of it
    router.run(["ip", "route", "add", "198.18.0.0/24", "dev", "eth0", "table", str(WAN_TABLE)])
    router.run(["ip", "route", "add", "198.18.0.10", "dev", "wan0", "table", str(WAN_RETURN_TABLE)])
    router.run(["ip", "rule", "add", "fwmark", str(WAN_MARK), "lookup", str(WAN_TABLE), "pref", "100"])
    router.run(["ip", "rule", "add", "iif", "eth0", "to", "198.18.0.10", "lookup", str(WAN_RETURN_TABLE), "pref", "200"])
    return "userspace relay (this kernel has no sch_netem)"


def start_listener_any(host: Host, port: int) -> None:
    """A listener on every address of the namespace (the local route makes the whole prefix ours)."""
    code = (
        "import socket,signal,sys,threading\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        f"s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',{port}));s.listen(4096)\n"
        "while True:\n    c,_=s.accept();c.close()\n"
    )
    host.spawn([sys.executable, "-c", code])
    host.lab.wait_tcp(host, port, address=str(next(OPEN_PREFIX.hosts())))


def measure(console: Host, argv: list[str]) -> dict[str, float]:
    command = ["ip", "netns", "exec", console.ns, sys.executable, "-c", MEASURE, *argv]
    out = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


NMAP_SCANS = {"syn": ["-sS", "-T5", "--min-rate", "10000"], "connect": ["-sT", "-T4"]}
TUNED = {"syn": ["--retries", "0"], "connect": ["--concurrency", "1024"]}
"""What an admin who knows the network may add: no retries for SYN on a LAN that loses nothing, more connects in
flight. (`--retries 0` for connect probes is no tuning: with 1,024 in flight, some resets are read after the
100 ms wait and would be `filtered` with nothing to retry them.)"""


def truth(address: str, port: int) -> str:
    return "open" if port in (22, 445) and ipaddress.ip_address(address) in OPEN_PREFIX else \
        "closed" if ipaddress.ip_address(address) in OPEN_PREFIX else "filtered"  # fmt: skip


TABLE_LINE = re.compile(r"^[A-Z]+\s+console -> \S+:(\d+)\s+(\S+)\s+(\S+)")


def run_netcheck(console: Host, workdir: Path, method: str, options: list[str], targets: Path, *, output: str = "json") -> Run:
    report = workdir / f"netcheck-{method}-{len(options)}.{output}"
    argv = [sys.executable, "-m", "netcheck", "check", "--agents-file", str(targets), "--method", method,
            *options, "--no-identify", "--format", output, "--output", str(report), "--quiet"]  # fmt: skip
    figures = measure(console, argv)
    if figures["rc"] not in (0, 1):
        raise SystemExit(f"netcheck --method {method} {' '.join(options)} exited {figures['rc']}")
    found: list[tuple[str, int, str]] = []
    if output == "json":
        found = [(c["address"], c["port"], c["state"]) for c in json.loads(report.read_text())["checks"] if c["kind"] == "tcp"]
    else:  # the table's first line of each link: verdict, link, address, state
        for line in report.read_text().splitlines():
            if match := TABLE_LINE.match(line):
                found.append((match[2], int(match[1]), match[3]))
    states = {(address, port): {"unreachable": "filtered"}.get(state, state) for address, port, state in found}
    options = [*options, "--format table"] if output == "table" else options
    return Run(
        " ".join(["netcheck --method", method, *options, "--no-identify"]), figures["wall_s"], figures["maxrss_mb"], states
    )


def run_nmap(console: Host, workdir: Path, scan: list[str], targets: Path) -> Run:
    xml = workdir / f"nmap{''.join(scan)}.xml"
    argv = ["nmap", "-Pn", "-n", *scan, "-p", ",".join(map(str, PORTS)), "-iL", str(targets), "-oX", str(xml)]
    figures = measure(console, argv)
    states: dict[tuple[str, int], str] = {}
    for host in ET.parse(xml).getroot().iter("host"):  # noqa: S314 - our own nmap's output
        address = str(host.find("address").get("addr"))  # type: ignore[union-attr]
        for port in host.iter("port"):
            states[(address, int(port.get("portid", "0")))] = str(port.find("state").get("state"))  # type: ignore[union-attr]
    return Run("nmap " + " ".join(scan), figures["wall_s"], figures["maxrss_mb"], states)


def agreement(ours: Run, theirs: Run) -> tuple[int, int, list[str]]:
    keys = set(ours.states) | set(theirs.states)
    differ = sorted(
        f"{k[0]}:{k[1]} netcheck={ours.states.get(k)} nmap={theirs.states.get(k)} truth={truth(*k)}"
        for k in keys
        if ours.states.get(k) != theirs.states.get(k)
    )
    return len(keys) - len(differ), len(keys), differ


def correct(run: Run) -> int:
    return sum(state == truth(*key) for key, state in run.states.items())


def benchmark(
    count: int, *, wan: bool = False, tuned: bool = True, methods: tuple[str, ...] = ("syn", "connect"), repeat: int = 1
) -> list[dict[str, object]]:
    """Build the lab, run the scans, tear down; one row per scan. With `wan`, defaults only and nmap without
    --max-retries 1 (see the module docstring)."""
    sweep_stale_namespaces()
    # netcheck's bytecode, as pip writes it at install (under PYTHONDONTWRITEBYTECODE a checkout would compile
    # every changed module on every run, which no installed netcheck does).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "netcheck")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        lab = Lab(workdir)
        try:
            console, emulation = build(lab, wan=wan)
            targets = workdir / "agents.txt"
            targets.write_text("\n".join(agents(count)) + "\n")
            rows: list[dict[str, object]] = []
            for method in methods:
                option_sets: list[list[str]] = [[]] + ([TUNED[method]] if tuned and not wan else [])
                scans = [partial(run_netcheck, console, workdir, method, options, targets) for options in option_sets]
                if tuned and not wan and method == "syn":  # the table writer (netcheck's default format) at scale, too
                    scans += [
                        partial(run_netcheck, console, workdir, method, options, targets, output="table")
                        for options in option_sets
                    ]
                nmap = NMAP_SCANS[method] + ([] if wan else ["--max-retries", "1"])
                scans.append(partial(run_nmap, console, workdir, nmap, targets))
                # Round after round, each scan once a round: a slow spell of the machine hits every scan alike.
                rounds = [[scan() for scan in scans] for _ in range(repeat)]
                *ours, theirs = [repeated([r[index] for r in rounds]) for index in range(len(scans))]
                for run in ours:
                    agree, total, differ = agreement(run, theirs)
                    ratio = round(run.wall_s / theirs.wall_s, 2)
                    rows.append(row(run, emulation, agree=agree, compared=total, ratio=ratio, differ=differ[:10]))
                rows.append(row(theirs, emulation))
            return rows
        finally:
            lab.close()


def row(run: Run, emulation: str, **more: object) -> dict[str, object]:
    figures = {"scan": run.name, "links": len(run.states), "wall_s": run.wall_s, "peak_rss_mb": run.maxrss_mb}
    if len(run.walls) > 1:
        figures["walls"] = list(run.walls)
    return {**figures, "correct": correct(run), **more, "network": emulation or "lab"}


def machine() -> str:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"{platform.node()}: {os.cpu_count()} CPUs, load average {load}, CPU speed {cpu_speed():.2f} s, {when}"


def cpu_speed() -> float:
    """Seconds for a fixed Python loop (3,000,000 additions): on a shared VM the CPU itself changes speed from
    minute to minute, and netcheck is CPU-bound where nmap mostly waits, so this is printed with every table."""
    start = time.perf_counter()
    total = 0
    for number in range(3_000_000):
        total += number
    return time.perf_counter() - start


def wall(r: dict[str, object]) -> str:
    """The wall time, and with repeats its median and range."""
    walls = r.get("walls")
    if isinstance(walls, list) and len(walls) > 1:
        return f"{r['wall_s']:.2f} ({min(walls):.2f}–{max(walls):.2f})"
    return str(r["wall_s"])


def markdown(count: int, rows: list[dict[str, object]]) -> str:
    """docs/benchmarks.md's Scale table."""
    lines = ["| scan | links | wall s | peak RSS MB | agree with nmap | right | time vs nmap |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        agree = f"{r['agree']}/{r['compared']}" if "agree" in r else ""
        cells = [
            f"`{r['scan']}`",
            r["links"],
            wall(r),
            r["peak_rss_mb"],
            agree,
            f"{r['correct']}/{r['links']}",
            r.get("ratio", ""),
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10000, help="number of agents (default 10000)")
    parser.add_argument("--wan", action="store_true", help="behind 100 ms each way and 2 %% loss; defaults only")
    parser.add_argument("--no-tuned", action="store_true", help="netcheck's default options only")
    parser.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    parser.add_argument("--method", choices=["syn", "connect"], action="append", help="only this method (repeatable)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run every scan N times, round after round: median wall time and range"
    )
    args = parser.parse_args()
    if not 1 <= args.agents <= 32000:
        parser.error("--agents must be between 1 and 32000")
    before = machine()
    methods = tuple(args.method or ("syn", "connect"))
    rows = benchmark(args.agents, wan=args.wan, tuned=not args.no_tuned, methods=methods, repeat=max(1, args.repeat))
    network = rows[0]["network"]
    title = f"{args.agents} agents x {len(PORTS)} ports ({args.agents * len(PORTS)} links), network: {network}"
    if args.format == "json":
        print(json.dumps({"title": title, "machine_before": before, "machine_after": machine(), "rows": rows}, indent=2))
        return
    if args.format == "markdown":
        print(f"{title}\n\nMachine: {before}; after the run: {machine().split(': ', 1)[1]}\n")
        print(markdown(args.agents, rows))
        return
    from tabulate import tabulate  # noqa: PLC0415

    table = [
        [r["scan"], r["links"], wall(r), r["peak_rss_mb"], f"{r['agree']}/{r['compared']}" if "agree" in r else "", *right]
        for r in rows
        for right in [(f"{r['correct']}/{r['links']}", r.get("ratio", ""))]
    ]
    print(title)
    print(f"machine: {before}; after: {machine().split(': ', 1)[1]}")
    print(tabulate(table, headers=["scan", "links", "wall s", "peak RSS MB", "agree with nmap", "right", "time vs nmap"]))
    for row in rows:
        for line in row.get("differ", []):  # type: ignore[attr-defined]
            print("differs:", line)


if __name__ == "__main__":
    main()
