"""HTML report benchmark: size of the page and the time headless Chromium takes to draw it, for a large fleet.

    python3 benchmarks/html_render.py                    (10,000 agents)
    python3 benchmarks/html_render.py --agents 1000 --agents 10000 --keep /tmp/pages

A synthetic report, made without any network: the management server's plan for N agents given by address (OS
unknown, so 445, 25001 and 22 each, and the access checks that are skipped without --user), its links judged
by the real classifier from made-up replies. A quarter of the agents drop everything (silence); the rest answer
445 and 22 and refuse 25001 (nothing listens yet: a pass before installation). The page is rendered as
`netcheck ... --format html` writes it, then drawn by `chromium --headless --screenshot`; the time printed is
Chromium's whole run (start-up included) and, beside it, the same for an empty page, so the difference is what
the report costs; "table drawn" is the page's own clock, from the navigation's start until its script has drawn
the table. Best of three runs each. Nothing is asserted: the figures are for the README and the notes.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netcheck.classify import classify_tcp
from netcheck.model.checks import Report, Result, Target, Topology, Vantage
from netcheck.model.kinds import Kind, Phase, Role, State, Verdict
from netcheck.model.observations import Observation, Reply, TcpReply
from netcheck.plan.planner import plan_checks
from netcheck.report.html import render_html

SILENCE = TcpReply("syn", Reply.NONE, attempts=2, timeout_ms=1000.0)
OPEN = TcpReply("syn", Reply.SYN_ACK, ttl=64, rtt_ms=0.2)
REFUSED = TcpReply("syn", Reply.RST, ttl=64, rtt_ms=0.1)


def agent_address(index: int) -> str:
    return f"198.{18 + index // 62500}.{index // 250 % 250 + 1}.{index % 250 + 1}"


def fleet_report(agents: int) -> Report:
    """The management server's report on `agents` agents: a quarter silent, the rest refusing 25001."""
    topology = Topology(
        Target("198.18.0.20", Role.MANAGEMENT_SERVER),
        Target("198.18.0.22", Role.LICENSE_SERVER),
        tuple(Target(agent_address(i), Role.AGENT) for i in range(1, agents + 1)),
    )
    silent = {agent_address(i) for i in range(1, agents + 1) if i % 4 == 0}
    results: list[Result] = []
    for check in plan_checks(topology, Role.MANAGEMENT_SERVER):
        address = check.target.name
        if check.kind is Kind.TCP and not check.skip_reason:
            if address in silent:
                observation = Observation(State.FILTERED, address, SILENCE)
            elif check.port == 25001:
                observation = Observation(State.CLOSED, address, REFUSED)
            else:
                observation = Observation(State.OPEN, address, OPEN)
            results.append(classify_tcp(check, observation, phase=Phase.PRE_INSTALL))
        elif check.kind is Kind.ACCESS:
            results.append(Result(check, State.NOT_PROBED, Verdict.SKIP, "not checked: no --user given"))
        else:
            results.append(Result(check, State.NOT_APPLICABLE, Verdict.PASS, "as expected"))
    vantage = Vantage("ms1", Role.MANAGEMENT_SERVER, "Linux", ("198.18.0.20",))
    return Report("bench", "2026-12-07T00:00:00+00:00", 1.0, vantage, Phase.PRE_INSTALL, "syn", tuple(results))


def chromium_draw(chromium: str, page: Path, workdir: Path) -> float:
    """Seconds for headless Chromium to load `page` and write a screenshot of it (start-up included)."""
    shot = workdir / "shot.png"
    shot.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={workdir / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if not shot.exists():
        sys.exit(f"chromium wrote no screenshot of {page}")
    return elapsed


def drawn_ms(chromium: str, page: Path, workdir: Path) -> int:
    """Milliseconds from the navigation's start until the page's script had drawn its table (the page records it
    in <html data-drawn-ms>), read back from the DOM Chromium dumps."""
    run = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", f"--user-data-dir={workdir / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    marker = 'data-drawn-ms="'
    if marker not in run.stdout:
        sys.exit(f"the page's script did not draw the table of {page}")
    return int(run.stdout.split(marker, 1)[1].split('"', 1)[0])


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--agents", type=int, action="append", help="fleet sizes (repeatable; default 10000)")
    parser.add_argument("--keep", type=Path, help="keep the pages (and a screenshot) in this directory")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    print(f"machine: {machine()}")
    print(
        f"{'agents':>7} {'checks':>7} {'fail':>6} {'render s':>9} {'size MB':>8} {'chromium s':>11} {'empty page s':>13} "
        f"{'table drawn ms':>15}"
    )
    with tempfile.TemporaryDirectory(prefix="netcheck-html-") as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        empty = workdir / "empty.html"
        empty.write_text("<!DOCTYPE html><title>empty</title>")
        chromium_draw(chromium, empty, workdir)  # a first run fills the profile
        for agents in args.agents or [10000]:
            report = fleet_report(agents)
            started = time.perf_counter()
            text = render_html(report)
            render_s = time.perf_counter() - started
            page = workdir / f"report-{agents}.html"
            page.write_text(text)
            draw_s = min(chromium_draw(chromium, page, workdir) for _ in range(3))
            empty_s = min(chromium_draw(chromium, empty, workdir) for _ in range(3))
            size = page.stat().st_size / 1e6
            table_ms = min(drawn_ms(chromium, page, workdir) for _ in range(3))
            fails = report.count(Verdict.FAIL)
            print(
                f"{agents:>7} {len(report.results):>7} {fails:>6} {render_s:>9.2f} {size:>8.2f} {draw_s:>11.2f} "
                f"{empty_s:>13.2f} {table_ms:>15}"
            )


if __name__ == "__main__":
    main()
