"""contrib/ansible/netcheck.yml driven by a real ansible-playbook over SSH against five agents of a namespace lab.

Each agent is a namespace with its own sshd and its own host name (a UTS namespace), resolving the management
server through a name server of the lab:
  agent-1, agent-4  healthy
  agent-2           its own firewall drops TCP 9876 to the management server
  agent-3           its hosts file holds a stale address for the management server
  agent-5           powered off (its link is down): Ansible cannot reach it
The controller is a namespace of its own; the management server resets 9876 (nothing installed yet: a pass).
The merged report must show exactly those failures, attributed to those agents, and agent-5 as an error row.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.lab.fleet import (
    DROPS_9876,
    MS,
    MS_NAME,
    PLAYBOOK,
    POWERED_OFF,
    STALE_HOSTS,
    STALE_MS,
    agent_addresses,
    ansible_env,
    ansible_playbook,
    build_fleet,
)
from tests.lab.netns import Host, Lab

pytestmark = pytest.mark.lab

AGENTS = agent_addresses(5)


@pytest.fixture
def fleet(small_lab: Lab, tmp_path: Path) -> tuple[Host, Path]:
    return build_fleet(small_lab, tmp_path)


def test_the_playbook_checks_every_agent_and_reports_the_unreachable_one(
    fleet: tuple[Host, Path], pyz: Path, tmp_path: Path
) -> None:
    controller, inventory = fleet
    out = tmp_path / "out"
    remote_tmp = tmp_path / "remote-tmp"  # the agents share this machine's disk: the playbook must leave it empty
    remote_tmp.mkdir()
    env = ansible_env(tmp_path)
    started = time.monotonic()
    run = subprocess.run(
        ["ip", "netns", "exec", controller.ns, ansible_playbook(), "-i", str(inventory), str(PLAYBOOK), "-f", "5",
         "-e", f"netcheck_pyz={pyz}", "-e", f"netcheck_output_dir={out}", "-e", f"netcheck_remote_tmp={remote_tmp}"],
        capture_output=True, text=True, timeout=600, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    took = time.monotonic() - started
    (tmp_path / "ansible.log").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]  # netcheck's exit 1 is a result, not a failure
    assert "unreachable=0" in run.stdout  # agent-5's unreachability was taken in hand, not left to fail the run

    site = json.loads((out / "site.json").read_text())
    assert sorted(v["hostname"] for v in site["merged_from"]) == ["agent-1", "agent-2", "agent-3", "agent-4"]
    bad = sorted(
        (c.get("source_host"), c["kind"], c["target"], c["verdict"]) for c in site["checks"] if c["verdict"] in ("fail", "error")
    )
    assert bad == [
        (DROPS_9876, "tcp", MS_NAME, "fail"),
        (STALE_HOSTS, "name", MS_NAME, "fail"),
        (STALE_HOSTS, "tcp", MS_NAME, "fail"),
        (POWERED_OFF, "host", POWERED_OFF, "error"),
    ]
    checks = {(c.get("source_host"), c["kind"], c["target"]): c for c in site["checks"]}
    assert checks[(DROPS_9876, "tcp", MS_NAME)]["state"] in ("filtered", "blocked-locally")
    assert checks[(STALE_HOSTS, "tcp", MS_NAME)]["address"] == STALE_MS
    assert MS in checks[(STALE_HOSTS, "name", MS_NAME)]["remediation"]  # the hosts line to write
    for healthy in ("agent-1", "agent-4"):
        link = checks[(healthy, "tcp", MS_NAME)]
        assert (link["address"], link["state"], link["verdict"]) == (MS, "closed", "pass")
    row = checks[(POWERED_OFF, "host", POWERED_OFF)]
    assert row["state"] == "unreachable" and "unreachable" in row["detail"]

    markdown, html = (out / "site.md").read_text(), (out / "site.html").read_text()
    assert "not checked: netcheck did not run on agent-5 (unreachable:" in markdown
    assert "agent-5" in html and "agent-3" in html
    assert sorted(p.name for p in (out / "agents").iterdir()) == ["agent-1.json", "agent-2.json", "agent-3.json", "agent-4.json"]
    assert list(remote_tmp.iterdir()) == []  # everything copied to the agents was removed
    timing = next(line for line in run.stdout.splitlines() if "netcheck took" in line)
    print(f"\nfleet of {len(AGENTS)} agents at forks 5: the playbook took {took:.1f} s;{timing.split('merged,', 1)[-1]}")
