"""Parsing what the user gives: agent specs, agents files, plan files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netcheck.model.checks import Target
from netcheck.model.kinds import AgentOS, Method, Phase, Role
from netcheck.plan.topology import InputError, build_topology, merge_agents, parse_agent_spec, parse_agents_file, parse_plan


@pytest.mark.parametrize(
    ("spec", "name", "os"),
    [
        ("198.18.0.31", "198.18.0.31", None),
        ("198.18.0.31:windows", "198.18.0.31", AgentOS.WINDOWS),
        ("win1.corp.example:Linux", "win1.corp.example", AgentOS.LINUX),
        ("WIN-PC_01", "WIN-PC_01", None),
        ("2001:db8::5", "2001:db8::5", None),
        ("[2001:db8::5]:linux", "2001:db8::5", AgentOS.LINUX),
        ("host.example.:windows", "host.example", AgentOS.WINDOWS),
    ],
)
def test_agent_specs(spec: str, name: str, os: AgentOS | None) -> None:
    assert parse_agent_spec(spec) == Target(name, Role.AGENT, os)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("198.18.0.31:macos", "unknown OS 'macos'"),
        ("198.18.0.300", "malformed host in agent '198.18.0.300'"),
        ("bad host", "malformed host"),
        ("-leading.example", "malformed host"),
        (":windows", "empty host"),
        ("[2001:db8::5", "missing ']'"),
        ("[2001:db8::5]linux", "unexpected 'linux'"),
        ("a" * 64 + ".example", "malformed host"),
    ],
)
def test_bad_agent_specs_name_the_value(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_agent_spec(spec)


@given(st.text(max_size=80))
def test_agent_spec_parser_only_ever_raises_input_error(spec: str) -> None:
    try:
        target = parse_agent_spec(spec)
    except InputError:
        return
    assert target.name and target.role is Role.AGENT


def test_agents_file_comments_blank_lines_and_both_separators() -> None:
    text = "# site A\n198.18.0.31,windows\n\n  198.18.0.41 , linux  # build box\nlin2:linux\nplain-host\n2001:db8::7,linux\n"
    assert parse_agents_file(text, filename="a.txt") == [
        Target("198.18.0.31", Role.AGENT, AgentOS.WINDOWS),
        Target("198.18.0.41", Role.AGENT, AgentOS.LINUX),
        Target("lin2", Role.AGENT, AgentOS.LINUX),
        Target("plain-host", Role.AGENT, None),
        Target("2001:db8::7", Role.AGENT, AgentOS.LINUX),
    ]


def test_agents_file_errors_carry_file_and_line() -> None:
    with pytest.raises(InputError, match=r"a\.txt line 3"):
        parse_agents_file("ok1\n\nbad_os,solaris\n", filename="a.txt")


PLAN = """
from = "management-server"
phase = "post-install"
method = "connect"
management_server = "ms.corp.example"
license_server = "198.18.0.25"
agents = ["198.18.0.31:windows", {host = "lin1", os = "linux"}, {host = "x1"}]
[ports]
install = 25002
"""


def test_plan_file() -> None:
    plan = parse_plan(PLAN, filename="site.toml")
    assert plan.vantage is Role.MANAGEMENT_SERVER
    assert plan.phase is Phase.POST_INSTALL and plan.method is Method.CONNECT
    assert plan.management_server == "ms.corp.example" and plan.license_server == "198.18.0.25"
    assert [a.name for a in plan.agents] == ["198.18.0.31", "lin1", "x1"]
    assert plan.agents[1].os is AgentOS.LINUX and plan.agents[2].os is None
    assert plan.ports == {"install": 25002}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ports]\ninstall = 0\n", "p.toml: port 0 for 'install' is out of range 1-65535"),
        ("[ports]\nssh = 70000\n", "port 70000"),
        ("[ports]\nssh = true\n", "port True"),
        ("[ports]\nrdp = 3389\n", "unknown port name 'rdp'"),
        ("agent = []\n", "unknown key 'agent'"),
        ("from = 'printer'\n", "from = 'printer' is not one of"),
        ("agents = [{host = 'a', os = 'beos'}]\n", "unknown OS 'beos'"),
        ("agents = [{name = 'a'}]\n", r"p.toml agents\[1\]: expected"),
        ("management_server = 'a b'\n", "malformed management_server"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_plan_files(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_plan(text, filename="p.toml")


def test_merge_agents_dedupes_and_keeps_the_known_os() -> None:
    merged = merge_agents([[Target("A", Role.AGENT, None)], [Target("a", Role.AGENT, AgentOS.LINUX), Target("b", Role.AGENT)]])
    assert merged == (Target("a", Role.AGENT, AgentOS.LINUX), Target("b", Role.AGENT))


def test_merge_agents_refuses_two_oses_for_one_host() -> None:
    with pytest.raises(InputError, match="both windows and linux"):
        merge_agents([[Target("a", Role.AGENT, AgentOS.WINDOWS)], [Target("a", Role.AGENT, AgentOS.LINUX)]])


def test_build_topology_validates_server_names() -> None:
    with pytest.raises(InputError, match=r"malformed management server 'ms\.\.x'"):
        build_topology(management_server="ms..x", license_server=None, agents=[])


@given(
    st.lists(
        st.one_of(st.tuples(*[st.integers(0, 300)] * 4).map(lambda o: ".".join(map(str, o))), st.text(max_size=12)), max_size=6
    )
)
def test_agents_file_lines_that_are_dotted_quads_are_read_as_any_other(lines: list[str]) -> None:
    """parse_agents_file takes a line that is an IPv4 address in dotted quads the short way: the same target
    parse_agent_spec makes of it, and any other line (or error) as before."""
    text = "\n".join(lines)
    expected: list[Target] | str = []
    try:
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if line and "," not in line:
                assert isinstance(expected, list)
                expected.append(parse_agent_spec(line))
    except InputError:
        expected = "error"
    if any("," in line.split("#", 1)[0] for line in text.splitlines()):
        return  # host,os lines: the example-based tests above
    try:
        got: list[Target] | str = parse_agents_file(text, filename="a.txt")
    except InputError:
        got = "error"
    assert got == expected
