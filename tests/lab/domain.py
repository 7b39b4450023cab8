"""The domain lab: a real Samba Active Directory domain controller in its own namespace, for the access checks'
Kerberos login, domain accounts, the built-in Administrator by RID and remote registry reads.

Everything the DC has lives in a lab directory: the domain is provisioned with --targetdir (never the machine's
/etc/samba or /var/lib/samba), the DC runs in a mount namespace of its own whose /run is a fresh tmpfs (smbd looks for
winbindd's socket at its compiled-in /run/samba/winbindd), the console gets its krb5.conf through KRB5_CONFIG (never
/etc/krb5.conf) and the names through its namespace's own hosts file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.netns import Host, Lab, LabError, sh
from tests.lab.services import _need

NET = "198.18.12"
CONSOLE = f"{NET}.5"
DC = f"{NET}.10"
NO_KDC = f"{NET}.99"  # no machine: a krb5.conf whose KDC is here cannot get a service ticket
REALM = "AD.LAB.TEST"
DNS_DOMAIN = "ad.lab.test"
DOMAIN = "ADLAB"
DC_NAME = f"dc1.{DNS_DOMAIN}"
ADMIN_PASSWORD = "Dc-Adm1n-Pass-6w"  # noqa: S105 - the renamed built-in Administrator's lab password
DOMAIN_CANARY = "Dc-Canary-5t8Q-Lm3"
"""The domain users' password: a canary that must appear in no output."""
DOMAIN_ADMIN = "adadmin"  # a member of Domain Admins
DOMAIN_USER = "aduser"  # an ordinary domain user
RENAMED_ADMIN = "boss"  # the domain's built-in Administrator (RID 500), renamed
REGISTRY = {"LocalAccountTokenFilterPolicy": 1, "EnableLUA": 1, "ForceGuest": 0}
"""What the DC's registry holds (set with `net registry`, read back over \\PIPE\\winreg)."""


