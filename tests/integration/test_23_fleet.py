"""The fleet path of issue 23, run for real: contrib/ansible/netcheck.yml over SSH against agent namespaces, on
ansible-core alone (every collection hidden: the `ansible` package's ansible.windows is not found), with a
Linux-only inventory (no windows_agents group at all) whose variables must reach the agents:

  agent-1            healthy
  agent-2            /tmp mounted noexec: the playbook must find another working folder (/var/tmp)
  agent-3, agent-4   both call themselves `vm` (their UTS host name): both kept, as vm and vm#2
  agent-5, agent-6   hostile: their `netcheck_python` writes random bytes, or JSON nested 100,000 deep, where the
                     report goes
  agent-7            /tmp noexec and netcheck_remote_tmp=/tmp: no folder to use, the reason says what to set

The inventory sets netcheck_license_server (all) and netcheck_extra_args (linux_agents): before issue 23 the
playbook's own vars outranked both. The merged site report must hold every agent: its links, or a row that says
why not.

Also here: a stale address probed on an agent through SSH is `unreachable` with no ARP answer, as netcheck run on
that agent itself says (not `filtered`).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import netcheck
from tests.lab.fleet import (
    DNS,
    MS,
    MS_NAME,
    PLAYBOOK,
    STALE_MS,
    agent_addresses,
    ansible_env,
    ansible_playbook,
    start_agent,
)
from tests.lab.netns import Host, Lab, sh
from tests.lab.services import start_dnsmasq

LS_NAME = "ls.lab.test"  # the license server: the management server's machine under another name (a reset: a pass)
ADDRESSES = agent_addresses(7)
HOSTILE = {"agent-5": "random", "agent-6": "deep"}
NOEXEC = ("agent-2", "agent-7")
WRITERS = {
    "random": "head -c 4096 /dev/urandom",
    "deep": 'python3 -c \'print("[" * 100000 + "]" * 100000)\'',
}


def ansible_core_alone(workdir: Path, **extra: str) -> dict[str, str]:
    """The lab's Ansible environment with every collection out of reach (what `pip install ansible-core` has)."""
    empty = workdir / "no-collections"
    empty.mkdir(exist_ok=True)
    return ansible_env(workdir, ANSIBLE_COLLECTIONS_PATH=str(empty), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False", **extra)


def hostile_python(workdir: Path, kind: str) -> Path:
    """A stand-in for the agent's Python that writes garbage where netcheck would write its report."""
    script = workdir / f"python-{kind}"
    script.write_text(f'#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done\n{WRITERS[kind]} > "$out"\n')
    script.chmod(0o755)
    return script


def build(lab: Lab, workdir: Path) -> tuple[Host, Path]:
    key = workdir / "id_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", "netcheck-fleet"])
    start_dnsmasq(lab.add_host("dns", f"{DNS}/22"), DNS, workdir, {MS_NAME: MS, LS_NAME: MS})
    lab.add_host("ms", f"{MS}/22")
    controller = lab.add_host("ctl", "198.18.0.10/22")
    lines = []
    for name, address in ADDRESSES.items():
        hostname = "vm" if name in ("agent-3", "agent-4") else None
        start_agent(lab, name, address, workdir, key.with_suffix(".pub"), hostname=hostname, noexec_tmp=name in NOEXEC)
        extra = ""
        if name in HOSTILE:
            extra = f" netcheck_python={hostile_python(workdir, HOSTILE[name])}"
        if name == "agent-7":
            extra = " netcheck_remote_tmp=/tmp"
        lines.append(f"{name} ansible_host={address}{extra}\n")
    inventory = workdir / "inventory.ini"
    inventory.write_text(
        f"[management_server]\n{MS_NAME}\n\n[linux_agents]\n"
        + "".join(lines)
        + '\n[linux_agents:vars]\nnetcheck_extra_args=\'["--method", "connect"]\'\n'
        + f"\n[all:vars]\nnetcheck_license_server={LS_NAME}\nansible_user=root\n"
        "ansible_python_interpreter=/usr/bin/python3\n"
        f"ansible_ssh_private_key_file={key}\n"
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5'\n"
    )
    return controller, inventory


