"""Windows as its administrators have it: language-independent reads of the firewall, the network profile and the
dynamic port range (pure: text in, data out; the verdicts on them are netcheck.classify.discovery's and
netcheck.classify.host's).

Labels that Windows translates (netsh's "Start Port", a rule group's display name "Network Discovery", which is
"Netzwerkerkennung" or "Обнаружение сети" elsewhere) are never matched. Instead:

- rule groups are selected by their world-ready indirect strings (``@FirewallAPI.dll,-32752``), which Microsoft
  recommends for scripts that must work in every language;
- PowerShell objects are read as JSON (``ConvertTo-Json``): property names stay English on every system, and
  enums arrive as numbers unless the command turns them into their (English, untranslated) names; both are read;
- ``netsh int ipv4 show dynamicport tcp`` is read by its two numbers, whatever the labels say;
- ``netsh advfirewall`` is a fallback only, run under code page 437 (which makes netsh print English), and what
  it cannot read for sure is reported as unreadable, never guessed.

The commands below are what netcheck runs (netcheck/observe/discovery.py, netcheck/observe/host.py) and what the Windows CI
job saves as artifacts, so fixtures can be refreshed from a real system.
"""

from __future__ import annotations

import codecs
import json
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from netcheck.model.record import record

NETWORK_DISCOVERY_GROUP = "@FirewallAPI.dll,-32752"
FILE_AND_PRINTER_SHARING_GROUP = "@FirewallAPI.dll,-28502"
GROUP_IDS = {"Network Discovery": NETWORK_DISCOVERY_GROUP, "File and Printer Sharing": FILE_AND_PRINTER_SHARING_GROUP}
PROFILES = ("Domain", "Private", "Public")

# PowerShell prints through [Console]::OutputEncoding, the OEM code page by default: ask for UTF-8 instead.
_UTF8 = "[Console]::OutputEncoding = [Text.Encoding]::UTF8; "

# The two groups' inbound rules from the effective policy (ActiveStore: local and Group Policy rules merged), one
# object per rule, with its port filter (read once per rule). Enabled/Direction/Action/Profile are cast to
# [string]: the enum's English name ("True", "Inbound", "Allow", "Domain, Private"), which Windows does not
# translate; without the cast ConvertTo-Json writes numbers, which the parser reads as well. LocalPort is an array
# ("137", "Any", "RPC-EPMap", ...).
FIREWALL_RULES_COMMAND = (
    _UTF8 + f"Get-NetFirewallRule -PolicyStore ActiveStore -Group '{NETWORK_DISCOVERY_GROUP}','{FILE_AND_PRINTER_SHARING_GROUP}'"
    " -Direction Inbound -ErrorAction Stop | ForEach-Object { $f = $_ | Get-NetFirewallPortFilter;"
    " $_ | Select-Object Name, DisplayName, Group,"
    " @{n='Enabled';e={[string]$_.Enabled}}, @{n='Direction';e={[string]$_.Direction}},"
    " @{n='Action';e={[string]$_.Action}}, @{n='Profile';e={[string]$_.Profile}},"
    " @{n='Protocol';e={[string]$f.Protocol}}, @{n='LocalPort';e={@($f.LocalPort)}} } | ConvertTo-Json -Depth 3"
)
# Enums left as they come (numbers): NetworkCategory 0 Public, 1 Private, 2 DomainAuthenticated.
CONNECTION_PROFILES_COMMAND = (
    _UTF8 + "Get-NetConnectionProfile -ErrorAction Stop | Select-Object Name, InterfaceAlias, InterfaceIndex,"
    " NetworkCategory, IPv4Connectivity, IPv6Connectivity | ConvertTo-Json"
)
# The effective (ActiveStore) per-profile settings; GpoBoolean: 0 False, 1 True, 2 NotConfigured.
FIREWALL_PROFILES_COMMAND = (
    _UTF8 + "Get-NetFirewallProfile -PolicyStore ActiveStore -ErrorAction Stop | Select-Object Name, Enabled,"
    " DefaultInboundAction, AllowLocalFirewallRules | ConvertTo-Json"
)
# Prints True or False (PowerShell does not translate booleans).
DOMAIN_MEMBER_COMMAND = "(Get-CimInstance -ClassName Win32_ComputerSystem -ErrorAction Stop).PartOfDomain"


