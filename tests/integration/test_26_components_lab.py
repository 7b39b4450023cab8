"""Issue 26 in the namespace lab: storage nodes and a Cyber Protect 15 management server (real TLS on 9877, a
listener on 7780), checked from an agent, a storage node, a catalog and a browser, before and after installation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import netcheck, netcheck_json
from tests.lab.netns import Host, Lab
from tests.lab.services import start_listener, start_tls_listener
from tests.schema import validate_report

pytestmark = pytest.mark.lab

CP_MS = "198.18.0.20"  # Cyber Protect 15 management server: TLS on 9877, a listener on 7780
SN_TLS = "198.18.0.60"  # a storage node serving mutual TLS on 9876
SN_EMPTY = "198.18.0.61"  # a storage node not installed yet: 9876 resets
SN_DROP = "198.18.0.62"  # a storage node behind a firewall that drops 9876
AGENT = "198.18.0.31"
CATALOG = "198.18.0.90"


def start_mutual_tls_listener(host: Host, workdir: Path, port: int, common_name: str) -> None:
    """A TLS server that asks for a client certificate (the storage node's mutual TLS): it trusts only its own."""
    key, cert = workdir / f"mtls-{host.name}.key", workdir / f"mtls-{host.name}.pem"
    host.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
              "-days", "30", "-subj", f"/CN={common_name}/O=netcheck lab"])  # fmt: skip
    code = (
        "import signal,socket,ssl,sys,threading\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        f"ctx=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER);ctx.load_cert_chain('{cert}','{key}')\n"
        f"ctx.verify_mode=ssl.CERT_REQUIRED;ctx.load_verify_locations('{cert}')\n"
        f"s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('{host.address}',{port}));s.listen(64)\n"
        "def serve(c):\n"
        "    try:\n        t=ctx.wrap_socket(c,server_side=True);t.settimeout(5);t.recv(1);t.close()\n"
        "    except Exception:\n        c.close()\n"
        "while True:\n    c,_=s.accept();c.settimeout(5);threading.Thread(target=serve,args=(c,),daemon=True).start()\n"
    )
    host.spawn([sys.executable, "-c", code])
    host.lab.wait_tcp(host, port)


@pytest.fixture
def components(small_lab: Lab, tmp_path: Path) -> dict[str, Host]:
    lab = small_lab
    cp_ms = lab.add_host("cp-ms", f"{CP_MS}/24")
    start_tls_listener(cp_ms, tmp_path, 9877, "cpms.lab.test")
    start_listener(cp_ms, 7780)
    sn_tls = lab.add_host("sn-tls", f"{SN_TLS}/24")
    start_mutual_tls_listener(sn_tls, tmp_path, 9876, "sn.lab.test")
    lab.add_host("sn-empty", f"{SN_EMPTY}/24")
    sn_drop = lab.add_host("sn-drop", f"{SN_DROP}/24")
    sn_drop.nft("table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 9876 drop\n }\n}\n")
    return {
        "agent": lab.add_host("agent", f"{AGENT}/24"),
        "catalog": lab.add_host("catalog", f"{CATALOG}/24"),
        "sn-tls": sn_tls,
        "cp-ms": cp_ms,
    }


def by_link(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(c["target"], c["port"]): c for c in report["checks"] if c["kind"] == "tcp"}


def services(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(c["target"], c["port"]): c for c in report["checks"] if c["kind"] == "service"}


CP15 = ("--product", "cyber-protect-15", "--timeout", "1", "--retries", "0")


@pytest.mark.parametrize("method", ["syn", "connect"])
def test_cyber_protect_agent_reaches_the_management_server_and_its_storage_nodes(
    components: dict[str, Host], method: str
) -> None:
    code, report = netcheck_json(
        components["agent"], "--from", "agent", *CP15, "--method", method, "--management-server", CP_MS,
        "--storage-node", SN_TLS, "--storage-node", SN_EMPTY, "--storage-node", SN_DROP,
    )  # fmt: skip
    validate_report(report)
    assert report["product"] == "cyber-protect-15"
    links = by_link(report)
    assert set(links) == {(CP_MS, 7780), (SN_TLS, 9876), (SN_EMPTY, 9876), (SN_DROP, 9876)}
    assert (links[(CP_MS, 7780)]["state"], links[(CP_MS, 7780)]["verdict"]) == ("open", "pass")
    assert "ZeroMQ" in links[(CP_MS, 7780)]["purpose"]
    assert (links[(SN_TLS, 9876)]["state"], links[(SN_TLS, 9876)]["verdict"]) == ("open", "pass")
    assert (links[(SN_EMPTY, 9876)]["state"], links[(SN_EMPTY, 9876)]["verdict"]) == ("closed", "pass")  # pre-install
    assert (links[(SN_DROP, 9876)]["state"], links[(SN_DROP, 9876)]["verdict"]) == ("filtered", "fail")
    assert all(
        link["documented_in"] == "Acronis Cyber Protect 15 documentation, Network connection diagram" for link in links.values()
    )
    tls = services(report)[(SN_TLS, 9876)]
    assert tls["verdict"] == "pass" and "sn.lab.test" in tls["detail"]  # mutual TLS: the handshake identifies it
    assert (CP_MS, 7780) not in services(report)  # ZeroMQ: not identified, nothing to say
    assert code == 1


