"""--redact from the report's structure: certificate identities, hosts-file aliases, PTR names, banners and IDN
names are hidden in every format; the product's file names are not; no field is lost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from netcheck.handshake import ResponderAnswer
from netcheck.matrix import PortKey
from netcheck.model import AgentOS, Check, Kind, Report, Result, Role, State, Target, Verdict
from netcheck.observations import (
    Certificate,
    DnsAnswer,
    DnsConfig,
    HostsEntry,
    HostsProblem,
    NameObservation,
    Reply,
    TcpReply,
    TlsSession,
    UnknownService,
)
from netcheck.report.html import render_html
from netcheck.report.json import parse_report, render_json
from netcheck.report.junit import render_junit
from netcheck.report.markdown import render_markdown
from netcheck.report.redact import redact
from netcheck.report.table import render_table

FIXTURES = Path(__file__).parent / "fixtures"
RENDERERS = {
    "table": lambda r: render_table(r, verbose=True, show_all=True),
    "json": render_json,
    "markdown": render_markdown,
    "junit": render_junit,
    "html": render_html,
}
SUBJECT = "CN=secret-fs01, O=Corp Internal, OU=Backup Team, emailAddress=admin@host-4, C=DE"
SECRETS = [
    "secret-fs01", "Corp Internal", "Backup Team", "admin@host-4", "backup-alias", "fs01-alias.corp.example",
    "bücher.example", "xn--bcher-kva.example", "ptr-name.corp.example", "mail.corp.example", "198.18.7.7", "lonely",
    "2001:db8::77", "198.18.9.9",
]  # fmt: skip


def hostile_report() -> Report:
    """The console fixture plus results whose evidence carries every kind of identity."""
    report = parse_report((FIXTURES / "report_console.json").read_text())
    agent = Target("bücher.example", Role.AGENT, AgentOS.WINDOWS)
    tls = Check("service:console->bücher.example:9876", Kind.SERVICE, Role.CONSOLE, agent, 9876, "Acquiring a license")
    name = Check("name:bücher.example", Kind.NAME, Role.CONSOLE, agent, None, "Name resolution")
    smb = Check(
        "tcp:console->lonely:445", Kind.TCP, Role.CONSOLE, Target("lonely", Role.AGENT), 445,
        "Sending files (installation packages, Acroinst.exe, Msi_setup.exe)", must_be_served=True,
        skip_reason="not from here: lonely is reached by the management server",
    )  # fmt: skip
    extra = (
        Result(
            tls, State.OPEN, Verdict.PASS, f"TLSv1.3 (x); certificate {SUBJECT}", "", "198.18.7.7",
            {"protocol": "tls", "subject": SUBJECT, "issuer": SUBJECT, "first_bytes": "220 mail.corp.example ESMTP"},
        ),
        Result(
            name, State.RESOLVED, Verdict.WARN,
            "reverse lookup of 198.18.7.7 names ptr-name.corp.example, not bücher.example [DNS 2001:db8::77: 198.18.7.7]",
            "Correct the PTR record of 198.18.7.7.", "198.18.7.7",
            {
                "dns": [{"server": "2001:db8::77", "qname": "xn--bcher-kva.example", "addresses": ["198.18.7.7"]}],
                "hosts": [{"line": 3, "address": "198.18.7.7", "names": ["bücher.example", "backup-alias", "fs01-alias.corp.example"]}],
                "hosts_problems": [{"line": 4, "text": "198.18.9.9 lonely backup-alias", "reason": "duplicate"}],
                "ptr": {"198.18.7.7": ["ptr-name.corp.example"]},
            },
        ),
        Result(smb, State.NOT_PROBED, Verdict.SKIP, "not probed from here: lonely is reached by the management server"),
    )  # fmt: skip
    return replace(report, results=report.results + extra)


@pytest.mark.parametrize("name", RENDERERS)
def test_no_identity_survives_in_any_format(name: str) -> None:
    text = RENDERERS[name](redact(hostile_report()))
    assert [s for s in SECRETS if s in text] == []
    if name in ("json", "html"):  # the formats that show each check's purpose
        assert "Acroinst.exe" in text and "Msi_setup.exe" in text  # the product's file names are not host names
    if name != "markdown":  # a ticket lists failing checks only; this certificate's service passes
        assert "org-1" in text and "email-1" in text


def test_a_certificate_keeps_its_shape() -> None:
    redacted = redact(hostile_report())
    tls = next(r for r in redacted.results if r.check.kind is Kind.SERVICE and r.check.port == 9876 and "org-" in str(r.evidence))
    assert tls.evidence["subject"] == "CN=host-{}, O=org-1, OU=org-2, emailAddress=email-1, C=DE".format(
        tls.evidence["subject"].split("host-")[1].split(",")[0]
    )
    assert tls.evidence["subject"] in tls.detail


def test_both_forms_of_an_idn_name_get_one_pseudonym() -> None:
    redacted = redact(hostile_report())
    name = next(
        r
        for r in redacted.results
        if r.check.kind is Kind.NAME and "dns" in r.evidence and r.evidence["dns"][0].get("qname", "").startswith("host-")
    )
    assert name.evidence["dns"][0]["qname"] == name.check.target.name


def test_redaction_keeps_every_field() -> None:
    original = hostile_report()
    redacted = redact(original)
    assert len(redacted.results) == len(original.results)
    for before, after in zip(original.results, redacted.results, strict=True):
        assert (after.check.must_be_served, after.verdict, after.state, after.check.kind, after.check.port) == (
            before.check.must_be_served, before.verdict, before.state, before.check.kind, before.check.port,
        )  # fmt: skip
        assert bool(after.check.skip_reason) == bool(before.check.skip_reason)
        assert after.check.purpose == before.check.purpose  # no purpose names a machine: nothing to redact there
    skipped = redacted.results[-1]
    assert skipped.check.must_be_served and skipped.check.skip_reason.startswith("not from here: host-")


def test_deeply_nested_evidence_is_dropped_not_a_crash() -> None:
    nested: object = "198.18.7.7"
    for _ in range(5000):
        nested = [nested]
    report = hostile_report()
    last = replace(report.results[-1], evidence={"deep": nested})
    redacted = redact(replace(report, results=(*report.results[:-1], last)))
    assert "198.18.7.7" not in render_json(redacted) and "nested too deeply" in render_json(redacted)


def live_report() -> Report:
    """hostile_report's identities, but as a live run carries them: typed observations, not mappings."""
    report = hostile_report()
    agent = Target("bücher.example", Role.AGENT, AgentOS.WINDOWS)
    link = Check(
        "tcp:console->bücher.example:9876", Kind.TCP, Role.CONSOLE, agent, 9876, "Acquiring a license", port_key=PortKey.PRODUCT
    )
    session = TlsSession("TLSv1.3", "x", Certificate(SUBJECT, SUBJECT, None))
    reply = TcpReply("connect", Reply.CONNECTED, rtt_ms=1.0, service=session)
    responder = TcpReply("connect", Reply.CONNECTED, service=ResponderAnswer(True, False, answered_as="198.18.9.9:25001"))
    name = NameObservation(
        "bücher.example",
        DnsConfig(("2001:db8::77",), ("corp.example",)),
        dns=(DnsAnswer("2001:db8::77", "xn--bcher-kva.example", "NOERROR", ("198.18.7.7",)),),
        hosts_path="/etc/hosts",
        hosts=(HostsEntry(3, "198.18.7.7", ("bücher.example", "backup-alias", "fs01-alias.corp.example")),),
        hosts_problems=(HostsProblem(4, "198.18.9.9 lonely backup-alias", "duplicate"),),
        system=("198.18.7.7",),
        ptr=(("198.18.7.7", ("ptr-name.corp.example",)),),
    )
    typed = (
        Result(link, State.OPEN, Verdict.PASS, "connected", "", "198.18.7.7", reply),
        Result(link, State.OPEN, Verdict.PASS, "connected", "", "198.18.7.7", responder),
        Result(link, State.OPEN, Verdict.PASS, f"TLSv1.3 (x); certificate {SUBJECT}", "", "198.18.7.7", session),
        Result(Check("name:bücher.example", Kind.NAME, Role.CONSOLE, agent), State.RESOLVED, Verdict.PASS, "", "", None, name),
        Result(link, State.OPEN, Verdict.WARN, "not SSH", "", "198.18.7.7", UnknownService("220 mail.corp.example ESMTP")),
    )
    return replace(report, results=report.results[:-3] + typed + report.results[-1:])


@pytest.mark.parametrize("name", RENDERERS)
def test_a_live_reports_typed_evidence_is_redacted_too(name: str) -> None:
    original = live_report()
    redacted = redact(original)
    text = RENDERERS[name](redacted)
    assert [s for s in SECRETS if s in text] == []
    assert "org-1" in text or name == "markdown"
    assert [r.check.port_key for r in redacted.results] == [r.check.port_key for r in original.results]
    assert all(isinstance(r.evidence, Mapping) for r in redacted.results)  # flattened as the JSON report writes them
