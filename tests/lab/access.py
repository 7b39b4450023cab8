"""The access lab: agents with real sshd and smbd, real users and passwords, for the remote-installation checks.

Each Linux agent has its own /etc/passwd, /etc/shadow, /etc/group and /etc/sudoers (`ip netns exec` bind-mounts
/etc/netns/NS/* over /etc), so no user is ever added to the machine the tests run on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.lab.netns import Host, Lab, LabError, sh
from tests.lab.services import _need, start_dnsmasq, start_listener, start_smbd

NET = "198.18.10"
CONSOLE = f"{NET}.10"
DNS = f"{NET}.53"
MS = f"{NET}.20"
LS = f"{NET}.25"
NOBODY = f"{NET}.99"  # no machine: the stale hosts entry points here
LIN_OK = f"{NET}.41"  # root by key, a user without sudo, a user with passwordless sudo
LIN_NOEXEC = f"{NET}.42"  # /tmp mounted noexec (its sshd runs in its own mount namespace)
LIN_FW = f"{NET}.43"  # its firewall drops TCP 9876 to the management server
LIN_STALE = f"{NET}.44"  # its /etc/hosts holds a stale address for the management server
LIN_UNKNOWN = f"{NET}.45"  # an sshd whose host key is not in known_hosts
WIN_ADMIN = f"{NET}.31"  # smbd with ADMIN$, an administrator and an ordinary user
WIN_NOADMIN = f"{NET}.32"  # smbd without ADMIN$
WIN_GUEST = f"{NET}.33"  # smbd that maps every login to guest
WIN_SMB1 = f"{NET}.34"  # smbd that speaks SMB1 only (NT1), with ADMIN$ and the same users
WIN_NOSHARES = f"{NET}.35"  # smbd without ADMIN$ whose registry says AutoShareServer = 0 (shares off by policy)
WIN_HARDENED = f"{NET}.36"  # DisableRPCOverTCP = 1, FilterAdministratorToken = 1, TCP 135 dropped
WIN_FULL = f"{NET}.37"  # ADMIN$'s volume reports 500 MiB free (smb.conf's dfree command)
WIN_SCM_OFF = f"{NET}.38"  # DisableRemoteScmEndpoints = 1 (Samba still answers: the value is "not in effect yet")
MS_NAME = "ms.lab.test"
LS_NAME = "ls.lab.test"
PASSWORD = "lab-Pass-4r9"  # noqa: S105 - a test password for lab users
CANARY = "Canary-Zq7x-9Kp2-Wv"
SUDOER = "sudoer"  # passwordless sudo, password CANARY
PLAIN = "plain"  # no sudo, password PASSWORD
ADMIN = "winadmin"  # Samba: member of BUILTIN\Administrators (through a group mapping)
USER = "winuser"  # Samba: an ordinary user
CHIEF = "chief"  # Samba: the renamed built-in Administrator (its RID is 500), on win-admin
WIN_PASSWORD = "Win-Pass-8c2"  # noqa: S105 - the Samba users' password


@dataclass
class AccessLab:
    lab: Lab
    console: Host
    client_key: Path
    known_hosts: Path
    workdir: Path

    def run(self, *args: str, password: str | None = None, timeout_s: float = 240) -> subprocess.CompletedProcess[str]:
        """`netcheck check ARGS` in the console's namespace; the password (if any) through NETCHECK_PASSWORD."""
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "NETCHECK_PASSWORD")}
        if password is not None:
            env["NETCHECK_PASSWORD"] = password
        return subprocess.run(
            ["ip", "netns", "exec", self.console.ns, sys.executable, "-m", "netcheck", "check", *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )


def _hash(password: str) -> str:
    return sh(["openssl", "passwd", "-6", "-salt", "netchecklab", password]).stdout.strip()


def _give_users(host: Host, home: Path) -> None:
    """This agent's own users: root (key only), PLAIN (password, no sudo), SUDOER (password, passwordless sudo)."""
    base = [line for line in Path("/etc/passwd").read_text().splitlines() if not line.startswith((f"{PLAIN}:", f"{SUDOER}:"))]
    groups = [line for line in Path("/etc/group").read_text().splitlines() if not line.startswith((f"{PLAIN}:", f"{SUDOER}:"))]
    home.mkdir(parents=True, exist_ok=True)
    host.etc_file(
        "passwd", "\n".join([*base, f"{PLAIN}:x:2001:2001::{home}:/bin/sh", f"{SUDOER}:x:2002:2002::{home}:/bin/sh"]) + "\n"
    )
    host.etc_file("group", "\n".join([*groups, f"{PLAIN}:x:2001:", f"{SUDOER}:x:2002:"]) + "\n")
    names = [line.split(":")[0] for line in base]
    shadow = [f"{name}:*:19000:0:99999:7:::" for name in names]
    shadow += [f"{PLAIN}:{_hash(PASSWORD)}:19000:0:99999:7:::", f"{SUDOER}:{_hash(CANARY)}:19000:0:99999:7:::"]
    host.etc_file("shadow", "\n".join(shadow) + "\n")
    host.etc_file("sudoers", f"Defaults !requiretty\nroot ALL=(ALL) ALL\n{SUDOER} ALL=(ALL) NOPASSWD: ALL\n")
    folder = Path("/etc/netns") / host.ns
    os.chmod(folder / "shadow", 0o640)
    os.chmod(folder / "sudoers", 0o440)


def start_agent_sshd(host: Host, workdir: Path, client_pub: str, *, noexec_tmp: bool = False) -> str:
    """sshd with root login by key only and password logins for the others; returns its known_hosts line."""
    sshd = _need("sshd", "openssh-server")
    home = workdir / f"sshd-{host.name}"
    (home / "keys").mkdir(parents=True)
    key = home / "host_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    (home / "keys" / "root").write_text(client_pub)
    config = home / "sshd_config"
    config.write_text(
        f"Port 22\nListenAddress {host.address}\nHostKey {key}\nPidFile {home}/sshd.pid\n"
        "UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"AuthorizedKeysFile {home}/keys/%u\nStrictModes no\nLogLevel ERROR\n"
    )
    _give_users(host, workdir / f"home-{host.name}")
    Path("/run/sshd").mkdir(exist_ok=True)
    argv = [sshd, "-D", "-e", "-f", str(config)]
    if noexec_tmp:
        # Its own mount namespace, where /tmp is bound onto itself and remounted noexec (the files stay visible).
        script = "mount --bind /tmp /tmp && mount -o remount,bind,noexec /tmp && exec " + " ".join(argv)
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script]
    host.spawn(argv)
    host.lab.wait_tcp(host, 22)
    return f"{host.address} {(home / 'host_ed25519.pub').read_text().split(' ')[0]} {(home / 'host_ed25519.pub').read_text().split(' ')[1]}"


