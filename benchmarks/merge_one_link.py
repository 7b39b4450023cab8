"""Merge benchmark: a report of N checks of one link (one id N times) merged with another report.

    python3 benchmarks/merge_one_link.py --checks 20000 200000

Times `merge_with_notes` alone (the reports are built in memory first) and, for the first size, the whole
`netcheck merge` of the saved files (reading and writing the JSON included). Nothing is probed: no lab needed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from netcheck import cli  # noqa: E402
from netcheck.model.checks import Vantage  # noqa: E402
from netcheck.report.json import parse_report, render_json  # noqa: E402
from netcheck.report.merge import merge_with_notes  # noqa: E402

FIXTURE = REPO / "tests" / "unit" / "fixtures" / "report_agent_lin.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--checks", type=int, nargs="+", default=[20_000, 200_000])
    args = parser.parse_args()
    base = parse_report(FIXTURE.read_text())
    other = replace(base, vantage=Vantage("other", base.vantage.role, base.vantage.os, ("198.18.1.2",), base.started_at))
    for size in args.checks:
        one_link = replace(base, results=(base.results[0],) * size)
        started = time.perf_counter()
        merged = merge_with_notes([one_link, other], tool_version="bench").report
        took = time.perf_counter() - started
        print(f"{size:>8} checks of one link: merge_with_notes {took:.3f} s ({len(merged.results)} checks out)")
    size = args.checks[0]
    with tempfile.TemporaryDirectory(prefix="netcheck-merge-") as scratch:
        folder = Path(scratch)
        (folder / "a.json").write_text(render_json(replace(base, results=(base.results[0],) * size)))
        (folder / "b.json").write_text(render_json(other))
        started = time.perf_counter()
        files = [str(folder / "a.json"), str(folder / "b.json")]
        code = cli.main(["merge", *files, "--format", "json", "--output", str(folder / "m.json")])
        took = time.perf_counter() - started
        megabytes = (folder / "a.json").stat().st_size / 1e6
        print(f"netcheck merge of a {megabytes:.1f} MB report of {size} checks of one link: {took:.2f} s (exit {code})")


if __name__ == "__main__":
    main()
