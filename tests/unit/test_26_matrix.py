"""Issue 26: who acquires the licence (page 1), the sheet's page 2, and the Cyber Protect 15 profile, as plans,
verdicts by phase, firewall rules, listen ports and the plan file."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest

from netcheck import cli
from netcheck.classify import classify_tcp
from netcheck.errors import InputError
from netcheck.model.checks import Check, Report, Target, Topology, Vantage
from netcheck.model.kinds import AgentOS, HostAspect, Kind, Phase, Product, Role, State, Verdict
from netcheck.model.matrix import (
    ABA_LICENSING,
    ABA_SHEET_COMPONENTS,
    ABA_SHEET_INSTALL,
    CP15_DIAGRAM,
    MATRICES,
    PORTS,
    PortKey,
    listening_ports,
)
from netcheck.model.observations import Observation, Reply, TcpReply
from netcheck.plan.firewall import RuleFormat, firewall_rules, render_rules
from netcheck.plan.planner import INTEGRATED_REASON, NothingToCheck, plan_checks
from netcheck.plan.topology import build_topology, parse_plan
from netcheck.report.json import parse_report, render_json
from netcheck.report.merge import ReportError
from tests.cli_runner import CliRunner
from tests.report_helpers import merge_reports
from tests.schema import validate_report

WIN = Target("198.18.0.31", Role.AGENT, AgentOS.WINDOWS)
LIN = Target("198.18.0.41", Role.AGENT, AgentOS.LINUX)
MS = Target("198.18.0.20", Role.MANAGEMENT_SERVER)
LS = Target("198.18.0.25", Role.LICENSE_SERVER)
SN = Target("198.18.0.60", Role.STORAGE_NODE)
VC = Target("198.18.0.70", Role.VCENTER)
CLOUD = Target("198.18.0.80", Role.CLOUD_STORAGE)
CAT = Target("198.18.0.90", Role.CATALOG)
ABA, CP15 = Product.BACKUP_ADVANCED_11, Product.CYBER_PROTECT_15


def probed_links(topology: Topology, role: Role) -> list[tuple[str, int | None]]:
    """The (target, port) pairs the plan probes from `role`, in plan order, each once."""
    checks = plan_checks(topology, role)
    return list(dict.fromkeys((c.target.name, c.port) for c in checks if c.kind is Kind.TCP and not c.skip_reason))


def everything(product: Product) -> Topology:
    return Topology(
        management_server=MS,
        license_server=LS,
        agents=(WIN, LIN),
        components={
            Role.STORAGE_NODE: (SN,),
            Role.VCENTER: (VC,),
            Role.CLOUD_STORAGE: (CLOUD,),
            Role.CATALOG: (CAT,),
        },
        product=product,
    )


def links(checks: list[Check]) -> dict[tuple[str, int | None], Check]:
    return {(c.target.name, c.port): c for c in checks if c.kind is Kind.TCP}


def probed(checks: list[Check]) -> set[tuple[str, int | None]]:
    return {key for key, c in links(checks).items() if not c.skip_reason}


# ---- page 1: who acquires the licence ----------------------------------------------------------------------


def test_the_management_server_acquires_the_licence_when_it_installs() -> None:
    checks = plan_checks(Topology(management_server=MS, license_server=LS, agents=(WIN,)), Role.MANAGEMENT_SERVER)
    link = links(checks)[(LS.name, 9876)]
    assert not link.skip_reason
    assert link.purpose == "Acquiring a license; Managing licenses"
    assert link.documented_in == f"{ABA_SHEET_INSTALL}; {ABA_SHEET_COMPONENTS}"


def test_the_console_acquires_the_licence_only_without_a_management_server() -> None:
    alone = links(plan_checks(Topology(license_server=LS, agents=(WIN,)), Role.CONSOLE))[(LS.name, 9876)]
    assert (alone.purpose, alone.skip_reason) == ("Acquiring a license", "")
    with_ms = links(plan_checks(Topology(management_server=MS, license_server=LS), Role.CONSOLE))[(LS.name, 9876)]
    assert "acquires the licence" in with_ms.skip_reason and "--from management-server" in with_ms.skip_reason
    assert (LS.name, 9876) not in probed_links(Topology(management_server=MS, license_server=LS), Role.CONSOLE)


def test_the_agent_checks_licences_from_its_first_service_start() -> None:
    link = links(plan_checks(Topology(license_server=LS), Role.AGENT))[(LS.name, 9876)]
    assert link.purpose.startswith("Checking licenses (every start of the agent service, the first included")
    assert "Acquiring" not in link.purpose
    assert ABA_LICENSING in link.documented_in and "topic 13688" in link.documented_in


@pytest.mark.parametrize("spelling", ["198.18.0.20", "MS.lab.test"])
def test_a_license_server_given_as_the_management_server_is_one_machine_probed_once(spelling: str) -> None:
    ms = Target("198.18.0.20" if spelling[0].isdigit() else "ms.lab.test", Role.MANAGEMENT_SERVER)
    topology = Topology(management_server=ms, license_server=Target(spelling, Role.LICENSE_SERVER), agents=(WIN,))
    agent = plan_checks(topology, Role.AGENT)
    to_ms = [c for c in agent if c.kind is Kind.TCP]
    assert [(c.target.name, c.port) for c in to_ms] == [(ms.name, 9876)]  # one probe, not two
    assert "Checking licenses" in to_ms[0].purpose and "integrated license server: same machine, same port" in to_ms[0].purpose
    assert probed_links(topology, Role.AGENT) == [(ms.name, 9876)]
    installer = links(plan_checks(topology, Role.MANAGEMENT_SERVER))[(ms.name, 9876)]
    assert installer.skip_reason == INTEGRATED_REASON  # the management server does not probe itself
    assert (ms.name, 9876) not in probed_links(topology, Role.MANAGEMENT_SERVER)
    assert not [r for r in firewall_rules(topology) if r.source == ms.name and r.destination == ms.name]


# ---- page 2 ------------------------------------------------------------------------------------------------


def test_page_two_links_from_each_component() -> None:
    topology = everything(ABA)
    ms = links(plan_checks(topology, Role.MANAGEMENT_SERVER))
    assert ms[(WIN.name, 9876)].purpose.startswith("Registering, managing agents")
    assert ms[(SN.name, 9876)].purpose == "Managing storage nodes and centralized catalog"
    agent = links(plan_checks(topology, Role.AGENT))
    assert agent[(SN.name, 9876)].purpose == "Accessing managed vaults"
    assert {port for name, port in agent if name == VC.name} == {443, 902}
    assert {port for name, port in agent if name == CLOUD.name} == {443, 44445, 55556}
    assert all(agent[(CLOUD.name, port)].must_be_served for port in (443, 44445, 55556))  # a service outside the product
    assert not agent[(SN.name, 9876)].must_be_served
    console = links(plan_checks(topology, Role.CONSOLE))
    assert console[(MS.name, 8080)].purpose.startswith("Accessing the management server web page")
    assert console[(WIN.name, 9876)].purpose == "Managing agents"
    assert all(c.documented_in for c in [*ms.values(), *agent.values(), *console.values()])


def test_the_browser_side_alone() -> None:
    checks = plan_checks(Topology(management_server=MS, agents=(WIN,)), Role.BROWSER)
    assert probed(checks) == {(MS.name, 8080)}
    assert [c.port for c in checks if c.kind is Kind.HOST and c.aspect is HostAspect.PORT_FREE] == []
    with pytest.raises(NothingToCheck, match="give --management-server"):
        plan_checks(Topology(agents=(WIN,)), Role.BROWSER)


def test_the_storage_node_initiates_nothing_in_backup_advanced() -> None:
    with pytest.raises(NothingToCheck, match="storage node initiates no connection in the Acronis Backup Advanced"):
        plan_checks(everything(ABA), Role.STORAGE_NODE)


# ---- Cyber Protect 15 --------------------------------------------------------------------------------------


def test_cyber_protect_links_from_each_component() -> None:
    topology = everything(CP15)
    agent = plan_checks(topology, Role.AGENT)
    assert probed(agent) == {(MS.name, 7780), (SN.name, 9876)}  # no licence, vSphere or cloud port is stated
    assert links(agent)[(SN.name, 9876)].port_key is PortKey.STORAGE_DATA
    assert probed(plan_checks(topology, Role.STORAGE_NODE)) == {(MS.name, 7780)}
    assert probed(plan_checks(topology, Role.CATALOG)) == {(SN.name, 9876)}
    assert probed(plan_checks(topology, Role.BROWSER)) == {(MS.name, 9877)}
    console = plan_checks(topology, Role.CONSOLE)
    assert probed(console) == {(MS.name, 9877)}
    assert links(console)[(MS.name, 9877)].documented_in == CP15_DIAGRAM
    assert not [c for c in console if c.kind is Kind.ACCESS or c.kind is Kind.DISCOVERY]  # no remote install stated
    with pytest.raises(NothingToCheck, match="management server initiates no connection in the Acronis Cyber Protect 15"):
        plan_checks(topology, Role.MANAGEMENT_SERVER)


@pytest.mark.parametrize(
    ("role", "ports"),
    [
        (Role.MANAGEMENT_SERVER, [7780, 9877]),
        (Role.STORAGE_NODE, [9876]),
        (Role.CATALOG, [9200]),
        (Role.AGENT, []),
    ],
)
def test_cyber_protect_ports_each_component_must_have_free(role: Role, ports: list[int]) -> None:
    from netcheck.plan.planner import host_checks  # noqa: PLC0415

    free = [c.port for c in host_checks(everything(CP15), role) if c.aspect is HostAspect.PORT_FREE]
    assert free == ports


def test_no_guessing_where_no_document_states_a_port() -> None:
    assert set(Product) == {ABA, CP15}  # Backup 12.5 and Cyber Protect 16: no public source states their ports
    for product, matrix in MATRICES.items():
        assert matrix and all(link.documented_in for link in matrix), product


# ---- every profile and phase --------------------------------------------------------------------------------

RESET = TcpReply("syn", Reply.RST, ttl=64)
VANTAGES = {
    ABA: [Role.CONSOLE, Role.MANAGEMENT_SERVER, Role.AGENT, Role.BROWSER],
    CP15: [Role.CONSOLE, Role.AGENT, Role.STORAGE_NODE, Role.CATALOG, Role.BROWSER],
}


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("product", list(Product))
def test_a_reset_passes_before_installation_only_on_product_ports(product: Product, phase: Phase) -> None:
    """Before installation a reset on a product port passes (nothing listens yet); a reset on a port served by
    something else (SMB, SSH, vSphere, the cloud storage) fails. After installation every link must be open."""
    judged = 0
    for vantage in VANTAGES[product]:
        for check in plan_checks(everything(product), vantage):
            if check.kind is not Kind.TCP or check.skip_reason:
                continue
            result = classify_tcp(check, Observation(State.CLOSED, check.target.name, RESET), phase=phase)
            product_port = check.port_key is not None and not PORTS[check.port_key].os_service
            expected = Verdict.PASS if phase is Phase.PRE_INSTALL and product_port else Verdict.FAIL
            assert result.verdict is expected, (vantage, check.id)
            opened = classify_tcp(check, Observation(State.OPEN, check.target.name, TcpReply("syn", Reply.SYN_ACK)), phase=phase)
            assert opened.verdict is Verdict.PASS
            judged += 1
    assert judged >= 5


def test_post_install_management_server_manages_agents_from_the_management_server() -> None:
    checks = plan_checks(everything(ABA), Role.MANAGEMENT_SERVER)
    link = links(checks)[(WIN.name, 9876)]
    assert link.source is Role.MANAGEMENT_SERVER
    closed = classify_tcp(link, Observation(State.CLOSED, WIN.name, RESET), phase=Phase.POST_INSTALL)
    assert closed.verdict is Verdict.FAIL and "Start the Acronis agent service" in closed.remediation


# ---- ports, listen ------------------------------------------------------------------------------------------


def test_listen_answers_on_each_profiles_ports() -> None:
    assert listening_ports(ABA) == [25001, 9876, 8080]
    assert listening_ports(CP15) == [7780, 9877, 9876, 9200]


def test_ports_for_cyber_protect_name_their_source_and_the_catalog_index() -> None:
    rules = firewall_rules(everything(CP15))
    table = {(r.source, r.destination, r.port) for r in rules}
    assert table == {
        (WIN.name, MS.name, 7780),
        (LIN.name, MS.name, 7780),
        (SN.name, MS.name, 7780),
        (None, MS.name, 9877),
        (WIN.name, SN.name, 9876),
        (LIN.name, SN.name, 9876),
        (CAT.name, SN.name, 9876),
        (None, CAT.name, 9200),  # the documentation names no client of the index: any host
    }
    assert all(r.documented_in == CP15_DIAGRAM for r in rules)
    rows = list(csv.DictReader(io.StringIO(render_rules(rules, RuleFormat.CSV))))
    index = next(row for row in rows if row["port"] == "9200")
    assert index["source"] == "any host" and index["documented_in"] == CP15_DIAGRAM
    nft = render_rules(rules, RuleFormat.NFTABLES)
    assert f"# on {CAT.name} - {CP15_DIAGRAM}" in nft and "tcp dport 9200 accept" in nft


def test_generic_rules_of_each_profile() -> None:
    for product in Product:
        rules = firewall_rules(Topology(product=product))
        assert {r.port for r in rules} >= set(listening_ports(product)), product


def test_ports_command_takes_the_product_and_the_components() -> None:
    runner = CliRunner()
    out = runner.invoke(
        cli.main,
        ["ports", "--product", "cyber-protect-15", "--management-server", MS.name, "--storage-node", SN.name,
         "--catalog", CAT.name, "--agent", WIN.name],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert {(row["source"], row["destination"], row["port"]) for row in rows} >= {
        (WIN.name, MS.name, "7780"),
        (CAT.name, SN.name, "9876"),
        ("any host", CAT.name, "9200"),
    }
    aba = runner.invoke(cli.main, ["ports", "--management-server", MS.name, "--vcenter", VC.name, "--agent", LIN.name])
    assert {row["port"] for row in csv.DictReader(io.StringIO(aba.output)) if row["destination"] == VC.name} == {"443", "902"}
    bad = runner.invoke(cli.main, ["ports", "--product", "backup-12.5"])
    assert bad.exit_code == 2 and "is not one of backup-advanced-11, cyber-protect-15" in bad.output


# ---- plan file, topology ------------------------------------------------------------------------------------


def test_plan_file_names_the_product_and_the_components() -> None:
    plan = parse_plan(
        'product = "cyber-protect-15"\nmanagement_server = "ms.lab.test"\nstorage_nodes = ["sn1.lab.test", "198.18.0.61"]\n'
        'catalogs = "cat.lab.test"\nvcenters = []\ncloud_storage = "backup.example.com"\n',
        filename="site.toml",
    )
    assert plan.product is CP15
    assert plan.components == {
        Role.STORAGE_NODE: ("sn1.lab.test", "198.18.0.61"),
        Role.CATALOG: ("cat.lab.test",),
        Role.CLOUD_STORAGE: ("backup.example.com",),
    }
    for text, message in [
        ('product = "cyber-protect-16"', "product = 'cyber-protect-16' is not one of"),
        ("storage_nodes = 7", "storage_nodes must be a host name or a list"),
        ('vcenters = ["bad host"]', "malformed vcenters entry"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_plan(text, filename="site.toml")


def test_components_from_the_plan_and_the_command_line_are_merged_once() -> None:
    from netcheck.plan.topology import PlanFile, component_hosts  # noqa: PLC0415

    plan = PlanFile(components={Role.STORAGE_NODE: ("sn1",)})
    hosts = component_hosts(plan, storage_node=["sn2", "sn1"], vcenter=None)
    topology = build_topology(management_server=None, license_server=None, agents=[], components=hosts, product=CP15)
    assert [t.name for t in topology.targets(Role.STORAGE_NODE)] == ["sn1", "sn2"]
    assert topology.targets(Role.VCENTER) == () and topology.product is CP15
    assert build_topology(management_server=None, license_server=None, agents=[]).product is ABA
    with pytest.raises(InputError, match="malformed storage node"):
        build_topology(management_server=None, license_server=None, agents=[], components={Role.STORAGE_NODE: ["a b"]})


# ---- reports ------------------------------------------------------------------------------------------------


def _report(product: Product) -> Report:
    check = plan_checks(everything(product), Role.AGENT)
    link = next(c for c in check if c.kind is Kind.TCP)
    result = classify_tcp(
        link, Observation(State.OPEN, link.target.name, TcpReply("syn", Reply.SYN_ACK)), phase=Phase.PRE_INSTALL
    )
    vantage = Vantage("agent1", Role.AGENT, "Linux 6.1", ("198.18.0.31",))
    return Report("0.1.0", "2026-12-07T12:00:00+00:00", 1.0, vantage, Phase.PRE_INSTALL, "syn", (result,), product=product)


@pytest.mark.parametrize("product", list(Product))
def test_every_report_format_names_the_product(product: Product) -> None:
    from netcheck.report.formats import Format, render  # noqa: PLC0415

    report = _report(product)
    data = json.loads(render_json(report))
    validate_report(data)
    assert data["product"] == str(product)
    assert data["checks"][0]["documented_in"] == report.results[0].check.documented_in != ""
    loaded = parse_report(render_json(report))
    assert loaded.product is product and loaded.results[0].check.documented_in == report.results[0].check.documented_in
    for fmt in Format:
        text = "".join(render(report, fmt, verbose=False))
        assert str(product) in text, fmt


def test_reports_of_different_products_are_not_merged() -> None:
    aba, cp = _report(ABA), replace(_report(CP15), vantage=Vantage("agent2", Role.AGENT, "Linux 6.1"))
    with pytest.raises(ReportError, match="different products"):
        merge_reports([aba, cp], tool_version="0.1.0")


def test_a_report_of_an_earlier_version_is_backup_advanced() -> None:
    data = json.loads(render_json(_report(ABA)))
    del data["product"]
    assert parse_report(json.dumps(data)).product is ABA


def test_the_ticket_says_where_a_failing_link_is_documented() -> None:
    from netcheck.report.markdown import render_markdown  # noqa: PLC0415

    report = _report(CP15)
    failed = replace(report.results[0], verdict=Verdict.FAIL, remediation="Allow it.")
    text = render_markdown(replace(report, results=(failed,)))
    assert f"  - Documented in: {CP15_DIAGRAM}" in text


@pytest.mark.parametrize("product", list(Product))
def test_rule_comments_fit_nftables(product: Product) -> None:
    """Links that share a rule join their purposes; nftables takes at most 128 characters of comment."""
    rules = firewall_rules(everything(product))
    for fmt in (RuleFormat.NFTABLES, RuleFormat.IPTABLES, RuleFormat.NETSH):
        for line in render_rules(rules, fmt).splitlines():
            if "comment" in line or "name=" in line:
                comment = line.split('comment "')[-1].split("comment '")[-1].split('name="')[-1]
                assert len(comment.split('"')[0].split("'")[0]) <= 128, line
    joined = next(r for r in rules if r.source == WIN.name and r.destination == MS.name)
    assert product is CP15 or "; " in joined.purpose  # Backup Advanced: registration (page 1) and page 2's purpose
