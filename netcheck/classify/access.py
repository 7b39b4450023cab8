"""Access checks: SSH and SMB observations → Results (pure): will the remote installation work on this agent, and if not, why.

Every failure is a named cause (`evidence.causes`) with the exact fix. The agent's own half of the matrix,
seen through SSH, becomes ordinary `name` and `tcp` results whose source is that agent (`source_host`),
with `evidence.via = "ssh"`, so every format, `merge` and the HTML diagram show them like any other link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from netcheck.classify.cause import Cause
from netcheck.classify.services import smb2_fix
from netcheck.classify.tcp import classify_tcp
from netcheck.classify.windows_target import admin_share_missing, builtin_administrator_filtered, dword, extra_smb_causes
from netcheck.model.checks import Check, Result, Target, check_id
from netcheck.model.kinds import AgentOS, Kind, Phase, Role, State, Verdict
from netcheck.model.matrix import PortKey, links_for, port_number
from netcheck.model.observations import (
    CONNECTION_LOST,
    NO_NTLM_PASSWORD,
    AccessEvidence,
    AgentNameEvidence,
    CommandOutput,
    KerberosTry,
    NameObservation,
    NameOnAgent,
    Observation,
    Reply,
    SmbObservation,
    SshObservation,
    TcpFromAgent,
    TcpReply,
    bare_user,
)
from netcheck.model.record import record

MIN_FREE_KB = 1024 * 1024
"""Free space below which an agent fails (1 GiB): netcheck's own margin, not a figure from the product's documentation."""
WARN_FREE_KB = 2 * 1024 * 1024


def access_os(check: Check) -> AgentOS:
    """The agent's OS as the access check's link says: SSH is how Linux agents are installed, SMB Windows ones."""
    return AgentOS.LINUX if check.port_key is PortKey.SSH else AgentOS.WINDOWS


def skipped(check: Check, reason: str, state: State = State.NOT_PROBED) -> Result:
    return Result(check, state, Verdict.SKIP, f"not checked: {reason}")


def access_skip(check: Check, link: Result | None, cannot_log_in: str) -> Result | None:
    """Why the agent of access `check` is not visited, as its skip result, or None: visit it. `link`: the result
    of the TCP link the check needs (the same target and port key, probed from here), None if unprobed;
    `cannot_log_in`: why the credentials given cannot log in to this agent's OS ("" when they can)."""
    if link is None or link.state is not State.OPEN:
        why = f"TCP {check.port} to {check.target.name} is {link.state if link else 'not probed'}"
        see = link.check.id if link else check_id(Kind.TCP, check.source, check.target.name, check.port)
        return skipped(check, f"{why} (see {see})")
    return skipped(check, cannot_log_in) if cannot_log_in else None


def _result(check: Check, causes: Sequence[Cause], *, passed: str, seen: SshObservation | SmbObservation) -> Result:
    """Fail when any cause fails, warn when any warns; the detail names each cause, the fix lists each fix."""
    failing = [c for c in causes if c.verdict is Verdict.FAIL]
    warning = [c for c in causes if c.verdict is Verdict.WARN]
    shown = failing or warning
    verdict = Verdict.FAIL if failing else Verdict.WARN if warning else Verdict.PASS
    detail = "; ".join(f"{c.name}: {c.detail}" for c in shown)
    if not shown:
        detail = passed
    elif passed and not failing:  # a warning beside an otherwise clean visit; a failure says only what was seen
        detail = f"{detail} ({passed})"
    fix = " ".join(f"[{c.name}] {c.fix}" for c in shown if c.fix)
    state = State.ENABLED if verdict is Verdict.PASS else State.DISABLED
    evidence = AccessEvidence(seen, check.target.name, tuple(c.name for c in shown))
    return Result(check, state, verdict, detail, fix, seen.address, evidence, seen.elapsed_ms)


