"""What else decides a push installation on a Windows agent (pure): the administrative shares' policy, the Remote
Registry service, the service control manager's RPC endpoints, UAC for the built-in Administrator, this machine's
own SMB sessions to the agent (1219), a target the product does not install to remotely, and free space.

Each function reads an `SmbObservation` (what netcheck.observe.access.smb saw, read only) and returns the named causes it
finds, with their fixes; classify/access.py puts them beside the login and permission causes.
"""

from __future__ import annotations

from collections.abc import Mapping

from netcheck.classify.cause import Cause
from netcheck.model.kinds import Verdict
from netcheck.model.observations import SmbObservation, SmbSession, bare_user

Registry = Mapping[str, int | str]

# ---- sources of the figures (the product's documentation) ------------------------------------------------

SUPPORTED_WINDOWS = ((6, 1), 7601, "Windows 7 SP1 / Windows Server 2008 R2 SP1")
"""The oldest Windows the product's current documentation supports for its agent: Cyber Protect Cloud user guide
(26.02), "Supported operating systems and versions": "Windows 7 Service Pack 1 and later, Windows Server 2008 R2
Service Pack 1 and later". The list of Acronis Backup Advanced 11.5 itself was not found: older systems are a
warning, never a failure."""
SUPPORTED_WINDOWS_SOURCE = "the product's documentation (Cyber Protect Cloud user guide, Supported operating systems)"

MIN_FREE_BYTES = 1_288_490_189
"""1.2 GiB: "Agent for Windows: 1.2 GB" of disk space required for installation, the product's documentation
(Cyber Protect Cloud user guide, "System requirements for agents"), read as GiB, the larger."""
WARN_FREE_BYTES = 2 * 1024**3
"""Below 2 GiB free a warning: netcheck's margin (the same as for Linux agents), not a documented figure."""
DISK_SOURCE = "the product's documentation (Cyber Protect Cloud user guide, System requirements for agents: 1.2 GB)"

DC_SOURCE = (
    "the product's documentation says remote installation of agents is not supported on domain controllers "
    "(Cyber Protect Cloud user guide, Remote installation of agents), and that on a domain controller the agent's "
    "service needs an existing account, which setup does not create (Acronis Backup installation guide, "
    "Specifying credentials for the Acronis service)"
)

SERVICE_STATES = {
    1: "stopped",
    2: "start pending",
    3: "stop pending",
    4: "running",
    5: "continue pending",
    6: "pause pending",
    7: "paused",
}
START_TYPES = {0: "boot", 1: "system", 2: "automatic", 3: "manual", 4: "disabled"}
SERVICE_RUNNING = 4
START_DISABLED = 4

LANMAN = r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters"
CONTROL = r"HKLM\SYSTEM\CurrentControlSet\Control"
POLICIES = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"


def dword(registry: Registry, name: str) -> int | None:
    """A value read as a DWORD, or None (absent, unreadable, or not a number)."""
    value = registry.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text_value(registry: Registry, name: str) -> str:
    """A string value ('' when absent or unreadable: the reasons start with 'not readable' or 'remote registry')."""
    value = registry.get(name)
    if not isinstance(value, str) or value.startswith(("not readable", "remote registry")):
        return ""
    return value


def product_type(obs: SmbObservation) -> str:
    """workstation, server or domain-controller from ProductType (WinNT, ServerNT, LanmanNT) and the LSA; ''."""
    if obs.lsa is not None and obs.lsa.role == "domain-controller":
        return "domain-controller"
    return {"winnt": "workstation", "servernt": "server", "lanmannt": "domain-controller"}.get(
        text_value(obs.registry, "ProductType").lower(), ""
    )


# ---- 1. administrative shares ----------------------------------------------------------------------------


