"""Windows as its admins have it: the same verdicts on English and non-English systems' outputs (recorded and
constructed fixtures in tests/unit/fixtures/windows, sources in tests/unit/fixtures/README), bytes in any
encoding, and the PowerShell/netsh reads' edge cases (one object vs an array, enums as numbers or names)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netcheck import cli
from netcheck.classify import classify_discovery, classify_host
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import DiscoveryAspect, HostAspect, Kind, Phase, Role, State, Verdict
from netcheck.model.observations import DiscoveryFacts, HostFacts, Interface, WindowsReads
from netcheck.parse import windows
from netcheck.parse.host import firewall_summary
from tests.unit.test_cli import invoke

FIXTURES = Path(__file__).parent / "fixtures" / "windows"
NON_DNS = "no name server is configured"
LANGUAGES = ("en", "de", "ru")


def text(name: str) -> str:
    return windows.decode_output((FIXTURES / name).read_bytes())


# ---- netsh dynamicport, in any language -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("netsh_dynamicport_tcp_en_datadog.txt", (49152, 65535)),
        ("netsh_dynamicport_tcp_fr.txt", (49152, 65535)),  # recorded: DataDog/datadog-agent
        ("netsh_dynamicport_tcp_fr_cp850.bin", (49152, 65535)),  # the same in the console's code page
        ("netsh_dynamicport_tcp_ru_cp866.bin", (1025, 65535)),
    ],
)
def test_dynamicport_is_read_by_its_numbers(name: str, expected: tuple[int, int]) -> None:
    data = (FIXTURES / name).read_bytes()
    codepage = 866 if "cp866" in name else 850
    assert windows.parse_dynamicport(windows.decode_output(data, codepage)) == expected


def test_dynamicport_rejects_what_is_not_a_range() -> None:
    assert windows.parse_dynamicport("") is None
    assert windows.parse_dynamicport("Start Port : 65000\nNumber of Ports : 16384\n") is None  # beyond 65535
    assert windows.parse_dynamicport("The requested operation requires elevation.") is None
    assert windows.parse_dynamicport("Порт: 49152\n") is None  # one number is not a range


def test_source_ports_verdict_is_the_same_in_english_french_and_russian() -> None:
    verdicts = {}
    for name, codepage in (("netsh_dynamicport_tcp_en_datadog.txt", 437), ("netsh_dynamicport_tcp_fr_cp850.bin", 850)):
        result = classify(
            host_facts(ephemeral_text=windows.decode_output((FIXTURES / name).read_bytes(), codepage)), "source-ports"
        )
        verdicts[name] = (result.state, result.verdict, tuple(result.evidence["range"]))
    assert set(verdicts.values()) == {(State.ENABLED, Verdict.PASS, (49152, 65535))}
    wide = classify(
        host_facts(ephemeral_text=windows.decode_output((FIXTURES / "netsh_dynamicport_tcp_ru_cp866.bin").read_bytes(), 866)),
        "source-ports",
    )
    assert wide.verdict is Verdict.WARN and "1025-65535" in wide.detail
    assert "as Administrator: netsh int ipv4 set dynamicport tcp start=49152 num=16384" in wide.remediation


# ---- bytes → text ----------------------------------------------------------------------------------------


def test_decode_output_handles_boms_utf16_and_code_pages() -> None:
    sample = "Port de démarrage : 49152"
    assert windows.decode_output(b"\xef\xbb\xbf" + sample.encode()) == sample
    assert windows.decode_output(b"\xff\xfe" + sample.encode("utf-16-le")) == sample
    assert windows.decode_output(sample.encode("utf-16-le")) == sample  # no BOM (a redirected PowerShell)
    assert windows.decode_output("Начальный порт".encode("cp866"), 866) == "Начальный порт"
    assert windows.decode_output(sample.encode("cp850"), 850) == sample


@given(st.binary(max_size=300), st.sampled_from([None, 437, 850, 866, 932, 65001, 99999]))
def test_decode_output_never_raises(data: bytes, codepage: int | None) -> None:
    assert isinstance(windows.decode_output(data, codepage), str)


# ---- ConvertTo-Json shapes -------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["Name", "Enabled", "Profile", "NetworkCategory", "LocalPort", "Group", "AllowLocalFirewallRules", "x"]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@given(JSON)
def test_the_json_readers_never_raise(value: object) -> None:
    import json  # noqa: PLC0415

    dumped = json.dumps(value)
    assert isinstance(windows.parse_firewall_rules(dumped) or [], list)
    assert isinstance(windows.parse_connection_profiles(dumped) or [], list)
    assert isinstance(windows.parse_firewall_profiles(dumped) or [], list)


def test_json_objects_takes_one_object_or_an_array() -> None:
    single = windows.parse_firewall_rules(text("rules_single.json"))
    assert single is not None and [r.name for r in single] == ["NETDIS-NB_Name-In-UDP-Active"]
    assert windows.json_objects("") == []
    assert windows.json_objects("Get-NetFirewallRule : Access is denied") is None
    assert windows.json_objects("42") is None
    warned = "WARNING: The names of some imported commands include unapproved verbs.\r\n" + text("connection_private_de.json")
    assert windows.parse_connection_profiles(warned) == [windows.ConnectionProfile("Ethernet", "Private", "Netzwerk")]


def semantics(rules: list[windows.Rule] | None) -> list[tuple[object, ...]]:
    assert rules is not None
    return [(r.name, r.group, r.enabled, r.inbound, r.allow, r.profiles, r.ports) for r in rules]


def test_enums_as_numbers_and_as_names_read_the_same() -> None:
    english = windows.parse_firewall_rules(text("rules_en.json"))  # [string] casts: "True", "Inbound", "Private, Public"
    german = windows.parse_firewall_rules(text("rules_de.json"))  # plain Select-Object: 1, 1, 6
    russian = windows.parse_firewall_rules(text("rules_ru.json"))
    assert semantics(english) == semantics(german) == semantics(russian)
    smb = next(r for r in english or [] if r.name == "FPS-SMB-In-TCP")
    assert (smb.enabled, smb.inbound, smb.allow, smb.profiles, smb.ports) == (False, True, True, {"Private", "Public"}, "TCP 445")
    assert windows.profile_names(0) == {"Domain", "Private", "Public"} == windows.profile_names("Any")
    assert windows.enum_name("2", windows.ENABLED) == "False"


def test_connection_and_firewall_profiles() -> None:
    connections = windows.parse_connection_profiles(text("connection_domain_public_en.json"))
    assert connections == [
        windows.ConnectionProfile("Ethernet0", "DomainAuthenticated", "corp.example"),
        windows.ConnectionProfile("Ethernet1", "Public", "Network 2"),
    ]
    assert windows.active_profiles(connections) == ["Domain", "Public"]
    gpo = windows.parse_firewall_profiles(text("firewall_profiles_gpo.json"))
    assert gpo is not None and [(p.name, p.enabled, p.local_rules) for p in gpo] == [
        ("Domain", True, False), ("Private", True, False), ("Public", True, False),
    ]  # fmt: skip
    local = windows.parse_firewall_profiles(text("firewall_profiles_local.json"))
    assert local is not None and [(p.enabled, p.local_rules) for p in local] == [(True, True), (True, True), (False, True)]


# ---- discovery verdicts: the same in every language -----------------------------------------------------


def check(aspect: str) -> Check:
    me = Target("this machine", Role.MANAGEMENT_SERVER)
    return Check(f"discovery:{aspect}", Kind.DISCOVERY, Role.MANAGEMENT_SERVER, me, aspect=DiscoveryAspect(aspect))


def facts(
    lang: str, connection: str | None = None, firewall: str = "firewall_profiles_local.json", domain: bool = False
) -> DiscoveryFacts:
    reads = WindowsReads(
        text(f"rules_{lang}.json"), text(connection or f"connection_private_{lang}.json"), text(firewall), domain
    )
    return DiscoveryFacts("win32", reads=reads)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_discovery_verdicts_are_the_same_in_every_language(lang: str) -> None:
    nd = classify_discovery(check("network-discovery"), facts(lang), NON_DNS)
    assert (nd.state, nd.verdict) == (State.ENABLED, Verdict.PASS)
    assert "all 8 inbound 'Network Discovery' (@FirewallAPI.dll,-32752) rules are enabled for the Private profile" in nd.detail
    fps = classify_discovery(check("file-and-printer-sharing"), facts(lang), NON_DNS)
    assert (fps.state, fps.verdict) == (State.DISABLED, Verdict.FAIL)
    assert "2 of 5 inbound 'File and Printer Sharing' (@FirewallAPI.dll,-28502) rules are disabled" in fps.detail
    assert fps.remediation.startswith('As Administrator: Enable-NetFirewallRule -Group "@FirewallAPI.dll,-28502"')
    assert "Enable-NetFirewallRule -Name 'FPS-SMB-In-TCP','FPS-NB_Session-In-TCP'" in fps.remediation
    assert fps.evidence["disabled_rules"] == ["FPS-SMB-In-TCP (TCP 445)", "FPS-NB_Session-In-TCP (TCP 139)"]
    profile = classify_discovery(check("network-profile"), facts(lang), NON_DNS)
    assert (profile.state, profile.verdict) == (State.ENABLED, Verdict.PASS)


def test_a_localized_interface_alias_is_quoted_for_powershell() -> None:
    public_ru = DiscoveryFacts(
        "win32",
        reads=WindowsReads(
            text("rules_ru.json"),
            text("connection_private_ru.json").replace('"NetworkCategory":  1', '"NetworkCategory":  0'),
            None,
        ),
    )
    result = classify_discovery(check("network-profile"), public_ru, NON_DNS)
    assert result.verdict is Verdict.FAIL
    assert (
        "Set-NetConnectionProfile -InterfaceAlias 'Подключение по локальной сети' -NetworkCategory Private" in result.remediation
    )
    assert windows.ps_quote("Bob's LAN") == "'Bob''s LAN'"


def test_domain_member_on_public_says_network_location_detection_failed() -> None:
    result = classify_discovery(check("network-profile"), facts("de", "connection_public_de.json", domain=True), NON_DNS)
    assert (result.state, result.verdict) == (State.DISABLED, Verdict.FAIL)
    assert "domain-joined" in result.detail and "network location detection" in result.remediation
    assert "Set-NetConnectionProfile -InterfaceAlias 'Ethernet' -NetworkCategory Private" in result.remediation
    workgroup = classify_discovery(check("network-profile"), facts("de", "connection_public_de.json"), NON_DNS)
    assert workgroup.verdict is Verdict.FAIL and "network location detection" not in workgroup.remediation
    # The Public network's rules are what counts for the groups: Network Discovery is off there.
    on = facts("de", "connection_public_de.json", firewall="firewall_profiles_gpo.json", domain=True)
    nd = classify_discovery(check("network-discovery"), on, NON_DNS)
    assert nd.verdict is Verdict.FAIL and "for the Public profile" in nd.detail


def test_gpo_only_local_rules_are_named_in_the_fix() -> None:
    fps = classify_discovery(check("file-and-printer-sharing"), facts("en", firewall="firewall_profiles_gpo.json"), NON_DNS)
    assert fps.verdict is Verdict.FAIL
    assert "LocalFirewallRules is GPO-only on the Private profile: a local change will not take effect" in fps.remediation
    local = classify_discovery(check("file-and-printer-sharing"), facts("en"), NON_DNS)
    assert "GPO-only" not in local.remediation


def test_a_profile_with_the_firewall_off_blocks_nothing() -> None:
    off = facts("en", firewall="firewall_profiles_local.json")
    public = dataclasses.replace(
        off, reads=dataclasses.replace(off.reads or WindowsReads(None, None), connections_json=text("connection_public_de.json"))
    )
    result = classify_discovery(check("network-discovery"), public, NON_DNS)
    assert (result.state, result.verdict) == (State.ENABLED, Verdict.PASS) and "Firewall is off" in result.detail


def test_unreadable_json_is_an_error_not_a_verdict() -> None:
    broken = DiscoveryFacts("win32", reads=WindowsReads("not json", text("connection_private_en.json")))
    result = classify_discovery(check("network-discovery"), broken, NON_DNS)
    assert (result.state, result.verdict) == (State.ERROR, Verdict.ERROR)


def test_netsh_fallback_never_fails_on_a_group_it_cannot_name() -> None:
    # PowerShell failed; netsh printed rules whose group names are not English: no verdict on the group.
    german_netsh = "Regelname: Netzwerkerkennung (NB-Name-In)\r\n----\r\nAktiviert: Nein\r\n"
    fallback = DiscoveryFacts(
        "win32",
        german_netsh,
        "Private Profile Settings:\r\n",
        reads=WindowsReads(None, None, errors=("powershell.exe: not found",)),
    )
    result = classify_discovery(check("network-discovery"), fallback, NON_DNS)
    assert (result.state, result.verdict) == (State.ERROR, Verdict.ERROR)
    assert result.evidence["powershell_errors"] == ["powershell.exe: not found"]


# ---- host checks on Windows -----------------------------------------------------------------------------


def host_facts(**changes: object) -> HostFacts:
    base = HostFacts("win32", "Windows 10", False, (Interface("Ethernet", "198.18.0.20", 24, True),), {}, None, {})
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def classify(host: HostFacts, aspect: str) -> object:
    me = Target("this machine", Role.MANAGEMENT_SERVER)
    host_check = Check(f"host:{aspect}", Kind.HOST, Role.MANAGEMENT_SERVER, me, aspect=HostAspect(aspect))
    return classify_host(host_check, host, phase=Phase.PRE_INSTALL)


def test_windows_firewall_from_json_with_gpo_only_profiles() -> None:
    outputs = {"windows-profiles": text("firewall_profiles_gpo.json"), "netsh": None}
    summary = firewall_summary(outputs)
    assert summary[0].startswith("Windows Defender Firewall (Domain, Private, Public profiles on)")
    assert "LocalFirewallRules is GPO-only on the Domain profile" in summary[0]
    result = classify(host_facts(firewall_outputs=outputs), "firewall")
    assert result.verdict is Verdict.WARN  # type: ignore[attr-defined]
    assert "as Administrator" in result.remediation and "Group Policy Object" in result.remediation  # type: ignore[attr-defined]
    assert "root" not in result.remediation  # type: ignore[attr-defined]
    local = firewall_summary({"windows-profiles": text("firewall_profiles_local.json")})
    assert local == ["Windows Defender Firewall (Domain, Private profiles on)"]


def test_netsh_fallback_that_is_not_english_is_unreadable_not_off() -> None:
    outputs = {"windows-profiles": None, "netsh": text("netsh_allprofiles_ru_questionmarks.txt")}
    assert firewall_summary(outputs) == ["Windows Defender Firewall (state unreadable: netsh did not print English)"]
    assert [p.state for p in windows.parse_allprofiles(outputs["netsh"] or "")] == [None]


def test_privileges_on_windows_speak_of_windows_not_root() -> None:
    result = classify(host_facts(), "privileges")
    assert result.verdict is Verdict.PASS and "root" not in result.detail  # type: ignore[attr-defined]
    assert "connect probes" in result.detail  # type: ignore[attr-defined]


# ---- --method on Windows --------------------------------------------------------------------------------


def test_method_syn_on_windows_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.sys, "platform", "win32")
    result = invoke("check", "--agent", "127.0.0.1:windows", "--method", "syn")
    assert result.exit_code == 2
    assert "--method syn is not available on Windows" in result.output and "Traceback" not in result.output


def test_the_cli_prints_the_note_on_windows_unless_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    async def stop(*_: object, **__: object) -> None:
        raise RuntimeError("stopped after the method was resolved")

    monkeypatch.setattr("netcheck.observe.runner.run_checks", stop)
    monkeypatch.setattr(cli.sys, "platform", "win32")
    result = invoke("check", "--agent", "127.0.0.1:windows")
    assert result.exit_code == 3 and "on Windows netcheck probes with connect()" in result.output
    quiet = invoke("check", "--agent", "127.0.0.1:windows", "--quiet")
    assert quiet.exit_code == 3 and "on Windows netcheck probes" not in quiet.output


def test_method_auto_on_windows_notes_connect() -> None:
    note = windows.method_note("win32", "auto", "connect")
    assert note is not None and "connect()" in note and "Npcap" in note
    assert windows.method_note("linux", "auto", "connect") is None
    assert windows.method_note("win32", "connect", "connect") is None


def test_the_capture_script_runs_anywhere(tmp_path: Path) -> None:
    """The Windows CI job's capture script also runs on Linux, where it records the commands as not run."""
    from tests.capture_windows import COMMANDS, capture  # noqa: PLC0415

    lines = capture(tmp_path)
    assert (tmp_path / "exit-codes.txt").read_text(encoding="utf-8").splitlines() == lines
    assert len(lines) == len(COMMANDS) + 1 and all(name in "\n".join(lines) for name in COMMANDS)
    assert any(windows.FIREWALL_RULES_COMMAND in " ".join(argv) for argv in COMMANDS.values())