def timed_out(check: Check, address: str, budget_s: float) -> Result:
    """The result of a visit that did not finish within its budget: the agent answered TCP, then stalled (the
    observer's own timeouts cover each step; this is the whole visit's bound)."""
    cause = "ssh-timeout" if access_os(check) is AgentOS.LINUX else "smb-timeout"
    return Result(
        check,
        State.DISABLED,
        Verdict.FAIL,
        f"{cause}: the visit to {check.target.name} did not finish within {budget_s:g} s",
        f"Check that {check.target.name} answers promptly on TCP {check.port} after the handshake (a stalled service, an IPS).",
        address,
        {"via": "ssh" if cause == "ssh-timeout" else "smb", "causes": [cause]},
    )


# --- Linux agents (SSH) -----------------------------------------------------------------------------------


def _known_hosts_fix(obs: SshObservation, name: str) -> str:
    algo = obs.key_type.replace("ssh-", "") if obs.key_type else "ed25519"
    key_file = f"/etc/ssh/ssh_host_{algo if algo in ('ed25519', 'rsa') else 'ecdsa'}_key.pub"
    port = f"-p {obs.port} " if obs.port != port_number(PortKey.SSH) else ""
    return (
        f"Compare the fingerprint with the one shown on {name} itself (ssh-keygen -lf {key_file}); if they match, add "
        f"the key: ssh-keyscan {port}-t {obs.key_type or 'ed25519'} {obs.address} >> {obs.known_hosts} "
        "(or give another file with --known-hosts)."
    )


def ssh_causes(obs: SshObservation, name: str) -> list[Cause]:
    """The named causes seen on one Linux agent (empty: everything the installer needs is there)."""
    fp = f"{obs.key_type} {obs.fingerprint}".strip()
    if obs.host_key == "unknown":
        return [
            Cause(
                "ssh-host-key-unknown",
                Verdict.FAIL,
                f"{name}'s host key ({fp}) is not in {obs.known_hosts}: not logged in (netcheck never trusts an unknown key)",
                _known_hosts_fix(obs, name),
            )
        ]
    if obs.host_key in ("changed", "revoked"):
        return [
            Cause(
                f"ssh-host-key-{obs.host_key}",
                Verdict.FAIL,
                f"{name} presents {fp}, which {obs.known_hosts} does not trust ({obs.host_key}): not logged in",
                f"If {name} was reinstalled, replace its entry: ssh-keygen -R {obs.address} -f {obs.known_hosts}, then "
                f"{_known_hosts_fix(obs, name)} Otherwise something is intercepting the connection.",
            )
        ]
    if obs.login == "refused":
        root = bare_user(obs.user) == "root"
        extra = (
            " For root: PermitRootLogin yes (password) or prohibit-password (keys) in /etc/ssh/sshd_config, then restart sshd."
            if root
            else ""
        )
        return [
            Cause(
                "ssh-login-refused",
                Verdict.FAIL,
                f"{name} refused the login of {obs.user} ({obs.error or 'permission denied'})",
                f"Check the user name and the password or key of {obs.user} on {name}, that the account is not locked "
                f"(passwd -S {bare_user(obs.user)}) and that sshd allows its method (PasswordAuthentication / "
                f"PubkeyAuthentication in /etc/ssh/sshd_config).{extra}",
            )
        ]
    if obs.login in ("timeout", "closed", "error"):
        return [
            Cause(
                f"ssh-{obs.login}",
                Verdict.FAIL,
                f"SSH to {name} did not complete: {obs.error or obs.login}",
                f"Check that sshd on {name} answers (systemctl status sshd) and that nothing between drops the session "
                "after the handshake (an IPS, MaxStartups, a TCP wrapper in /etc/hosts.deny).",
            )
        ]
    causes: list[Cause] = []
    if obs.error:
        causes.append(
            Cause("ssh-command-failed", Verdict.FAIL, f"logged in, but {obs.error}", f"Check {name}'s shell for {obs.user}.")
        )
        return causes
    if obs.uid is None:
        causes.append(
            Cause(
                "ssh-no-shell",
                Verdict.FAIL,
                f"{obs.user} has no usable shell on {name}",
                f"Give {obs.user} a login shell (chsh).",
            )
        )
        return causes
    user = bare_user(obs.user)
    if obs.uid != 0:
        sudo = obs.sudo or CommandOutput(None, "", "")
        if sudo.exit_status != 0:
            why = (sudo.stderr.strip().splitlines() or ["sudo failed"])[-1][:160]
            tty = " and remove 'Defaults requiretty'" if "tty" in why else ""
            causes.append(
                Cause(
                    "no-root-or-sudo",
                    Verdict.FAIL,
                    f"{obs.user} is not root (uid {obs.uid}) and sudo -n true fails ({why})",
                    f"Install as root (the product's installer runs as root), or let {user} use sudo without a password: "
                    f"add the line '{user} ALL=(ALL) NOPASSWD: ALL' with visudo{tty}.",
                )
            )
    point, options = obs.tmp_mount
    if not obs.tmp_writable:
        causes.append(
            Cause(
                "tmp-not-writable",
                Verdict.FAIL,
                f"{obs.user} cannot create a file in /tmp on {name}",
                "Make /tmp writable for everyone with the sticky bit: chmod 1777 /tmp (and check it is not mounted read-only).",
            )
        )
    elif not obs.tmp_executable:
        how = f"mounted noexec on {point}" if "noexec" in options else "a file there cannot be executed"
        causes.append(
            Cause(
                "tmp-noexec",
                Verdict.FAIL,
                f"/tmp on {name} is {how} (mount options: {','.join(options) or 'unknown'}): the installer runs its "
                "packages from there",
                f"For the installation, remount it: mount -o remount,exec {point or '/tmp'} (and drop noexec from its "
                "line in /etc/fstab or tmp.mount if it must stay so).",
            )
        )
    free = obs.free_kib
    if free:
        lowest_point, lowest = min(free.items(), key=lambda item: item[1])
        mib = lowest // 1024
        if lowest < MIN_FREE_KB:
            causes.append(
                Cause(
                    "low-disk-space",
                    Verdict.FAIL,
                    f"only {mib} MiB free on {lowest_point} of {name}",
                    f"Free at least 1 GiB on {lowest_point} (netcheck's margin for the packages and the installed agent).",
                )
            )
        elif lowest < WARN_FREE_KB:
            causes.append(
                Cause("low-disk-space", Verdict.WARN, f"{mib} MiB free on {lowest_point} of {name}", "Free some space.")
            )
    if obs.packages is not None and not ({"rpm", "dpkg"} & set(obs.packages)):
        causes.append(
            Cause(
                "no-package-manager",
                Verdict.FAIL,
                f"neither rpm nor dpkg on {name}",
                "The agent's installer installs RPM or DEB packages: install rpm (or dpkg) on the agent.",
            )
        )
    return causes


