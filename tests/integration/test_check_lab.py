"""`netcheck check` from the lab's console against real firewalls, sshd and smbd, in both probe methods."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import netcheck, netcheck_json
from tests.lab.site import AGENT_ARGS, EXPECTED, LIN_OK, LS, MS, WIN_NOSMB, WIN_OK, Site
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
    assert code == 1 and report["summary"]["verdict"] == "fail"
    assert report["summary"]["fail"] == sum(1 for e in EXPECTED if e.verdict == "fail")


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
    assert "netcheck PASS: 4 pass" in proc.stdout


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
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert [r.split()[0] for r in rows] == ["FAIL", "FAIL", "PASS", "PASS"]
    assert "What to fix:" in proc.stdout and "Allow TCP 445 from this console to 198.18.0.32" in proc.stdout.replace(
        "\n     ", " "
    )
