"""Credentials for the access checks: who logs in, and with what, given once for the run.

A password comes from an interactive prompt (no echo, only on a terminal), NETCHECK_PASSWORD, or a file only
its owner can read: never from the command line, where `ps` and shell history would keep it. It lives in a
`Secret`, whose repr and str never show it, so no report, log line or traceback can carry it by accident.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import field
from enum import StrEnum
from pathlib import Path
from typing import Any

from netcheck.errors import InputError
from netcheck.files import MIB, PLAN_LIMIT, expand_user, read_limited, read_text_limited
from netcheck.model.kinds import AgentOS
from netcheck.model.record import record


class CredentialError(InputError):
    """Bad credential input: the CLI reports it in one line and exits with 2 (it never holds the secret)."""


class Secret:
    """A password. Its only way out is `reveal()`, called where a library needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")

    def __bool__(self) -> bool:
        return bool(self._value)

    def hide_in(self, text: str) -> str:
        """`text` with the secret masked: as typed, and as a server or a library may have echoed it (repr, JSON,
        percent-encoding); also a start of it left at the end of `text`, where something cut the text short."""
        forms = _forms(self._value)
        for form in forms:
            if form in text:
                text = text.replace(form, MASK)
        for form in forms:
            for length in range(len(form) - 1, MIN_PREFIX - 1, -1):
                if text.endswith(form[:length]):
                    return text[:-length] + MASK
        return text


MASK = "********"
MIN_PREFIX = 3
"""A secret's start of at least this many characters at the end of a text is masked (a cut that fell inside it)."""