# ---- the collection side, with the commands faked ---------------------------------------------------------


def fake_commands(outputs: dict[str, tuple[str, str]]) -> tuple[list[list[str]], object]:
    """A run_command that answers by a word found in the command line; records what was run."""
    ran: list[list[str]] = []

    def run(argv: list[str], timeout_s: float = 60) -> tuple[str, str]:
        ran.append(argv)
        line = " ".join(argv)
        return next((answer for word, answer in outputs.items() if word in line), ("", f"{argv[0]}: not found"))

    return ran, run


def test_observe_discovery_reads_powershell_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from netcheck.observe import discovery  # noqa: PLC0415

    ran, run = fake_commands({
        "Get-NetFirewallRule": (text("rules_ru.json"), ""),
        "Get-NetConnectionProfile": (text("connection_private_ru.json"), ""),
        "Get-NetFirewallProfile": (text("firewall_profiles_gpo.json"), ""),
        "PartOfDomain": ("True\r\n", ""),
    })  # fmt: skip
    monkeypatch.setattr(discovery.sys, "platform", "win32")
    monkeypatch.setattr(discovery, "run_command", run)
    observed = discovery.observe_discovery()
    assert observed.reads is not None and observed.reads.part_of_domain is True and observed.rules_text == ""
    assert all(argv[0] == "powershell.exe" for argv in ran) and len(ran) == 4  # netsh not needed
    fps = classify_discovery(check("file-and-printer-sharing"), observed, NON_DNS)
    assert fps.verdict is Verdict.FAIL and "GPO-only" in fps.remediation