def admin_share_missing(obs: SmbObservation, name: str) -> Cause:
    """ADMIN$ is not there (67): turned off by AutoShareServer / AutoShareWks = 0 when the registry says so (the fix
    names the value), otherwise the cause without its reason."""
    listed = f"; NetShareEnum lists {', '.join(obs.shares) or 'no share'}" if obs.shares is not None else ""
    kind = product_type(obs)
    off = [value for value in ("AutoShareServer", "AutoShareWks") if dword(obs.registry, value) == 0]
    restart = "then restart the Server service: net stop server /y && net start server"
    if off:
        wanted = "AutoShareWks" if kind == "workstation" else "AutoShareServer" if kind else ""
        value = wanted if wanted in off else off[0]
        return Cause(
            "admin-shares-disabled",
            Verdict.FAIL,
            f"{name} has no ADMIN$ share (67, STATUS_BAD_NETWORK_NAME){listed}: its administrative shares are turned off "
            f"({value} = 0 in {LANMAN}, read from its registry); the installer copies its files to ADMIN$",
            f"On {name}: reg add {LANMAN} /v {value} /t REG_DWORD /d 1 /f (or delete the value), {restart}. If Group "
            "Policy sets it, change that policy, or the value comes back at the next refresh.",
        )
    value = {"workstation": "AutoShareWks", "server": "AutoShareServer", "domain-controller": "AutoShareServer"}.get(kind, "")
    which = f"{value} /t REG_DWORD /d 1 /f" if value else "AutoShareWks /t REG_DWORD /d 1 /f (AutoShareServer on Windows Server)"
    return Cause(
        "admin-share-missing-67",
        Verdict.FAIL,
        f"{name} has no ADMIN$ share (67, STATUS_BAD_NETWORK_NAME): the installer copies its files there",
        f"Re-enable the administrative shares: reg add {LANMAN} /v {which}, {restart}.",
    )


# ---- 2. Remote Registry ----------------------------------------------------------------------------------


def remote_registry_cause(obs: SmbObservation, name: str) -> Cause | None:
    """Remote Registry disabled, or stopped while the registry did not answer: a warning (the product's installer
    does not need it, but netcheck cannot read the UAC and share policy values without it, and other push
    installers do need it). A stopped service with a start type other than disabled starts on demand when the
    registry is read (Windows 8 and later): no cause when the reads worked."""
    service = obs.remote_registry
    if service is None or service.state is None:
        return None
    state = SERVICE_STATES.get(service.state, str(service.state))
    start = START_TYPES.get(service.start, "unknown") if service.start is not None else "unknown"
    unread = not any(dword(obs.registry, n) is not None or text_value(obs.registry, n) for n in obs.registry)
    fix = f"On {name}: sc config RemoteRegistry start= demand, then sc start RemoteRegistry (or services.msc: Remote Registry)."
    if service.start == START_DISABLED:
        return Cause(
            "remote-registry-disabled",
            Verdict.WARN,
            f"the Remote Registry service on {name} is disabled ({state}): its registry cannot be read over the network, "
            "so UAC's and the shares' settings are not known here (the product's installer itself does not need it)",
            fix,
        )
    if service.state != SERVICE_RUNNING and unread:
        return Cause(
            "remote-registry-stopped",
            Verdict.WARN,
            f"the Remote Registry service on {name} is {state} (start: {start}) and its registry did not answer",
            fix,
        )
    return None


# ---- 3. the service control manager's RPC endpoints ------------------------------------------------------


def rpc_causes(obs: SmbObservation, name: str) -> list[Cause]:
    """DisableRemoteScmEndpoints = 1 (no remote SCM at all: the installer cannot create its service), and, as
    warnings, DisableRPCOverTCP = 1 or TCP 135 that does not answer (Windows tools wait for RPC/TCP, about 21 s,
    before they use the named pipe on 445, which is what the product's installer uses)."""
    causes: list[Cause] = []
    scm_failed = obs.scm is not None and not obs.scm.ok
    if dword(obs.registry, "DisableRemoteScmEndpoints") == 1:
        effect = (
            f"the service control manager refused ({obs.scm.status if obs.scm else ''})"
            if scm_failed
            else "not in effect yet (it takes effect when the machine restarts)"
        )
        causes.append(
            Cause(
                "scm-remote-endpoints-disabled",
                Verdict.FAIL if scm_failed else Verdict.WARN,
                f"{name} has DisableRemoteScmEndpoints = 1 in {CONTROL}: its service control manager takes no remote "
                f"calls, over TCP or named pipes, so the installer cannot create its service; {effect}",
                f"On {name}: reg delete {CONTROL} /v DisableRemoteScmEndpoints /f (or set it to 0), then restart {name}.",
            )
        )
    if dword(obs.registry, "DisableRPCOverTCP") == 1:
        causes.append(
            Cause(
                "rpc-over-tcp-disabled",
                Verdict.WARN,
                f"{name} has DisableRPCOverTCP = 1 in {CONTROL}: Windows tools that reach its service control manager over "
                "RPC/TCP (sc.exe, services.msc) time out, then use the named pipe; the product's installer uses the "
                "named pipe over TCP 445",
                "Nothing is needed for the product's installer. To let RPC/TCP tools work: "
                f"reg delete {CONTROL} /v DisableRPCOverTCP /f, then restart {name}.",
            )
        )
    if obs.rpc_endpoint_mapper == "filtered":
        causes.append(
            Cause(
                "rpc-endpoint-mapper-filtered",
                Verdict.WARN,
                f"TCP 135 (the RPC endpoint mapper) on {name} does not answer: Windows tools try RPC/TCP first and wait "
                "about 21 s before they use the named pipe on 445; the product's installer uses the named pipe",
                f"Nothing is needed for the product's installer. To avoid the wait, allow TCP 135 and the RPC dynamic ports "
                f"from here to {name} (Windows Defender Firewall: the Remote Service Management rules).",
            )
        )
    return causes