def classify_ssh(check: Check, obs: SshObservation) -> Result:
    """The `access` result of one Linux agent."""
    name = check.target.name
    causes = ssh_causes(obs, name)
    free = obs.free_kib
    root = "root" if obs.uid == 0 else "passwordless sudo"
    passed = (
        f"logged in as {obs.user} (offered: {obs.auth}; host key {obs.key_type} {obs.fingerprint} known); {root}; "
        f"/tmp writable and executable; {min(free.values(), default=0) // 1024} MiB free at least; "
        f"{'/'.join(obs.packages or ())} present"
        if obs.login == "ok"
        else ""
    )
    return _result(check, causes, passed=passed, seen=obs)


# --- The agent's half of the matrix, seen through SSH -------------------------------------------------------


@record
class Server:
    """A server the agent must reach: its target, the purpose of the link, and where this machine resolves it."""

    target: Target
    port: int
    purpose: str
    console_addresses: tuple[str, ...] = ()


PURPOSES = {
    dest: "; ".join(
        a.link.purpose
        for a in links_for(Role.AGENT, management_server=True)
        if a.link.dest is dest and a.link.port_key is PortKey.PRODUCT
    )
    for dest in (Role.MANAGEMENT_SERVER, Role.LICENSE_SERVER)
}
"""Why an agent connects to each server, as the product's connection matrix says."""


def servers_for(servers: Sequence[tuple[Target, int]], names: Mapping[str, Result]) -> list[Server]:
    """The servers an agent must reach (each with its product port), with where this machine resolves each
    (`names`: this run's name results, by lower-case name)."""
    return [Server(t, port, PURPOSES[t.role], _addresses_here(t, names)) for t, port in servers if t.role in PURPOSES]


