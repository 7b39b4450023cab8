"""Scale benchmark: netcheck against nmap on N agents behind one router hop, in a namespace lab.

    python3 benchmarks/scale.py --agents 10000        (as root; needs iproute2, nftables, nmap)

The lab: a console, a router, and two agent namespaces that each take a whole address prefix as local
(`ip route add local PREFIX dev lo`), so N agents cost no per-address setup and the console keeps a single
neighbour entry (the router). Three quarters of the agents listen on 22 and 445 and reset 25001; a quarter
drop everything. netcheck probes each agent's links of the connection matrix (an agent of unknown OS has
three: 445, 25001 and 22), and nmap scans the same ports of the same addresses, in the same run:

    netcheck check --method syn        vs  nmap -Pn -sS -T5 --min-rate 10000 --max-retries 1
    netcheck check --method connect    vs  nmap -Pn -sT -T4 --max-retries 1

It prints wall time, peak RSS and, per method, how many links agree with nmap (netcheck's `unreachable`
counts as nmap's `filtered`: nmap has no such state).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab.netns import Host, Lab, sweep_stale_namespaces  # noqa: E402

OPEN_PREFIX = ipaddress.ip_network("198.19.0.0/17")  # up to 32,766 listening agents
DROP_PREFIX = ipaddress.ip_network("198.19.128.0/17")  # up to 32,766 silent agents
PORTS = (22, 445, 25001)

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


def agents(count: int) -> list[str]:
    """Every fourth agent silent, the others listening."""
    opened = OPEN_PREFIX.hosts()
    dropped = DROP_PREFIX.hosts()
    return [str(next(dropped) if index % 4 == 3 else next(opened)) for index in range(count)]


def build(lab: Lab) -> Host:
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
    return console


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
    out = console.run([sys.executable, "-c", MEASURE, *argv], check=False)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


# netcheck gets the patience nmap gets: -T5 waits at most 300 ms for an answer, -T4 at most 1250 ms; one retry.
NETCHECK_OPTIONS = {
    "syn": ["--timeout", "0.3", "--retries", "1", "--rate", "100000"],
    "connect": ["--timeout", "1", "--retries", "1", "--concurrency", "4096"],
}


def run_netcheck(console: Host, workdir: Path, method: str, targets: Path) -> Run:
    report = workdir / f"netcheck-{method}.json"
    argv = [sys.executable, "-m", "netcheck", "check", "--agents-file", str(targets), "--method", method,
            *NETCHECK_OPTIONS[method], "--no-identify", "--format", "json", "--output", str(report), "--quiet"]  # fmt: skip
    figures = measure(console, argv)
    if figures["rc"] not in (0, 1):
        raise SystemExit(f"netcheck --method {method} exited {figures['rc']}")
    states = {
        (c["address"], c["port"]): {"unreachable": "filtered"}.get(c["state"], c["state"])
        for c in json.loads(report.read_text())["checks"]
        if c["kind"] == "tcp"
    }
    return Run(f"netcheck --method {method}", figures["wall_s"], figures["maxrss_mb"], states)


def run_nmap(console: Host, workdir: Path, scan: list[str], targets: Path) -> Run:
    xml = workdir / f"nmap{''.join(scan)}.xml"
    argv = [
        "nmap",
        "-Pn",
        "-n",
        *scan,
        "--max-retries",
        "1",
        "-p",
        ",".join(map(str, PORTS)),
        "-iL",
        str(targets),
        "-oX",
        str(xml),
    ]
    figures = measure(console, argv)
    states = {}
    for host in ET.parse(xml).getroot().iter("host"):  # noqa: S314 - our own nmap's output
        address = host.find("address").get("addr")  # type: ignore[union-attr]
        for port in host.iter("port"):
            states[(address, int(port.get("portid", "0")))] = port.find("state").get("state")  # type: ignore[union-attr]
    return Run("nmap " + " ".join(scan), figures["wall_s"], figures["maxrss_mb"], states)


def agreement(ours: Run, theirs: Run) -> tuple[int, int, list[str]]:
    keys = set(ours.states) | set(theirs.states)
    differ = sorted(
        f"{k[0]}:{k[1]} netcheck={ours.states.get(k)} nmap={theirs.states.get(k)}"
        for k in keys
        if ours.states.get(k) != theirs.states.get(k)
    )
    return len(keys) - len(differ), len(keys), differ


def benchmark(count: int) -> list[dict[str, object]]:
    """Build the lab, run the four scans, tear down; one row per scan."""
    sweep_stale_namespaces()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        lab = Lab(workdir)
        try:
            console = build(lab)
            targets = workdir / "agents.txt"
            targets.write_text("\n".join(agents(count)) + "\n")
            rows = []
            for method, scan in (("syn", ["-sS", "-T5", "--min-rate", "10000"]), ("connect", ["-sT", "-T4"])):
                ours = run_netcheck(console, workdir, method, targets)
                theirs = run_nmap(console, workdir, scan, targets)
                agree, total, differ = agreement(ours, theirs)
                for run in (ours, theirs):
                    rows.append({"scan": run.name, "links": len(run.states), "wall_s": run.wall_s, "peak_rss_mb": run.maxrss_mb})
                rows[-2].update(agree=agree, compared=total, ratio=round(ours.wall_s / theirs.wall_s, 2), differ=differ[:10])
            return rows
        finally:
            lab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10000, help="number of agents (default 10000)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not 1 <= args.agents <= 32000:
        parser.error("--agents must be between 1 and 32000")
    rows = benchmark(args.agents)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    from tabulate import tabulate  # noqa: PLC0415

    table = [
        [
            r["scan"],
            r["links"],
            r["wall_s"],
            r["peak_rss_mb"],
            f"{r['agree']}/{r['compared']}" if "agree" in r else "",
            r.get("ratio", ""),
        ]
        for r in rows
    ]
    print(f"{args.agents} agents x {len(PORTS)} ports ({args.agents * len(PORTS)} links)")
    print(tabulate(table, headers=["scan", "links", "wall s", "peak RSS MB", "agree with nmap", "time vs nmap"]))
    for row in rows:
        for line in row.get("differ", []):  # type: ignore[attr-defined]
            print("differs:", line)


if __name__ == "__main__":
    main()
