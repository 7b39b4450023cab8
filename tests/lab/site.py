"""The standard lab site: a console behind a router, servers, and agents behind every kind of firewall.

Each entry of EXPECTED says what netcheck must report, pre-install, for one (address, port) link probed
from the console; `nmap` says whether nmap can see that host (it skips hosts that never answer ARP).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tests.lab.netns import Host, Lab
from tests.lab.services import (
    SMB_LEGACY,
    SMB_STRICT,
    start_dnsmasq,
    start_listener,
    start_llmnr,
    start_nmbd,
    start_responder,
    start_smbd,
    start_sshd,
    start_tls_listener,
)

ROUTER = "198.18.0.1"
CONSOLE = "198.18.0.10"
MS = "198.18.0.20"
LS = "198.18.0.25"
WIN_OK = "198.18.0.31"  # smbd on 445; nothing on 25001 (resets: pre-install pass)
WIN_DROP = "198.18.0.32"  # nftables drop on 445 and 25001
WIN_REJECT = "198.18.0.33"  # 445 rejected with ICMP admin-prohibited, 25001 rejected with a TCP reset
WIN_NOSMB = "198.18.0.34"  # no SMB server: 445 resets
WIN_LEGACY = "198.18.0.37"  # smbd with optional signing, at most SMB 2.1
RESPONDER = "198.18.0.35"  # `netcheck listen --token` on 25001 and 9876
FORGER = "198.18.0.36"  # `netcheck listen`, but its firewall answers 25001 with forged resets
TLS_HOST = "198.18.0.22"  # a TLS server on 9876 with a self-signed certificate for tls.lab.test
TOKEN = "lab-s3cret"  # noqa: S105 - a test token for the lab responder
LIN_OK = "198.18.0.41"  # sshd on 22
LIN_DROP = "198.18.0.42"  # iptables DROP on 22
NO_ROUTE = "198.19.0.41"  # the router answers ICMP host-unreachable
ROUTER_PROHIBITS = "198.19.1.41"  # the router answers ICMP admin-prohibited
NO_ARP = "198.18.0.99"  # nobody there: ARP never answers
NODNS_CONSOLE = "198.18.0.11"  # a console whose resolv.conf names no server: a non-DNS environment
DNS1 = "198.18.0.53"  # dnsmasq, authoritative for lab.test, A and PTR records
DNS2 = "198.18.0.54"  # a second dnsmasq that disagrees about ms.lab.test
STALE_DNS = "198.18.0.26"  # stale.lab.test in DNS; the console's hosts file still says NO_ARP
DNS1_RECORDS = {
    "ms.lab.test": MS,
    "ls.lab.test": LS,
    "stale.lab.test": STALE_DNS,
    "win-ok.lab.test": WIN_OK,
    "lin-ok.lab.test": LIN_OK,
}
DNS2_RECORDS = {"ms.lab.test": "198.18.0.21", "ls.lab.test": LS}
CONSOLE_HOSTS = f"127.0.0.1 localhost\n{NO_ARP}\tstale.lab.test\n{LIN_OK} hostsonly.lab.test  # only here\n"
NETBIOS_NAME = "ms"  # nmbd on the management server answers NetBIOS queries for MS
LLMNR_NAME = "ls"  # the LLMNR responder on the license server answers for ls


@dataclass(frozen=True)
class Expect:
    address: str
    port: int
    os: str
    state: str
    verdict: str
    nmap: bool = True


EXPECTED = (
    Expect(WIN_OK, 445, "windows", "open", "pass"),
    Expect(WIN_OK, 25001, "windows", "closed", "pass"),
    Expect(WIN_DROP, 445, "windows", "filtered", "fail"),
    Expect(WIN_DROP, 25001, "windows", "filtered", "fail"),
    Expect(WIN_REJECT, 445, "windows", "filtered", "fail"),
    Expect(WIN_REJECT, 25001, "windows", "closed", "pass"),
    Expect(WIN_NOSMB, 445, "windows", "closed", "fail"),
    Expect(WIN_NOSMB, 25001, "windows", "closed", "pass"),
    Expect(WIN_LEGACY, 445, "windows", "open", "pass"),
    Expect(WIN_LEGACY, 25001, "windows", "closed", "pass"),
    Expect(LIN_OK, 22, "linux", "open", "pass"),
    Expect(LIN_DROP, 22, "linux", "filtered", "fail"),
    Expect(NO_ROUTE, 22, "linux", "unreachable", "fail"),
    Expect(ROUTER_PROHIBITS, 22, "linux", "filtered", "fail"),
    Expect(NO_ARP, 22, "linux", "unreachable", "fail", nmap=False),
)

AGENT_ARGS = tuple(
    arg for address, os_name in dict((e.address, e.os) for e in EXPECTED).items() for arg in ("--agent", f"{address}:{os_name}")
)


@dataclass
class Site:
    lab: Lab
    console: Host
    hosts: dict[str, Host]

    @property
    def nodns(self) -> Host:
        return self.hosts["nodns"]


def build_site(workdir: Path) -> Site:
    lab = Lab(workdir)
    try:
        lab.build_switch()
        router = lab.add_host("router", f"{ROUTER}/24")
        router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        # Every probe to these routes must get its ICMP error: Linux rate-limits them to about one a second per
        # destination after a burst of six, and the SYN and connect runs come back to back.
        router.run(["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"])
        router.run(["ip", "route", "add", "unreachable", "198.19.0.0/24"])
        router.run(["ip", "route", "add", "prohibit", "198.19.1.0/24"])
        dns = lab.add_host("dns", f"{DNS1}/24", extra=[f"{DNS2}/24"])
        start_dnsmasq(dns, DNS1, workdir, DNS1_RECORDS)
        start_dnsmasq(dns, DNS2, workdir, DNS2_RECORDS)
        console = lab.add_host("console", f"{CONSOLE}/24", gateway=ROUTER)
        console.etc_file("hosts", CONSOLE_HOSTS)
        console.etc_file("resolv.conf", f"nameserver {DNS1}\nsearch lab.test\noptions timeout:1 attempts:1\n")
        nodns = lab.add_host("nodns", f"{NODNS_CONSOLE}/24", gateway=ROUTER)
        nodns.etc_file("hosts", "127.0.0.1 localhost\n")
        nodns.etc_file("resolv.conf", "# no name server: a non-DNS environment\n")
        ms = lab.add_host("ms", f"{MS}/24", gateway=ROUTER)
        start_listener(ms, 9876)
        start_nmbd(ms, workdir, NETBIOS_NAME)
        ls = lab.add_host("ls", f"{LS}/24", gateway=ROUTER)
        start_llmnr(ls, LLMNR_NAME)
        win_ok = lab.add_host("win-ok", f"{WIN_OK}/24")
        start_smbd(win_ok, workdir, settings=SMB_STRICT)
        win_legacy = lab.add_host("win-legacy", f"{WIN_LEGACY}/24")
        start_smbd(win_legacy, workdir, settings=SMB_LEGACY)
        start_tls_listener(lab.add_host("tls", f"{TLS_HOST}/24", gateway=ROUTER), workdir, 9876, "tls.lab.test")
        start_responder(lab.add_host("responder", f"{RESPONDER}/24"), "--token", TOKEN)
        forger = lab.add_host("forger", f"{FORGER}/24")
        forger.nft(
            "table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 25001 reject with tcp reset\n }\n}\n"
        )
        forger.spawn([sys.executable, "-m", "netcheck", "listen", "--duration", "3600"])
        lab.wait_tcp(forger, 9876)
        win_drop = lab.add_host("win-drop", f"{WIN_DROP}/24")
        win_drop.nft(
            "table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport { 445, 25001 } drop\n }\n}\n"
        )
        win_reject = lab.add_host("win-reject", f"{WIN_REJECT}/24")
        win_reject.nft(
            "table inet lab {\n chain input {\n  type filter hook input priority 0;\n"
            "  tcp dport 445 reject with icmpx type admin-prohibited\n  tcp dport 25001 reject with tcp reset\n }\n}\n"
        )
        lab.add_host("win-nosmb", f"{WIN_NOSMB}/24")
        lin_ok = lab.add_host("lin-ok", f"{LIN_OK}/24")
        start_sshd(lin_ok, workdir)
        lin_drop = lab.add_host("lin-drop", f"{LIN_DROP}/24")
        lin_drop.run(["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP"])
    except BaseException:
        lab.close()
        raise
    return Site(lab, console, lab.hosts)