def _addresses_here(target: Target, names: Mapping[str, Result]) -> tuple[str, ...]:
    name = names.get(target.name.lower())
    if name is None:
        return ()
    evidence = name.evidence
    if isinstance(evidence, NameObservation) and evidence.system:
        return evidence.system
    system = evidence.get("system") if isinstance(evidence, Mapping) else None
    if isinstance(system, list | tuple) and system:
        return tuple(str(a) for a in system)
    return (name.address,) if name.address else ()


_TCP_STATES = {
    "connected": (State.OPEN, Reply.CONNECTED),
    "refused": (State.CLOSED, Reply.RST),
    "timeout": (State.FILTERED, Reply.NONE),
    "unreachable": (State.UNREACHABLE, Reply.ERROR),
    "no-arp": (State.UNREACHABLE, Reply.ERROR),
}


def agent_side_results(agent: Target, obs: SshObservation, servers: Sequence[Server], *, phase: Phase) -> list[Result]:
    """The agent → server links and names as ordinary results from that agent (source_host = the agent)."""
    results: list[Result] = []
    names = {n.name.lower(): n for n in obs.names}
    probes = {(p.address, p.port): p for p in obs.probes}
    for server in servers:
        target = server.target
        seen = names.get(target.name.lower())
        if seen is not None:
            results.append(_name_on_agent(agent, target, seen, server.console_addresses))
        address = seen.resolver[0] if seen and seen.resolver else (target.name if seen is None else None)
        check = Check(
            id=check_id(Kind.TCP, Role.AGENT, target.name, server.port, host=agent.name),
            kind=Kind.TCP,
            source=Role.AGENT,
            target=target,
            port=server.port,
            purpose=f"{server.purpose} (probed on the agent through SSH)",
            port_key=PortKey.PRODUCT,
        )
        probe = probes.get((address or "", server.port))
        if probe is None:
            results.append(
                Result(
                    check,
                    State.UNRESOLVED,
                    Verdict.SKIP,
                    f"not probed: {target.name} does not resolve on {agent.name}",
                    source_host=agent.name,
                    evidence={"via": "ssh"},
                )
            )
            continue
        results.append(_tcp_on_agent(check, agent, probe, phase))
    return results


def _tcp_on_agent(check: Check, agent: Target, probe: TcpFromAgent, phase: Phase) -> Result:
    state, reply = _TCP_STATES.get(probe.outcome, (State.ERROR, Reply.ERROR))
    message = probe.message if probe.message and probe.outcome != "connected" else None
    no_arp = probe.outcome == "no-arp"
    evidence = TcpReply("connect", reply, attempts=1, message=message, no_arp_answer=no_arp, via="ssh", tool=probe.tool)
    observation = Observation(state, probe.address, evidence, probe.elapsed_ms, probe.message if state is State.ERROR else None)
    result = classify_tcp(check, observation, phase=phase, source_os="Linux")
    detail = f"{result.detail} [seen on {agent.name} with {probe.tool}]"
    if state is State.UNREACHABLE and not no_arp:
        detail = (
            f"{result.detail}: {probe.message or 'no route'} — an ICMP reject (a firewall) or no route [seen on {agent.name}]"
        )
    if state is State.FILTERED:
        fix = (
            f"Allow TCP {check.port} from {agent.name} to {check.target.name} ({probe.address}) on {agent.name}'s own "
            f"firewall (outbound), on every firewall between them and on {check.target.name}'s firewall (inbound)."
        )
        result = replace(result, remediation=fix)
    return replace(result, detail=detail, source_host=agent.name)


