"""Name checks: the hosts-file parser (both dialects), DNS helpers, NBNS/LLMNR codecs, and the verdicts."""

from __future__ import annotations

import ipaddress
import pathlib
import subprocess
import sys

import dns.message
import dns.rrset
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netcheck.classify import classify_name
from netcheck.model.address import parse_ip
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.observe.names import llmnr, netbios
from netcheck.observe.names.dns import DnsAnswer, DnsConfig, Summary, candidate_names, parse_resolv_conf, summarize
from netcheck.observe.names.hosts import HostsEntry, decode_hosts, parse_hosts
from netcheck.observe.names.observe import NameObservation

LINUX_HOSTS = """127.0.0.1\tlocalhost
127.0.1.1\tconsole1.corp.example\tconsole1

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
198.18.0.20   ms.corp.example ms   # management server
198.18.0.21   ms.corp.example
fe80::1%eth0  router-ll
198.18.0.300  broken.example
198.18.0.40
198.18.0.41   good bad!name
"""

WINDOWS_HOSTS = (
    "# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# This is a sample HOSTS file used by Microsoft TCP/IP for Windows.\r\n"
    "#\r\n#      102.54.94.97     rhino.acme.com          # source server\r\n"
    "#       38.25.63.10     x.acme.com              # x client host\r\n\r\n"
    "# localhost name resolution is handled within DNS itself.\r\n#\t127.0.0.1       localhost\r\n"
    "#\t::1             localhost\r\n198.18.0.20\tMS\t# added for Acronis\r\n"
)


def test_linux_hosts_file() -> None:
    hosts = parse_hosts(LINUX_HOSTS)
    assert hosts.lookup("MS.corp.example.") == [
        HostsEntry(7, "198.18.0.20", ("ms.corp.example", "ms")),
        HostsEntry(8, "198.18.0.21", ("ms.corp.example",)),
    ]
    assert hosts.lookup("ip6-loopback") == [HostsEntry(5, "::1", ("localhost", "ip6-localhost", "ip6-loopback"))]
    assert hosts.lookup("router-ll")[0].address == "fe80::1"
    problems = {p.line: p.reason for p in hosts.problems}
    assert problems == {
        8: "ms.corp.example is also on line 7 with 198.18.0.20",
        10: "'198.18.0.300' is not an IP address",
        11: "address without a host name",
        12: "'bad!name' is not a valid host name",
    }
    assert hosts.lookup("good") == [HostsEntry(12, "198.18.0.41", ("good",))]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-8", "latin-1"])
def test_windows_hosts_file_in_every_encoding_notepad_writes(encoding: str) -> None:
    hosts = parse_hosts(decode_hosts(WINDOWS_HOSTS.encode(encoding)))
    assert hosts.entries == (HostsEntry(11, "198.18.0.20", ("MS",)),)
    assert hosts.lookup("ms")[0].address == "198.18.0.20"
    assert hosts.problems == ()


@given(st.text(max_size=300))
def test_hosts_parser_never_raises(text: str) -> None:
    hosts = parse_hosts(text)
    assert all(p.line >= 1 for p in hosts.problems)
    assert all(e.names for e in hosts.entries)


@pytest.mark.parametrize(
    ("name", "search", "ndots", "expected"),
    [
        ("ms", ("corp.example",), 1, ["ms.corp.example.", "ms."]),
        ("ms.corp.example", ("corp.example",), 1, ["ms.corp.example.", "ms.corp.example.corp.example."]),
        ("ms.corp.example.", ("corp.example",), 1, ["ms.corp.example."]),
        ("ms.lab", ("a", "b"), 2, ["ms.lab.a.", "ms.lab.b.", "ms.lab."]),
    ],
)
def test_candidate_names(name: str, search: tuple[str, ...], ndots: int, expected: list[str]) -> None:
    assert candidate_names(name, search, ndots) == expected


