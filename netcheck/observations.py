"""What the probes saw, as typed values: the stage between observe (I/O) and classify (pure verdicts).

No I/O here and no imports of anything that does I/O: probes build these values, classifiers read them, and only
the JSON report (report/json.py) flattens them into dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from netcheck.handshake import ResponderAnswer
from netcheck.model import State

# ---- TCP -----------------------------------------------------------------------------------------------

ICMP4_CODE_NAMES = {
    0: "net-unreachable",
    1: "host-unreachable",
    2: "protocol-unreachable",
    3: "port-unreachable",
    9: "net-admin-prohibited",
    10: "host-admin-prohibited",
    13: "admin-prohibited",
}


@dataclass(frozen=True, slots=True)
class IcmpError:
    """An ICMP error the kernel tied to our socket (or saw for our SYN)."""

    version: int
    type: int
    code: int
    sender: str | None

    def describe(self) -> str:
        name = ICMP4_CODE_NAMES.get(self.code, f"code {self.code}") if self.version == 4 else f"code {self.code}"
        where = f" from {self.sender}" if self.sender else ""
        return f"ICMP{'' if self.version == 4 else 'v6'} {self.type}/{self.code} {name}{where}"


class Reply(StrEnum):
    """What came back for a probe."""

    SYN_ACK = "syn-ack"
    RST = "rst"
    TCP = "tcp"
    """A TCP segment that is neither a SYN-ACK nor a reset."""
    ICMP = "icmp"
    CONNECTED = "connected"
    NONE = "none"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SshBanner:
    """The identification string of an SSH server (RFC 4253 §4.2)."""

    protocol: str
    software: str
    comments: str

    @property
    def product(self) -> str:
        """'OpenSSH_9.2p1' → 'OpenSSH 9.2p1'."""
        name, _, version = self.software.partition("_")
        return f"{name} {version}".strip()


@dataclass(frozen=True, slots=True)
class SmbIdentity:
    """What the server at the SMB port is, summed up over the negotiations."""

    is_smb: bool
    dialects: tuple[str, ...]
    smb1: bool
    signing_required: bool | None
    encryption: bool
    ciphers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Certificate:
    subject: str
    issuer: str
    not_after: datetime | None


@dataclass(frozen=True, slots=True)
class TlsSession:
    version: str
    cipher: str
    certificate: Certificate | None
    refused: str = ""
    """Set when this machine's TLS library refuses every version the server offers (say, TLS 1.0 only): why."""


@dataclass(frozen=True, slots=True)
class UnknownService:
    """Something answered, but none of the protocols netcheck knows."""

    first_bytes: str | None = None
    """The start of what it sent (a port where an SSH banner was expected)."""
    tls_error: str | None = None
    """Why a TLS handshake failed (the product port)."""
    ssh_problem: str | None = None
    """Why what the SSH port sent is not an identification line (overlong, never ended), when it looked like one."""


@dataclass(frozen=True, slots=True)
class ServiceFailure:
    """netcheck itself failed while identifying the service (never a verdict about the service)."""

    message: str


ServiceAnswer = SshBanner | SmbIdentity | TlsSession | ResponderAnswer | UnknownService | ServiceFailure