def start_agent_smbd(
    host: Host,
    workdir: Path,
    *,
    admin_share: bool = True,
    guest_only: bool = False,
    smb1_only: bool = False,
    registry: dict[str, int | str] | None = None,
    free_kib: int | None = None,
) -> None:
    """smbd with real users (smbpasswd): ADMIN an administrator (BUILTIN\\Administrators mapped to a Unix group), USER
    an ordinary user. Without `admin_share` there is no ADMIN$; with `guest_only` no user is known to Samba and every
    login is mapped to guest (what Windows' ForceGuest = 1 does to local accounts). Its registry (served over
    \\PIPE\\winreg) holds the three values netcheck reads: UAC on and LocalAccountTokenFilterPolicy 0 on the first,
    UAC off (EnableLUA 0) on the one without ADMIN$, ForceGuest 1 on the guest-only one (where a guest session gets
    no IPC$, so nothing can be read: the guest flag of the session is the evidence there). `registry`: more values
    (or other ones) written there; `free_kib`: the free space smbd reports for ADMIN$'s volume (its dfree command)."""
    ours = (f"{ADMIN}:", f"{USER}:", f"{CHIEF}:")
    base = [line for line in Path("/etc/passwd").read_text().splitlines() if not line.startswith(ours)]
    groups = [line for line in Path("/etc/group").read_text().splitlines() if not line.startswith((*ours, "admins:"))]
    host.etc_file("passwd", "\n".join([*base, f"{ADMIN}:x:3001:3001::/nonexistent:/usr/sbin/nologin",
                                       f"{USER}:x:3002:3002::/nonexistent:/usr/sbin/nologin",
                                       f"{CHIEF}:x:3003:3002::/nonexistent:/usr/sbin/nologin"]) + "\n")  # fmt: skip
    host.etc_file("group", "\n".join([*groups, f"{ADMIN}:x:3001:", f"{USER}:x:3002:", f"admins:x:3100:{ADMIN}"]) + "\n")
    settings = "  map to guest = bad user\n"
    if smb1_only:  # what an old or hardened-backwards server speaks: no SMB2/3 dialect at all
        settings += "  server min protocol = NT1\n  server max protocol = NT1\n"
    if free_kib is not None:  # what `dfree command` prints: total and free 1 KiB blocks
        script = host.lab.open_dir(f"dfree-{host.name}") / "dfree"
        script.write_text(f"#!/bin/sh\necho {free_kib * 8} {free_kib}\n")
        script.chmod(0o755)
        settings += f"  dfree command = {script}\n"
    if admin_share:
        (workdir / f"admin-{host.name}").mkdir()
        settings += (
            f"[ADMIN$]\n  path = {workdir}/admin-{host.name}\n  read only = no\n  valid users = {ADMIN}\n  force user = root\n"
        )
    conf = str(start_smbd(host, workdir, settings=settings))
    values: dict[str, int | str] = {"LocalAccountTokenFilterPolicy": 0, "EnableLUA": 0 if not admin_share else 1}
    values |= {"ForceGuest": int(guest_only), **(registry or {})}
    set_registry(host, conf, values)
    if guest_only:
        return
    for user in (ADMIN, USER):
        host.run(["smbpasswd", "-c", conf, "-a", "-s", user], input_text=f"{WIN_PASSWORD}\n{WIN_PASSWORD}\n")
    host.run(
        ["net", "-s", conf, "groupmap", "add", "sid=S-1-5-32-544", "unixgroup=admins", "type=builtin", "ntgroup=Administrators"]
    )
    if admin_share:  # the built-in Administrator, renamed: only its RID (500) says what it is
        machine_sid = host.run(["net", "-s", conf, "getlocalsid"]).stdout.split()[-1]
        host.run(
            ["pdbedit", "-s", conf, "-a", "-t", "-u", CHIEF, "-U", f"{machine_sid}-500"],
            input_text=f"{WIN_PASSWORD}\n{WIN_PASSWORD}\n",
        )