def test_cyber_protect_post_install_needs_the_storage_node_listening(components: dict[str, Host]) -> None:
    code, report = netcheck_json(
        components["agent"], "--from", "agent", *CP15, "--phase", "post-install", "--management-server", CP_MS,
        "--storage-node", SN_TLS, "--storage-node", SN_EMPTY,
    )  # fmt: skip
    links = by_link(report)
    assert links[(CP_MS, 7780)]["verdict"] == links[(SN_TLS, 9876)]["verdict"] == "pass"
    empty = links[(SN_EMPTY, 9876)]
    assert (empty["state"], empty["verdict"]) == ("closed", "fail") and "storage node" in empty["remediation"]
    assert report["phase"] == "post-install" and code == 1


def test_the_browser_identifies_the_web_console_by_its_tls_handshake(components: dict[str, Host]) -> None:
    code, report = netcheck_json(components["agent"], "--from", "browser", *CP15, "--management-server", CP_MS)
    links = by_link(report)
    assert set(links) == {(CP_MS, 9877)} and links[(CP_MS, 9877)]["verdict"] == "pass"
    web = services(report)[(CP_MS, 9877)]
    assert web["verdict"] == "pass" and "cpms.lab.test" in web["detail"] and web["evidence"]["tls_version"].startswith("TLS")
    assert code == 0


def test_storage_node_and_catalog_vantages(components: dict[str, Host]) -> None:
    code, report = netcheck_json(components["sn-tls"], "--from", "storage-node", *CP15, "--management-server", CP_MS)
    assert set(by_link(report)) == {(CP_MS, 7780)} and by_link(report)[(CP_MS, 7780)]["verdict"] == "pass"
    own = [c for c in report["checks"] if c["id"].startswith("host:port-")]
    assert [c["port"] for c in own] == [9876]  # the storage node's own port: held by the lab's TLS server here
    assert own[0]["verdict"] == "fail" and code == 1
    code, report = netcheck_json(components["catalog"], "--from", "catalog", *CP15, "--storage-node", SN_TLS)
    assert set(by_link(report)) == {(SN_TLS, 9876)} and by_link(report)[(SN_TLS, 9876)]["verdict"] == "pass"
    assert {c["port"] for c in report["checks"] if c["id"].startswith("host:port-")} == {9200}


def test_backup_advanced_storage_nodes_before_and_after_installation(components: dict[str, Host]) -> None:
    """The management server manages storage nodes, and agents access managed vaults, on 9876."""
    args = ("--from", "management-server", "--timeout", "1", "--retries", "0", "--storage-node", SN_EMPTY,
            "--storage-node", SN_DROP)  # fmt: skip
    code, report = netcheck_json(components["cp-ms"], *args)
    assert report["product"] == "backup-advanced-11"
    links = by_link(report)
    assert links[(SN_EMPTY, 9876)]["purpose"] == "Managing storage nodes and centralized catalog"
    assert (links[(SN_EMPTY, 9876)]["state"], links[(SN_EMPTY, 9876)]["verdict"]) == ("closed", "pass")
    assert links[(SN_DROP, 9876)]["verdict"] == "fail" and code == 1
    code, report = netcheck_json(components["cp-ms"], *args, "--phase", "post-install")
    assert by_link(report)[(SN_EMPTY, 9876)]["verdict"] == "fail"


def test_listen_answers_on_the_cyber_protect_ports(components: dict[str, Host], small_lab: Lab) -> None:
    """`netcheck listen --product cyber-protect-15` on a fresh machine answers on 7780, 9877, 9876 and 9200: a
    check with --expect-responder verifies each link end to end."""
    catalog = components["catalog"]
    catalog.spawn([sys.executable, "-m", "netcheck", "listen", "--product", "cyber-protect-15", "--duration", "600",
                   "--token", "lab-s3cret"])  # fmt: skip
    for port in (7780, 9877, 9876, 9200):
        small_lab.wait_tcp(catalog, port)
    proc = netcheck(
        components["agent"], "--from", "agent", *CP15, "--management-server", CATALOG, "--storage-node", CATALOG,
        "--expect-responder", "--token", "lab-s3cret", "--format", "json",
    )  # fmt: skip
    report = json.loads(proc.stdout)
    found = services(report)
    assert found[(CATALOG, 7780)]["verdict"] == found[(CATALOG, 9876)]["verdict"] == "pass", proc.stdout
    assert "verified end to end" in found[(CATALOG, 7780)]["detail"]
    web = netcheck(
        components["agent"], "--from", "browser", *CP15, "--management-server", CATALOG, "--expect-responder",
        "--token", "lab-s3cret", "--format", "json",
    )  # fmt: skip
    found = services(json.loads(web.stdout))
    # 9877 is tried with a TLS handshake first; the responder, which is not TLS, is then asked
    assert found[(CATALOG, 9877)]["verdict"] == "pass" and "verified end to end" in found[(CATALOG, 9877)]["detail"]