def _name_on_agent(agent: Target, target: Target, seen: NameOnAgent, here: Sequence[str]) -> Result:
    """The agent's view of a server's name: fail when it cannot resolve it or its hosts file is stale (it disagrees
    with the agent's DNS, or, without DNS, with what this machine resolves)."""
    check = Check(
        id=check_id(Kind.NAME, Role.AGENT, target.name, host=agent.name),
        kind=Kind.NAME,
        source=Role.AGENT,
        target=target,
        purpose=f"Name resolution on {agent.name} (through SSH: getent hosts, getent -s dns hosts, /etc/hosts)",
    )
    evidence = AgentNameEvidence(seen, tuple(here))
    state = State.RESOLVED if seen.resolver else State.UNRESOLVED
    address = seen.resolver[0] if seen.resolver else None

    def result(verdict: Verdict, detail: str, fix: str = "") -> Result:
        return Result(check, state, verdict, detail, fix, address, evidence, source_host=agent.name)

    right = (seen.dns or tuple(here) or (None,))[0]
    if not seen.resolver:
        line = f"'{right} {target.name}'" if right else f"'<address> {target.name}'"
        return result(
            Verdict.FAIL,
            f"{agent.name} cannot resolve {target.name} (getent hosts finds nothing)",
            f"Add an A record for {target.name} to the DNS server {agent.name} uses, "
            f"or the line {line} to {agent.name}'s /etc/hosts.",
        )
    reference = seen.dns or tuple(here)
    if seen.hosts_file and reference and not set(seen.hosts_file) & set(reference):
        said = f"DNS on {agent.name} says" if seen.dns else "this machine resolves it to"
        return result(
            Verdict.FAIL,
            f"stale hosts entry on {agent.name}: /etc/hosts maps {target.name} to {', '.join(seen.hosts_file)}, "
            f"but {said} {', '.join(reference)}",
            f"On {agent.name}, change the /etc/hosts line for {target.name} to '{right} {target.name}', "
            "or delete it so that DNS is used.",
        )
    if here and not set(seen.resolver) & set(here):
        return result(
            Verdict.WARN,
            f"{target.name} resolves to {', '.join(seen.resolver)} on {agent.name} but to {', '.join(here)} here",
            "Check which address is right and fix DNS (or the hosts file) on the machine that is wrong.",
        )
    how = "its hosts file" if seen.hosts_file else "DNS"
    return result(Verdict.PASS, f"{target.name} resolves to {', '.join(seen.resolver)} on {agent.name} (through {how})")


# --- Windows agents (SMB) ---------------------------------------------------------------------------------

LATFP_FIX = (
    "reg add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System /v LocalAccountTokenFilterPolicy "
    "/t REG_DWORD /d 1 /f"
)
_LOGIN_CAUSES = {
    0xC000006D: ("bad-password-1326", "the user name or password is wrong (1326, STATUS_LOGON_FAILURE)"),
    0xC0000234: ("account-locked-1909", "the account is locked out (1909)"),
    0xC0000072: ("account-disabled-1331", "the account is disabled (1331)"),
    0xC0000071: ("password-expired-1330", "the password has expired (1330)"),
    0xC0000224: ("password-must-change-1907", "the password must be changed before the first logon (1907)"),
    0xC000015B: ("network-logon-denied-1385", "the account may not log on from the network (1385)"),
}
_DENIED = {0xC0000022, 5}


_KERBEROS_NOT_A_CAUSE = {"disabled", "no-ticket-cache", "local-account", "other-principal"}
"""Reasons Kerberos was not tried that are no problem: the run did not ask for it (no cache, --no-kerberos)."""