POLICIES = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
LSA = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa"
CONTROL = r"HKLM\SYSTEM\CurrentControlSet\Control"
LANMAN = r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters"
KEYS = {
    "ForceGuest": LSA,
    "AutoShareServer": LANMAN,
    "AutoShareWks": LANMAN,
    "DisableRPCOverTCP": CONTROL,
    "DisableRemoteScmEndpoints": CONTROL,
}
"""Where each value lives (the others: the UAC policies' key)."""


def set_registry(host: Host, conf: str, values: dict[str, int | str]) -> None:
    """The values netcheck reads, written into Samba's registry (`net registry`, the tdb winreg serves): a DWORD
    for a number, REG_SZ for a string."""
    for name, value in values.items():
        key = KEYS.get(name, POLICIES)
        kind = "sz" if isinstance(value, str) else "dword"
        host.run(["net", "-s", conf, "registry", "createkey", key])
        host.run(["net", "-s", conf, "registry", "setvalue", key, name, kind, str(value)])


def build_access_lab(workdir: Path) -> AccessLab:
    lab = Lab(workdir)
    try:
        lab.build_switch()
        dns = lab.add_host("dns", f"{DNS}/24")
        start_dnsmasq(dns, DNS, workdir, {MS_NAME: MS, LS_NAME: LS})
        console = lab.add_host("console", f"{CONSOLE}/24")
        resolv = f"nameserver {DNS}\nsearch lab.test\noptions timeout:1 attempts:1\n"
        console.etc_file("resolv.conf", resolv)
        console.etc_file("hosts", "127.0.0.1 localhost\n")
        start_listener(lab.add_host("ms", f"{MS}/24"), 9876)
        lab.add_host("ls", f"{LS}/24")  # nothing listens on 9876 yet: a reset, a pre-install pass
        client_key = workdir / "client_ed25519"
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client_key)])
        client_pub = (workdir / "client_ed25519.pub").read_text()
        known = []
        for name, address in (("lin-ok", LIN_OK), ("lin-noexec", LIN_NOEXEC), ("lin-fw", LIN_FW), ("lin-stale", LIN_STALE)):
            host = lab.add_host(name, f"{address}/24")
            host.etc_file("resolv.conf", resolv)
            hosts = f"127.0.0.1 localhost\n{NOBODY} {MS_NAME}\n" if name == "lin-stale" else "127.0.0.1 localhost\n"
            host.etc_file("hosts", hosts)
            if name == "lin-fw":
                host.nft(
                    "table inet lab {\n chain output {\n  type filter hook output priority 0;\n"
                    f"  ip daddr {MS} tcp dport 9876 drop\n }}\n}}\n"
                )
            known.append(start_agent_sshd(host, workdir, client_pub, noexec_tmp=name == "lin-noexec"))
        unknown = lab.add_host("lin-unknown", f"{LIN_UNKNOWN}/24")
        unknown.etc_file("resolv.conf", resolv)
        start_agent_sshd(unknown, workdir, client_pub)  # its key is deliberately left out of known_hosts
        start_agent_smbd(lab.add_host("win-admin", f"{WIN_ADMIN}/24"), workdir)
        start_agent_smbd(lab.add_host("win-noadmin", f"{WIN_NOADMIN}/24"), workdir, admin_share=False)
        start_agent_smbd(lab.add_host("win-guest", f"{WIN_GUEST}/24"), workdir, guest_only=True)
        start_agent_smbd(lab.add_host("win-smb1", f"{WIN_SMB1}/24"), workdir, smb1_only=True)
        start_agent_smbd(lab.add_host("win-noshares", f"{WIN_NOSHARES}/24"), workdir, admin_share=False,
                         registry={"EnableLUA": 1, "AutoShareServer": 0})  # fmt: skip
        hardened = lab.add_host("win-hardened", f"{WIN_HARDENED}/24")
        hardened.nft("table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 135 drop\n }\n}\n")
        start_agent_smbd(
            hardened,
            workdir,
            registry={"DisableRPCOverTCP": 1, "FilterAdministratorToken": 1},
        )
        start_agent_smbd(lab.add_host("win-full", f"{WIN_FULL}/24"), workdir, free_kib=500 * 1024)
        start_agent_smbd(lab.add_host("win-scm-off", f"{WIN_SCM_OFF}/24"), workdir, registry={"DisableRemoteScmEndpoints": 1})
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text("\n".join(known) + "\n")
    except BaseException:
        lab.close()
        raise
    return AccessLab(lab, console, client_key, known_hosts, workdir)


__all__ = ["AccessLab", "LabError", "build_access_lab"]
