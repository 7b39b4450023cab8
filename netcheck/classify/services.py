"""Services: what answered on an open port, judged against what the matrix expects there.

Every rule about identified services lives here: whether a link is worth identifying, when an answer is worth
a `service` result of its own, how the link's own result records it, and the service's verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from netcheck.model.checks import Check, Result, check_id
from netcheck.model.kinds import Kind, State, Verdict
from netcheck.model.matrix import PORTS, PortKey, Protocol
from netcheck.model.observations import (
    ResponderAnswer,
    ServiceAnswer,
    ServiceFailure,
    SmbIdentity,
    SshBanner,
    TcpReply,
    TlsSession,
    UnknownService,
)


def wants_identification(link: Result) -> bool:
    """Open links of the matrix's ports, probed from here, are identified (not those seen on an agent through SSH)."""
    return (
        link.state is State.OPEN
        and link.verdict is not Verdict.SKIP
        and link.check.port_key is not None
        and bool(link.address)
        and not link.source_host
    )


def service_check(link: Check) -> Check:
    """The `service` check that stands next to a link."""
    return replace(link, id=check_id(Kind.SERVICE, link.source, link.target.name, link.port), kind=Kind.SERVICE)


def judge_identified(
    link: Result, answer: ServiceAnswer, *, expect_responder: bool, now: datetime
) -> tuple[Result, Result | None]:
    """The link's result with what answered in its evidence, and the service's own result (None: nothing to say)."""
    key = link.check.port_key
    if key is not None and PORTS[key].protocol is Protocol.OTHER and isinstance(answer, UnknownService) and not expect_responder:
        return link, None  # a protocol netcheck does not identify (25001, 8080, 7780, ...): nothing to say
    service = replace(
        classify_service(service_check(link.check), answer, expect_responder=expect_responder, now=now), address=link.address
    )
    evidence = replace(link.evidence, service=answer) if isinstance(link.evidence, TcpReply) else link.evidence
    detail = link.detail
    if isinstance(answer, ResponderAnswer):
        detail = f"{detail}; {responder_note(answer)}"
    return replace(link, evidence=evidence, detail=detail), service


def responder_note(answer: ResponderAnswer) -> str:
    """What the responder's answer proves about the link, for the link's detail."""
    if answer.verified is True:
        return "netcheck responder answered (verified end to end)"
    if answer.verified is None and not answer.busy and not answer.problem:
        return "netcheck responder answered (not authenticated: no token)"
    return f"netcheck responder answered, NOT verified: {answer.problem or 'token check failed'}"


def classify_service(check: Check, answer: ServiceAnswer, *, expect_responder: bool, now: datetime) -> Result:
    """What answered on an open port, judged against what the matrix expects there."""
    target, port = check.target.name, check.port

    def result(verdict: Verdict, detail: str, remediation: str = "") -> Result:
        state = State.ERROR if isinstance(answer, ServiceFailure) else State.OPEN
        return Result(check, state, verdict, detail, remediation, None, answer)

    if isinstance(answer, ServiceFailure):
        return result(Verdict.ERROR, f"netcheck could not identify the service: {answer.message}")
    if isinstance(answer, ResponderAnswer):
        return _classify_responder(result, answer, target, port)
    if isinstance(answer, SshBanner):
        return result(Verdict.PASS, f"SSH {answer.protocol}: {answer.product}")
    if isinstance(answer, SmbIdentity):
        return _classify_smb(result, answer, target, port)
    if isinstance(answer, TlsSession) and answer.refused:
        version = answer.version or "an old version"
        return result(
            Verdict.WARN,
            f"TLS, but only versions this machine refuses: the server speaks {version}",
            f"Enable TLS 1.2 or later on the service at {target}:{port}.",
        )
    if isinstance(answer, TlsSession):
        cert = answer.certificate
        detail = f"{answer.version} ({answer.cipher}); certificate {(cert.subject if cert else None) or 'unreadable'}"
        expires = cert.not_after if cert else None
        if expires and expires < now:
            return result(
                Verdict.WARN, f"{detail}, expired {expires:%Y-%m-%d}", f"Renew the certificate of the service on {target}:{port}."
            )
        return result(Verdict.PASS, f"{detail}{f', expires {expires:%Y-%m-%d}' if expires else ''}")
    if expect_responder:
        return result(
            Verdict.WARN,
            f"port {port} is open but the netcheck responder did not answer: another program listens there",
            f"Find what listens on {target}:{port} (it would keep the product from binding it), or run 'netcheck listen' there.",
        )
    if check.port_key is PortKey.SSH:
        return result(
            Verdict.WARN,
            f"port {port} answers, but not with an SSH identification string"
            + (f" ({answer.ssh_problem})" if isinstance(answer, UnknownService) and answer.ssh_problem else ""),
            f"Make sure sshd, not another program, listens on {target}:{port}.",
        )
    return result(
        Verdict.WARN,
        f"something listens on {port} but speaks neither TLS nor the netcheck handshake (the product encrypts it by default)",
        f"Find what listens on {target}:{port}.",
    )


def _classify_responder(result: Callable[..., Result], answer: ResponderAnswer, target: str, port: int | None) -> Result:
    """A netcheck responder answered: verified only with a shared token, at the address dialled, and not busy."""
    if answer.busy:
        return result(
            Verdict.WARN,
            "a netcheck responder answered, but busy (its connection limit is reached): not verified",
            f"Run the check again, or restart 'netcheck listen' on {target} with a higher --max-connections.",
        )
    if answer.verified is True:
        return result(Verdict.PASS, "netcheck responder answered: link verified end to end (shared token checked)")
    if answer.redirected:
        return result(
            Verdict.FAIL,
            f"a netcheck responder answered, but {answer.problem}: not verified",
            f"Check the NAT and port-forwarding rules between this machine and {target}:{port}: the product would "
            "reach another machine.",
        )
    if answer.verified is False:
        return result(
            Verdict.FAIL,
            f"a netcheck responder answered, but {answer.problem or 'not with the token given (--token)'}: not verified",
            f"Start 'netcheck listen --token ...' on {target} with the same token as --token here.",
        )
    return result(Verdict.PASS, "netcheck responder answered (no token to authenticate it)")


def smb2_fix(target: str) -> str:
    """What to do about an SMB server that speaks SMB1 only (the service check and the access check say it alike)."""
    return f"Enable SMB2/3 on {target} (Set-SmbServerConfiguration -EnableSMB2Protocol $true)."


def _classify_smb(result: Callable[..., Result], smb: SmbIdentity, target: str, port: int | None) -> Result:
    dialects = list(smb.dialects)
    if not dialects and not smb.smb1:
        return result(
            Verdict.FAIL,
            f"port {port} answers, but no SMB dialect could be negotiated",
            f"Make sure the Server service (LanmanServer) answers on {target}:{port}, not another program.",
        )
    if not dialects:
        return result(
            Verdict.FAIL,
            "SMB1 only: no SMB2/3 dialect; current Windows does not speak SMB1 by default",
            smb2_fix(target),
        )
    signing = {True: "signing required", False: "signing not required", None: "signing unknown"}[smb.signing_required]
    if smb.ciphers:
        encryption = f"encryption capable ({', '.join(smb.ciphers)})"
    else:
        encryption = "encryption capable" if smb.encryption else "no encryption"
    detail = f"SMB {dialects[-1]} (dialects {', '.join(dialects)}); {signing}; {encryption}"
    if smb.smb1:
        return result(Verdict.WARN, f"{detail}; SMB1 is enabled too", f"Disable SMB1 on {target}: it is insecure and not needed.")
    return result(Verdict.PASS, detail)
