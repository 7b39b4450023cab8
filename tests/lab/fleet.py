"""A fleet in the namespace lab for contrib/ansible: agents with their own sshd and host name (a UTS
namespace), a name server, a management server (nothing on 9876 yet: a reset) and a controller namespace.

With faults: agent-2's firewall drops TCP 9876 to the management server, agent-3's hosts file holds a stale
address for it, agent-5 is powered off (its link is down)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from tests.lab.netns import Host, Lab, sh
from tests.lab.services import start_dnsmasq

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "contrib" / "ansible" / "netcheck.yml"
CONTROLLER = "198.18.0.10"
MS = "198.18.0.20"
MS_NAME = "ms.lab.test"
STALE_MS = "198.18.0.29"  # nobody there
DNS = "198.18.0.53"
DROPS_9876, STALE_HOSTS, POWERED_OFF = "agent-2", "agent-3", "agent-5"


def agent_addresses(count: int) -> dict[str, str]:
    """agent-1 ... agent-N on 198.18.1.x / 198.18.2.x (the /23 the lab's hosts share)."""
    return {f"agent-{n}": f"198.18.{1 + n // 250}.{n % 250 + 1}" for n in range(1, count + 1)}


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    assert found, "ansible-playbook is not installed (pip install -e '.[test]')"
    return found


def start_agent(
    lab: Lab,
    name: str,
    address: str,
    workdir: Path,
    authorized_key: Path,
    *,
    stale: bool = False,
    hostname: str | None = None,
    noexec_tmp: bool = False,
) -> Host:
    """A namespace with eth0, its own /etc/hosts and resolv.conf, and sshd in a UTS namespace named `hostname`
    (default: `name`). `noexec_tmp`: sshd and what it runs see /tmp mounted noexec (a mount namespace of their
    own), as on a hardened machine."""
    host = lab.add_host(name, f"{address}/22")
    stale_line = f"{STALE_MS}\t{MS_NAME}\n" if stale else ""
    host.etc_file("hosts", f"127.0.0.1 localhost\n{stale_line}")
    host.etc_file("resolv.conf", f"nameserver {DNS}\nsearch lab.test\noptions timeout:1 attempts:1\n")
    home = workdir / f"sshd-{name}"
    home.mkdir()
    key = home / "host_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    config = home / "sshd_config"
    config.write_text(
        f"Port 22\nListenAddress {address}\nHostKey {key}\nPidFile none\nAuthorizedKeysFile {authorized_key}\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nLogLevel ERROR\nSubsystem sftp internal-sftp\nMaxStartups 200\n"
        # root's shell on a development machine may run `pyenv rehash` at every login, which waits up to 60 s for
        # a lock that a killed rehash elsewhere left behind: every Ansible step would take a minute
        "SetEnv PYENV_REHASH_TIMEOUT=1\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    noexec = "mount --bind /tmp /tmp && mount -o remount,bind,noexec /tmp && " if noexec_tmp else ""
    unshare = ["unshare", "--uts", *(["--mount", "--propagation", "private"] if noexec_tmp else [])]
    host.spawn([*unshare, "sh", "-c", f"{noexec}hostname {hostname or name} && exec /usr/sbin/sshd -D -e -f {config}"])
    lab.wait_tcp(host, 22)
    return host


def build_fleet(lab: Lab, workdir: Path, agents: int = 5, *, faults: bool = True) -> tuple[Host, Path]:
    """The fleet on `lab` (its switch built); returns the controller and an inventory for the playbook."""
    key = workdir / "id_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", "netcheck-fleet"])
    start_dnsmasq(lab.add_host("dns", f"{DNS}/22"), DNS, workdir, {MS_NAME: MS})
    lab.add_host("ms", f"{MS}/22")  # nothing listens on 9876 yet: a reset, the pre-install pass
    controller = lab.add_host("ctl", f"{CONTROLLER}/22")
    addresses = agent_addresses(agents)
    for name, address in addresses.items():
        start_agent(lab, name, address, workdir, key.with_suffix(".pub"), stale=faults and name == STALE_HOSTS)
    if faults:
        lab.hosts[DROPS_9876].nft(
            "table inet lab {\n chain output {\n  type filter hook output priority 0;\n"
            f"  ip daddr {MS} tcp dport 9876 drop\n }}\n}}\n"
        )
        lab.hosts[POWERED_OFF].run(["ip", "link", "set", "eth0", "down"])
    inventory = workdir / "inventory.ini"
    inventory.write_text(
        f"[management_server]\n{MS_NAME}\n\n[linux_agents]\n"
        + "".join(f"{name} ansible_host={address}\n" for name, address in addresses.items())
        + "\n[windows_agents]\n\n[all:vars]\nansible_user=root\nansible_python_interpreter=/usr/bin/python3\n"
        f"ansible_ssh_private_key_file={key}\n"
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5'\n"
    )
    return controller, inventory


def ansible_env(workdir: Path, **extra: str) -> dict[str, str]:
    """This environment without the caller's ANSIBLE_* settings, plus the lab's. SSH's shared connections
    (ControlPersist) live in the lab's folder: under ~/.ansible/cp a master left by an earlier lab, or by another
    lab running at the same time with the same agent addresses, would carry this run's sessions into the wrong
    namespace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    lab = {
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-local"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(workdir / "cp"),
    }
    return env | lab | extra