def kerberos_cause(kerberos: KerberosTry | None, name: str, *, fell_back: bool, ntlm_failed: bool = False) -> Cause | None:
    """Why Kerberos did not log in to `name`, with its fix: a warning when NTLM logged in instead, a failure when
    nothing did (NTLM failed too, or there was no password to try it with). None when Kerberos worked or was not
    asked for."""
    if kerberos is None or kerberos.outcome == "ok" or kerberos.error in _KERBEROS_NOT_A_CAUSE:
        return None
    verdict = Verdict.WARN if fell_back else Verdict.FAIL
    then = "NTLM logged in instead" if fell_back else "and NTLM failed too" if ntlm_failed else f"and {NO_NTLM_PASSWORD}"
    error = kerberos.error
    spn = kerberos.spn or f"cifs/{name}"
    named: dict[str, tuple[str, str, str]] = {
        "KRB_AP_ERR_SKEW": (
            "kerberos-clock-skew",
            "the clocks differ by more than Kerberos allows (KRB_AP_ERR_SKEW, 5 minutes by default)",
            f"Synchronise the clocks of this machine, {name} and the domain controllers (on Windows: w32tm /resync; "
            "here: chronyc makestep, or timedatectl set-ntp true), then run again.",
        ),
        "STATUS_TIME_DIFFERENCE_AT_DC": (
            "kerberos-clock-skew",
            f"{name} refused the ticket: the clocks differ too much (STATUS_TIME_DIFFERENCE_AT_DC)",
            f"Synchronise the clocks of this machine, {name} and the domain controllers (w32tm /resync), then run again.",
        ),
        "KDC_ERR_S_PRINCIPAL_UNKNOWN": (
            "kerberos-spn-unknown",
            f"the domain knows no service principal {spn} (KDC_ERR_S_PRINCIPAL_UNKNOWN)",
            f"Give the agent by the name it has in Active Directory (its FQDN, not an alias or an address); check with "
            f"setspn -Q {spn}.",
        ),
        "needs-name": (
            "kerberos-needs-name",
            f"the agent is given as an address ({name}), and Kerberos tickets are issued for names",
            "Give the agent by its name (--agent NAME:windows, its FQDN as in Active Directory) to use Kerberos.",
        ),
        "kdc-unreachable": (
            "kerberos-kdc-unreachable",
            f"no Kerberos KDC answered ({kerberos.detail})",
            "Let this machine reach a domain controller on TCP 88: the realm's name must resolve to one, or name it "
            "with kdc = in the realm's [realms] entry of krb5.conf (KRB5_CONFIG).",
        ),
        "ticket-expired": (
            "kerberos-ticket-expired",
            f"the ticket cache's tickets have expired ({kerberos.detail})",
            "Get new tickets: kinit USER@REALM (or kinit -R while they can be renewed).",
        ),
        "KRB_AP_ERR_TKT_EXPIRED": (
            "kerberos-ticket-expired",
            "the ticket has expired (KRB_AP_ERR_TKT_EXPIRED)",
            "Get new tickets: kinit USER@REALM.",
        ),
        "no-ticket": (
            "kerberos-no-ticket",
            kerberos.detail,
            "Get a ticket for the account: kinit USER@REALM.",
        ),
        "cache-unreadable": (
            "kerberos-cache-unreadable",
            kerberos.detail,
            "netcheck reads FILE: ticket caches: kinit -c FILE:/tmp/netcheck.cc USER@REALM, then set "
            "KRB5CCNAME=FILE:/tmp/netcheck.cc for the run.",
        ),
    }
    cause, what, fix = named.get(
        error,
        (
            "kerberos-failed",
            f"Kerberos failed ({error})",
            f"Get the service ticket with the system's Kerberos first (kvno {spn}), then run again; or check the "
            f"account and {spn} in Active Directory.",
        ),
    )
    return Cause(cause, verdict, f"Kerberos to {name} did not log in: {what}; {then}", fix)


SMB1_DIALECT = "NT LM 0.12"
"""The dialect an SMB1-only server negotiates (impacket names SMB1 by its dialect string)."""


def smb_causes(obs: SmbObservation, name: str) -> list[Cause]:
    """The named causes seen on one Windows agent, in the order the installer would meet them: first whether
    the installer's SMB client can talk to it at all (SMB1 only: it cannot, whatever the login says)."""
    causes = _smb_causes(obs, name)
    if obs.dialect != SMB1_DIALECT:
        return causes
    smb1 = Cause(
        "smb1-only",
        Verdict.FAIL,
        f"{name} speaks only SMB1 ({SMB1_DIALECT}): the management server's or console's Windows does not speak SMB1 by "
        "default (since Windows 10 1709 and Server 2019), so the installer cannot connect",
        smb2_fix(name),
    )
    return [smb1, *causes]


