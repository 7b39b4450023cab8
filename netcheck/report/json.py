"""The JSON report (schema_version 1, DESIGN.md 'JSON report contract'); schema in schema.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from functools import cache
from importlib import resources
from typing import Any

import orjson

from netcheck.model.checks import Check, Evidence, Report, Result, Target, Vantage
from netcheck.model.kinds import AgentOS, Kind, Phase, Product, Role, State, Verdict
from netcheck.model.observations import (
    AccessEvidence,
    AgentNameEvidence,
    KerberosTry,
    NameObservation,
    ResponderAnswer,
    ServiceAnswer,
    ServiceFailure,
    SmbIdentity,
    SmbObservation,
    SmbSession,
    SshBanner,
    SshObservation,
    Step,
    TcpReply,
    TlsSession,
    UnknownService,
    bare_user,
)
from netcheck.report.diagnosis import diagnose
from netcheck.report.validate import SchemaError, validate

SCHEMA_VERSION = 1


class ReportError(ValueError):
    """A file that is not a netcheck JSON report (or not one this version can read)."""


def service_to_dict(answer: ServiceAnswer) -> dict[str, Any]:
    """What answered on a port, as the JSON report writes it (`protocol` says which kind)."""
    if isinstance(answer, SshBanner):
        return {"protocol": "ssh", "ssh_version": answer.protocol, "software": answer.software, "product": answer.product}
    if isinstance(answer, SmbIdentity):
        return {
            "protocol": "smb" if answer.is_smb else "unknown",
            "dialects": list(answer.dialects),
            "smb1": answer.smb1,
            "signing_required": answer.signing_required,
            "encryption": answer.encryption,
            "ciphers": list(answer.ciphers),
        }
    if isinstance(answer, TlsSession):
        cert = answer.certificate
        tls = {
            "protocol": "tls",
            "tls_version": answer.version,
            "cipher": answer.cipher,
            "subject": cert.subject if cert else None,
            "issuer": cert.issuer if cert else None,
            "not_after": cert.not_after.isoformat() if cert and cert.not_after else None,
        }
        return {**tls, "version_refused": answer.refused} if answer.refused else tls
    if isinstance(answer, ResponderAnswer):
        responder: dict[str, Any] = {
            "protocol": "netcheck-responder",
            "answered": True,
            "authenticated": answer.authenticated,
            "verified": answer.verified,
        }
        optional = {"busy": answer.busy, "answered_as": answer.answered_as, "problem": answer.problem}
        responder.update({key: value for key, value in optional.items() if value})
        if answer.redirected:
            responder["redirected"] = True
        return responder
    if isinstance(answer, ServiceFailure):
        return {"protocol": "error", "error": answer.message}
    unknown: dict[str, Any] = {"protocol": "unknown"}
    if isinstance(answer, UnknownService):
        if answer.first_bytes is not None:
            unknown["first_bytes"] = answer.first_bytes
        if answer.tls_error is not None:
            unknown["tls_error"] = answer.tls_error
        if answer.ssh_problem:
            unknown["ssh_problem"] = answer.ssh_problem
    return unknown


def tcp_reply_to_dict(reply: TcpReply) -> dict[str, Any]:
    """Packet evidence of a TCP probe: only what was seen (absent fields are left out), in the schema's order."""
    data: dict[str, Any] = {"method": reply.method, "reply": reply.reply}
    if reply.tcp_flags is not None:
        data["tcp_flags"] = reply.tcp_flags
    if reply.ttl is not None:
        data["ttl"] = reply.ttl
    if reply.rtt_ms is not None:
        data["rtt_ms"] = reply.rtt_ms
    if reply.timeout_ms is not None:
        data["timeout_ms"] = reply.timeout_ms
    if reply.icmp is not None:
        data.update(
            icmp_type=reply.icmp.type, icmp_code=reply.icmp.code, icmp_from=reply.icmp.sender, icmp_version=reply.icmp.version
        )
    if reply.error is not None:
        data["error"] = reply.error
    if reply.message is not None:
        data["message"] = reply.message
    if reply.no_arp_answer:
        data["arp"] = "no answer"
    if reply.errno is not None:
        data["errno"] = reply.errno
    if reply.winerror is not None:
        data["winerror"] = reply.winerror
    if reply.os_limits:
        data["os_limits"] = list(reply.os_limits)
    if reply.source_port is not None:
        data["source_port"] = reply.source_port
    data["attempts"] = reply.attempts
    if reply.via is not None:
        data["via"] = reply.via
    if reply.tool is not None:
        data["tool"] = reply.tool
    if reply.service is not None:
        data["responder" if isinstance(reply.service, ResponderAnswer) else "service"] = service_to_dict(reply.service)
    return data


