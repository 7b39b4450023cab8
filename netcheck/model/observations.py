"""What the probes saw, as typed values: the stage between observe (I/O) and classify (pure verdicts).

No I/O here and no imports of anything that does I/O: probes build these values, classifiers read them, and only
the JSON report (report/json.py) flattens them into dictionaries.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from enum import StrEnum

from netcheck.model.kinds import State
from netcheck.model.record import record

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


@record
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


ICMP_DEST_UNREACH = 3
ICMP_TIME_EXCEEDED = 11
ICMP6_DEST_UNREACH = 1
# ICMPv4 destination-unreachable codes that mean "no route to that host or network" rather than
# "a device refused it": net/host unreachable, unknown, isolated, for TOS.
_ICMP4_UNREACHABLE_CODES = {0, 1, 5, 6, 7, 8, 11, 12}
# ICMPv6 destination-unreachable: 0 no route, 2 beyond scope, 3 address unreachable.
_ICMP6_UNREACHABLE_CODES = {0, 2, 3}


def state_from_icmp(icmp: IcmpError) -> State:
    """ICMP error → state: no route is `unreachable`, everything else (admin-prohibited, …) is `filtered`."""
    if icmp.version == 4:
        if icmp.type == ICMP_TIME_EXCEEDED:
            return State.UNREACHABLE
        if icmp.type == ICMP_DEST_UNREACH and icmp.code in _ICMP4_UNREACHABLE_CODES:
            return State.UNREACHABLE
        return State.FILTERED
    if icmp.type == ICMP6_DEST_UNREACH and icmp.code in _ICMP6_UNREACHABLE_CODES:
        return State.UNREACHABLE
    return State.FILTERED


@record
class ResponderAnswer:
    """A responder's answer.

    `verified` is True only when the caller's token checked out and the responder was reached at the address
    and port dialled; False when the caller had a token and it did not (`problem` says why); None without one.
    """

    authenticated: bool
    verified: bool | None
    busy: bool = False
    answered_as: str = ""
    problem: str = ""
    redirected: bool = False
    """Reached at another address or port than the one dialled (a NAT, DNAT or port forward)."""


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


@record
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


@record
class SmbIdentity:
    """What the server at the SMB port is, summed up over the negotiations."""

    is_smb: bool
    dialects: tuple[str, ...]
    smb1: bool
    signing_required: bool | None
    encryption: bool
    ciphers: tuple[str, ...]


@record
class Certificate:
    subject: str
    issuer: str
    not_after: datetime | None


@record
class TlsSession:
    version: str
    cipher: str
    certificate: Certificate | None
    refused: str = ""
    """Set when this machine's TLS library refuses every version the server offers (say, TLS 1.0 only): why."""


@record
class UnknownService:
    """Something answered, but none of the protocols netcheck knows."""

    first_bytes: str | None = None
    """The start of what it sent (a port where an SSH banner was expected)."""
    tls_error: str | None = None
    """Why a TLS handshake failed (the product port)."""
    ssh_problem: str | None = None
    """Why what the SSH port sent is not an identification line (overlong, never ended), when it looked like one."""


@record
class ServiceFailure:
    """netcheck itself failed while identifying the service (never a verdict about the service)."""

    message: str


ServiceAnswer = SshBanner | SmbIdentity | TlsSession | ResponderAnswer | UnknownService | ServiceFailure


@record
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


@record
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


@record
class DnsConfig:
    """Which name servers this machine uses, and how it completes short names."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...] = ()
    ndots: int = 1
    source: str = "system"
    port: int = 53
    """The name servers' port (53; tests run hostile servers on others)."""


@record
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


@record
class HostsEntry:
    line: int
    address: str
    names: tuple[str, ...]


@record
class HostsProblem:
    line: int
    text: str
    reason: str

    def describe(self) -> str:
        return f"line {self.line}: {self.reason}: {self.text!r}" if self.text else f"line {self.line}: {self.reason}"


@record
class SystemAnswer:
    """What the system resolver (getaddrinfo) gave for a name."""

    addresses: tuple[str, ...] = ()
    error: str = ""
    elapsed_ms: float = 0.0
    more: int = 0
    """Addresses beyond the first MAX_ADDRESSES (counted, not kept)."""


@record
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


# ---- access: logins to agents (netcheck/observe/access/ssh.py and smb.py build these) ------------------------------


def bare_user(user: str) -> str:
    """The account name without its domain (what sudoers and passwd know): 'CORP\\bob', 'bob@corp' → 'bob'."""
    return user.rsplit("\\", maxsplit=1)[-1].split("@", maxsplit=1)[0]


def parse_mounts(text: str, path: str = "/tmp") -> tuple[str, tuple[str, ...]]:  # noqa: S108 - the agent's /tmp
    """The mount point holding `path` and its options, from /proc/mounts (the longest matching mount point)."""
    best, options = "", tuple[str, ...]()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point = fields[1].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, options = point, tuple(fields[3].split(","))
    return best, options


