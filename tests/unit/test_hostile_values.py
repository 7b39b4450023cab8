"""Hostile values (issue 14): host names that try to reach a shell through firewall rules, numeric names,
hosts files that do not decode or repeat themselves, scapy's disk cache, and the report validator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netcheck import cli
from netcheck.model.kinds import Role
from netcheck.observe.names.dns import DnsConfig
from netcheck.observe.names.hosts import decode_hosts, parse_hosts
from netcheck.observe.names.observe import SHOWN_HOSTS, HostsSource, observe_name
from netcheck.plan.firewall import Rule, RuleFormat, firewall_rules, render_rules
from netcheck.plan.topology import InputError, build_topology, parse_agent_spec, parse_plan, validate_host
from netcheck.report.json import load_schema
from netcheck.report.validate import SchemaError, validate
from tests.cli_runner import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = "[fe80::1%x -j ACCEPT\niptables -F\n#]:linux"

# --- one grammar for names and addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "0x7f.0.0.1",
        "127.1",
        "0127.0.0.1",
        "1.2.3.999",
        "host.0x1",
        "ms.123",
        "0x7f",
        "fe80::1%eth0",
        "fe80::1%x -j ACCEPT",
        "a b",
        "ms;reboot",
        "ms'",
        'ms"',
        "ms$(id)",
    ],
)
def test_names_that_are_not_names_are_refused(host: str) -> None:
    with pytest.raises(InputError):
        validate_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "ms",
        "ms.corp.example",
        "ms.corp.example.",
        "0x7f.example.com",
        "1e100.net",
        "2001:db8::20",
        "win-01_a",
    ],
)
def test_names_and_addresses_that_are_fine(host: str) -> None:
    assert validate_host(host) == host.rstrip(".")


@given(st.text(max_size=40))
@example("fe80::1%x -j ACCEPT")  # 0.1.0 accepted this: ipaddress takes any zone id
@example("fe80::1%eth0")
def test_whatever_validate_host_accepts_is_safe_in_a_rule(text: str) -> None:
    try:
        host = validate_host(text)
    except InputError:
        return
    assert set(host) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-")


def test_a_zone_id_in_check_is_bad_input_not_an_internal_error() -> None:
    result = CliRunner().invoke(cli.main, ["check", "--agent", HOSTILE, "--method", "connect"])
    assert result.exit_code == 2, result.output  # 0.1.0: 3, after trying to probe it
    assert "IPv6 zone ids" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("fmt", list(RuleFormat))
def test_a_hostile_agent_never_reaches_a_rule(fmt: RuleFormat) -> None:
    result = CliRunner().invoke(cli.main, ["ports", "--format", str(fmt), "--agent", HOSTILE])
    assert result.exit_code == 2
    assert "iptables -F" not in result.output.split("netcheck: error:")[0]  # nothing printed before the error
    assert "zone ids" in result.output


def test_a_hostile_plan_value_never_reaches_nftables(tmp_path: Path) -> None:
    plan = tmp_path / "site.toml"
    plan.write_text('management_server = "fe80::1%x accept; flush ruleset; #"\n')
    result = CliRunner().invoke(cli.main, ["ports", "--format", "nftables", "--plan", str(plan)])
    assert result.exit_code == 2 and "zone ids" in result.output
    with pytest.raises(InputError):
        parse_plan('agents = [{ host = "ms ; rm -rf /" }]', filename="p.toml")


def test_renderers_refuse_a_value_that_bypassed_validation() -> None:
    """A Rule built without topology.validate_host (a future caller) still cannot carry a shell command."""
    rule = Rule("1.2.3.4 -j ACCEPT", Role.CONSOLE, "ms", Role.MANAGEMENT_SERVER, 9876, ((1025, 5000),), "x")
    for fmt in RuleFormat:
        with pytest.raises(ValueError, match="refusing"):
            render_rules([rule], fmt)


def test_comments_carry_no_quotes() -> None:
    rule = Rule(None, Role.CONSOLE, None, Role.MANAGEMENT_SERVER, 9876, ((1025, 5000),), 'say "hi"; `id` $(x) \\')
    for fmt, quote in ((RuleFormat.NETSH, '"'), (RuleFormat.IPTABLES, "'"), (RuleFormat.NFTABLES, '"')):
        rendered = render_rules([rule], fmt)
        assert "Acronis say  hi    id   (x)" in rendered
        assert not set("`$;\\") & set(rendered) and rendered.count(quote) == 2, rendered


def test_ipv6_sources_use_ip6_in_nftables_and_ip6tables() -> None:
    topology = build_topology(
        management_server="2001:db8::20",
        license_server=None,
        agents=[[parse_agent_spec("[2001:db8::31]:linux"), parse_agent_spec("198.18.0.41:linux")]],
    )
    rules = firewall_rules(topology)
    nft = render_rules(rules, RuleFormat.NFTABLES)
    assert "ip6 saddr 2001:db8::31 tcp sport" in nft and "ip saddr 198.18.0.41 tcp sport" in nft
    assert "ip saddr 2001:db8" not in nft
    iptables = render_rules(rules, RuleFormat.IPTABLES).splitlines()
    assert any(line.startswith("ip6tables -A INPUT -p tcp -s 2001:db8::31 ") for line in iptables)
    assert any(line.startswith("iptables -A INPUT -p tcp -s 198.18.0.41 ") for line in iptables)
    assert not any(line.startswith("iptables ") and "2001:db8" in line.split("--dport")[0] for line in iptables)


# --- hosts files -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe1\x002\x00\x00",
        b"\xff\xfe" + "198.18.0.20 ms\r\n".encode("utf-16-le") + b"\x00\xd8 \x00",
        b"\xfe\xff\xdc\x00\x00a",
    ],
    ids=["odd-length", "lone-surrogate", "lone-low-surrogate-be"],
)
def test_hosts_files_that_do_not_decode_become_bad_lines(data: bytes, tmp_path: Path) -> None:
    text = decode_hosts(data)  # 0.1.0: UnicodeDecodeError, exit 3
    assert "\ufffd" in text
    parse_hosts(text)
    hosts = tmp_path / "hosts"
    hosts.write_bytes(data)
    result = CliRunner().invoke(
        cli.main,
        [
            "check",
            "--from",
            "agent",
            "--management-server",
            "127.0.0.1",
            "--hosts-file",
            str(hosts),
            "--method",
            "connect",
            "--timeout",
            "0.2",
        ],
    )
    assert result.exit_code in (0, 1), result.output


def test_identical_duplicate_lines_are_reported_once_and_briefly() -> None:
    hosts = parse_hosts("198.18.0.20 ms ms.corp\n" * 10_000)
    assert len(hosts.entries) == 1
    assert [p.describe() for p in hosts.problems] == [
        "line 1: ms is repeated with the same address: 9999 duplicate lines (2, 3, 4, 5, 6 and 9994 more)",
        "line 1: ms.corp is repeated with the same address: 9999 duplicate lines (2, 3, 4, 5, 6 and 9994 more)",
    ]
    assert parse_hosts("198.18.0.20 ms\n\n198.18.0.20 ms\n").problems[0].describe() == (
        "line 1: ms is repeated with the same address: a duplicate line (3)"
    )


def test_a_name_with_thousands_of_hosts_lines_has_a_bounded_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    from netcheck.model.observations import SystemAnswer  # noqa: PLC0415
    from netcheck.observe.names import observe  # noqa: PLC0415

    async def no_system_resolver(name: str, deadline_s: float | None = None) -> SystemAnswer:
        return SystemAnswer(error="not asked")

    # Nothing leaves this machine: no system resolver, and no interface to broadcast NetBIOS or LLMNR on.
    monkeypatch.setattr(observe, "resolve_system", no_system_resolver)
    monkeypatch.setattr(observe, "local_interfaces", list)
    hosts = parse_hosts("".join(f"198.18.{i // 250}.{i % 250 + 1} ms\n" for i in range(5000)) + "bogus ms\n" * 5000)
    source = HostsSource("hosts", hosts)
    observation = __import__("asyncio").run(observe_name("ms", DnsConfig(()), source, 0.1))
    assert len(observation.hosts) == SHOWN_HOSTS
    assert len(observation.hosts_problems) == SHOWN_HOSTS + 1
    assert (
        observation.hosts_problems[-1].reason.startswith("and ")
        and "more problems for ms" in observation.hosts_problems[-1].reason
    )
    assert len(json.dumps([p.describe() for p in observation.hosts_problems])) < 4000  # 0.1.0: 229 KB


# --- scapy writes nothing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cache_home", ["", None], ids=["XDG_CACHE_HOME-empty", "XDG_CACHE_HOME-unset"])
def test_scapy_writes_nothing_to_disk(tmp_path: Path, cache_home: str | None) -> None:
    """0.1.0: ~/.cache/scapy/*.pickle (2.8 MB), or ./scapy/ when XDG_CACHE_HOME is empty."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(Path(__file__).parents[2]))
    if cache_home is not None:
        env["XDG_CACHE_HOME"] = cache_home
    (tmp_path / "home").mkdir()
    code = (
        "from netcheck.observe.probes import syn, tls; from netcheck.observe.names import netbios, llmnr; "
        "syn._syn_template(); netbios._layers(); llmnr._layers(); tls.parse_certificate(b'x'); "
        "from scapy.data import ETHER_TYPES, MANUFDB; assert len(ETHER_TYPES) > 10; "
        "import os; assert os.environ.get('XDG_CACHE_HOME') == " + repr(cache_home)
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["home"]


# --- the report validator -----------------------------------------------------------------------------------------


def reference(document: Any) -> bool:
    try:
        jsonschema.Draft202012Validator(load_schema()).validate(document)
    except jsonschema.ValidationError:
        return False
    return True


def ours(document: Any) -> bool:
    try:
        validate(document, load_schema())
    except SchemaError:
        return False
    return True


def tcp(d: Any) -> Any:
    """The first probed TCP check: its evidence must hold method, reply and attempts."""
    return next(c for c in d["checks"] if c["kind"] == "tcp" and c["state"] in ("open", "closed", "filtered", "unreachable"))


MUTATIONS: list[tuple[str, Any]] = [
    ("", lambda d: None),
    ("tool", lambda d: d.update(tool=None)),
    ("tool.version", lambda d: d["tool"].update(version="")),
    ("duration_s", lambda d: d.update(duration_s="1")),
    ("duration_s", lambda d: d.update(duration_s=-1)),
    ("duration_s", lambda d: d.update(duration_s=True)),
    ("phase", lambda d: d.update(phase="later")),
    ("summary", lambda d: d["summary"].pop("pass")),
    ("checks[0].port", lambda d: d["checks"][0].update(port=0)),
    ("checks[0].port", lambda d: d["checks"][0].update(port=65536)),
    ("checks[0].port", lambda d: d["checks"][0].update(port=None)),
    ("checks[0].id", lambda d: d["checks"][0].update(id="evil:1")),
    ("checks[0].target_os", lambda d: d["checks"][0].update(target_os="macos")),
    ("checks[0].detail", lambda d: d["checks"][0].update(detail="")),
    ("checks[0].evidence.ttl", lambda d: d["checks"][0]["evidence"].update(ttl=300)),
    (r"checks[\d+].evidence: 'reply' is missing", lambda d: tcp(d)["evidence"].pop("reply")),
    (r"checks[\d+].protocol", lambda d: tcp(d).update(protocol="udp")),
    ("checks[0].remediation", lambda d: d["checks"][0].update(verdict="fail", remediation="")),
    ("checks[0]", lambda d: d["checks"][0].update(bonus=1)),
    ("merged_from", lambda d: d.update(merged_from=[{"hostname": "x"}])),
    ("checks", lambda d: d.update(checks={})),
]


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("report_*.json")))
@pytest.mark.parametrize(("where", "mutate"), MUTATIONS)
def test_our_validator_agrees_with_jsonschema(fixture: str, where: str, mutate: Any) -> None:
    document = json.loads((FIXTURES / fixture).read_text())
    mutate(document)
    assert ours(document) == reference(document)
    if not ours(document):
        with pytest.raises(
            SchemaError, match="^" + where.replace(".", r"\.").replace("[0]", r"\[0\]").replace("[\\d+]", r"\[\d+\]")
        ):
            validate(document, load_schema())