def name_to_dict(observation: NameObservation) -> dict[str, Any]:
    """Every path's answer for a name."""
    data = asdict(observation)
    data.pop("name")
    data["ptr"] = {ip: list(names) for ip, names in observation.ptr}
    return data


def ssh_access_to_dict(seen: SshObservation) -> dict[str, Any]:
    """What one Linux agent showed through SSH (the parts past the login only when logged in)."""
    data: dict[str, Any] = {
        "via": "ssh",
        "user": seen.user,
        "account": bare_user(seen.user),
        "host_key": {
            "type": seen.key_type,
            "fingerprint": seen.fingerprint,
            "state": seen.host_key,
            "known_hosts": seen.known_hosts,
        },
        "login": seen.login or "not-tried",
    }
    if seen.login == "ok":
        point, options = seen.tmp_mount
        data |= {
            "auth": seen.auth,
            "uid": seen.uid,
            "sudo": None if seen.sudo is None else ("ok" if seen.sudo.exit_status == 0 else "fails"),
            "tmp": {"mount": point, "options": list(options), "writable": seen.tmp_writable, "exec": seen.tmp_executable},
            "free_kib": seen.free_kib,
            "package_managers": list(seen.packages or ()),
        }
    if seen.error:
        data["error"] = seen.error
    return data


def _step_status(step: Step | None) -> str:
    return step.status if step else "not-tried"


def smb_access_to_dict(seen: SmbObservation, agent: str) -> dict[str, Any]:
    """What one Windows agent showed through SMB: the installer's steps, the account and the registry values."""
    write = _step_status(seen.write) if seen.write or seen.write_test else "skipped (--no-write-test)"
    data: dict[str, Any] = {
        "via": "smb",
        "user": seen.user,
        "account": bare_user(seen.user),
        "account_kind": seen.account_kind,
        "guest": seen.guest,
        "dialect": seen.dialect,
        "server": seen.server_name,
        "server_domain": seen.server_domain or (seen.lsa.domain if seen.lsa else ""),
        "in_domain": seen.in_domain,
        "steps": {
            "login": _step_status(seen.login),
            "ipc": _step_status(seen.ipc),
            "admin_share": _step_status(seen.admin_share),
            "write": write,
            "scm": _step_status(seen.scm),
        },
        "registry": dict(seen.registry),
        "agent_side": f"not seen from here: run netcheck check --from agent on {agent}",
        "auth": seen.auth or "none",
        "kerberos": _kerberos_to_dict(seen.kerberos),
        "account_source": "lsa" if seen.lsa else "name",
        "account_rid": seen.lsa.rid if seen.lsa else None,
        "domain_role": seen.lsa.role if seen.lsa else None,
    }
    if seen.lsa and seen.lsa.dns_domain:
        data["dns_domain"] = seen.lsa.dns_domain
    data.update(smb_target_to_dict(seen))
    if seen.write_file:
        data["write_file"] = f"ADMIN$\\{seen.write_file}"
    return data


