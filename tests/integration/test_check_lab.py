"""`netcheck check` from the lab's console against real firewalls, sshd and smbd, in both probe methods."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import netcheck, netcheck_json
from tests.lab.site import (
    AGENT_ARGS,
    DNS1,
    DNS2,
    EXPECTED,
    FORGER,
    LIN_OK,
    LLMNR_NAME,
    LS,
    MS,
    NETBIOS_NAME,
    NO_ARP,
    RESPONDER,
    ROUTER_PROHIBITS,
    STALE_DNS,
    TLS_HOST,
    TOKEN,
    WIN_LEGACY,
    WIN_NOSMB,
    WIN_OK,
    Site,
)
from tests.schema import validate_report

pytestmark = pytest.mark.lab
METHODS = ("syn", "connect")


def by_link(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(c["address"], c["port"]): c for c in report["checks"] if c["kind"] == "tcp" and c["address"]}


@pytest.fixture(scope="module")
def reports(site: Site) -> dict[str, tuple[int, dict[str, Any]]]:
    """The whole site checked from the console (no management server: the console installs), per method."""
    return {
        method: netcheck_json(site.console, "--method", method, "--license-server", "ls.lab.test", *AGENT_ARGS)
        for method in METHODS
    }


def test_reports_validate_against_the_schema(reports: dict[str, tuple[int, dict[str, Any]]]) -> None:
    for _code, report in reports.values():
        validate_report(report)


@pytest.mark.parametrize("method", METHODS)
def test_every_link_has_the_expected_state_and_verdict(reports: dict[str, tuple[int, dict[str, Any]]], method: str) -> None:
    code, report = reports[method]
    links = by_link(report)
    assert report["method"] == method
    for expect in EXPECTED:
        link = links[(expect.address, expect.port)]
        assert (link["state"], link["verdict"]) == (expect.state, expect.verdict), (expect, link)
        assert link["evidence"]["method"] == method
        if expect.verdict == "fail":
            assert link["remediation"]
    license_link = links[(LS, 9876)]
    assert (license_link["state"], license_link["verdict"]) == ("closed", "pass")
    assert "nothing listens yet" in license_link["detail"]
    unreachable = {e.address for e in EXPECTED if e.state == "unreachable" or e.address in (ROUTER_PROHIBITS,)}
    managing = {address: link for (address, port), link in links.items() if port == 9876 and address != LS}
    assert {a for a, link in managing.items() if link["verdict"] == "fail"} == unreachable  # page 2: managing agents
    assert code == 1 and report["summary"]["verdict"] == "fail"
    assert report["summary"]["fail"] == sum(1 for e in EXPECTED if e.verdict == "fail") + len(unreachable)


def test_without_retries_a_silent_link_is_decided_while_others_are_still_probed(site: Site) -> None:
    """--retries 0: a SYN probe given up on is never sent again, so its outcome goes out during the run (not
    when the last probe is done), with the states of a run with retries. --rate 10 spreads the probes over
    more than a second (445 links first, then 25001, then 22)."""
    code, report = netcheck_json(
        site.console, "--method", "syn", "--retries", "0", "--rate", "10", "--license-server", "ls.lab.test", *AGENT_ARGS
    )
    links = by_link(report)
    for expect in EXPECTED:
        link = links[(expect.address, expect.port)]
        assert (link["state"], link["verdict"]) == (expect.state, expect.verdict), (expect, link)
        assert link["evidence"]["attempts"] == 1
    assert links[(NO_ARP, 22)]["evidence"]["arp"] == "no answer"
    last = max(link["elapsed_ms"] for link in links.values())
    silent = [link for link in links.values() if link["evidence"]["reply"] == "none"]
    assert sum(link["elapsed_ms"] < last - 500 for link in silent) >= 2  # the dropping agent's 445 and 25001
    assert code == 1
    # The host that never answers ARP, probed first (every agent here is Linux: one link each, in their order):
    # it is judged during the run too, from the neighbour table as it is then.
    addresses = [NO_ARP, *(a for a in dict.fromkeys(e.address for e in EXPECTED) if a != NO_ARP)]
    _code, report = netcheck_json(
        site.console, "--method", "syn", "--retries", "0", "--rate", "10", *(f"--agent={a}:linux" for a in addresses)
    )
    links = by_link(report)
    no_arp = links[(NO_ARP, 22)]
    assert (no_arp["state"], no_arp["evidence"]["arp"]) == ("unreachable", "no answer")
    assert no_arp["elapsed_ms"] < max(link["elapsed_ms"] for link in links.values()) - 400


def test_syn_evidence_names_the_packet(reports: dict[str, tuple[int, dict[str, Any]]]) -> None:
    links = by_link(reports["syn"][1])
    assert links[(WIN_OK, 445)]["evidence"]["reply"] == "syn-ack"
    assert links[(WIN_OK, 25001)]["evidence"]["reply"] == "rst"
    assert links[(WIN_OK, 445)]["evidence"]["ttl"] == 64
    admin = links[("198.18.0.33", 445)]["evidence"]
    assert (admin["reply"], admin["icmp_type"], admin["icmp_code"], admin["icmp_from"]) == ("icmp", 3, 13, "198.18.0.33")
    router = links[("198.19.0.41", 22)]["evidence"]
    assert (router["icmp_type"], router["icmp_code"], router["icmp_from"]) == (3, 1, "198.18.0.1")
    silent = links[("198.18.0.32", 445)]["evidence"]
    assert (silent["reply"], silent["attempts"]) == ("none", 2)
    assert links[("198.18.0.99", 22)]["evidence"]["arp"] == "no answer"


def test_connect_evidence_reads_the_icmp_error_queue(reports: dict[str, tuple[int, dict[str, Any]]]) -> None:
    links = by_link(reports["connect"][1])
    assert links[(WIN_OK, 25001)]["evidence"]["error"] == "ECONNREFUSED"
    prohibited = links[("198.19.1.41", 22)]["evidence"]
    assert (prohibited["error"], prohibited["icmp_code"], prohibited["icmp_from"]) == ("EHOSTUNREACH", 13, "198.18.0.1")
    assert links[("198.18.0.99", 22)]["evidence"]["arp"] == "no answer"


def nmap_states(site: Site, scan: str) -> dict[tuple[str, int], str]:
    targets = sorted({e.address for e in EXPECTED if e.nmap})
    ports = ",".join(str(p) for p in sorted({e.port for e in EXPECTED}))
    proc = subprocess.run(
        ["ip", "netns", "exec", site.console.ns, "nmap", "-Pn", "-n", scan, "-p", ports, "-oX", "-", *targets],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    states = {}
    for host in ET.fromstring(proc.stdout).iter("host"):  # noqa: S314 - our own nmap's output
        address = host.find("address").get("addr")  # type: ignore[union-attr]
        for port in host.iter("port"):
            states[(address, int(port.get("portid", "0")))] = port.find("state").get("state")  # type: ignore[union-attr]
    return states


@pytest.mark.parametrize("method", METHODS)
def test_states_agree_with_nmap_syn_scan(site: Site, reports: dict[str, tuple[int, dict[str, Any]]], method: str) -> None:
    """nmap has no 'unreachable': it reports ICMP host/net-unreachable as filtered, as it does admin-prohibited."""
    nmap = nmap_states(site, "-sS")
    links = by_link(reports[method][1])
    compared = 0
    for expect in EXPECTED:
        if not expect.nmap:
            continue
        ours = links[(expect.address, expect.port)]["state"]
        assert {"unreachable": "filtered"}.get(ours, ours) == nmap[(expect.address, expect.port)], (expect, ours)
        compared += 1
    assert compared == sum(1 for e in EXPECTED if e.nmap)


def test_all_good_links_pass_with_exit_0(site: Site) -> None:
    proc = netcheck(site.console, "--agent", f"{WIN_OK}:windows", "--agent", f"{LIN_OK}:linux", "--license-server", LS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # 4 links, 2 more to the agents' 9876 (page 2: managing agents), the SMB and SSH services behind them, 6 host
    # checks; the 5 skips: discovery, not needed where DNS works, and the two access checks (no credentials given)
    assert "netcheck PASS: 14 pass, 5 skip" in proc.stdout


def test_management_server_present_moves_installation_off_the_console(site: Site) -> None:
    code, report = netcheck_json(site.console, "--management-server", "ms.lab.test", "--agent", f"{WIN_OK}:windows")
    validate_report(report)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["tcp:console->ms.lab.test:9876"]["state"] == "open"
    assert checks["tcp:console->ms.lab.test:9876"]["address"] == MS
    assert checks["name:ms.lab.test"]["verdict"] == "pass"
    assert checks[f"tcp:console->{WIN_OK}:445"]["verdict"] == "skip"
    assert checks[f"tcp:console->{WIN_OK}:445"]["state"] == "not-probed"
    assert code == 0


def test_agent_vantage_with_an_unresolvable_license_server(site: Site) -> None:
    code, report = netcheck_json(
        site.console, "--from", "agent", "--management-server", "ms.lab.test", "--license-server", "nosuch.lab.test"
    )
    validate_report(report)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["tcp:agent->ms.lab.test:9876"]["verdict"] == "pass"
    assert checks["name:nosuch.lab.test"]["verdict"] == "fail"
    assert "nosuch.lab.test" in checks["name:nosuch.lab.test"]["remediation"]
    link = checks["tcp:agent->nosuch.lab.test:9876"]
    assert (link["state"], link["verdict"]) == ("unresolved", "skip")
    assert report["summary"]["fail"] == 1 and code == 1


@pytest.mark.parametrize("method", METHODS)
def test_post_install_requires_every_port_open(site: Site, method: str) -> None:
    code, report = netcheck_json(site.console, "--method", method, "--phase", "post-install", "--agent", f"{WIN_OK}:windows")
    links = by_link(report)
    assert links[(WIN_OK, 445)]["verdict"] == "pass"
    assert (links[(WIN_OK, 25001)]["state"], links[(WIN_OK, 25001)]["verdict"]) == ("closed", "fail")
    assert code == 1


def test_unknown_os_is_settled_by_which_service_answers(site: Site) -> None:
    code, report = netcheck_json(site.console, "--agent", WIN_OK, "--agent", LIN_OK, "--agent", WIN_NOSMB)
    links = by_link(report)
    assert links[(WIN_OK, 445)]["verdict"] == "pass"
    assert links[(WIN_OK, 22)]["verdict"] == "skip"
    assert links[(LIN_OK, 22)]["verdict"] == "pass"
    assert links[(LIN_OK, 445)]["verdict"] == links[(LIN_OK, 25001)]["verdict"] == "skip"
    assert links[(WIN_NOSMB, 445)]["verdict"] == links[(WIN_NOSMB, 22)]["verdict"] == "fail"
    assert ":windows or :linux" in links[(WIN_NOSMB, 22)]["remediation"]
    assert code == 1


def test_table_lists_failures_first_with_their_fix(site: Site) -> None:
    proc = netcheck(
        site.console, "--method", "connect", "--agent", f"{WIN_OK}:windows", "--agent", "198.18.0.32:windows", "--timeout", "0.5"
    )
    assert proc.returncode == 1
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("PASS", "FAIL")) and " -> " in line]
    # 198.18.0.32 drops 445 and 25001 but resets 9876 (managing agents, page 2): not down, two port groups
    assert [r.split()[:2] for r in rows] == [["FAIL", "#1"], ["FAIL", "#2"]]  # passes are counted, not listed
    assert "Passing: 11 checks" in proc.stdout  # WIN_OK's links and SMB service, 9876, and the host checks
    words = " ".join(proc.stdout.split())
    assert "What to fix, most blocking first:" in words and "drop everything or are down" not in words
    assert "TCP 445: no answer (dropped by a firewall) 1 machine: 198.18.0.32 Fix: Allow TCP 445 from the console" in words


# ---- names: dnsmasq (two servers), hosts file, system resolver, PTR, NetBIOS (nmbd), LLMNR ----------------


def names_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["target"]: c for c in report["checks"] if c["kind"] == "name"}


def test_dns_and_ptr_agree_for_the_management_server(site: Site) -> None:
    code, report = netcheck_json(site.console, "--from", "agent", "--management-server", "ms.lab.test")
    validate_report(report)
    ms = names_of(report)["ms.lab.test"]
    assert (ms["state"], ms["verdict"], ms["address"]) == ("resolved", "pass", MS)
    assert ms["evidence"]["dns"][0]["server"] == DNS1 and ms["evidence"]["dns"][0]["rcode"] == "NOERROR"
    assert ms["evidence"]["dns"][0]["ttl"] == 300
    assert ms["evidence"]["ptr"] == {MS: ["ms.lab.test"]}
    assert code == 0


def test_short_name_goes_through_the_search_list(site: Site) -> None:
    _code, report = netcheck_json(site.console, "--from", "agent", "--management-server", "ms")
    ms = names_of(report)["ms"]
    assert ms["verdict"] == "pass" and ms["evidence"]["dns"][0]["qname"] == "ms.lab.test"


def test_stale_hosts_entry_fails_with_the_line_to_write(site: Site) -> None:
    code, report = netcheck_json(site.console, "--from", "agent", "--management-server", "stale.lab.test")
    stale = names_of(report)["stale.lab.test"]
    assert stale["verdict"] == "fail"
    assert f"maps stale.lab.test to {NO_ARP}, DNS says {STALE_DNS}" in stale["detail"]
    assert f"Change line 2 of /etc/hosts to '{STALE_DNS} stale.lab.test'" in stale["remediation"]
    assert code == 1


def test_hosts_only_name_warns(site: Site) -> None:
    code, report = netcheck_json(site.console, "--from", "agent", "--license-server", "hostsonly.lab.test")
    only = names_of(report)["hostsonly.lab.test"]
    assert only["verdict"] == "warn" and "resolves only through the hosts file (line 3)" in only["detail"]
    assert f"'{LIN_OK} hostsonly.lab.test'" in only["remediation"]
    assert [d["rcode"] for d in only["evidence"]["dns"]] == ["NXDOMAIN"]
    assert code == 0  # warnings do not fail the run


def test_name_servers_that_disagree_are_each_reported(site: Site) -> None:
    _code, report = netcheck_json(
        site.console, "--from", "agent", "--management-server", "ms.lab.test", "--dns-server", DNS1, "--dns-server", DNS2
    )
    ms = names_of(report)["ms.lab.test"]
    assert ms["verdict"] == "warn"
    assert f"{DNS1} says {MS}; {DNS2} says 198.18.0.21" in ms["detail"]


def test_non_dns_console_finds_names_only_through_netbios_and_llmnr(site: Site) -> None:
    code, report = netcheck_json(site.nodns, "--agent", f"{NETBIOS_NAME}:windows", "--license-server", LLMNR_NAME)
    validate_report(report)
    names = names_of(report)
    ms, ls = names[NETBIOS_NAME], names[LLMNR_NAME]
    assert (ms["state"], ms["verdict"]) == ("unresolved", "fail")
    assert ms["evidence"]["netbios"] == [MS] and ms["evidence"]["dns"] == []
    assert f"add the line '{MS} {NETBIOS_NAME}' to the hosts file" in ms["remediation"]
    assert (ls["verdict"], ls["evidence"]["llmnr"]) == ("fail", [LS])
    assert "resolves only through LLMNR" in ls["detail"]
    links = [c for c in report["checks"] if c["kind"] == "tcp"]
    assert {(c["state"], c["verdict"]) for c in links} == {("unresolved", "skip")}
    discovery = [c for c in report["checks"] if c["kind"] == "discovery"]
    assert len(discovery) == 3
    for check in discovery:
        assert check["verdict"] == "skip"
        assert "non-DNS environment (no name server is configured)" in check["detail"]
        assert "Windows feature" in check["detail"]
    assert report["summary"]["fail"] == 2 and code == 1


def test_dns_server_option_shows_what_the_system_resolver_misses(site: Site) -> None:
    _code, report = netcheck_json(site.nodns, "--from", "agent", "--management-server", "ms.lab.test", "--dns-server", DNS1)
    ms = names_of(report)["ms.lab.test"]
    assert ms["verdict"] == "fail"
    assert "the system resolver cannot resolve ms.lab.test" in ms["detail"] and f"DNS gives {MS}" in ms["detail"]


def test_hosts_file_option_reads_another_machines_hosts_file(site: Site, tmp_path: Any) -> None:
    hosts = tmp_path / "agent-hosts"
    hosts.write_bytes(f"# copied from an agent\r\n{NO_ARP}\tms.lab.test\r\n".encode("utf-16"))
    _code, report = netcheck_json(
        site.console, "--from", "agent", "--management-server", "ms.lab.test", "--hosts-file", str(hosts)
    )
    ms = names_of(report)["ms.lab.test"]
    assert ms["verdict"] == "fail" and f"line 2 of {hosts} maps ms.lab.test to {NO_ARP}, DNS says {MS}" in ms["detail"]


# ---- services: sshd, two smbd configs (against nmap's scripts), TLS, the netcheck responder -------------------


def services_of(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(c["address"], c["port"]): c for c in report["checks"] if c["kind"] == "service"}


def test_ssh_banner_is_identified(reports: dict[str, tuple[int, dict[str, Any]]]) -> None:
    for _code, report in reports.values():
        service = services_of(report)[(LIN_OK, 22)]
        assert service["verdict"] == "pass" and service["detail"].startswith("SSH 2.0: OpenSSH ")
        assert by_link(report)[(LIN_OK, 22)]["evidence"]["service"]["software"].startswith("OpenSSH_")


NMAP_DIALECTS = {"202": "2.0.2", "210": "2.1", "300": "3.0", "302": "3.0.2", "311": "3.1.1"}


def nmap_smb(site: Site, address: str) -> tuple[list[str], bool]:
    """Dialects (smb-protocols) and whether signing is required (smb2-security-mode), as nmap sees them."""
    proc = subprocess.run(
        ["ip", "netns", "exec", site.console.ns, "nmap", "-Pn", "-n", "-p", "445", "--script", "smb-protocols,smb2-security-mode", "-oX", "-", address],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    root = ET.fromstring(proc.stdout)  # noqa: S314 - our own nmap's output
    dialects = [
        NMAP_DIALECTS[e.text.replace(":", "")]
        for e in root.findall(".//script[@id='smb-protocols']//table[@key='dialects']/elem")
    ]
    modes = [e.text or "" for e in root.findall(".//script[@id='smb2-security-mode']//elem")]
    assert dialects and modes, proc.stdout
    return dialects, "required" in modes[0] and "not required" not in modes[0]


@pytest.mark.parametrize(("address", "encryption"), [(WIN_OK, True), (WIN_LEGACY, False)])
def test_smb_dialects_and_signing_match_nmap_scripts(
    site: Site, reports: dict[str, tuple[int, dict[str, Any]]], address: str, encryption: bool
) -> None:
    dialects, signing_required = nmap_smb(site, address)
    for _code, report in reports.values():
        service = services_of(report)[(address, 445)]
        assert service["evidence"]["dialects"] == dialects
        assert service["evidence"]["signing_required"] is signing_required
        assert service["evidence"]["encryption"] is encryption
        assert service["evidence"]["smb1"] is False
        assert service["verdict"] == "pass"
    assert (dialects, signing_required) == (
        (["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"], True) if encryption else (["2.0.2", "2.1"], False)
    )


def test_tls_on_the_product_port_is_identified(site: Site) -> None:
    _code, report = netcheck_json(site.console, "--from", "agent", "--license-server", TLS_HOST)
    validate_report(report)
    service = services_of(report)[(TLS_HOST, 9876)]
    assert service["verdict"] == "pass"
    assert service["evidence"]["subject"] == "CN=tls.lab.test, O=netcheck lab"
    assert service["evidence"]["tls_version"].startswith("TLSv1.")
    assert "certificate CN=tls.lab.test" in service["detail"]


def test_responder_verifies_a_link_end_to_end_and_flags_a_forged_reset(site: Site) -> None:
    code, report = netcheck_json(
        site.console,
        "--agent",
        f"{RESPONDER}:windows",
        "--agent",
        f"{FORGER}:windows",
        "--expect-responder",
        "--token",
        TOKEN,
    )
    validate_report(report)
    links, services = by_link(report), services_of(report)
    verified = links[(RESPONDER, 25001)]
    assert (verified["state"], verified["verdict"]) == ("open", "pass")
    assert verified["evidence"]["responder"] == {
        "protocol": "netcheck-responder",
        "answered": True,
        "authenticated": True,
        "verified": True,
        "answered_as": f"{RESPONDER}:25001",
    }
    assert "verified end to end" in verified["detail"]
    assert services[(RESPONDER, 25001)]["verdict"] == "pass"
    forged = links[(FORGER, 25001)]
    assert (forged["state"], forged["verdict"]) == ("closed", "fail")
    assert "possibly a forged reset" in forged["detail"] and "netcheck listen" in forged["remediation"]
    assert code == 1


def test_responder_with_another_token_is_not_verified(site: Site) -> None:
    _code, report = netcheck_json(site.console, "--agent", f"{RESPONDER}:windows", "--token", "wrong")
    service = services_of(report)[(RESPONDER, 25001)]
    assert service["verdict"] == "fail" and service["evidence"]["verified"] is False
    assert "failed token check" in service["detail"]
    link = by_link(report)[(RESPONDER, 25001)]
    assert "NOT verified" in link["detail"] and "(verified end to end)" not in link["detail"]
    assert _code == 1


def test_listen_reports_taken_ports_and_peers(site: Site) -> None:
    """A second responder on the responder host finds 25001/9876 taken, by the first one, and says so."""
    proc = subprocess.run(
        ["ip", "netns", "exec", site.hosts["responder"].ns, sys.executable, "-m", "netcheck", "listen", "--duration", "1"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "port 25001 is taken by python" in proc.stdout and "every port is taken" in proc.stderr
