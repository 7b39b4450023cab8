"""Windows agents through SMB (impacket): the installer's own channel, tried with its credentials.

Session setup (Kerberos with the ticket cache's tickets where it serves the account and the agent is named,
otherwise, or when Kerberos fails, NTLMv2 with the password), the account and the machine as the agent's LSA
sees them (the account's RID: a renamed built-in Administrator is still RID 500; the machine's domain), tree
connects to IPC$ and ADMIN$, one uniquely named file written to ADMIN$ and deleted,
the Service Control Manager opened over \\PIPE\\svcctl asking SC_MANAGER_CREATE_SERVICE (nothing is created),
and, where remote registry answers, LocalAccountTokenFilterPolicy, EnableLUA and ForceGuest. Then, read only, what
else decides a push installation: the shares NetShareEnum lists (\\PIPE\\srvsvc), the administrative shares'
policy (AutoShareServer / AutoShareWks), the SCM's RPC endpoints (DisableRPCOverTCP, DisableRemoteScmEndpoints),
FilterAdministratorToken, the OS version and product type (\\PIPE\\winreg), the Remote Registry service's state
(\\PIPE\\svcctl, opened for query only), the free space of ADMIN$'s volume (SMB2 QUERY_INFO
FileFsFullSizeInformation) and whether TCP 135 (the RPC endpoint mapper) answers. Blocking I/O: the stage runs it
in a thread; every socket operation has the run's timeout, so a hanging server cannot stall it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from netcheck.errors import InputError
from netcheck.files import MIB, read_limited
from netcheck.model.address import is_address
from netcheck.model.matrix import RPC_ENDPOINT_MAPPER_PORT
from netcheck.model.observations import (
    CONNECTION_LOST,
    NO_NTLM_PASSWORD,
    AccountInfo,
    DiskSpace,
    KerberosTry,
    ServiceState,
    SmbObservation,
    Step,
)
from netcheck.model.record import record
from netcheck.observe.access.credentials import TICKET_CACHE_LIMIT, Account, AccountForm, Credentials, krb5_kdc
from netcheck.parse.smb_answers import fs_full_size, service_start_type, service_state

KERBEROS_PORT = 88
KRB5_CONF_LIMIT = MIB
POLICIES = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
LSA = r"SYSTEM\CurrentControlSet\Control\Lsa"
CONTROL = r"SYSTEM\CurrentControlSet\Control"
LANMAN_SERVER = r"SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters"
NT_VERSION = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
PRODUCT_OPTIONS = r"SYSTEM\CurrentControlSet\Control\ProductOptions"
REGISTRY_VALUES = (
    (POLICIES, "LocalAccountTokenFilterPolicy"),
    (POLICIES, "EnableLUA"),
    (LSA, "ForceGuest"),
    (POLICIES, "FilterAdministratorToken"),
    (LANMAN_SERVER, "AutoShareServer"),
    (LANMAN_SERVER, "AutoShareWks"),
    (CONTROL, "DisableRPCOverTCP"),
    (CONTROL, "DisableRemoteScmEndpoints"),
    (NT_VERSION, "CurrentVersion"),
    (NT_VERSION, "CurrentBuildNumber"),
    (NT_VERSION, "ProductName"),
    (PRODUCT_OPTIONS, "ProductType"),
)
"""Every value read over \\PIPE\\winreg (key under HKLM, value name); never written."""
REMOTE_REGISTRY = "RemoteRegistry"


def available() -> bool:
    """Whether the optional library is installed (without importing it)."""
    return importlib.util.find_spec("impacket") is not None


def account_kind(account: Account, server_name: str = "") -> str:
    """domain (DOMAIN\\name or name@domain, the domain not being the agent itself), local, or the built-in
    Administrator (by name: a renamed RID-500 account is not recognised)."""
    local_domain = account.form is AccountForm.PLAIN or account.domain.upper() in {".", server_name.upper(), "LOCALHOST"}
    if not local_domain:
        return "domain"
    return "builtin-administrator" if account.name.lower() == "administrator" else "local"


_VISIT = threading.local()
"""The visit this thread makes (each SMB visit runs in a thread of its own): `scrub`, its password masker."""


def _said(exc: Exception) -> str:
    """An exception's text, the password masked before it is cut (a cut inside it would keep its start)."""
    scrub = getattr(_VISIT, "scrub", None)
    text = str(exc)
    return (scrub(text) if scrub else text)[:200]