def smb_target_to_dict(seen: SmbObservation) -> dict[str, Any]:
    """The share list, the Remote Registry service, the free space of ADMIN$'s volume, TCP 135 and this machine's
    own SMB sessions to the agent, each only where it was looked at."""
    data: dict[str, Any] = {}
    if seen.shares is not None or seen.shares_error:
        data["shares"] = list(seen.shares) if seen.shares is not None else seen.shares_error
    service = seen.remote_registry
    if service is not None:
        data["remote_registry"] = (
            {"state": service.state, "start": service.start} if service.state is not None else {"error": service.error}
        )
    disk = seen.disk
    if disk is not None:
        data["disk"] = {"free": disk.free, "total": disk.total} if disk.free is not None else {"error": disk.error}
    if seen.rpc_endpoint_mapper:
        data["rpc_endpoint_mapper"] = seen.rpc_endpoint_mapper
    if seen.vantage_sessions is not None:
        data["smb_sessions"] = [_session_to_dict(s) for s in seen.vantage_sessions]
    return data


def _session_to_dict(session: SmbSession) -> dict[str, str]:
    """One SMB connection of this machine: its account split into name and domain, each a field redaction knows."""
    domain, _, name = session.credential.rpartition("\\")
    return {
        "server": session.server,
        "share": session.share,
        "account": name,
        "account_domain": domain,
        "source": session.source,
    }


def _kerberos_to_dict(kerberos: KerberosTry | None) -> dict[str, str]:
    """How Kerberos went, for the evidence: never a ticket, never the cache's path."""
    if kerberos is None:
        return {"outcome": "not-tried", "reason": "not-recorded"}  # an observation made without a Kerberos step
    shown = {"outcome": kerberos.outcome, "reason": kerberos.error or "ok"}
    if kerberos.spn:
        shown["spn"] = kerberos.spn
    return shown


def access_to_dict(evidence: AccessEvidence) -> dict[str, Any]:
    """An access result's evidence: what the agent showed, then the named causes."""
    seen = evidence.seen
    data = ssh_access_to_dict(seen) if isinstance(seen, SshObservation) else smb_access_to_dict(seen, evidence.agent)
    data["causes"] = list(evidence.causes)
    return data


def agent_name_to_dict(evidence: AgentNameEvidence) -> dict[str, Any]:
    """A name as an agent resolves it (through SSH), with what this machine resolves."""
    seen = evidence.seen
    return {
        "via": "ssh",
        "system": list(seen.resolver),
        "dns": list(seen.dns),
        "hosts": list(seen.hosts_file),
        "here": list(evidence.here),
    }


def evidence_to_dict(evidence: Evidence) -> dict[str, Any]:
    """Typed evidence (or an already JSON-ready mapping) as the JSON report's `evidence` object."""
    if isinstance(evidence, TcpReply):
        return tcp_reply_to_dict(evidence)
    if isinstance(evidence, dict | Mapping):  # dict first: the Mapping test costs ten times more (20,000 skips)
        return dict(evidence)
    if isinstance(evidence, NameObservation):
        return name_to_dict(evidence)
    if isinstance(evidence, AccessEvidence):
        return access_to_dict(evidence)
    if isinstance(evidence, AgentNameEvidence):
        return agent_name_to_dict(evidence)
    return service_to_dict(evidence)


def result_to_dict(result: Result) -> dict[str, Any]:
    """One check as the report's JSON object. The enums are StrEnums, so they are strings already: both
    encoders write their values (no str() call each, on 50,000 checks)."""
    check, target = result.check, result.check.target
    data: dict[str, Any] = {"id": check.id, "kind": check.kind, "source": check.source}
    if result.source_host:
        data["source_host"] = result.source_host
    data["target"] = target.name
    data["target_role"] = target.role
    data["target_os"] = target.os or None
    data["address"] = result.address
    data["port"] = check.port
    data["protocol"] = result.protocol
    data["purpose"] = check.purpose
    if check.documented_in:
        data["documented_in"] = check.documented_in
    data["state"] = result.state
    data["verdict"] = result.verdict
    data["detail"] = result.detail
    data["remediation"] = result.remediation
    data["evidence"] = evidence_to_dict(result.evidence)
    data["elapsed_ms"] = result.elapsed_ms
    return data


def summary_to_dict(report: Report) -> dict[str, Any]:
    counts: dict[str, Any] = {
        str(v): report.count(v) for v in (Verdict.PASS, Verdict.WARN, Verdict.FAIL, Verdict.SKIP, Verdict.ERROR)
    }
    return {**counts, "verdict": "pass" if report.verdict is Verdict.PASS else "fail"}


