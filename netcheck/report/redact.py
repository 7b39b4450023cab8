"""--redact: host names and addresses replaced by stable pseudonyms, for tickets that leave the company.

Redaction works on the report's JSON form, so every format renders the same redacted report. Sensitive
tokens are the vantage and target names, every IP address anywhere, and every dotted DNS name in the
evidence (PTR names, query names, certificate subjects...). Each token gets one pseudonym (host-N, ip-N),
numbered in order of first appearance, and is replaced wherever it stands as a whole name.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from netcheck.model import Report
from netcheck.plan import THIS_MACHINE
from netcheck.report.json import report_from_dict, report_to_dict

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6_CANDIDATE = re.compile(r"(?<![0-9A-Za-z:])[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+(?![0-9A-Za-z:])")
_DOTTED_NAME = re.compile(r"(?<![A-Za-z0-9_.-])(?:[A-Za-z0-9_-]+\.)+[A-Za-z][A-Za-z0-9-]*(?![A-Za-z0-9_-])")
_NAME_KEYS = {"hostname", "target", "source_host", "qname", "server", "icmp_from", "user", "account"}


def _walk(value: Any, found: list[tuple[str, str]], key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(k, found)
            _walk(v, found, str(k))
    elif isinstance(value, list):
        for item in value:
            _walk(item, found, key)
    elif isinstance(value, str):
        for match in _IPV4.findall(value):
            found.append(("ip", match))
        for match in _IPV6_CANDIDATE.findall(value):
            try:
                ipaddress.IPv6Address(match.split("%")[0])
            except ValueError:
                continue
            found.append(("ip6", match))
        if key in _NAME_KEYS and value and value != THIS_MACHINE and " " not in value:
            found.append(("host", value))
        for match in _DOTTED_NAME.findall(value):
            found.append(("host", match))


def pseudonyms(data: dict[str, Any]) -> dict[str, str]:
    """Every sensitive token of a report dict → its pseudonym, stable for a given report."""
    found: list[tuple[str, str]] = []
    _walk(data, found)
    for check in data.get("checks", []):
        found.append(("host", check["target"]))  # single-label names are only known as targets
    mapping: dict[str, str] = {}
    counters: dict[str, int] = {}
    for kind, token in found:
        if token in mapping or _is_protocol_word(token):
            continue
        counters[kind] = counters.get(kind, 0) + 1
        mapping[token] = f"{kind}-{counters[kind]}"
    return mapping


def _is_protocol_word(token: str) -> bool:
    """Addresses that name no machine of the deployment: wildcards, loopback, multicast."""
    try:
        address = ipaddress.ip_address(token.split("%", maxsplit=1)[0])
    except ValueError:
        return token == THIS_MACHINE
    return address.is_unspecified or address.is_multicast


def redact_dict(data: dict[str, Any]) -> dict[str, Any]:
    mapping = pseudonyms(data)
    if not mapping:
        return data
    alternatives = "|".join(re.escape(token) for token in sorted(mapping, key=len, reverse=True))
    # A token counts only as a whole name: not inside a longer name, number or address ("ms" in "items",
    # "198.18.0.5" in "198.18.0.53"); a trailing dot that ends a sentence is fine.
    pattern = re.compile(rf"(?<![A-Za-z0-9_.-])(?:{alternatives})(?![A-Za-z0-9_]|-(?!>)|\.[A-Za-z0-9])")

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {scrub(k): scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str):
            return pattern.sub(lambda m: mapping[m.group(0)], value)
        return value

    return scrub(data)  # type: ignore[no-any-return]


def redact(report: Report) -> Report:
    return report_from_dict(redact_dict(report_to_dict(report)))