def _step(exc: Exception) -> Step:
    """A failed step: the status code the server answered with, if any, and what went wrong. A connection that
    broke (impacket's NetBIOSError, whose getErrorCode itself fails, or a socket error) says so."""
    if type(exc).__name__ == "NetBIOSError" or isinstance(exc, ConnectionError):  # a timeout is no broken connection
        return Step(False, None, f"{CONNECTION_LOST}: {type(exc).__name__}: {_said(exc)}")
    code = None
    for getter in ("getErrorCode", "get_error_code"):
        if hasattr(exc, getter):
            try:
                code = int(getattr(exc, getter)())
            except Exception:  # noqa: BLE001 - a library's error object that cannot say its code has none
                code = None
            break
    return Step(False, code, f"{type(exc).__name__}: {_said(exc)}")


def observe_smb(
    address: str, account: Account, credentials: Credentials, timeout_s: float, port: int, *, name: str = ""
) -> SmbObservation:
    """Walk the installer's path on one Windows agent (`name` as the plan gives it, at `address`), stopping where
    it breaks."""
    started = time.monotonic()
    _VISIT.scrub = credentials.scrub
    obs = SmbObservation(address, account.text, account_kind(account), write_test=credentials.write_test)

    def done(current: SmbObservation) -> SmbObservation:
        return replace(current, elapsed_ms=round((time.monotonic() - started) * 1000, 1))

    smb, obs = _log_in(obs, (address, name or address, port), account, credentials, max(timeout_s, 5.0))
    if smb is None:
        return done(obs)
    try:
        server_name = str(smb.getServerName() or "")
        obs = replace(
            obs,
            login=Step(True),
            guest=bool(smb.isGuestSession()),
            dialect=f"0x{smb.getDialect():04x}" if isinstance(smb.getDialect(), int) else str(smb.getDialect()),
            server_name=server_name,
            server_domain=str(smb.getServerDomain() or ""),
            server_dns_domain=str(smb.getServerDNSDomainName() or ""),
            account_kind=account_kind(account, server_name),
        )
        obs = replace(obs, ipc=_tree(smb, "IPC$"), admin_share=_tree(smb, "ADMIN$"))
        if obs.ipc and obs.ipc.ok and not obs.guest:
            lsa = _account_info(smb, account)
            if lsa is not None:
                obs = replace(obs, lsa=lsa, account_kind=lsa.kind)
        if obs.admin_share and obs.admin_share.ok and credentials.write_test:
            name = f"netcheck-{uuid.uuid4().hex[:12]}.tmp"
            obs = replace(obs, write=_write_and_delete(smb, name), write_file=name)
        if obs.ipc and obs.ipc.ok:
            obs = replace(obs, scm=_open_scm(smb), registry=_read_registry(smb))
            shares, shares_error = _share_names(smb)
            obs = replace(obs, shares=shares, shares_error=shares_error, remote_registry=_service_state(smb, REMOTE_REGISTRY))
        if obs.admin_share and obs.admin_share.ok:
            obs = replace(obs, disk=_disk_space(smb))
        return done(replace(obs, rpc_endpoint_mapper=_tcp_state(address, RPC_ENDPOINT_MAPPER_PORT, min(timeout_s, 3.0))))
    finally:
        with contextlib.suppress(Exception):  # closing a dead session must not hide its result
            smb.close()