def parse_df(text: str) -> dict[str, int]:
    """`df -Pk` → {mount point: available KiB}."""
    free: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[3].isdigit():
            free[fields[5]] = int(fields[3])
    return free


@record
class CommandOutput:
    """One fixed command run on an agent: its exit status (None: it did not finish) and capped output."""

    exit_status: int | None
    stdout: str
    stderr: str
    timed_out: bool = False


@record
class TcpFromAgent:
    """A TCP connect tried on the agent, through the SSH session."""

    address: str
    port: int
    outcome: str  # connected | refused | timeout | unreachable | no-arp (the next hop answered no ARP) | error
    message: str
    tool: str
    elapsed_ms: float


@record
class NameOnAgent:
    """How the agent resolves a name: its system resolver (getent hosts), DNS alone (getent -s dns) and its hosts file."""

    name: str
    resolver: tuple[str, ...]
    hosts_file: tuple[str, ...]
    dns: tuple[str, ...] = ()


@record
class SshObservation:
    """Everything seen on one Linux agent; None means not reached (an earlier step failed)."""

    address: str
    port: int
    user: str
    fingerprint: str = ""
    key_type: str = ""
    host_key: str = ""  # known | unknown | changed | revoked
    known_hosts: str = ""
    login: str = ""  # ok | refused | timeout | closed | error
    auth: str = ""  # password | publickey
    error: str = ""
    uid: int | None = None
    sudo: CommandOutput | None = None
    tmp: CommandOutput | None = None
    mounts: str | None = None
    df: str | None = None
    packages: tuple[str, ...] | None = None
    names: tuple[NameOnAgent, ...] = ()
    probes: tuple[TcpFromAgent, ...] = ()
    elapsed_ms: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def tmp_writable(self) -> bool:
        """A file could be created in /tmp (the exec test's first line)."""
        return self.tmp is not None and "writable=yes" in self.tmp.stdout

    @property
    def tmp_executable(self) -> bool:
        """That file could be run (the installer runs its packages from /tmp)."""
        return self.tmp is not None and "exec=yes" in self.tmp.stdout

    @property
    def tmp_mount(self) -> tuple[str, tuple[str, ...]]:
        """The mount point holding /tmp and its options ('', () without /proc/mounts)."""
        return parse_mounts(self.mounts or "")

    @property
    def free_kib(self) -> dict[str, int]:
        """Free KiB per mount point of /tmp, /usr and /var ({} without df's output)."""
        return parse_df(self.df or "")


STATUS_NAMES = {
    0xC000006D: "STATUS_LOGON_FAILURE",
    0xC0000234: "STATUS_ACCOUNT_LOCKED_OUT",
    0xC0000072: "STATUS_ACCOUNT_DISABLED",
    0xC0000071: "STATUS_PASSWORD_EXPIRED",
    0xC0000224: "STATUS_PASSWORD_MUST_CHANGE",
    0xC000015B: "STATUS_LOGON_TYPE_NOT_GRANTED",
    0xC0000022: "STATUS_ACCESS_DENIED",
    0xC00000CC: "STATUS_BAD_NETWORK_NAME",
    0xC000006E: "STATUS_ACCOUNT_RESTRICTION",
    0xC0000133: "STATUS_TIME_DIFFERENCE_AT_DC",
    0xC0000016: "STATUS_MORE_PROCESSING_REQUIRED",
}
"""The NT status codes an SMB step is reported with by name."""


CONNECTION_LOST = "connection lost"
"""How a failed Step's message starts when the connection broke under it (a reset, a close), not the server refused."""
NO_NTLM_PASSWORD = "there is no password for NTLM"  # noqa: S105 - a sentence, not a password
"""How the login Step's message ends when Kerberos did not log in and NTLM was not tried for want of a password."""


@record
class Step:
    """One step's outcome: ok, or the NT status / Win32 / DCE-RPC code it failed with."""

    ok: bool
    code: int | None = None
    message: str = ""

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        if self.code is None:
            return self.message or "failed"
        return STATUS_NAMES.get(self.code, f"0x{self.code:08X}")


@record
class KerberosTry:
    """How Kerberos went on one agent: ok, failed (error: the Kerberos error's or NT status's name, or
    kdc-unreachable), or not-tried (error: why: disabled, no-ticket-cache, local-account, other-principal,
    cache-unreadable, needs-name, no-ticket, ticket-expired)."""

    outcome: str
    error: str = ""
    detail: str = ""
    spn: str = ""


@record
class AccountInfo:
    """The logged-in account and the machine as the agent's LSA tells them (LsarLookupNames, LsarQueryInformationPolicy)."""

    kind: str
    """domain, local, or builtin-administrator (a local account whose RID is 500, whatever its name)."""
    rid: int | None
    role: str
    """standalone, member or domain-controller."""
    domain: str = ""
    """The machine's domain (NetBIOS name), or its workgroup."""
    dns_domain: str = ""