def _smb_causes(obs: SmbObservation, name: str) -> list[Cause]:
    user = obs.user
    login = obs.login
    ntlm_failed = login is not None and not login.ok and not login.message.endswith(NO_NTLM_PASSWORD)
    kerberos = kerberos_cause(obs.kerberos, name, fell_back=obs.auth == "ntlm", ntlm_failed=ntlm_failed)
    if (login is None or not login.ok) and kerberos is not None and not ntlm_failed:
        return [kerberos]  # nothing logged in: Kerberos failed and there was no password to try NTLM with
    if login is not None and not login.ok and login.message.startswith(CONNECTION_LOST):
        return [
            Cause(
                "smb-connection-lost",
                Verdict.FAIL,
                f"{name} broke the connection during SMB session setup ({login.message})",
                f"Check that what answers on TCP 445 of {name} is the Server service (LanmanServer), and that "
                "no firewall or IPS between resets SMB sessions.",
            ),
            *([kerberos] if kerberos else []),
        ]
    if login is None or not login.ok:
        code = login.code if login else None
        if code in _LOGIN_CAUSES:
            cause, what = _LOGIN_CAUSES[code]
            return [
                Cause(
                    cause,
                    Verdict.FAIL,
                    f"{name} refused the login of {user}: {what}",
                    f"Check the user name and password of {user} (for a domain account: DOMAIN\\name); unlock or enable the "
                    f"account (net user {bare_user(user)} /active:yes, or Active Directory Users and Computers), and grant "
                    "'Access this computer from the network' if it is denied.",
                ),
                *([kerberos] if kerberos else []),
            ]
        return [
            Cause(
                "smb-login-error",
                Verdict.FAIL,
                f"SMB session setup with {name} failed: {login.message if login else 'not tried'}",
                f"Check that the Server service (LanmanServer) runs on {name} and that NTLM is allowed for network logons.",
            ),
            *([kerberos] if kerberos else []),
        ]
    causes: list[Cause] = [kerberos] if kerberos else []
    if obs.guest and obs.registry.get("ForceGuest") == 0:
        causes.append(
            Cause(
                "guest-login",
                Verdict.FAIL,
                f"{name} logged {user} in as Guest although its registry says ForceGuest = 0 (the classic sharing model): "
                f"{name} does not know the account and maps unknown users to its Guest account, which cannot install",
                f"Use an account that exists on {name} (for a domain account: DOMAIN\\name, and {name} must be in that "
                "domain), and disable the Guest account there: net user Guest /active:no.",
            )
        )
        return causes
    if obs.guest:
        forceguest = obs.registry.get("ForceGuest")
        seen = " (read from its registry)" if forceguest == 1 else ""
        causes.append(
            Cause(
                "guest-only-forceguest",
                Verdict.FAIL,
                f"{name} logged {user} in as Guest: the 'Guest only' sharing model (ForceGuest = 1{seen}) maps local "
                "accounts to Guest, which cannot install",
                "Set the classic sharing model on the agent: reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v ForceGuest "
                "/t REG_DWORD /d 0 /f (Network access: Sharing and security model for local accounts = Classic), or use a "
                "domain account.",
            )
        )
        return causes
    if obs.ipc is not None and not obs.ipc.ok:
        causes.append(
            Cause(
                "ipc-denied",
                Verdict.FAIL,
                f"IPC$ on {name} refused {user} ({obs.ipc.status})",
                "Check the Server service on the agent.",
            )
        )
    share = obs.admin_share
    denied_at = []
    if share is not None and not share.ok:
        if share.code == 0xC00000CC:
            causes.append(admin_share_missing(obs, name))
        elif share.code in _DENIED:
            denied_at.append("ADMIN$")
        else:
            causes.append(
                Cause("admin-share-error", Verdict.FAIL, f"ADMIN$ on {name}: {share.status}", "Check the Server service.")
            )
    if obs.scm is not None and not obs.scm.ok:
        if obs.scm.code in _DENIED:
            denied_at.append("the service control manager (SC_MANAGER_CREATE_SERVICE)")
        elif dword(obs.registry, "DisableRemoteScmEndpoints") != 1:  # otherwise rpc_causes names why
            causes.append(
                Cause(
                    "scm-error", Verdict.FAIL, f"the service control manager on {name}: {obs.scm.message}", "Check RPC over SMB."
                )
            )
    if denied_at:
        causes.append(_denied_cause(obs, name, " and ".join(denied_at)))
    if obs.write is not None and not obs.write.ok:
        causes.append(
            Cause(
                "admin-share-not-writable",
                Verdict.FAIL,
                f"{user} cannot write to ADMIN$ on {name} ({obs.write.message or obs.write.status})",
                f"Give {user} write access to %SystemRoot% through ADMIN$ (a member of the local Administrators group has it).",
            )
        )
    return causes + extra_smb_causes(obs, name)