@dataclass(frozen=True, slots=True)
class TcpReply:
    """The packet evidence of one TCP probe (SYN or connect)."""

    method: str
    """'syn' or 'connect'."""
    reply: Reply
    attempts: int = 1
    ttl: int | None = None
    rtt_ms: float | None = None
    tcp_flags: str | None = None
    timeout_ms: float | None = None
    """How long the last silent attempt waited (the RTT-adapted timeout)."""
    source_port: int | None = None
    icmp: IcmpError | None = None
    no_arp_answer: bool = False
    """The next hop never answered ARP (the kernel's host-unreachable from our own address)."""
    error: str | None = None
    """The errno name (ECONNREFUSED, EHOSTUNREACH, EPERM, ...) or 'timeout'."""
    message: str | None = None
    errno: int | None = None
    """Only for errors netcheck has no state for."""
    winerror: int | None = None
    """Windows: the Win32 or WSA error code, only for errors netcheck has no state for."""
    os_limits: tuple[str, ...] = ()
    """What this OS could not do for the probe (an older Windows build), which bounds what the reply proves."""
    service: ServiceAnswer | None = None
    """What answered on the open port (filled in once the service is identified)."""
    via: str | None = None
    """How netcheck reached the machine that probed: 'ssh' for a link probed on an agent through an SSH session."""
    tool: str | None = None
    """What made the connection there ('bash /dev/tcp', 'python3'), when it was not netcheck's own probe."""

    def describe(self) -> str:
        """One line of what was seen on the wire (or from the OS), for tables and tickets."""
        ttl = f", ttl {self.ttl}" if self.ttl is not None else ""
        rtt = f", {self.rtt_ms}ms" if self.rtt_ms is not None else ""
        if self.reply is Reply.SYN_ACK:
            return f"SYN-ACK{ttl}{rtt}"
        if self.reply is Reply.RST:
            return f"RST{ttl}{rtt}"
        if self.reply is Reply.CONNECTED:
            return f"connected{rtt}"
        if self.icmp is not None:
            prefix = f"{self.error}: " if self.error else ""
            return f"{prefix}{self.icmp.describe()}{ttl}"
        if self.no_arp_answer:
            return "no ARP answer from the next hop"
        if self.error == "ECONNREFUSED":
            return "connection refused: RST"
        if self.reply is Reply.NONE:
            return f"no answer after {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if self.error:
            return f"{self.error}: {self.message or ''}".rstrip(": ")
        return str(self.reply)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one TCP probe saw, before any judgement."""

    state: State
    address: str | None
    reply: TcpReply
    elapsed_ms: float = 0.0
    error: str | None = None


# ---- names ---------------------------------------------------------------------------------------------

# DNS outcomes that are not an rcode: the server never answered, or could not be asked.
TIMEOUT = "TIMEOUT"
UNREACHABLE = "UNREACHABLE"
ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """Which name servers this machine uses, and how it completes short names."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...] = ()
    ndots: int = 1
    source: str = "system"
    port: int = 53
    """The name servers' port (53; tests run hostile servers on others)."""


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One name server's answer for one name."""

    server: str
    qname: str
    rcode: str
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    elapsed_ms: float = 0.0
    error: str = ""
    more: int = 0
    """Addresses beyond the first MAX_ADDRESSES, counted, not kept."""
    ignored: int = 0
    """Answer records for other names than the one asked (not followed from it by CNAME): not believed."""

    @property
    def answered(self) -> bool:
        return self.rcode not in (TIMEOUT, UNREACHABLE, ERROR)


@dataclass(frozen=True, slots=True)
class HostsEntry:
    line: int
    address: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HostsProblem:
    line: int
    text: str
    reason: str

    def describe(self) -> str:
        return f"line {self.line}: {self.reason}: {self.text!r}" if self.text else f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class SystemAnswer:
    """What the system resolver (getaddrinfo) gave for a name."""

    addresses: tuple[str, ...] = ()
    error: str = ""
    elapsed_ms: float = 0.0
    more: int = 0
    """Addresses beyond the first MAX_ADDRESSES (counted, not kept)."""


@dataclass(frozen=True, slots=True)
class NameObservation:
    """What each path said about one name."""

    name: str
    dns_config: DnsConfig
    dns: tuple[DnsAnswer, ...] = ()
    hosts_path: str = ""
    hosts: tuple[HostsEntry, ...] = ()
    hosts_problems: tuple[HostsProblem, ...] = ()
    hosts_error: str = ""
    system: tuple[str, ...] = ()
    system_error: str = ""
    system_more: int = 0
    """Addresses the system resolver gave beyond the first MAX_ADDRESSES (counted, not kept)."""
    ptr: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ptr_more: int = 0
    """Addresses whose PTR was not asked (beyond the first MAX_ADDRESSES)."""
    netbios: tuple[str, ...] | None = None
    llmnr: tuple[str, ...] | None = None
    elapsed_ms: float = 0.0

    @property
    def dns_addresses(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for answer in self.dns:
            for address in answer.addresses:
                seen.setdefault(address, None)
        return tuple(seen)

    @property
    def hosts_addresses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(entry.address for entry in self.hosts))
