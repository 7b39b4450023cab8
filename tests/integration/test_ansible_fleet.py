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
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.netns import Host, Lab, sh
from tests.lab.services import start_dnsmasq

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "contrib" / "ansible" / "netcheck.yml"
CONTROLLER = "198.18.0.10"
MS = "198.18.0.20"
MS_NAME = "ms.lab.test"
STALE_MS = "198.18.0.29"  # nobody there
DNS = "198.18.0.53"
AGENTS = {f"agent-{n}": f"198.18.0.{60 + n}" for n in range(1, 6)}
DROPS_9876, STALE_HOSTS, POWERED_OFF = "agent-2", "agent-3", "agent-5"


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    assert found, "ansible-playbook is not installed (pip install -e '.[test]')"
    return found


def start_agent(lab: Lab, name: str, address: str, workdir: Path, authorized_key: Path) -> Host:
    """A namespace with eth0, its own /etc/hosts and resolv.conf, and sshd in a UTS namespace named `name`."""
    host = lab.add_host(name, f"{address}/24")
    stale = f"{STALE_MS}\t{MS_NAME}\n" if name == STALE_HOSTS else ""
    host.etc_file("hosts", f"127.0.0.1 localhost\n{stale}")
    host.etc_file("resolv.conf", f"nameserver {DNS}\nsearch lab.test\noptions timeout:1 attempts:1\n")
    home = workdir / f"sshd-{name}"
    home.mkdir()
    key = home / "host_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    config = home / "sshd_config"
    config.write_text(
        f"Port 22\nListenAddress {address}\nHostKey {key}\nPidFile none\nAuthorizedKeysFile {authorized_key}\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nLogLevel ERROR\nSubsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    host.spawn(["unshare", "--uts", "sh", "-c", f"hostname {name} && exec /usr/sbin/sshd -D -e -f {config}"])
    lab.wait_tcp(host, 22)
    return host


@pytest.fixture
def fleet(small_lab: Lab, tmp_path: Path) -> tuple[Host, Path]:
    lab = small_lab
    key = tmp_path / "id_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", "netcheck-fleet-test"])
    start_dnsmasq(lab.add_host("dns", f"{DNS}/24"), DNS, tmp_path, {MS_NAME: MS})
    lab.add_host("ms", f"{MS}/24")  # nothing listens on 9876 yet: a reset, the pre-install pass
    controller = lab.add_host("ctl", f"{CONTROLLER}/24")
    for name, address in AGENTS.items():
        start_agent(lab, name, address, tmp_path, key.with_suffix(".pub"))
    lab.hosts[DROPS_9876].nft(
        "table inet lab {\n chain output {\n  type filter hook output priority 0;\n"
        f"  ip daddr {MS} tcp dport 9876 drop\n }}\n}}\n"
    )
    lab.hosts[POWERED_OFF].run(["ip", "link", "set", "eth0", "down"])
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        f"[management_server]\n{MS_NAME}\n\n[linux_agents]\n"
        + "".join(f"{name} ansible_host={address}\n" for name, address in AGENTS.items())
        + "\n[windows_agents]\n\n[all:vars]\nansible_user=root\nansible_python_interpreter=/usr/bin/python3\n"
        f"ansible_ssh_private_key_file={key}\n"
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5'\n"
    )
    return controller, inventory


def test_the_playbook_checks_every_agent_and_reports_the_unreachable_one(
    fleet: tuple[Host, Path], pyz: Path, tmp_path: Path
) -> None:
    controller, inventory = fleet
    out = tmp_path / "out"
    remote_tmp = tmp_path / "remote-tmp"  # the agents share this machine's disk: the playbook must leave it empty
    remote_tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env |= {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local")}
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