@dataclass
class DomainLab:
    lab: Lab
    console: Host
    dc: Host
    home: Path
    """The DC's provisioned directory (its smb.conf is home/etc/smb.conf)."""
    krb5_conf: Path
    workdir: Path
    timings: dict[str, float] = field(default_factory=dict)

    def console_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "NETCHECK_PASSWORD", "KRB5CCNAME")}
        env["KRB5_CONFIG"] = str(self.krb5_conf)
        env.update(extra)
        return env

    def kinit(self, principal: str, password: str, cache: Path, *, service: str | None = None, only: str | None = None) -> None:
        """Tickets for `principal` in the FILE: cache `cache` (kinit), and a service ticket too when `service` is
        given (kvno, as Samba's own tools leave one in the cache after using it); with `only`, the cache holds just
        an initial ticket for that service (kinit -S), no TGT."""
        env = self.console_env(KRB5CCNAME=f"FILE:{cache}")
        kinit = [_need("kinit", "krb5-user"), *(["-S", only] if only else []), principal]
        argvs = [kinit] + ([[_need("kvno", "krb5-user"), service]] if service else [])
        for argv in argvs:
            proc = subprocess.run(
                ["ip", "netns", "exec", self.console.ns, *argv],
                input=f"{password}\n",
                capture_output=True,
                text=True,
                timeout=30,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                raise LabError(f"{argv[0]} {principal} failed: {proc.stderr.strip()}")

    def run(
        self, *args: str, password: str | None = None, env: dict[str, str] | None = None, preload: list[str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`netcheck check ARGS` on the console (its krb5.conf through KRB5_CONFIG); `preload`: a command put before
        the Python interpreter (faketime, to run netcheck with a clock that is off)."""
        full = self.console_env(**(env or {}))
        if password is not None:
            full["NETCHECK_PASSWORD"] = password
        return subprocess.run(
            ["ip", "netns", "exec", self.console.ns, *(preload or []), sys.executable, "-m", "netcheck", "check", *args],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            env=full,
            stdin=subprocess.DEVNULL,
        )


def _provision(home: Path) -> Path:
    """A new domain in `home` (samba-tool domain provision --targetdir): its smb.conf, set up for the lab."""
    tool = _need("samba-tool", "samba-ad-dc")
    options = {
        "interfaces": f"{DC}/32",
        "bind interfaces only": "yes",
        "log file": f"{home}/log.%m",
        "log level": "1",
        "pid directory": f"{home}/pid",
        "ncalrpc dir": f"{home}/ncalrpc",
        "disable netbios": "yes",
        "load printers": "no",
        "printing": "bsd",
        "printcap name": "/dev/null",
        "disable spoolss": "yes",
        # Only what the access checks meet: SMB (and the RPC servers behind it), LDAP, the KDC, winbindd for id mapping.
        "server services": "-nbt -wrepl -drepl -kcc -dnsupdate -dns",
    }
    argv = [
        tool, "domain", "provision", f"--targetdir={home}", "--use-rfc2307", f"--realm={REALM}", f"--domain={DOMAIN}",
        "--server-role=dc", "--dns-backend=SAMBA_INTERNAL", f"--adminpass={ADMIN_PASSWORD}", "--host-name=dc1",
        f"--host-ip={DC}", *(f"--option={key} = {value}" for key, value in options.items()),
    ]  # fmt: skip
    sh(argv)
    conf = home / "etc" / "smb.conf"
    text = conf.read_text()
    # smbd asks winbindd through its compiled-in socket path (the DC's own /run, a tmpfs); no DNS forwarder is needed
    # (the DC serves no DNS here) and none may point at the machine's resolver.
    text = re.sub(r"(?m)^\s*winbindd socket directory = .*$", "\twinbindd socket directory = /run/samba/winbindd", text)
    text = re.sub(r"(?m)^\s*dns forwarder = .*\n", "", text)
    (home / "admin").mkdir()
    # ADMIN$ as Windows has it: for administrators only (here: Domain Admins, whose members it maps to root).
    text += (
        f'\n[ADMIN$]\n\tpath = {home}/admin\n\tread only = no\n\tvalid users = @"{DOMAIN}\\Domain Admins"\n\tforce user = root\n'
    )

    conf.write_text(text)
    return conf


def _populate(conf: Path) -> None:
    """The lab's users, the renamed Administrator and the registry values, written offline before the DC starts."""
    tool = _need("samba-tool", "samba-ad-dc")
    for user in (DOMAIN_ADMIN, DOMAIN_USER):
        sh([tool, "user", "create", user, DOMAIN_CANARY, "-s", str(conf)])
    sh([tool, "group", "addmembers", "Domain Admins", DOMAIN_ADMIN, "-s", str(conf)])
    sh([tool, "user", "rename", "Administrator", f"--samaccountname={RENAMED_ADMIN}", "-s", str(conf)])
    for key, names in (
        (r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System", ("LocalAccountTokenFilterPolicy", "EnableLUA")),
        (r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa", ("ForceGuest",)),
    ):
        sh(["net", "-s", str(conf), "registry", "createkey", key])
        for name in names:
            sh(["net", "-s", str(conf), "registry", "setvalue", key, name, "dword", str(REGISTRY[name])])


def build_domain_lab(workdir: Path) -> DomainLab:
    lab = Lab(workdir)
    timings: dict[str, float] = {}
    try:
        _need("samba", "samba-ad-dc")
        lab.build_switch()
        home = lab.open_dir("dc")
        started = time.monotonic()
        conf = _provision(home)
        timings["provision_s"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        _populate(conf)
        timings["populate_s"] = round(time.monotonic() - started, 1)
        hosts = f"127.0.0.1 localhost\n{DC} {DC_NAME} dc1 {DNS_DOMAIN}\n"
        dc = lab.add_host("dc", f"{DC}/24")
        dc.etc_file("hosts", hosts)
        console = lab.add_host("console", f"{CONSOLE}/24")
        console.etc_file("hosts", hosts)
        console.etc_file("resolv.conf", "options timeout:1 attempts:1\n")  # no DNS server: names come from hosts
        started = time.monotonic()
        samba = _need("samba", "samba-ad-dc")
        script = (
            "mount -t tmpfs tmpfs /run && mkdir -p /run/samba && exec "
            f"{samba} --foreground --no-process-group -M single --debug-stdout -s {conf}"
        )
        dc.spawn(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            env={**os.environ, "KRB5_CONFIG": str(home / "private" / "krb5.conf")},
        )
        lab.wait_tcp(dc, 88, timeout_s=60)
        lab.wait_tcp(dc, 445, timeout_s=60)
        timings["start_s"] = round(time.monotonic() - started, 1)
        krb5 = workdir / "krb5.conf"
        krb5.write_text(
            f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
            f"[realms]\n {REALM} = {{\n  kdc = {DC_NAME}\n }}\n[domain_realm]\n .{DNS_DOMAIN} = {REALM}\n"
        )
    except BaseException:
        lab.close()
        raise
    return DomainLab(lab, console, dc, home, krb5, workdir, timings)


__all__ = ["DomainLab", "LabError", "build_domain_lab"]