def _forms(value: str) -> list[str]:
    """The ways `value` is seen written: itself, escaped as Python's repr and ascii(), JSON, percent-encoded."""
    import json  # noqa: PLC0415 - only when there is a password to hide (the CLI imports this module at start)
    from urllib.parse import quote, quote_plus  # noqa: PLC0415

    found = {
        value,
        repr(value)[1:-1],
        ascii(value)[1:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }
    return sorted((form for form in found if form), key=len, reverse=True)


ENVIRONMENT_PASSWORD = "NETCHECK_PASSWORD"  # noqa: S105 - the variable's name
_TAKEN: dict[str, Secret] = {}


def take_password_from_environment(environ: MutableMapping[str, str] = os.environ) -> None:
    """Move NETCHECK_PASSWORD out of the process environment, so that no child (iptables, nft, the gcc and
    ldconfig that ctypes' find_library runs) inherits it; `gather_credentials` still finds it."""
    _TAKEN.pop(ENVIRONMENT_PASSWORD, None)
    value = environ.pop(ENVIRONMENT_PASSWORD, None)
    if value:
        _TAKEN[ENVIRONMENT_PASSWORD] = Secret(value)


def _environment_password(environ: Mapping[str, str]) -> Secret | None:
    value = environ.get(ENVIRONMENT_PASSWORD)
    if value:
        return Secret(value)
    return _TAKEN.get(ENVIRONMENT_PASSWORD) if environ is os.environ else None


class AccountForm(StrEnum):
    """How the user name was written."""

    DOMAIN = "domain"  # DOMAIN\\name
    UPN = "upn"  # name@domain
    PLAIN = "plain"  # name (a local account on the agent, or the default domain)


@record
class Account:
    """A user name split into its parts; `text` is what the user wrote (shown in reports unless --redact)."""

    name: str
    domain: str = ""
    form: AccountForm = AccountForm.PLAIN

    @property
    def text(self) -> str:
        if self.form is AccountForm.DOMAIN:
            return f"{self.domain}\\{self.name}"
        if self.form is AccountForm.UPN:
            return f"{self.name}@{self.domain}"
        return self.name


_NAME = re.compile(r"^[^\s\\/@:\"<>|*?\[\]=;,+]{1,104}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,254}$")


def parse_user(text: str, *, what: str = "--user") -> Account:
    """`DOMAIN\\name`, `name@domain` or `name` → Account; anything else is a CredentialError naming it."""
    raw = text.strip()
    if "\\" in raw:
        domain, _, name = raw.partition("\\")
        form = AccountForm.DOMAIN
    elif "@" in raw:
        name, _, domain = raw.rpartition("@")
        form = AccountForm.UPN
    else:
        name, domain, form = raw, "", AccountForm.PLAIN
    if not _NAME.match(name) or (form is not AccountForm.PLAIN and not _DOMAIN.match(domain)):
        raise CredentialError(f"{what} {raw!r} is not a user name: use DOMAIN\\name, name@domain or name")
    return Account(name, domain, form)


@record
class TicketCache:
    """A Kerberos ticket cache (kinit's), found through KRB5CCNAME or at the default place; never its tickets."""

    path: Path | None
    """The FILE: cache; None when KRB5CCNAME names a kind netcheck cannot read (KEYRING:, KCM:, DIR:, ...)."""
    source: str
    """'KRB5CCNAME' or 'default' (/tmp/krb5cc_UID)."""
    principal: str = ""
    """The cache's client, name@REALM ('' when unreadable)."""
    problem: str = ""
    """Why the cache cannot be used, as "is ..." ('' when it can be read)."""
    data: bytes = field(default=b"", repr=False, compare=False)
    """The cache as read (bounded): what the SMB login takes its tickets from, never read a second time."""

    def serves(self, account: Account | None) -> bool:
        """Whether this cache holds the tickets of `account`, a domain account (DOMAIN\\name or name@realm)."""
        if account is None or account.form is AccountForm.PLAIN or not self.principal or self.problem:
            return False
        name, _, realm = self.principal.rpartition("@")
        if name.lower() != account.name.lower():
            return False
        if account.form is AccountForm.UPN:
            return realm.upper() == account.domain.upper()
        return True  # DOMAIN\\name: a NetBIOS domain name says nothing about the realm; the cache's realm is used


def ccache_principal(data: bytes) -> str:
    """The client principal (name@REALM) in the header of an MIT/Heimdal FILE: ticket cache (versions 3 and 4);
    '' when `data` is not one. Only the header is read: never a ticket."""
    try:
        (version,) = struct.unpack_from("!H", data, 0)
        offset = 2
        if version == 0x0504:
            (header_len,) = struct.unpack_from("!H", data, offset)
            offset += 2 + header_len
        elif version != 0x0503:
            return ""
        _name_type, count = struct.unpack_from("!II", data, offset)
        offset += 8
        parts: list[str] = []
        for _ in range(count + 1):  # the realm, then each component
            (length,) = struct.unpack_from("!I", data, offset)
            offset += 4
            if length > 1024 or offset + length > len(data):
                return ""
            parts.append(data[offset : offset + length].decode("utf-8"))
            offset += length
    except (struct.error, UnicodeDecodeError):
        return ""
    realm, *components = parts
    return f"{'/'.join(components)}@{realm}" if components and realm else ""


TICKET_CACHE_LIMIT = 16 * MIB
"""A ticket cache holds a few kilobytes a ticket."""
SSH_KEY_LIMIT = MIB
KNOWN_HOSTS_LIMIT = PLAN_LIMIT


def find_ticket_cache(environ: Mapping[str, str], uid: int | None) -> TicketCache | None:
    """The ticket cache kinit would use: KRB5CCNAME (a FILE: path, or a plain path), else /tmp/krb5cc_UID when it
    exists; None when there is none."""
    name = environ.get("KRB5CCNAME", "")
    if name:
        kind, sep, rest = name.partition(":")
        if sep and kind.upper() != "FILE" and "/" not in kind and len(kind) > 1:  # C:\\... is a Windows path
            return TicketCache(None, "KRB5CCNAME", problem=f"is a {kind.upper()}: cache, which netcheck cannot read")
        path = Path(rest if sep and kind.upper() == "FILE" else name)
        source = "KRB5CCNAME"
    else:
        path, source = Path(f"/tmp/krb5cc_{uid}"), "default"  # MIT's default FILE: cache
        if uid is None or not path.is_file():
            return None
    what = "Kerberos ticket cache"
    try:  # a FIFO, a device or a runaway file named in KRB5CCNAME: named unusable, never read without end
        data = read_limited(path, what, TICKET_CACHE_LIMIT)
    except InputError as exc:
        why = str(exc).replace(f"{what} {str(path)!r} ", "", 1)
        return TicketCache(path, source, problem=why if why.startswith("is ") else f"is unreadable ({why})")
    principal = ccache_principal(data)
    return TicketCache(path, source, principal, "" if principal else "is not a ticket cache", data=data)


def krb5_kdc(text: str, realm: str) -> str:
    """The first `kdc` of `realm` in a krb5.conf's [realms] section (its port dropped), '' when none is named."""
    section = ""
    inside = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section, inside = line[1:-1].strip().lower(), False
            continue
        if section != "realms":
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if value.startswith("{") and key.upper() == realm.upper():
            inside = True
        elif line.startswith("}"):
            inside = False
        elif inside and key.lower() == "kdc" and value:
            host = value.rsplit("]", 1)[0].lstrip("[") if value.startswith("[") else value.rsplit(":", 1)[0]
            return host
    return ""


@record
class Credentials:
    """Everything the access checks log in with; `password` is a Secret and never printed."""

    windows: Account | None = None
    linux: Account | None = None
    password: Secret | None = field(default=None, repr=False)
    password_source: str = ""
    """Where the password came from ('prompt', 'NETCHECK_PASSWORD', '--password-file'), for the evidence."""
    ssh_keys: tuple[Path, ...] = ()
    ssh_agent: bool = False
    """An ssh-agent runs (SSH_AUTH_SOCK): its keys are offered too."""
    known_hosts: Path | None = None
    client_keys: tuple[Any, ...] = field(default=(), repr=False)
    """The --ssh-key files as loaded (asyncssh key pairs), read once before any probe; () when not loaded here."""
    known_hosts_text: str | None = field(default=None, repr=False)
    """The known_hosts file as read (bounded) before any probe; None when not read here."""
    write_test: bool = True
    """Write and delete one file in ADMIN$ (--no-write-test skips it)."""
    kerberos: bool = True
    """Log in to Windows agents with Kerberos first where the ticket cache serves the account (--no-kerberos: NTLM only)."""
    ticket_cache: TicketCache | None = None

    def kerberos_ready(self) -> bool:
        """Kerberos is on and the ticket cache holds the Windows account's tickets (no password is then needed)."""
        return self.kerberos and self.ticket_cache is not None and self.ticket_cache.serves(self.windows)

    def account_for(self, agent_os: AgentOS) -> Account | None:
        return self.windows if agent_os is AgentOS.WINDOWS else self.linux

    def scrub(self, text: str) -> str:
        """`text` with the password cut out: what a server or a library says may quote what it was sent."""
        return self.password.hide_in(text) if self.password else text

    def can_log_in(self, agent_os: AgentOS) -> str:
        """Empty when there is something to log in with on an agent of this OS, otherwise why not."""
        if self.account_for(agent_os) is None:
            return f"no {agent_os} user given: give --user (or {agent_os}_user in the plan file's [credentials])"
        if agent_os is AgentOS.LINUX and not (self.password or self.ssh_keys or self.ssh_agent):
            return "no password or SSH key: give --ssh-key, run an ssh-agent, set NETCHECK_PASSWORD or use --password-file"
        if agent_os is AgentOS.WINDOWS and not (self.password or self.kerberos_ready()):
            cache = self.ticket_cache
            unusable = (
                f" (the Kerberos ticket cache ({cache.source}) {cache.problem}: kinit -c FILE:/tmp/netcheck.cc USER@REALM "
                "and KRB5CCNAME=FILE:/tmp/netcheck.cc)"
                if self.kerberos and cache is not None and cache.problem
                else " (or, for a domain account, kinit it: a Kerberos ticket cache is used without a password)"
            )
            return f"no password: set NETCHECK_PASSWORD, use --password-file, or run on a terminal to be asked{unusable}"
        return ""


NO_CREDENTIALS = (
    "no credentials: give --user (a password by prompt, NETCHECK_PASSWORD or --password-file; or --ssh-key) "
    "to check that the remote installation will work"
)


def read_password_file(path: Path) -> Secret:
    """The first line of a file that only its owner can read (like ssh refuses a private key others can read)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CredentialError(f"--password-file {str(path)!r} not found") from None
    except OSError as exc:
        raise CredentialError(f"cannot read --password-file {str(path)!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CredentialError(f"--password-file {str(path)!r} is not a regular file")
    if info.st_mode & 0o077:
        raise CredentialError(
            f"--password-file {str(path)!r} can be read by group or others (mode {stat.S_IMODE(info.st_mode):o}): "
            f"run chmod 600 {str(path)!r}"
        )
    try:
        data = read_limited(path, "--password-file", MIB)  # regular, bounded, never blocking on a FIFO swapped in
    except InputError as exc:
        raise CredentialError(str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CredentialError(f"--password-file {str(path)!r} is not UTF-8 text") from None
    first = text.splitlines()[0] if text.splitlines() else ""
    if not first:
        raise CredentialError(f"--password-file {str(path)!r} is empty")
    return Secret(first)


@record
class CredentialInput:
    """What the command line and the plan file said (user names and paths, never a password)."""

    user: str | None = None
    password_file: Path | None = None
    ssh_keys: tuple[Path, ...] = ()
    known_hosts: Path | None = None
    write_test: bool = True
    plan: Mapping[str, str] = field(default_factory=dict)
    """The plan file's [credentials] table: user, windows_user, linux_user, ssh_key, known_hosts, password_file."""
    kerberos: bool = True

    @property
    def names_a_user(self) -> bool:
        """Whether anyone is named to log in (--user, or a user key of the plan): without one nothing logs in."""
        return bool(self.user or any(self.plan.get(key) for key in USER_KEYS))


USER_KEYS = ("user", "windows_user", "linux_user")
PLAN_KEYS = (*USER_KEYS, "ssh_key", "known_hosts", "password_file")


def parse_plan_credentials(table: Any, *, filename: str) -> dict[str, str]:
    """The plan file's [credentials] table: strings only, known keys only, and never a password."""
    if not isinstance(table, dict):
        raise CredentialError(f"{filename}: [credentials] must be a table like windows_user = 'CORP\\\\admin'")
    if "password" in table:
        raise CredentialError(
            f"{filename}: a password does not belong in a plan file: use password_file, NETCHECK_PASSWORD or the prompt"
        )
    unknown = sorted(set(table) - set(PLAN_KEYS))
    if unknown:
        raise CredentialError(f"{filename}: unknown key {unknown[0]!r} in [credentials]; known keys: {', '.join(PLAN_KEYS)}")
    for key, value in table.items():
        if not isinstance(value, str) or not value:
            raise CredentialError(f"{filename}: [credentials] {key} must be a non-empty string")
    return dict(table)


def gather_credentials(
    given: CredentialInput,
    *,
    environ: Mapping[str, str],
    stdin_is_tty: bool,
    prompt: Callable[[str], str],
    uid: int | None = None,
) -> Credentials | None:
    """Resolve users, password and keys; None when no user was given anywhere (the access checks then skip).

    The password comes from --password-file (or the plan's password_file), else NETCHECK_PASSWORD, else the
    prompt (only on a terminal: a script must never hang waiting for one). No prompt either when the Windows user
    is a domain account whose Kerberos tickets are in the ticket cache (kinit's): Kerberos logs in without one.
    """
    plan = given.plan
    default = given.user or plan.get("user")
    windows_text = given.user or plan.get("windows_user") or default
    linux_text = given.user or plan.get("linux_user") or default
    if not (windows_text or linux_text):
        return None
    windows = parse_user(windows_text, what="--user" if given.user else "windows_user") if windows_text else None
    linux = parse_user(linux_text, what="--user" if given.user else "linux_user") if linux_text else None
    keys = given.ssh_keys or ((expand_user(plan["ssh_key"], "ssh_key"),) if "ssh_key" in plan else ())
    known = given.known_hosts or (expand_user(plan["known_hosts"], "known_hosts") if "known_hosts" in plan else None)
    password_file = given.password_file or (
        expand_user(plan["password_file"], "password_file") if "password_file" in plan else None
    )
    known_text = _read_known_hosts(known)
    client_keys = _load_keys(keys, prompt if stdin_is_tty else None)
    password: Secret | None = None
    source = ""
    cache = find_ticket_cache(environ, _uid() if uid is None else uid) if given.kerberos else None
    kerberos_ready = cache is not None and cache.serves(windows)
    if password_file is not None:
        password, source = read_password_file(password_file), "--password-file"
    elif (from_environment := _environment_password(environ)) is not None:
        password, source = from_environment, ENVIRONMENT_PASSWORD
    elif stdin_is_tty and not kerberos_ready:
        shown = windows_text if windows_text == linux_text else "the agents' users"
        hint = " (Enter for none: SSH keys only)" if keys else ""
        try:
            typed = prompt(f"Password for {shown}{hint}: ")
        except EOFError:  # Ctrl-D at the prompt: no password, as an empty line
            typed = ""
        if typed:
            password, source = Secret(typed), "prompt"
    return Credentials(
        windows=windows,
        linux=linux,
        password=password,
        password_source=source,
        ssh_keys=keys,
        ssh_agent=bool(environ.get("SSH_AUTH_SOCK")),
        known_hosts=known,
        client_keys=client_keys,
        known_hosts_text=known_text,
        write_test=given.write_test,
        kerberos=given.kerberos,
        ticket_cache=cache,
    )


def _read_known_hosts(path: Path | None) -> str:
    """The known_hosts file, read once and bounded: the one given (it must be there), else ~/.ssh/known_hosts
    when it exists (without it every host key is unknown)."""
    what = "--known-hosts"
    if path is None:
        path, what = default_known_hosts(), "known_hosts"
        if not os.path.lexists(path):
            return ""
    if not os.path.lexists(path):
        raise CredentialError(f"{what} {str(path)!r} not found")
    try:
        return read_text_limited(path, what, KNOWN_HOSTS_LIMIT)
    except InputError as exc:
        raise CredentialError(str(exc)) from None


def _load_keys(paths: tuple[Path, ...], ask: Callable[[str], str] | None) -> tuple[Any, ...]:
    """Each --ssh-key file read (bounded) and loaded now, before any probe: a passphrase is asked on a terminal;
    a key that cannot be loaded (no terminal to ask on, garbage, a .pub file) is a CredentialError."""
    if not paths:
        return ()
    loaded = []
    for path in paths:
        if not os.path.lexists(path):
            raise CredentialError(f"--ssh-key {str(path)!r} not found")
        try:
            data = read_limited(path, "--ssh-key", SSH_KEY_LIMIT)
            certificate = Path(f"{path}-cert.pub")
            cert = read_limited(certificate, "--ssh-key certificate", SSH_KEY_LIMIT) if certificate.is_file() else None
        except InputError as exc:
            raise CredentialError(str(exc)) from None
        loaded.append(load_client_key(path, data, cert, ask))
    return tuple(loaded)


def load_client_key(path: Path, data: bytes, certificate: bytes | None, ask: Callable[[str], str] | None) -> Any:
    """An --ssh-key file's key pair (with its -cert.pub certificate, if any), loaded before any probe; a
    passphrase is asked through `ask` (a terminal's prompt) when the key has one. CredentialError (exit 2) when
    it cannot be loaded: no terminal to ask on, a wrong passphrase, garbage, a public key."""
    import asyncssh  # noqa: PLC0415

    name = str(path)
    try:
        try:
            key = asyncssh.import_private_key(data)
        except asyncssh.KeyImportError as exc:
            if "passphrase" not in str(exc).lower():
                raise
            if ask is None:
                raise CredentialError(
                    f"--ssh-key {name!r} is protected by a passphrase: run on a terminal to be asked for it, or add the "
                    "key to an ssh-agent (ssh-add) and run without --ssh-key"
                ) from None
            key = asyncssh.import_private_key(data, ask(f"Passphrase for {name}: "))
        pairs = asyncssh.load_keypairs([(key, certificate)] if certificate else [key])
    except (ValueError, asyncssh.Error) as exc:  # KeyImportError, KeyEncryptionError are ValueErrors
        public = " (a .pub file is the public half: give the private key)" if data.lstrip().startswith(b"ssh-") else ""
        raise CredentialError(
            f"--ssh-key {name!r} cannot be loaded: {(str(exc).strip().splitlines() or [''])[0][:200]}{public}"
        ) from None
    return pairs[0]


def _uid() -> int | None:
    """This process's uid (None on Windows, which has no FILE: default ticket cache)."""
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid else None


def default_known_hosts() -> Path:
    return Path(os.path.expanduser("~/.ssh/known_hosts"))