# ---- 4. UAC and the built-in Administrator ---------------------------------------------------------------


def builtin_administrator_filtered(obs: SmbObservation, name: str, where: str) -> Cause | None:
    """Access denied to the built-in Administrator (RID 500) while FilterAdministratorToken = 1 beside EnableLUA:
    Admin Approval Mode for the built-in Administrator filters that account's token too."""
    rid_500 = obs.lsa is not None and obs.lsa.rid == 500 and obs.lsa.kind == "builtin-administrator"
    registry = obs.registry
    if not rid_500 or dword(registry, "FilterAdministratorToken") != 1 or dword(registry, "EnableLUA") == 0:
        return None
    lua = dword(registry, "EnableLUA")
    return Cause(
        "uac-filters-builtin-administrator",
        Verdict.FAIL,
        f"login works, but {where} denied {obs.user}, the built-in Administrator (RID 500): {name} has "
        f"FilterAdministratorToken = 1 with UAC on (EnableLUA = {lua if lua is not None else 'not set: on'}), "
        "so that account gets a filtered token over the network too",
        f"On {name}: reg add {POLICIES} /v FilterAdministratorToken /t REG_DWORD /d 0 /f (User Account Control: Admin "
        "Approval Mode for the Built-in Administrator account = Disabled), or use a domain account that is a local "
        f"administrator of {name}.",
    )


# ---- 5. this machine's own SMB sessions to the agent (1219) ----------------------------------------------


def same_account(credential: str, user: str) -> bool:
    """Whether an SMB session's credential (DOMAIN\\name) is the account netcheck uses (DOMAIN\\name, name@domain
    or name): the names must match; NetBIOS domains, where both give one, too."""
    if bare_user(credential).lower() != bare_user(user).lower():
        return False
    theirs = credential.partition("\\")[0] if "\\" in credential else ""
    ours = user.partition("\\")[0] if "\\" in user else ""
    return not (theirs and ours and ours != "." and theirs.lower() != ours.lower())


def session_causes(obs: SmbObservation, name: str) -> list[Cause]:
    """This machine already holds SMB connections to the agent: under another account, Windows refuses the
    installer's (1219); when the command does not say which account (net use), a warning."""
    sessions = obs.vantage_sessions or ()
    if not sessions:
        return []
    other = [s for s in sessions if s.credential and not same_account(s.credential, obs.user)]
    unknown = [s for s in sessions if not s.credential]
    deletes = " && ".join(f"net use {_unc(s)} /delete" for s in (other or unknown))
    if other:
        held = ", ".join(f"{_unc(s)} as {s.credential}" for s in other)
        return [
            Cause(
                "smb-session-other-user-1219",
                Verdict.FAIL,
                f"this machine already holds SMB connections to {name} under another account ({held}): Windows refuses a "
                f"second connection as {obs.user} (1219, multiple connections by the same user with different user names)",
                f"Close them on this machine before installing: {deletes} (or sign out the session that made them).",
            )
        ]
    if unknown:
        held = ", ".join(_unc(s) for s in unknown)
        return [
            Cause(
                "smb-session-exists",
                Verdict.WARN,
                f"this machine already holds SMB connections to {name} ({held}; net use does not say under which account): "
                f"if it is not {obs.user}, Windows refuses the installer's connection (1219)",
                f"Check with Get-SmbConnection -ServerName {name}; close them if they use another account: {deletes}.",
            )
        ]
    return []


