"""Windows agents through SMB (impacket): the installer's own channel, tried with its credentials.

Session setup (NTLMv2), tree connects to IPC$ and ADMIN$, one uniquely named file written to ADMIN$ and deleted,
the Service Control Manager opened over \\PIPE\\svcctl asking SC_MANAGER_CREATE_SERVICE (nothing is created),
and, where remote registry answers, LocalAccountTokenFilterPolicy, EnableLUA and ForceGuest. Blocking I/O:
the stage runs it in a thread; every socket operation has the run's timeout, so a hanging server cannot stall it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
import uuid
from dataclasses import replace
from typing import Any

from netcheck.access.credentials import Account, AccountForm, Credentials
from netcheck.observations import SmbObservation, Step

POLICIES = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
LSA = r"SYSTEM\CurrentControlSet\Control\Lsa"
REGISTRY_VALUES = ((POLICIES, "LocalAccountTokenFilterPolicy"), (POLICIES, "EnableLUA"), (LSA, "ForceGuest"))


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


def _step(exc: Exception) -> Step:
    code = None
    for getter in ("getErrorCode", "get_error_code"):
        if hasattr(exc, getter):
            try:
                code = int(getattr(exc, getter)())
            except (TypeError, ValueError):
                code = None
            break
    return Step(False, code, f"{type(exc).__name__}: {str(exc)[:200]}")


def observe_smb(address: str, account: Account, credentials: Credentials, timeout_s: float, port: int) -> SmbObservation:
    """Walk the installer's path on one Windows agent, stopping where it breaks."""
    from impacket.smbconnection import SMBConnection  # noqa: PLC0415

    started = time.monotonic()
    obs = SmbObservation(address, account.text, account_kind(account), write_test=credentials.write_test)

    def done(current: SmbObservation) -> SmbObservation:
        return replace(current, elapsed_ms=round((time.monotonic() - started) * 1000, 1))

    password = credentials.password.reveal() if credentials.password else ""
    domain = "" if account.form is AccountForm.PLAIN else account.domain
    try:
        smb = SMBConnection(address, address, sess_port=port, timeout=max(timeout_s, 5.0))
    except Exception as exc:  # noqa: BLE001 - any connection failure is this step's outcome
        return done(replace(obs, login=_step(exc)))
    try:
        try:
            smb.login(account.name, password, domain)
        except Exception as exc:  # noqa: BLE001
            return done(replace(obs, login=_step(exc)))
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
        if obs.admin_share and obs.admin_share.ok and credentials.write_test:
            name = f"netcheck-{uuid.uuid4().hex[:12]}.tmp"
            obs = replace(obs, write=_write_and_delete(smb, name), write_file=name)
        if obs.ipc and obs.ipc.ok:
            obs = replace(obs, scm=_open_scm(smb), registry=_read_registry(smb))
        return done(obs)
    finally:
        with contextlib.suppress(Exception):  # closing a dead session must not hide its result
            smb.close()


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
                values[name] = int(data) if isinstance(data, int) else str(data)[:100]
                rrp.hBaseRegCloseKey(dce, handle)
            except Exception as exc:  # noqa: BLE001
                values[name] = f"not readable: {_step(exc).status}"
    finally:
        dce.disconnect()
    return values
