"""Fleet benchmark: contrib/ansible/netcheck.yml over SSH against N healthy agents of a namespace lab.

    python3 benchmarks/fleet.py --agents 10 --forks 5        (as root, after bash tests/run.sh)

Every agent is a namespace with its own sshd and host name (tests/lab/fleet.py); the controller is a
namespace too. It prints the playbook's wall time, the time of each task summed over the agents (Ansible's
profile_tasks callback), the netcheck run on each agent, and the per-agent cost that docs/benchmarks.md's estimate
for large fleets is built on. All agents and the controller share this machine's cores, so the figures are
an upper bound for agents that have a CPU of their own.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab.fleet import PLAYBOOK, ansible_env, ansible_playbook, build_fleet  # noqa: E402
from tests.lab.netns import Lab, sweep_stale_namespaces  # noqa: E402
from tests.lab.pyz import built_pyz  # noqa: E402

TASK_TIME = re.compile(r"^(?P<task>.+?) -+ (?P<seconds>[\d.]+)s$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--forks", type=int, default=5)
    args = parser.parse_args()
    pyz = built_pyz()
    sweep_stale_namespaces()
    with tempfile.TemporaryDirectory(prefix="netcheck-fleet-") as scratch:
        workdir = Path(scratch)
        lab = Lab(workdir)
        try:
            lab.build_switch()
            controller, inventory = build_fleet(lab, workdir, args.agents, faults=False)
            out, remote = workdir / "out", workdir / "remote"
            remote.mkdir()
            env = ansible_env(workdir, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
            started = time.monotonic()
            run = subprocess.run(
                ["ip", "netns", "exec", controller.ns, ansible_playbook(), "-i", str(inventory), str(PLAYBOOK),
                 "-f", str(args.forks), "-e", f"netcheck_pyz={pyz}", "-e", f"netcheck_output_dir={out}",
                 "-e", f"netcheck_remote_tmp={remote}"],
                capture_output=True, text=True, check=False, env=env, cwd=workdir,
            )  # fmt: skip
            wall = time.monotonic() - started
        finally:
            lab.close()
        if run.returncode != 0:
            sys.exit(f"the playbook failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
        site = json.loads((out / "site.json").read_text())
    tasks = [(m["task"], float(m["seconds"])) for line in run.stdout.splitlines() if (m := TASK_TIME.match(line.strip()))]
    reports = len(site.get("merged_from") or [site["vantage"]])
    print(f"agents {args.agents}, forks {args.forks}, file {pyz.stat().st_size / 1e6:.1f} MB")
    print(f"playbook wall time: {wall:.1f} s; netcheck's own checks: {site['duration_s'] / reports:.1f} s per agent")
    print("slowest tasks (wall time of the task across all agents):")
    for task, seconds in sorted(tasks, key=lambda item: -item[1])[:8]:
        print(f"  {seconds:7.2f} s  {task}")
    waves = -(-args.agents // args.forks)
    print(f"per wave of {args.forks} agents: {wall / waves:.1f} s ({waves} waves)")


if __name__ == "__main__":
    main()