def _unc(session: SmbSession) -> str:
    return f"\\\\{session.server}\\{session.share}" if session.share else f"\\\\{session.server}"


# ---- 6. targets the product does not install to remotely ------------------------------------------------


def windows_version(registry: Registry) -> tuple[tuple[int, int] | None, int | None]:
    """(major, minor) from CurrentVersion and the build from CurrentBuildNumber, each None when unknown. Windows 10
    and later keep CurrentVersion at 6.3 for old programs: the build is what tells them apart."""
    version: tuple[int, int] | None = None
    major, _, minor = text_value(registry, "CurrentVersion").partition(".")
    if major.isdigit() and minor.isdigit():
        version = (int(major), int(minor))
    build_text = text_value(registry, "CurrentBuildNumber")
    return version, int(build_text) if build_text.isdigit() else None


def target_causes(obs: SmbObservation, name: str) -> list[Cause]:
    """A domain controller (warning: the product's documentation says remote installation is not supported there)
    and a Windows older than the product supports (warning, with the documented minimum)."""
    causes: list[Cause] = []
    if product_type(obs) == "domain-controller":
        how = "its LSA" if obs.lsa is not None and obs.lsa.role == "domain-controller" else "ProductType = LanmanNT"
        causes.append(
            Cause(
                "domain-controller",
                Verdict.WARN,
                f"{name} is a domain controller ({how}): {DC_SOURCE}",
                f"Install the agent locally on {name} (run its setup there) and give the agent's service an existing "
                "account with the Log on as a service right.",
            )
        )
    version, build = windows_version(obs.registry)
    (oldest, oldest_build, label) = SUPPORTED_WINDOWS
    if version is None:
        return causes
    older = version < oldest or (version == oldest and build is not None and build < oldest_build)
    if older:
        product = text_value(obs.registry, "ProductName")
        seen = f"{product + ', ' if product else ''}version {version[0]}.{version[1]}{f', build {build}' if build else ''}"
        causes.append(
            Cause(
                "os-older-than-supported",
                Verdict.WARN,
                f"{name} runs Windows {seen}, older than {label}, the oldest Windows {SUPPORTED_WINDOWS_SOURCE} lists "
                "for the agent",
                f"Check the supported systems of the product version you install; update {name} or install an agent "
                "version that supports it.",
            )
        )
    return causes


# ---- 7. free space ----------------------------------------------------------------------------------------


def disk_cause(obs: SmbObservation, name: str) -> Cause | None:
    """Free space of ADMIN$'s volume (the system drive) below the agent's documented requirement: a failure; below
    netcheck's 2 GiB margin: a warning."""
    disk = obs.disk
    if disk is None or disk.free is None:
        return None
    mib = disk.free // 1024**2
    where = f"the volume of ADMIN$ (the system drive) on {name}"
    if disk.free < MIN_FREE_BYTES:
        return Cause(
            "low-disk-space",
            Verdict.FAIL,
            f"only {mib} MiB free on {where}; the agent needs 1.2 GB ({DISK_SOURCE})",
            f"Free at least 1.2 GB on the system drive of {name} (Disk Cleanup, or move data off it).",
        )
    if disk.free < WARN_FREE_BYTES:
        return Cause(
            "low-disk-space",
            Verdict.WARN,
            f"{mib} MiB free on {where}: enough for the agent's 1.2 GB, little else",
            f"Free some space on the system drive of {name}.",
        )
    return None


def extra_smb_causes(obs: SmbObservation, name: str) -> list[Cause]:
    """Every cause of this module but the share and UAC ones (which classify/access.py asks where ADMIN$ or the SCM
    failed), in the order the installer would meet them."""
    causes = session_causes(obs, name)
    causes += target_causes(obs, name)
    disk = disk_cause(obs, name)
    if disk:
        causes.append(disk)
    causes += rpc_causes(obs, name)
    registry = remote_registry_cause(obs, name)
    if registry:
        causes.append(registry)
    return causes