def powershell(command: str) -> list[str]:
    """argv that runs one PowerShell command without the user's profile."""
    return ["powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", command]


def netsh_english(*args: str) -> list[str]:
    """argv that runs netsh under code page 437, which makes it print its English texts."""
    return ["cmd.exe", "/d", "/c", "chcp 437 >nul & netsh " + " ".join(args)]


# ---- bytes → text ----------------------------------------------------------------------------------------


def decode_output(data: bytes, codepage: int | None = None) -> str:
    """A command's output as text, whatever Windows wrote: UTF-8 or UTF-16 (with or without BOM), or the
    console's code page (`codepage`, e.g. 850 or 866). Never raises: undecodable bytes become U+FFFD."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    # UTF-16LE without a BOM (ASCII text then has a zero in every odd byte).
    if len(data) >= 4 and data[1::2].count(0) >= len(data) // 4:
        return data.decode("utf-16-le", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codepage:
        try:
            return data.decode(f"cp{codepage}", "replace")
        except LookupError:
            pass
    return data.decode("latin-1")


# ---- JSON as ConvertTo-Json writes it --------------------------------------------------------------------


def json_objects(text: str) -> list[dict[str, Any]] | None:
    """ConvertTo-Json output → its objects: one object (a single result) or an array of them; empty output is
    no object. None when the text is not JSON."""
    text = text.strip().lstrip("\ufeff")
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        # powershell.exe writes WARNING: lines to stdout when it is redirected: the JSON starts at a line of its own.
        start = re.search(r"^[\[{]", text, re.MULTILINE)
        try:
            data = json.loads(text[start.start() :]) if start else None
        except ValueError:
            return None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    return None


def enum_name(value: object, names: Mapping[int, str]) -> str | None:
    """An enum as ConvertTo-Json wrote it (its number, or its name when the command turned it into a string)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return names.get(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isdigit():
            return names.get(int(stripped))
        return next((name for name in names.values() if name.lower() == stripped.lower()), stripped or None)
    return None


ENABLED = {1: "True", 2: "False"}  # MSFT_NetFirewallRule.Enabled
DIRECTION = {1: "Inbound", 2: "Outbound"}
ACTION = {0: "NotConfigured", 2: "Allow", 3: "AllowBypass", 4: "Block"}
GPO_BOOLEAN = {0: "False", 1: "True", 2: "NotConfigured"}
NETWORK_CATEGORY = {0: "Public", 1: "Private", 2: "DomainAuthenticated"}
CATEGORY_PROFILE = {"Public": "Public", "Private": "Private", "DomainAuthenticated": "Domain"}
_PROFILE_BITS = {1: "Domain", 2: "Private", 4: "Public"}


def profile_names(value: object) -> frozenset[str]:
    """MSFT_NetFirewallRule.Profile (flags: 0 Any, 1 Domain, 2 Private, 4 Public; or "Domain, Private") → names."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return frozenset(PROFILES) if value == 0 else frozenset(n for bit, n in _PROFILE_BITS.items() if value & bit)
    if isinstance(value, str):
        parts = {p.strip().lower() for p in value.split(",")}
        if "any" in parts:
            return frozenset(PROFILES)
        return frozenset(p for p in PROFILES if p.lower() in parts)
    return frozenset()


@record
class Rule:
    """One firewall rule of a group, as Get-NetFirewallRule reports it."""

    name: str
    display_name: str
    group: str
    enabled: bool
    inbound: bool
    allow: bool
    profiles: frozenset[str]
    protocol: str = ""
    local_ports: tuple[str, ...] = ()

    @property
    def ports(self) -> str:
        ports = ",".join(self.local_ports)
        return f"{self.protocol.upper()} {ports}".strip() if self.protocol or ports else ""


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value if v is not None)
    return (str(value),)


PROTOCOL_NUMBERS = {"6": "TCP", "17": "UDP", "1": "ICMPv4", "58": "ICMPv6"}


def parse_firewall_rules(text: str) -> list[Rule] | None:
    """FIREWALL_RULES_COMMAND's output (or any Get-NetFirewallRule | Select-Object ... | ConvertTo-Json) → rules."""
    objects = json_objects(text)
    if objects is None:
        return None
    rules = []
    for obj in objects:
        protocol = str(obj.get("Protocol") or "")
        rules.append(
            Rule(
                name=str(obj.get("Name") or ""),
                display_name=str(obj.get("DisplayName") or obj.get("Name") or ""),
                group=str(obj.get("Group") or ""),
                enabled=enum_name(obj.get("Enabled"), ENABLED) == "True",
                inbound=enum_name(obj.get("Direction"), DIRECTION) == "Inbound",
                allow=enum_name(obj.get("Action"), ACTION) in ("Allow", "AllowBypass"),
                profiles=profile_names(obj.get("Profile")),
                protocol=PROTOCOL_NUMBERS.get(protocol, protocol),
                local_ports=_strings(obj.get("LocalPort")),
            )
        )
    return rules


@record
class ConnectionProfile:
    """One connected network (Get-NetConnectionProfile)."""

    alias: str
    category: str  # Public | Private | DomainAuthenticated
    name: str = ""

    @property
    def firewall_profile(self) -> str:
        return CATEGORY_PROFILE.get(self.category, "Public")


def parse_connection_profiles(text: str) -> list[ConnectionProfile] | None:
    objects = json_objects(text)
    if objects is None:
        return None
    profiles = []
    for obj in objects:
        category = enum_name(obj.get("NetworkCategory"), NETWORK_CATEGORY)
        if category is None:
            continue
        alias = str(obj.get("InterfaceAlias") or obj.get("Name") or "?")
        profiles.append(ConnectionProfile(alias, category, str(obj.get("Name") or "")))
    return profiles


@record
class FirewallProfile:
    """One profile of Windows Defender Firewall (Get-NetFirewallProfile -PolicyStore ActiveStore)."""

    name: str
    enabled: bool
    local_rules: bool  # False: AllowLocalFirewallRules is False, the GPO-only store applies
    default_inbound: str = ""


def parse_firewall_profiles(text: str) -> list[FirewallProfile] | None:
    objects = json_objects(text)
    if objects is None:
        return None
    profiles = []
    for obj in objects:
        name = str(obj.get("Name") or "")
        match = next((p for p in PROFILES if p.lower() == name.lower()), None)
        if match is None:
            continue
        profiles.append(
            FirewallProfile(
                name=match,
                # NotConfigured in the ActiveStore means the firewall's own default, which is on.
                enabled=enum_name(obj.get("Enabled"), GPO_BOOLEAN) != "False",
                local_rules=enum_name(obj.get("AllowLocalFirewallRules"), GPO_BOOLEAN) != "False",
                default_inbound=enum_name(obj.get("DefaultInboundAction"), ACTION) or "",
            )
        )
    return profiles


def parse_bool(text: str) -> bool | None:
    """'True' / 'False' as PowerShell prints a boolean (in every language)."""
    value = text.strip().lower()
    return True if value == "true" else False if value == "false" else None


# ---- netsh, in any language ------------------------------------------------------------------------------


def parse_dynamicport(text: str) -> tuple[int, int] | None:
    """`netsh int ipv4 show dynamicport tcp` in any language → (first, last): the two numbers after a colon are
    the start port and the number of ports (labels are translated, their order is not)."""
    numbers = [int(n) for n in re.findall(r"[:：]\s*(\d+)\s*$", text, re.MULTILINE)]
    if len(numbers) < 2:
        return None
    start, count = numbers[0], numbers[1]
    if not (0 < start <= 65535 and count > 0 and start + count - 1 <= 65535):
        return None
    return start, start + count - 1


@record
class NetshProfile:
    name: str
    state: str | None  # "ON" | "OFF" | None when the output is not English


def parse_allprofiles(text: str) -> list[NetshProfile]:
    """`netsh advfirewall show allprofiles` in any language: the sections come in the order Domain, Private,
    Public, each after a line of dashes; the state is read only from English output (ON/OFF), else None.

    Its `LocalFirewallRules  N/A (GPO-store only)` line is not read: it says that the setting exists only in a
    Group Policy store, and a machine without any GPO prints it too; whether local rules apply is
    AllowLocalFirewallRules in Get-NetFirewallProfile -PolicyStore ActiveStore."""
    sections = re.split(r"^-{10,}\s*$", text, flags=re.MULTILINE)[1:]
    profiles = []
    for name, section in zip(PROFILES, sections, strict=False):
        lines = [line.strip() for line in section.splitlines() if line.strip()]
        first = re.match(r"^State\s+(ON|OFF)\b", lines[0], re.IGNORECASE) if lines else None
        profiles.append(NetshProfile(name, first.group(1).upper() if first else None))
    return profiles


def ps_quote(text: str) -> str:
    """A PowerShell single-quoted string literal."""
    return "'" + text.replace("'", "''") + "'"


def active_profiles(connections: Sequence[ConnectionProfile]) -> list[str]:
    """The firewall profiles in force: one per connected network's category."""
    return sorted({c.firewall_profile for c in connections}, key=PROFILES.index)


def firewall_summary(profiles: Sequence[FirewallProfile]) -> tuple[str | None, list[str]]:
    """('Windows Defender Firewall (Domain, Private profiles on)' or None when all off, GPO-only notes)."""
    on = [p.name for p in profiles if p.enabled]
    notes = [
        f"LocalFirewallRules is GPO-only on the {p.name} profile: local rules are not applied"
        for p in profiles
        if not p.local_rules
    ]
    if not on:
        return None, notes
    return f"Windows Defender Firewall ({', '.join(on)} profile{'s' if len(on) > 1 else ''} on)", notes


# ---- connect() on Windows: the ICMP error behind a failed connect ------------------------------------------

WINDOWS_AF_INET = 2
WINDOWS_AF_INET6 = 23
# ICMP_ERROR_INFO (ws2ipdef.h): SOCKADDR_INET srcaddress (28 bytes), IPPROTO protocol (4), UINT8 type, UINT8 code.
_ICMP_ERROR_INFO = struct.Struct("<28sIBB")
ICMP_ERROR_INFO_SIZE = 36  # with the structure's trailing padding


def parse_icmp_error_info(data: bytes) -> tuple[int, int, int, str | None] | None:
    """TCP_ICMP_ERROR_INFO's ICMP_ERROR_INFO → (IP version, ICMP type, code, sender). Empty data (optlen 0) means
    no ICMP error was received since the connect call; None then."""
    if len(data) < _ICMP_ERROR_INFO.size:
        return None
    address, protocol, icmp_type, code = _ICMP_ERROR_INFO.unpack_from(data)
    family = int.from_bytes(address[:2], "little")
    sender = None
    if family == WINDOWS_AF_INET:
        sender = ".".join(str(b) for b in address[4:8])
    elif family == WINDOWS_AF_INET6:
        import ipaddress  # noqa: PLC0415 - only IPv6 senders need it

        sender = str(ipaddress.IPv6Address(address[8:24]))
    version = 6 if protocol == 58 or family == WINDOWS_AF_INET6 else 4
    return version, icmp_type, code, sender


def method_note(platform: str, requested: str, chosen: str) -> str | None:
    """What to tell the user when --method auto chose connect on Windows."""
    if platform.startswith("win") and requested == "auto" and chosen == "connect":
        return (
            "note: on Windows netcheck probes with connect() (its SYN engine needs Linux raw sockets; Npcap is not "
            "used): a reset is still told from silence, and from Windows build 19041 (Windows 10 2004) on a "
            "firewall's ICMP reject from an unreachable host"
        )
    return None


SYN_ON_WINDOWS = (
    "--method syn is not available on Windows: netcheck's SYN engine needs Linux raw sockets (Npcap is not used); "
    "use --method connect (or auto)"
)


def windows_firewall(outputs: Mapping[str, str | None]) -> tuple[str | None, list[str]] | None:
    """The host's firewall state from Get-NetFirewallProfile JSON ("windows-profiles"), else from netsh in any
    language (no GPO-only notes then: netsh does not tell); None when neither was read."""
    profiles = parse_firewall_profiles(outputs.get("windows-profiles") or "")
    if profiles:
        return firewall_summary(profiles)
    if not outputs.get("netsh"):
        return None
    sections = parse_allprofiles(outputs["netsh"] or "")
    if not sections:
        return None
    if not any(p.state for p in sections):
        return "Windows Defender Firewall (state unreadable: netsh did not print English)", []
    on = [p.name for p in sections if p.state == "ON"]
    return (f"Windows Defender Firewall ({', '.join(on)} profile{'s' if len(on) > 1 else ''} on)" if on else None), []
