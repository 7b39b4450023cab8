"""Start-up benchmark: the median wall time of 5 whole-process runs of `netcheck --help` and bare `netcheck`.

    python3 benchmarks/startup.py [--runs 5] [--command "netcheck"]

Targets on a 2-core machine: --help at most 0.2 s, bare `netcheck` at most 0.5 s. Each run is a fresh
process (interpreter start, imports, output), as an admin would see it; one warm-up run comes first so
the page cache and the bytecode cache are warm (it writes .pyc files, as pip does at install). By default it
runs `python3 -m netcheck` from this checkout; --command runs an installed entry point instead.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"--help": 0.2, "": 0.5}


def wall(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    return time.perf_counter() - start


def warm_up(argv: list[str]) -> None:
    """One run that may write bytecode (even under PYTHONDONTWRITEBYTECODE): an installed package has its .pyc
    files from pip; a checkout would otherwise compile every module on every run."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    wall(argv, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--command", default=f"{shlex.quote(sys.executable)} -m netcheck", help="how to start netcheck")
    args = parser.parse_args()
    base = shlex.split(args.command)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load}; median of {args.runs} runs of `{args.command} ...`")
    floor = statistics.median([wall([sys.executable, "-c", "pass"]) for _ in range(args.runs)])
    print(f"{'python3 -c pass':<16} median {floor:.3f} s  (the interpreter alone, with this machine's site-packages)")
    for extra, target in TARGETS.items():
        argv = base + ([extra] if extra else [])
        warm_up(argv)
        times = [wall(argv) for _ in range(args.runs)]
        median = statistics.median(times)
        verdict = "ok" if median <= target else "over"
        label = f"netcheck {extra}".strip()
        print(f"{label:<16} median {median:.3f} s  (min {min(times):.3f}, max {max(times):.3f}; target {target} s: {verdict})")


if __name__ == "__main__":
    main()