def test_summarize_a_response() -> None:
    query = dns.message.make_query("ms.lab.test.", "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("ms.lab.test.", 300, "IN", "A", "198.18.0.20", "198.18.0.22"))
    assert summarize(response) == Summary("NOERROR", ("198.18.0.20", "198.18.0.22"), 300, 0)
    nx = dns.message.make_response(query)
    nx.set_rcode(dns.rcode.NXDOMAIN)
    assert summarize(nx) == Summary("NXDOMAIN", (), None, 0)


# nmbd's positive reply to netcheck's query for MS (198.18.0.20), captured in the lab (flags 0x8580: response,
# authoritative, recursion desired and available; TTL 259200 s).
NBNS_RESPONSE = bytes.fromhex(
    "4d2c85800000000100000000"
    "20454e46444341434143414341434143414341434143414341434143414341414100"
    "00200001" "0003f480" "0006" "0000" "c6120014"
)  # fmt: skip


def test_nbns_codec() -> None:
    assert netbios.netbios_name("ms") == "MS"
    assert netbios.netbios_name("ms.lab.test") is None
    assert netbios.netbios_name("a-very-long-host-name") is None
    query = netbios.build_query("MS", 0x4D2C)
    assert query[:2] == b"\x4d\x2c" and query[2:4] == b"\x01\x10"  # RD + broadcast
    assert netbios.parse_response(NBNS_RESPONSE, 0x4D2C) == ("198.18.0.20",)
    assert netbios.parse_response(NBNS_RESPONSE, 0x1111) is None
    assert netbios.parse_response(query, 0x4D2C) is None


def test_llmnr_codec() -> None:
    query = llmnr.build_query("ms", 7)
    assert query == bytes.fromhex("000700000001000000000000026d730000010001")
    response = dns.message.from_wire(query)
    reply = dns.message.make_response(response)
    reply.answer.append(dns.rrset.from_text("ms.", 30, "IN", "A", "198.18.0.20"))
    assert llmnr.parse_response(reply.to_wire(), 7, "ms") == ("198.18.0.20",)
    assert llmnr.parse_response(reply.to_wire(), 8, "ms") is None
    assert llmnr.parse_response(query, 7, "ms") is None
    assert llmnr.llmnr_name("ms.lab.test") is None


@given(st.binary(max_size=120))
def test_name_codecs_never_raise_on_garbage(data: bytes) -> None:
    """Garbage never raises, and anything accepted came with our transaction id and holds IPv4 addresses only."""
    for parsed in (netbios.parse_response(data, 1), llmnr.parse_response(data, 1, "ms")):
        if parsed is not None:
            assert data[:2] == b"\x00\x01"  # the transaction id we asked with (both codecs start with it)
            assert all(ipaddress.ip_address(address).version == 4 for address in parsed)


CHECK = Check("name:ms", Kind.NAME, Role.AGENT, Target("ms", Role.MANAGEMENT_SERVER))
CONFIG = DnsConfig(("198.18.0.53", "198.18.0.54"))


def ok(server: str, *addresses: str) -> DnsAnswer:
    return DnsAnswer(server, "ms.lab.test", "NOERROR", addresses, 300)


def nx(server: str) -> DnsAnswer:
    return DnsAnswer(server, "ms.lab.test", "NXDOMAIN")


def entry(address: str, line: int = 3) -> HostsEntry:
    return HostsEntry(line, address, ("ms",))


def observation(**fields: object) -> NameObservation:
    return NameObservation(**{"name": "ms", "dns_config": CONFIG, "hosts_path": "/etc/hosts", **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "verdict", "detail", "remedy"),
    [
        (
            {"dns": (ok("198.18.0.53", "198.18.0.20"), ok("198.18.0.54", "198.18.0.20")), "system": ("198.18.0.20",),
             "ptr": (("198.18.0.20", ("ms.lab.test",)),)},
            Verdict.PASS, "every path agrees, PTR ms.lab.test", "",
        ),
        (
            {"dns": (ok("198.18.0.53", "198.18.0.20"),), "hosts": (entry("198.18.0.99", 7),), "system": ("198.18.0.99",)},
            Verdict.FAIL, "stale hosts entry: line 7 of /etc/hosts maps ms to 198.18.0.99, DNS says 198.18.0.20",
            "Change line 7 of /etc/hosts to '198.18.0.20 ms'",
        ),
        (
            {"dns": (nx("198.18.0.53"),), "hosts": (entry("198.18.0.20"),), "system": ("198.18.0.20",)},
            Verdict.WARN, "resolves only through the hosts file (line 3)", "'198.18.0.20 ms' in the hosts file of every machine",
        ),
        (
            {"dns": (nx("198.18.0.53"), nx("198.18.0.54")), "system_error": "Name or service not known"},
            Verdict.FAIL, "ms does not resolve through DNS (servers: 198.18.0.53, 198.18.0.54)", "'<address of ms> ms'",
        ),
        (
            {"dns": (nx("198.18.0.53"),), "netbios": ("198.18.0.20",), "llmnr": ()},
            Verdict.FAIL, "resolves only through NetBIOS (198.18.0.20)", "add the line '198.18.0.20 ms' to the hosts file",
        ),
        (
            {"dns": (nx("198.18.0.53"),), "netbios": (), "llmnr": ("198.18.0.20",)},
            Verdict.FAIL, "resolves only through LLMNR", "'198.18.0.20 ms'",
        ),
        (
            {"dns": (ok("198.18.0.53", "198.18.0.20"), nx("198.18.0.54")), "system": ("198.18.0.20",)},
            Verdict.WARN, "the name servers disagree: 198.18.0.53 says 198.18.0.20; 198.18.0.54 says NXDOMAIN",
            "Fix or remove",
        ),
        (
            {"dns": (ok("198.18.0.53", "198.18.0.20"), DnsAnswer("198.18.0.54", "ms", "TIMEOUT")), "system": ("198.18.0.20",)},
            Verdict.WARN, "198.18.0.54 says TIMEOUT", "Fix or remove",
        ),
        (
            {"dns": (ok("198.18.0.53", "198.18.0.20"),), "system_error": "Temporary failure"},
            Verdict.FAIL, "the system resolver cannot resolve ms (Temporary failure), though DNS gives 198.18.0.20",
            "'198.18.0.20 ms'",
        ),
        (
            {"dns": (ok("198.18.0.53", "198.18.0.20"),), "system": ("198.18.0.20",),
             "ptr": (("198.18.0.20", ("fileserver.lab.test",)),)},
            Verdict.WARN, "reverse lookup of 198.18.0.20 names fileserver.lab.test, not ms", "Correct the PTR record",
        ),
        (
            {"dns": (), "dns_config": DnsConfig(()), "hosts": (entry("198.18.0.20"),), "system": ("198.18.0.20",)},
            Verdict.WARN, "resolves only through the hosts file", "Add an A record ms -> 198.18.0.20",
        ),
    ],
)  # fmt: skip
def test_name_verdicts(fields: dict[str, object], verdict: Verdict, detail: str, remedy: str) -> None:
    result = classify_name(CHECK, observation(**fields))
    assert result.verdict is verdict, result.detail
    assert detail in result.detail
    assert remedy in result.remediation
    assert result.state is (State.RESOLVED if fields.get("system") else State.UNRESOLVED)
    if verdict is Verdict.FAIL:
        assert result.remediation


# resolv.conf: read by netcheck itself (dnspython's resolver costs ~0.1 s to import), as dnspython and glibc read it.
_SERVER = st.builds(lambda a: str(ipaddress.IPv4Address(a)), st.integers(0x01000000, 0xDFFFFFFF))
_LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
_DOMAIN = st.lists(_LABEL, min_size=1, max_size=3).map(".".join)
_LINE = st.one_of(
    _SERVER.map(lambda s: f"nameserver {s}"),
    st.lists(_DOMAIN, min_size=1, max_size=4).map(lambda d: "search " + " ".join(d)),
    st.integers(1, 15).map(lambda n: f"options ndots:{n}"),
    st.sampled_from(["# a comment", "; a comment", "", "options rotate timeout:2", "sortlist 198.18.0.0/15"]),
)


@given(st.lists(_LINE, max_size=8))
def test_resolv_conf_is_read_as_dnspython_reads_it(lines: list[str]) -> None:
    import io  # noqa: PLC0415

    import dns.resolver  # noqa: PLC0415

    text = "\n".join(lines) + "\n"
    ours = parse_resolv_conf(text)
    try:
        theirs = dns.resolver.Resolver(filename=io.StringIO(text))
    except dns.resolver.NoResolverConfiguration:
        assert ours == DnsConfig((), source="system")
        return
    search = tuple(str(name).rstrip(".") for name in theirs.search)
    servers = tuple(str(s) for s in theirs.nameservers)[:3]  # glibc asks three at most; dnspython kept all
    assert ours == DnsConfig(servers, search, theirs.ndots or 1, "system")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A name server that is no address is ignored (glibc ignores it; dnspython failed the whole run).
        ("nameserver ns1.lab.test\nnameserver 198.18.0.53\n", DnsConfig(("198.18.0.53",))),
        ("nameserver fe80::1%eth0\n", DnsConfig(("fe80::1%eth0",))),
        # A search domain that is no DNS name is left out (dnspython failed the run); so is the root.
        ("nameserver 198.18.0.53\nsearch a..b lab.test. . x" + "y" * 63 + "\n", DnsConfig(("198.18.0.53",), ("lab.test",))),
        # The last of search and domain wins; a domain is a search list of one (glibc; dnspython kept none).
        ("nameserver 198.18.0.53\nsearch a.test b.test\ndomain lab.test\n", DnsConfig(("198.18.0.53",), ("lab.test",))),
        ("nameserver 198.18.0.53\ndomain lab.test\nsearch a.test\n", DnsConfig(("198.18.0.53",), ("a.test",))),
        # ndots:0 tries every name as given first (glibc); ndots is capped at 15; the last one counts.
        ("nameserver 198.18.0.53\noptions ndots:0\n", DnsConfig(("198.18.0.53",), (), 0)),
        ("nameserver 198.18.0.53\noptions ndots:2 ndots:40\n", DnsConfig(("198.18.0.53",), (), 15)),
        # glibc: three name servers at most; a comment ends an address; a line starting with a blank is no
        # keyword's; ndots is atoi's (leading digits, none: 0).
        (
            "nameserver 198.18.0.1\nnameserver 198.18.0.2#x\nnameserver 198.18.0.3;y\nnameserver 198.18.0.4\n",
            DnsConfig(("198.18.0.1", "198.18.0.2", "198.18.0.3")),
        ),
        (" nameserver 198.18.0.9\n\tsearch a.test\nnameserver 198.18.0.53\n", DnsConfig(("198.18.0.53",))),
        ("nameserver 198.18.0.53\r\nnameserver 198.18.0.54\n", DnsConfig(("198.18.0.54",))),
        ("nameserver 198.18.0.53\noptions ndots:3x\n", DnsConfig(("198.18.0.53",), (), 3)),
        ("nameserver 198.18.0.53\noptions ndots:x\n", DnsConfig(("198.18.0.53",), (), 0)),
        ("nameserver 198.18.0.53\noptions ndots:\u00b2\n", DnsConfig(("198.18.0.53",), (), 0)),
        ("nameserver 198.18.0.53\noptions ndots:" + "1" * 5000 + "\n", DnsConfig(("198.18.0.53",), (), 15)),
        ("nameserver 198.18.0.53\noptions ndots:007\n", DnsConfig(("198.18.0.53",), (), 7)),
        # One trailing dot is dropped; a second one is an empty label.
        ("nameserver 198.18.0.53\nsearch a.test. b.test..\n", DnsConfig(("198.18.0.53",), ("a.test",))),
        # No name server: nothing at all, as before.
        ("search lab.test\noptions ndots:2\n", DnsConfig(())),
        ("\x00\ufffd nameserver\n#nameserver 198.18.0.1\n  ;x\n", DnsConfig(())),
    ],
)
def test_resolv_conf_beyond_dnspython(text: str, expected: DnsConfig) -> None:
    assert parse_resolv_conf(text) == expected


@given(
    st.text()
    | st.lists(
        st.sampled_from(
            ["nameserver ", "search ", "domain ", "options ", "ndots:", "1", "²", ".", "#", "\t", " ", "\n", "::1", "%"]
        )
    ).map("".join)
)
def test_resolv_conf_parser_never_raises(text: str) -> None:
    config = parse_resolv_conf(text)
    assert all(parse_ip(server) is not None for server in config.nameservers)


def test_system_dns_config_reads_the_file_without_dnspython(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_bytes(b"nameserver 198.18.0.53\nsearch lab.test\n\xff\n")
    code = (
        "import sys; from netcheck.observe.names.dns import system_dns_config as c; "
        f"print(c({str(path)!r}), c({str(tmp_path / 'missing')!r}), 'dns.resolver' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [
        "DnsConfig(nameservers=('198.18.0.53',),",
        "search=('lab.test',),",
        "ndots=1,",
        "source='system',",
        "port=53)",
        "DnsConfig(nameservers=(),",
        "search=(),",
        "ndots=1,",
        "source='system',",
        "port=53)",
        "False",
    ]