def test_observe_discovery_falls_back_to_english_netsh(monkeypatch: pytest.MonkeyPatch) -> None:
    from netcheck.observe import discovery  # noqa: PLC0415

    ran, run = fake_commands(
        {"advfirewall firewall show rule": ("Rule Name: x\r\n", ""), "currentprofile": ("Private Profile Settings:\r\n", "")}
    )
    monkeypatch.setattr(discovery.sys, "platform", "win32")
    monkeypatch.setattr(discovery, "run_command", run)
    observed = discovery.observe_discovery()
    assert observed.reads is not None and observed.reads.rules_json is None and len(observed.reads.errors) == 4
    assert observed.rules_text.startswith("Rule Name") and observed.profile_text.startswith("Private")
    netsh = [argv for argv in ran if argv[0] == "cmd.exe"]
    assert netsh and all(argv[-1].startswith("chcp 437 >nul & netsh ") for argv in netsh)


def test_host_facts_on_windows_reads_json_and_netsh(monkeypatch: pytest.MonkeyPatch) -> None:
    from netcheck.observe import host  # noqa: PLC0415

    ran, run = fake_commands({
        "dynamicport": (windows.decode_output((FIXTURES / "netsh_dynamicport_tcp_fr_cp850.bin").read_bytes(), 850), ""),
        "Get-NetFirewallProfile": (text("firewall_profiles_local.json"), ""),
        "allprofiles": ("", "cmd.exe exited 1: netsh not available"),
    })  # fmt: skip
    monkeypatch.setattr(host.sys, "platform", "win32")
    monkeypatch.setattr(host, "run_command", run)
    snapshot = host.host_facts([9876, 25001], privileged=False)
    assert snapshot.ephemeral_text is not None and windows.parse_dynamicport(snapshot.ephemeral_text) == (49152, 65535)
    assert snapshot.firewall_outputs["netsh"] is None
    assert ["netsh", "int", "ipv4", "show", "dynamicport", "tcp"] in ran  # any language: no chcp needed
    assert firewall_summary(snapshot.firewall_outputs) == ["Windows Defender Firewall (Domain, Private profiles on)"]