@pytest.mark.lab
def test_every_agent_is_in_the_site_report_with_its_links_or_why_not(small_lab: Lab, pyz: Path, tmp_path: Path) -> None:
    controller, inventory = build(small_lab, tmp_path)
    out = tmp_path / "out"
    env = ansible_core_alone(tmp_path)
    hidden = subprocess.run(
        ["ansible-doc", "-t", "module", "ansible.windows.win_copy"], capture_output=True, text=True, env=env, check=False
    )
    assert "win_copy was not found" in hidden.stderr  # the collection the Windows tasks need is really out of reach
    run = subprocess.run(
        ["ip", "netns", "exec", controller.ns, ansible_playbook(), "-v", "-i", str(inventory), str(PLAYBOOK), "-f", "7",
         "-e", f"netcheck_pyz={pyz}", "-e", f"netcheck_output_dir={out}"],
        capture_output=True, text=True, timeout=900, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    (tmp_path / "ansible.log").write_text(run.stdout + run.stderr)
    assert "couldn't resolve module" not in run.stdout + run.stderr
    assert (out / "site.json").exists(), run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 2, run.stdout[-3000:]  # agent-7 failed its host (no folder to use), nothing else
    assert re.search(r"agent-7\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=1", run.stdout)

    site: dict[str, Any] = json.loads((out / "site.json").read_text())
    merged = sorted((v["hostname"], tuple(v["addresses"])) for v in site["merged_from"])
    assert merged == sorted(
        [("agent-1", (ADDRESSES["agent-1"],)), ("agent-2", (ADDRESSES["agent-2"],)),
         ("vm", (ADDRESSES["agent-3"],)), ("vm", (ADDRESSES["agent-4"],))]
    )  # fmt: skip
    assert site["method"] == "connect"  # netcheck_extra_args from the inventory's group variables
    links = {(c["source_host"], c["target"]) for c in site["checks"] if c["kind"] == "tcp"}
    for label in ("agent-1", "agent-2", "vm", "vm#2"):
        assert {(label, MS_NAME), (label, LS_NAME)} <= links  # netcheck_license_server from the inventory
    verdicts = {(c["source_host"], c["target"]): c["verdict"] for c in site["checks"] if c["kind"] == "tcp"}
    assert all(verdicts[(label, MS_NAME)] == "pass" for label in ("agent-1", "agent-2", "vm", "vm#2"))

    rows = {c["source_host"]: c for c in site["checks"] if c["id"].startswith("host:re")}
    assert sorted(rows) == ["agent-5", "agent-6", "agent-7"]
    for agent in HOSTILE:
        assert rows[agent]["id"] == f"host:report@{agent}" and rows[agent]["verdict"] == "error"
        assert "could not be used" in rows[agent]["detail"]
    assert "nest too deep" in rows["agent-6"]["detail"] or "recursion" in rows["agent-6"]["detail"].lower()
    assert rows["agent-7"]["id"] == "host:reachable@agent-7"
    assert "netcheck_remote_tmp" in rows["agent-7"]["detail"] and "/tmp: programs cannot run there" in rows["agent-7"]["detail"]
    markdown = (out / "site.md").read_text()
    assert all(agent in markdown for agent in ("agent-5", "agent-6", "agent-7", "vm#2"))
    assert (out / "site.html").exists()

    folders = re.findall(r"folder=(/[^\s\"\\]+)", run.stdout)
    by_agent = dict(re.findall(r"(?:ok|changed): \[(agent-\d)\] => .*?folder=(/[^\s\"\\]+)", run.stdout))
    assert by_agent["agent-2"].startswith("/var/tmp/netcheck.")  # /tmp is noexec there
    assert by_agent["agent-1"].startswith("/tmp/netcheck.")
    assert folders and not any(Path(folder).exists() for folder in folders)  # every working folder removed


@pytest.mark.lab
def test_a_stale_address_through_ssh_is_no_arp_answer_as_in_a_local_run(small_lab: Lab, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", "netcheck-arp"])
    start_dnsmasq(small_lab.add_host("dns", f"{DNS}/22"), DNS, tmp_path, {MS_NAME: MS})
    small_lab.add_host("ms", f"{MS}/22")
    console = small_lab.add_host("console", "198.18.0.10/22")
    address = ADDRESSES["agent-1"]
    agent = start_agent(small_lab, "agent-1", address, tmp_path, key.with_suffix(".pub"), stale=True)
    host_key = (tmp_path / "sshd-agent-1" / "host_ed25519.pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{address} {host_key[0]} {host_key[1]}\n")

    local = netcheck(agent, "--from", "agent", "--management-server", MS_NAME, "--method", "connect", "--format", "json")
    assert local.returncode == 1, local.stderr
    here = next(c for c in json.loads(local.stdout)["checks"] if c["kind"] == "tcp" and c["target"] == MS_NAME)
    assert (here["address"], here["state"]) == (STALE_MS, "unreachable") and "ARP" in here["detail"]

    remote = netcheck(
        console, "--from", "management-server", "--management-server", MS_NAME, "--agent", f"{address}:linux",
        "--user", "root", "--ssh-key", str(key), "--known-hosts", str(known_hosts), "--method", "connect",
        "--format", "json",
    )  # fmt: skip
    assert remote.returncode == 1, remote.stderr
    seen = next(c for c in json.loads(remote.stdout)["checks"] if c["id"] == f"tcp:agent@{address}->{MS_NAME}:9876")
    assert seen["evidence"]["via"] == "ssh"
    assert (seen["address"], seen["state"], seen["verdict"]) == (STALE_MS, "unreachable", "fail")
    assert "no ARP answer" in seen["detail"] and "does not answer ARP" in seen["remediation"]
    assert seen["evidence"].get("arp") == "no answer"