def vantage_to_dict(vantage: Vantage) -> dict[str, Any]:
    started = {"started_at": vantage.started_at} if vantage.started_at else {}
    return {
        "hostname": vantage.hostname,
        "role": str(vantage.role),
        "os": vantage.os,
        "addresses": list(vantage.addresses),
        **started,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    merged = {"merged_from": [vantage_to_dict(v) for v in report.merged_from]} if report.merged_from else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "netcheck", "version": report.tool_version},
        "started_at": report.started_at,
        "duration_s": report.duration_s,
        "vantage": vantage_to_dict(report.vantage),
        **merged,
        "phase": str(report.phase),
        "method": report.method,
        "product": str(report.product),
        "summary": summary_to_dict(report),
        "diagnosis": diagnose(report).group_dicts(),
        "checks": [result_to_dict(r) for r in report.results],
    }


CHUNK = 1000
"""Checks encoded per call: few enough to hold, many enough that the encoder's call overhead vanishes."""
_OPEN, _CLOSE = '{\n  "checks": [\n', "\n  ]\n}"
_EXPONENT = re.compile(rb"e[-0-9]")
_DIGITS = frozenset(b"0123456789")


def _orjson_differs(data: bytes, *, exponents: bool = True) -> bool:
    """Where orjson's text can differ from json.dumps': non-ASCII and DEL (json.dumps escapes them), and floats
    in exponent form or below 1e-4 (1e+16 vs 1e16, 1e-05 vs 0.00001). Written for speed (a regex looking for
    a digit before the "e" scans 30,000 checks in a second); a false alarm only costs a json.dumps. Without
    `exponents` (every float is _plain, as the caller knows) the text is not searched for exponents."""
    if not data.isascii() or b"\x7f" in data or b"0.0000" in data:
        return True
    return exponents and any(data[match.start() - 1] in _DIGITS for match in _EXPONENT.finditer(data))


def _checks_text(checks: list[dict[str, Any]], *, exponents: bool = True) -> str:
    """Checks as json.dumps(indent=2) writes them inside the report's "checks" list (each at four spaces).

    orjson (OPT_INDENT_2) writes the same text as json.dumps for everything netcheck puts in a check except
    what _orjson_differs finds, so it encodes first and json.dumps takes over for a chunk it flags or cannot
    encode (a non-string key, an integer beyond 64 bits). Wrapping the chunk as {"checks": [...]} puts every
    line at its final indentation: no re-indenting afterwards. `exponents`: see _orjson_differs."""
    wrapped = {"checks": checks}
    try:
        data = orjson.dumps(wrapped, option=orjson.OPT_INDENT_2)
    except TypeError:  # orjson.JSONEncodeError
        data = b""
    if data and not _orjson_differs(data, exponents=exponents):
        return data[len(_OPEN) : -len(_CLOSE)].decode()
    return json.dumps(wrapped, indent=2)[len(_OPEN) : -len(_CLOSE)]


def _plain(value: float | None) -> bool:
    """A number both encoders write alike: no exponent (json.dumps writes one below 1e-4 and from 1e16)."""
    return value is None or value == 0 or 1e-4 <= abs(value) < 1e16


def _floats_plain(result: Result) -> bool:
    """Whether every float in `result`'s JSON is _plain, known without reading its text: so for a TCP link's
    result (its RTT, wait and time) and a result without evidence, nearly all of a large report. Other
    evidence (a service's answer, a host's facts) is read by _orjson_differs."""
    evidence = result.evidence
    if isinstance(evidence, TcpReply):
        return evidence.service is None and _plain(evidence.rtt_ms) and _plain(evidence.timeout_ms) and _plain(result.elapsed_ms)
    return isinstance(evidence, dict) and not evidence and _plain(result.elapsed_ms)


def _results_text(results: Sequence[Result]) -> str:
    """`results` as _checks_text writes them."""
    exponents = not all(_floats_plain(r) for r in results)
    return _checks_text([result_to_dict(r) for r in results], exponents=exponents)