@record
class ServiceState:
    """One Windows service as the agent's service control manager tells it (QueryServiceStatus, QueryServiceConfigW
    over \\PIPE\\svcctl, opened for query only): its SERVICE_STATUS dwCurrentState and its dwStartType, or why
    they could not be read."""

    state: int | None = None
    """1 stopped, 2 start pending, 3 stop pending, 4 running, 5 continue pending, 6 pause pending, 7 paused."""
    start: int | None = None
    """0 boot, 1 system, 2 automatic, 3 manual (demand), 4 disabled."""
    error: str = ""


@record
class DiskSpace:
    """The free space of the volume behind ADMIN$ (SMB2 QUERY_INFO FileFsFullSizeInformation), in bytes, or why
    it could not be read."""

    free: int | None = None
    """What the logged-in account may use (CallerAvailableAllocationUnits)."""
    total: int | None = None
    error: str = ""


@record
class SmbSession:
    """One SMB connection this (Windows) machine holds to a server: `Get-SmbConnection` or `net use`."""

    server: str
    share: str = ""
    credential: str = ""
    """The account the connection was made with (DOMAIN\\name); '' when the command does not say (net use)."""
    source: str = ""
    """Which command listed it: Get-SmbConnection or net use."""


@record
class SmbObservation:
    """Everything seen on one Windows agent; None: the step was not reached."""

    address: str
    user: str
    account_kind: str  # domain | local | builtin-administrator
    login: Step | None = None
    guest: bool = False
    dialect: str = ""
    server_name: str = ""
    server_domain: str = ""
    server_dns_domain: str = ""
    ipc: Step | None = None
    admin_share: Step | None = None
    write: Step | None = None
    write_file: str = ""
    write_test: bool = True
    scm: Step | None = None
    registry: dict[str, int | str] = field(default_factory=dict)
    """Value name → its DWORD, or the reason it could not be read."""
    elapsed_ms: float = 0.0
    auth: str = ""
    """kerberos or ntlm: how the session was set up ('' when no login worked)."""
    kerberos: KerberosTry | None = None
    lsa: AccountInfo | None = None
    """What the agent's LSA said (None: it was not asked, or did not answer; account_kind then goes by name)."""
    shares: tuple[str, ...] | None = None
    """The share names NetShareEnum (srvsvc, level 1) listed; None: not asked or it did not answer (shares_error)."""
    shares_error: str = ""
    remote_registry: ServiceState | None = None
    """The Remote Registry service (RemoteRegistry) as the service control manager says; None: not asked."""
    disk: DiskSpace | None = None
    """Free space of ADMIN$'s volume; None: ADMIN$ was not connected."""
    rpc_endpoint_mapper: str = ""
    """TCP 135 from here: open, closed (a reset), filtered (no answer in time), or '' when not tried."""
    vantage_sessions: tuple[SmbSession, ...] | None = None
    """This machine's own SMB connections to the agent (a Windows vantage only; None: not looked at)."""

    @property
    def in_domain(self) -> bool | None:
        """The LSA's primary domain where it answered; otherwise NTLM's names: a stand-alone machine names its own
        name as its domain, a member names its domain."""
        if self.lsa is not None:
            return self.lsa.role != "standalone"
        if not self.server_name or not self.server_domain:
            return None
        return self.server_domain.upper() != self.server_name.upper()


@record
class AccessEvidence:
    """An `access` result's evidence: what was seen on the agent, and the named causes the classifier found in
    it (the failing ones, or the warning ones when none fails)."""

    seen: SshObservation | SmbObservation
    agent: str
    """The agent's name as the topology gives it."""
    causes: tuple[str, ...] = ()


@record
class AgentNameEvidence:
    """A `name` result seen on an agent through SSH: the agent's answers, and what this machine resolves."""

    seen: NameOnAgent
    here: tuple[str, ...] = ()


# ---- This machine -----------------------------------------------------------------------------------------


@record
class Interface:
    name: str
    address: str
    prefix: int
    up: bool
    broadcast: str | None = None

    @property
    def usable(self) -> bool:
        """Up and not loopback: an interface the deployment's traffic can use."""
        return self.up and not self.address.startswith("127.")


@record
class HostFacts:
    """One snapshot of this machine, taken once per run; the host checks are judged on it."""

    platform: str
    os: str
    privileged: bool
    interfaces: tuple[Interface, ...]
    holders: dict[int, str]
    ephemeral_text: str | None
    firewall_outputs: dict[str, str | None] = field(default_factory=dict)


@record
class DiscoveryFacts:
    """What the installing machine says about its firewall and network profile (Windows only)."""

    platform: str
    rules_text: str = ""
    profile_text: str = ""
    connection_profiles_text: str = ""
    errors: tuple[str, ...] = field(default_factory=tuple)
    reads: WindowsReads | None = None
    """The PowerShell JSON reads (None off Windows); where its rules or connections read failed, the netsh texts
    above are used instead."""

    @property
    def windows(self) -> bool:
        return self.platform.startswith("win")


@record
class WindowsReads:
    """Raw outputs of netcheck/parse/windows.py's PowerShell commands (None: that command failed)."""

    rules_json: str | None
    connections_json: str | None
    firewall_json: str | None = None
    part_of_domain: bool | None = None
    errors: tuple[str, ...] = ()