def _denied_cause(obs: SmbObservation, name: str, where: str) -> Cause:
    """Access denied after a good login: UAC's remote restrictions for a local account (unless the agent's registry
    says UAC is off, EnableLUA = 0, or LocalAccountTokenFilterPolicy = 1 lifts them), otherwise not an administrator."""
    filtered = builtin_administrator_filtered(obs, name, where)
    if filtered is not None:
        return filtered
    latfp = obs.registry.get("LocalAccountTokenFilterPolicy")
    uac_off = obs.registry.get("EnableLUA") == 0
    if obs.account_kind != "domain" and latfp != 1 and not uac_off:
        seen = (
            f"LocalAccountTokenFilterPolicy = {latfp}, read from its registry"
            if isinstance(latfp, int)
            else "LocalAccountTokenFilterPolicy not readable"
        )
        builtin = (
            " (the built-in Administrator is filtered too when Admin Approval Mode is on)" if obs.account_kind != "local" else ""
        )
        return Cause(
            "uac-remote-restrictions",
            Verdict.FAIL,
            f"login works, but {where} denied {obs.user}, a local account{builtin}: UAC gives local accounts a filtered "
            f"token over the network ({seen}), or the account is not a local administrator",
            f"Use a domain account that is a local administrator of {name}, or on {name} run: {LATFP_FIX} (and make sure "
            f"{bare_user(obs.user)} is in the local Administrators group).",
        )
    lifted = (
        " (UAC is off there: EnableLUA = 0)"
        if uac_off and obs.account_kind != "domain"
        else " (LocalAccountTokenFilterPolicy = 1 there: UAC does not filter local accounts)"
        if latfp == 1 and obs.account_kind != "domain"
        else ""
    )
    return Cause(
        "not-local-administrator",
        Verdict.FAIL,
        f"login works, but {where} denied {obs.user}: the account is not a local administrator of {name}{lifted}",
        f"Add {obs.user} to the local Administrators group of {name}: net localgroup Administrators {obs.user} /add.",
    )


def classify_smb(check: Check, obs: SmbObservation) -> Result:
    """The `access` result of one Windows agent."""
    name = check.target.name
    causes = smb_causes(obs, name)
    domain = obs.lsa.domain if obs.lsa and obs.lsa.domain else obs.server_domain
    role = "a domain controller of" if obs.lsa and obs.lsa.role == "domain-controller" else "member of"
    member = {True: f"{role} {domain}", False: "stand-alone", None: "domain unknown"}[obs.in_domain]
    kind = f"{obs.account_kind} account"
    if obs.lsa and obs.lsa.rid == 500:  # the built-in Administrator's RID, whatever its name
        kind += ", the built-in Administrator: RID 500"
    how = {"kerberos": "with Kerberos", "ntlm": "with NTLM"}.get(obs.auth, "")
    wrote = (
        f"wrote and deleted ADMIN$\\{obs.write_file}" if obs.write and obs.write.ok else "write test skipped (--no-write-test)"
    )
    passed = (
        f"logged in{' ' + how if how else ''} as {obs.user} ({kind}; {name} is {member}); IPC$ and ADMIN$ connected; {wrote}; "
        f"service control manager opened for SC_MANAGER_CREATE_SERVICE. The agent's own links (to the management and "
        f"license servers) are not seen from here: run netcheck check --from agent on {name}"
        if obs.login and obs.login.ok and not any(c.verdict is Verdict.FAIL for c in causes)
        else ""
    )
    return _result(check, causes, passed=passed, seen=obs)


def classify_access(check: Check, seen: SshObservation | SmbObservation, servers: Sequence[Server], phase: Phase) -> list[Result]:
    """What one visit to an agent saw, judged: the access check's result, then (a Linux agent logged in to)
    the agent's own links to the servers."""
    if isinstance(seen, SmbObservation):
        return [classify_smb(check, seen)]
    side = agent_side_results(check.target, seen, servers, phase=phase) if seen.login == "ok" else []
    return [classify_ssh(check, seen), *side]