def iter_json(report: Report) -> Iterator[str]:
    """The JSON report in chunks of CHUNK checks: the same text as json.dumps(..., indent=2), without ever
    holding the whole document as objects (a run of 40,000 checks would otherwise need hundreds of MB)."""
    header = report_to_dict(replace(report, results=()))
    header["summary"] = summary_to_dict(report)
    header["diagnosis"] = diagnose(report).group_dicts()
    del header["checks"]
    head = json.dumps(header, indent=2)
    if not report.results:
        yield head[:-2] + ',\n  "checks": []\n}\n'
        return
    yield head[:-2] + ',\n  "checks": [\n'
    results = report.results
    for start in range(0, len(results), CHUNK):
        separator = ",\n" if start else ""
        chunk = results[start : start + CHUNK]
        yield separator + _results_text(chunk)
    yield "\n  ]\n}\n"


def render_json(report: Report) -> str:
    return "".join(iter_json(report))


@cache
def load_schema() -> dict[str, Any]:
    """The JSON schema every report validates against."""
    text = resources.files("netcheck.report").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _vantage_from(data: dict[str, Any]) -> Vantage:
    addresses = tuple(str(a) for a in data["addresses"])
    return Vantage(str(data["hostname"]), Role(data["role"]), str(data["os"]), addresses, str(data.get("started_at", "")))


def _result_from(item: dict[str, Any]) -> Result:
    target = Target(
        str(item["target"]),
        Role(item.get("target_role") or "agent"),
        AgentOS(item["target_os"]) if item.get("target_os") else None,
    )
    check = Check(str(item["id"]), Kind(item["kind"]), Role(item["source"]), target, item["port"], str(item["purpose"]))
    if "documented_in" in item:
        check = replace(check, documented_in=str(item["documented_in"]))
    return Result(
        check,
        State(item["state"]),
        Verdict(item["verdict"]),
        str(item["detail"]),
        str(item["remediation"]),
        item["address"],
        dict(item["evidence"]),
        float(item["elapsed_ms"]),
        str(item.get("source_host", "")),
    )


def report_from_dict(data: Any) -> Report:
    """The inverse of report_to_dict, for a document valid against schema.json; ReportError names what is wrong.
    The `diagnosis` list is not read back: it is a function of the checks, computed again when asked."""
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(tool, dict) or tool.get("name") != "netcheck":
        raise ReportError("not a netcheck report (no tool.name = netcheck)")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReportError(
            f"schema_version {data.get('schema_version')!r:.40} is not supported (this netcheck reads {SCHEMA_VERSION})"
        )
    try:
        validate(data, load_schema())
    except SchemaError as exc:
        raise ReportError(f"malformed report: {exc}") from None
    try:
        return Report(
            tool_version=str(data["tool"]["version"]),
            started_at=str(data["started_at"]),
            duration_s=float(data["duration_s"]),
            vantage=_vantage_from(data["vantage"]),
            phase=Phase(data.get("phase", "pre-install")),
            method=str(data.get("method", "connect")),
            product=Product(data.get("product", Product.BACKUP_ADVANCED_11)),
            results=tuple(_result_from(item) for item in data["checks"]),
            merged_from=tuple(_vantage_from(v) for v in data.get("merged_from", [])),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"malformed report: {type(exc).__name__}: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ReportError(f"not JSON: {name} is not a JSON number")


def parse_report(text: str) -> Report:
    try:
        data = json.loads(text, parse_constant=_no_constant)  # NaN and Infinity are Python's, not JSON's
    except json.JSONDecodeError as exc:
        raise ReportError(f"not JSON: {exc}") from None
    except RecursionError:
        raise ReportError("not a netcheck report: values nest too deep") from None
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise ReportError(f"not JSON: {str(exc).split(';')[0]}") from None
    return report_from_dict(data)


def json_chunks(report: Report, *, verbose: bool, show_all: bool = False) -> Iterator[str]:
    """The streamed JSON report (`verbose` changes nothing: every check carries its evidence)."""
    return iter_json(report)