def _log_in(
    obs: SmbObservation, where: tuple[str, str, int], account: Account, credentials: Credentials, timeout_s: float
) -> tuple[Any, SmbObservation]:
    """A logged-in connection to `where` (address, name, port), Kerberos first where it can be used, then NTLM with
    the password, and the observation saying how; (None, the observation with the failed login) when no way worked."""
    from impacket.smbconnection import SMBConnection  # noqa: PLC0415

    address, name, port = where
    tickets = _tickets(name, account, credentials, timeout_s)
    kerberos = tickets if isinstance(tickets, KerberosTry) else None
    if isinstance(tickets, _Tickets):
        try:
            smb = SMBConnection(name, address, sess_port=port, timeout=timeout_s)
        except Exception as exc:  # noqa: BLE001 - any connection failure is this step's outcome
            return None, replace(obs, login=_step(exc))
        kerberos = _kerberos_login(smb, tickets)
        if kerberos.outcome == "ok":
            return smb, replace(obs, auth="kerberos", kerberos=kerberos)
        with contextlib.suppress(Exception):
            smb.close()
    obs = replace(obs, kerberos=kerberos)
    if not credentials.password:
        why = kerberos.error if kerberos else "no password"
        return None, replace(obs, login=Step(False, None, f"Kerberos did not log in ({why}) and {NO_NTLM_PASSWORD}"))
    try:
        smb = SMBConnection(address, address, sess_port=port, timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001
        return None, replace(obs, login=_step(exc))
    try:
        smb.login(account.name, credentials.password.reveal(), "" if account.form is AccountForm.PLAIN else account.domain)
    except Exception as exc:  # noqa: BLE001
        with contextlib.suppress(Exception):
            smb.close()
        return None, replace(obs, login=_step(exc))
    return smb, replace(obs, auth="ntlm")


@record
class _Tickets:
    """What Kerberos logs in with: the cache's service ticket for the agent, or its TGT (and the KDC to ask)."""

    user: str
    realm: str
    spn: str
    tgt: Any
    tgs: Any
    kdc: str


def _tickets(name: str, account: Account, credentials: Credentials, timeout_s: float) -> _Tickets | KerberosTry:
    """The tickets to log in to `name` with, or why Kerberos is not tried (or could not be: no KDC)."""
    cache = credentials.ticket_cache
    if not credentials.kerberos:
        return KerberosTry("not-tried", "disabled", "--no-kerberos")
    if cache is None:
        return KerberosTry("not-tried", "no-ticket-cache", "no Kerberos ticket cache (KRB5CCNAME, or /tmp/krb5cc_UID)")
    if account.form is AccountForm.PLAIN:
        return KerberosTry("not-tried", "local-account", "a local account has no Kerberos tickets")
    if cache.problem or cache.path is None:
        return KerberosTry("not-tried", "cache-unreadable", f"the ticket cache ({cache.source}) {cache.problem}")
    if not cache.serves(account):
        return KerberosTry("not-tried", "other-principal", f"the ticket cache ({cache.source}) holds another user's tickets")
    if is_address(name):
        return KerberosTry("not-tried", "needs-name", f"the agent is given as the address {name}: tickets are issued for names")
    from impacket.krb5.ccache import CCache  # noqa: PLC0415

    try:  # the cache as read before the run (bounded: never a FIFO or a runaway file), else read now, bounded
        ccache = CCache(cache.data or read_limited(cache.path, "Kerberos ticket cache", TICKET_CACHE_LIMIT))
    except Exception as exc:  # noqa: BLE001 - a damaged cache is a reason, not a crash
        why = f"the ticket cache ({cache.source}) cannot be read: {type(exc).__name__}"
        return KerberosTry("not-tried", "cache-unreadable", why)
    user, _, realm = cache.principal.rpartition("@")
    spn = f"cifs/{name}"
    now = time.time()

    def valid(principal: str) -> tuple[Any, bool]:
        found = ccache.getCredential(principal, anySPN=False)
        return found, found is not None and int(found["time"]["endtime"]) > now

    service, service_ok = valid(f"{spn}@{realm}".upper())
    granting, granting_ok = valid(f"krbtgt/{realm}@{realm}".upper())
    if not (service_ok or granting_ok):
        expired = granting is not None or service is not None
        return KerberosTry(
            "not-tried",
            "ticket-expired" if expired else "no-ticket",
            f"the ticket cache's tickets for {realm} have expired" if expired else f"the ticket cache has no ticket for {realm}",
            spn,
        )
    kdc = ""
    if not service_ok:
        config = os.environ.get("KRB5_CONFIG", "/etc/krb5.conf").split(":")[0]
        with contextlib.suppress(InputError):  # a krb5.conf that is no regular file, or too big, names no KDC
            kdc = krb5_kdc(read_limited(Path(config), "krb5.conf", KRB5_CONF_LIMIT).decode("utf-8", "replace"), realm)
        try:
            socket.create_connection((kdc or realm, KERBEROS_PORT), timeout=timeout_s).close()
        except OSError as exc:
            return KerberosTry("failed", "kdc-unreachable", f"no KDC for {realm} answers at {kdc or realm}:88 ({exc})", spn)
    return _Tickets(
        user,
        realm,
        spn,
        granting.toTGT() if granting_ok and not service_ok else None,
        service.toTGS(f"{spn}@{realm}".upper()) if service_ok else None,
        kdc,
    )


def _kerberos_login(smb: Any, tickets: _Tickets) -> KerberosTry:
    """Session setup with the cache's ticket (asking the KDC for the agent's service ticket when the cache has none)."""
    try:
        smb.kerberosLogin(
            tickets.user, "", tickets.realm, kdcHost=tickets.kdc or None, TGT=tickets.tgt, TGS=tickets.tgs, useCache=False
        )
    except Exception as exc:  # noqa: BLE001 - every failure is named, and NTLM is tried next
        return KerberosTry("failed", kerberos_error_name(exc), _step(exc).message, tickets.spn)
    return KerberosTry("ok", spn=tickets.spn)


def kerberos_error_name(exc: BaseException) -> str:
    """KRB_AP_ERR_SKEW, KDC_ERR_S_PRINCIPAL_UNKNOWN, ... for a Kerberos error; the NT status's name for an SMB one;
    kdc-unreachable for a socket error (impacket wraps the KDC's connection errors in socket.error)."""
    code: int | None = None
    if type(exc).__name__ == "KerberosError" and hasattr(exc, "getErrorCode"):
        from impacket.krb5 import constants  # noqa: PLC0415

        code = int(exc.getErrorCode())
        try:
            return str(constants.ErrorCodes(code).name)
        except ValueError:
            return f"KERBEROS_ERROR_{code}"
    if isinstance(exc, OSError):
        return "kdc-unreachable"
    step = _step(exc if isinstance(exc, Exception) else Exception(str(exc)))
    if step.code == 0xC0000016:  # STATUS_MORE_PROCESSING_REQUIRED: the server's answer holds a KRB-ERROR
        packet = exc.getErrorPacket() if hasattr(exc, "getErrorPacket") else None
        found = krb_error_in(_packet_bytes(packet))
        if found:
            return found
    return step.status if step.code is not None else type(exc).__name__


def _packet_bytes(packet: Any) -> bytes:
    if isinstance(packet, bytes):
        return packet
    try:
        return bytes(packet.getData())
    except Exception:  # noqa: BLE001 - no packet, or not one impacket can serialise
        return b""


def krb_error_in(data: bytes) -> str:
    """The name of the error in a KRB-ERROR (ASN.1 [APPLICATION 30]) inside a server's session-setup answer (its
    SPNEGO token), as a Windows or Samba server sends one for a ticket it refuses; '' when there is none."""
    from impacket.krb5 import constants  # noqa: PLC0415
    from impacket.krb5.asn1 import KRB_ERROR  # noqa: PLC0415
    from pyasn1.codec.der import decoder  # noqa: PLC0415

    start = data.find(b"\x7e")
    while start != -1:
        try:
            error = decoder.decode(data[start:], asn1Spec=KRB_ERROR())[0]
            code = int(error["error-code"])
        except Exception:  # noqa: BLE001 - not a KRB-ERROR at this byte: look further
            start = data.find(b"\x7e", start + 1)
            continue
        try:
            return str(constants.ErrorCodes(code).name)
        except ValueError:
            return f"KERBEROS_ERROR_{code}"
    return ""


def _account_info(smb: Any, account: Account) -> AccountInfo | None:
    """The account's RID and domain, and the machine's role, from the agent's LSA over \\PIPE\\lsarpc; None when
    it does not answer (account_kind then goes by the name)."""
    from impacket.dcerpc.v5 import lsad, lsat, transport  # noqa: PLC0415

    try:
        rpc = transport.SMBTransport(smb.getRemoteHost(), filename=r"\lsarpc", smb_connection=smb)
        dce = rpc.get_dce_rpc()
        dce.connect()
    except Exception:  # noqa: BLE001
        return None
    try:
        dce.bind(lsat.MSRPC_UUID_LSAT)
        policy = lsad.hLsarOpenPolicy2(dce, lsat.POLICY_LOOKUP_NAMES | lsad.POLICY_VIEW_LOCAL_INFORMATION)["PolicyHandle"]
        classes = lsad.POLICY_INFORMATION_CLASS
        local = lsad.hLsarQueryInformationPolicy(dce, policy, classes.PolicyAccountDomainInformation)
        local_sid = _sid(local["PolicyInformation"]["PolicyAccountDomainInfo"]["DomainSid"])
        primary = lsad.hLsarQueryInformationPolicy(dce, policy, classes.PolicyPrimaryDomainInformation)
        primary_info = primary["PolicyInformation"]["PolicyPrimaryDomainInfo"]
        primary_sid = _sid(primary_info["Sid"])
        dns = ""
        if primary_sid:
            with contextlib.suppress(Exception):
                info = lsad.hLsarQueryInformationPolicy(dce, policy, classes.PolicyDnsDomainInformation)
                dns = str(info["PolicyInformation"]["PolicyDnsDomainInfo"]["DnsDomainName"] or "")
        looked = lsat.hLsarLookupNames(dce, policy, (account.text,))
        found = looked["TranslatedSids"]["Sids"][0]
        user_domain = _sid(looked["ReferencedDomains"]["Domains"][found["DomainIndex"]]["Sid"])
        rid = int(found["RelativeId"])
    except Exception:  # noqa: BLE001 - an LSA that refuses is no failure of the installation
        return None
    finally:
        with contextlib.suppress(Exception):
            dce.disconnect()
    role = "standalone" if not primary_sid else "domain-controller" if primary_sid == local_sid else "member"
    is_local = user_domain == local_sid and role != "domain-controller"
    kind = ("builtin-administrator" if rid == 500 else "local") if is_local else "domain"
    return AccountInfo(kind, rid, role, str(primary_info["Name"] or ""), dns)


def _sid(value: Any) -> str:
    """A SID's S-1-5-... text; '' for a NULL one."""
    try:
        return str(value.formatCanonical()) if value else ""
    except Exception:  # noqa: BLE001
        return ""


def _tree(smb: Any, share: str) -> Step:
    try:
        tree = smb.connectTree(share)
        smb.disconnectTree(tree)
    except Exception as exc:  # noqa: BLE001
        return _step(exc)
    return Step(True)


def _write_and_delete(smb: Any, name: str) -> Step:
    """Write one small file at the root of ADMIN$ and delete it; a failed delete is reported, never hidden."""
    payload = [b"netcheck write test: safe to delete\r\n"]
    try:
        smb.putFile("ADMIN$", name, lambda _size: payload.pop() if payload else b"")
    except Exception as exc:  # noqa: BLE001
        return _step(exc)
    try:
        smb.deleteFile("ADMIN$", name)
    except Exception as exc:  # noqa: BLE001
        failed = _step(exc)
        return Step(False, failed.code, f"written but not deleted (delete ADMIN$\\{name} by hand): {failed.message}")
    return Step(True)


def _open_scm(smb: Any) -> Step:
    """OpenSCManagerW with SC_MANAGER_CREATE_SERVICE over \\PIPE\\svcctl: what the installer needs; nothing created."""
    from impacket.dcerpc.v5 import scmr, transport  # noqa: PLC0415

    try:
        rpc = transport.SMBTransport(smb.getRemoteHost(), filename=r"\svcctl", smb_connection=smb)
        dce = rpc.get_dce_rpc()
        dce.connect()
        try:
            dce.bind(scmr.MSRPC_UUID_SCMR)
            handle = scmr.hROpenSCManagerW(dce, dwDesiredAccess=scmr.SC_MANAGER_CREATE_SERVICE)["lpScHandle"]
            scmr.hRCloseServiceHandle(dce, handle)
        finally:
            dce.disconnect()
    except Exception as exc:  # noqa: BLE001
        return _step(exc)
    return Step(True)


def _read_registry(smb: Any) -> dict[str, int | str]:
    """The three values over \\PIPE\\winreg, where remote registry answers (its service may be stopped)."""
    from impacket.dcerpc.v5 import rrp, transport  # noqa: PLC0415

    values: dict[str, int | str] = {}
    try:
        rpc = transport.SMBTransport(smb.getRemoteHost(), filename=r"\winreg", smb_connection=smb)
        dce = rpc.get_dce_rpc()
        dce.connect()
    except Exception as exc:  # noqa: BLE001
        return {name: f"remote registry does not answer: {_step(exc).status}" for _key, name in REGISTRY_VALUES}
    try:
        dce.bind(rrp.MSRPC_UUID_RRP)
        root = rrp.hOpenLocalMachine(dce, samDesired=rrp.KEY_READ)["phKey"]
    except Exception as exc:  # noqa: BLE001
        dce.disconnect()
        return {name: f"remote registry refused: {_step(exc).status}" for _key, name in REGISTRY_VALUES}
    try:
        for key, name in REGISTRY_VALUES:
            try:
                handle = rrp.hBaseRegOpenKey(dce, root, key, samDesired=rrp.KEY_READ)["phkResult"]
                _kind, data = rrp.hBaseRegQueryValue(dce, handle, name)
                values[name] = int(data) if isinstance(data, int) else str(data).rstrip("\x00")[:100]
                rrp.hBaseRegCloseKey(dce, handle)
            except Exception as exc:  # noqa: BLE001
                values[name] = f"not readable: {_step(exc).status}"
    finally:
        dce.disconnect()
    return values


def _dce(smb: Any, pipe: str, interface: bytes) -> Any:
    """A DCE/RPC connection bound to `interface` over the named pipe `pipe` of the session's IPC$."""
    from impacket.dcerpc.v5 import transport  # noqa: PLC0415

    rpc = transport.SMBTransport(smb.getRemoteHost(), filename=pipe, smb_connection=smb)
    dce = rpc.get_dce_rpc()
    dce.connect()
    try:
        dce.bind(interface)
    except Exception:
        with contextlib.suppress(Exception):
            dce.disconnect()
        raise
    return dce


def _share_names(smb: Any) -> tuple[tuple[str, ...] | None, str]:
    """The share names NetrShareEnum (level 1) lists over \\PIPE\\srvsvc, or None and why it did not answer."""
    from impacket.dcerpc.v5 import srvs  # noqa: PLC0415

    try:
        dce = _dce(smb, r"\srvsvc", srvs.MSRPC_UUID_SRVS)
    except Exception as exc:  # noqa: BLE001 - a share list that cannot be read is evidence, not a crash
        return None, _step(exc).status
    try:
        listed = srvs.hNetrShareEnum(dce, 1)["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]
        return tuple(str(share["shi1_netname"]).rstrip("\x00") for share in listed), ""
    except Exception as exc:  # noqa: BLE001
        return None, _step(exc).status
    finally:
        with contextlib.suppress(Exception):
            dce.disconnect()


def _service_state(smb: Any, service: str) -> ServiceState:
    """`service`'s state and start type from the service control manager, opened with SC_MANAGER_CONNECT and the
    service with SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG: nothing is started or changed."""
    from impacket.dcerpc.v5 import scmr  # noqa: PLC0415

    try:
        dce = _dce(smb, r"\svcctl", scmr.MSRPC_UUID_SCMR)
    except Exception as exc:  # noqa: BLE001
        return ServiceState(error=_step(exc).status)
    try:
        manager = scmr.hROpenSCManagerW(dce, dwDesiredAccess=scmr.SC_MANAGER_CONNECT)["lpScHandle"]
        access = scmr.SERVICE_QUERY_STATUS | scmr.SERVICE_QUERY_CONFIG
        handle = scmr.hROpenServiceW(dce, manager, service + "\x00", access)["lpServiceHandle"]
        status = scmr.RQueryServiceStatus()
        status["hService"] = handle
        dce.call(status.opnum, status)
        state = service_state(bytes(dce.recv()))
        config = scmr.RQueryServiceConfigW()
        config["hService"] = handle
        config["cbBufSize"] = 8192  # the answer's strings (path, account, display name) fit
        start: int | None = None
        with contextlib.suppress(Exception):  # the state alone still says something
            dce.call(config.opnum, config)
            start = service_start_type(bytes(dce.recv()))
        if state is None:
            return ServiceState(error="RQueryServiceStatus failed")
        return ServiceState(state, start)
    except Exception as exc:  # noqa: BLE001
        return ServiceState(error=_step(exc).status)
    finally:
        with contextlib.suppress(Exception):
            dce.disconnect()


def _disk_space(smb: Any) -> DiskSpace:
    """The free and total bytes of ADMIN$'s volume: its root opened for FILE_READ_ATTRIBUTES only, then SMB2
    QUERY_INFO (SMB2_0_INFO_FILESYSTEM, FileFsFullSizeInformation). SMB1 sessions are not asked."""
    from impacket import smb3structs  # noqa: PLC0415

    if str(smb.getDialect()) == "NT LM 0.12":
        return DiskSpace(error="not asked over SMB1")
    try:
        tree = smb.connectTree("ADMIN$")
    except Exception as exc:  # noqa: BLE001
        return DiskSpace(error=_step(exc).status)
    try:
        root = smb.openFile(
            tree,
            "",
            desiredAccess=smb3structs.FILE_READ_ATTRIBUTES,
            shareMode=smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE | smb3structs.FILE_SHARE_DELETE,
            creationOption=smb3structs.FILE_DIRECTORY_FILE,
            creationDisposition=smb3structs.FILE_OPEN,
            fileAttributes=0,
        )
        try:
            data = smb.getSMBServer().queryInfo(
                tree,
                root,
                infoType=smb3structs.SMB2_0_INFO_FILESYSTEM,
                fileInfoClass=smb3structs.SMB2_FILESYSTEM_FULL_SIZE_INFO,
            )
        finally:
            with contextlib.suppress(Exception):
                smb.closeFile(tree, root)
        sizes = fs_full_size(bytes(data))
        if sizes is None:
            return DiskSpace(error=f"an answer of {len(data)} bytes is no FileFsFullSizeInformation")
        return DiskSpace(free=sizes[0], total=sizes[1])
    except Exception as exc:  # noqa: BLE001
        return DiskSpace(error=_step(exc).status)
    finally:
        with contextlib.suppress(Exception):
            smb.disconnectTree(tree)


def _tcp_state(address: str, port: int, timeout_s: float) -> str:
    """open, closed (a reset) or filtered (no answer within `timeout_s`, or an ICMP error) for one TCP connect."""
    try:
        socket.create_connection((address, port), timeout=timeout_s).close()
    except ConnectionRefusedError:
        return "closed"
    except OSError:
        return "filtered"
    return "open"
