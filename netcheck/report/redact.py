"""--redact: host names, addresses and identities replaced by stable pseudonyms, for tickets that leave the company.

Redaction works from the report's structure, not from what text looks like. Evidence is first flattened as the
JSON report writes it (`evidence_to_dict`), so a live run's typed observations and a loaded report's mappings
are redacted alike and nothing typed slips through. Next every field that can carry a name or an address is
read: the vantage points, each check's target, address and source host, and the
evidence (DNS servers, query names and answers, hosts-file entries with their aliases, PTR names, the system
resolver's addresses, ICMP senders, the address a responder answered as, certificate subjects and issuers,
raw banners). Each name gets one pseudonym (host-N, ip-N, ip6-N, org-N, email-N, line-N) in order of first
appearance. Then every string of the report (details, remediations, ids, evidence) is cut into tokens and each
token is looked up in that table: one dict lookup a token, so the cost is linear in the report's size, and a
word is only replaced when the structure named it (the product's file names, Acroinst.exe and Msi_setup.exe,
stay). Addresses are recognised wherever they stand. The Report is rebuilt with dataclasses.replace, so no
field is lost on the way.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from netcheck.model.checks import THIS_MACHINE, Report, Result, Vantage
from netcheck.report.json import evidence_to_dict

# A token: what can hold a name, an address (with a port or a zone), or an e-mail address; \w is Unicode, so
# an internationalised name is one token.
_TOKEN = re.compile(r"[\w.:%@-]+")
_TRAILING = ".:-"
_COMPOSITE = re.compile(r"[\w.:%@\\-]+")
"""Tokens joined by backslashes (DOMAIN\\user): the token pass replaces each part."""
_DOTTED_NAME = re.compile(r"(?:[\w-]+\.)+[^\W\d_][\w-]*")
_MAYBE_IP = re.compile(r"[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.%\w]*")
_PORT = re.compile(r"(.+):(\d{1,5})")

NAME_KEYS = frozenset(
    {
        "hostname", "target", "source_host", "qname", "server", "icmp_from", "address", "addresses", "system",
        "names", "nameservers", "search", "netbios", "llmnr", "answered_as", "peer", "ptr", "user", "account",
        "server_domain", "dns_domain", "account_domain",
    }
)  # fmt: skip
"""Evidence keys whose values are names or addresses, whole."""
DN_KEYS = frozenset({"subject", "issuer"})
"""Certificate names: every attribute value is an identity (CN, O, OU, emailAddress...), the country aside."""
RAW_KEYS = frozenset({"first_bytes", "banner", "comments", "software", "product", "error", "message", "tls_error"})
"""Text a server or a system sent: the names, e-mail and addresses inside are redacted."""
LINE_KEYS = frozenset({"text"})
"""A raw line of a file (a hosts-file problem): replaced whole."""
_DN_KINDS = {"CN": "host", "O": "org", "OU": "org", "emailAddress": "email", "C": ""}
_DN_PART = re.compile(r"(?:^|,\s*)([A-Za-z][\w.]*)=((?:[^,\\]|\\.)*)")


def _key(token: str) -> str:
    return token.lower().rstrip(".")


@functools.lru_cache(maxsize=1 << 16)
def _ip_kind(token: str) -> str | None:
    """'ip' or 'ip6' when `token` is an address that names a machine; None otherwise (wildcards, multicast too)."""
    if (":" not in token and token.count(".") != 3) or not _MAYBE_IP.fullmatch(token):
        return None
    try:
        address = ipaddress.ip_address(token.split("%", 1)[0])
    except ValueError:
        return None
    if address.is_unspecified or address.is_multicast:
        return None
    return "ip" if address.version == 4 else "ip6"


def _alternate_forms(name: str) -> list[str]:
    """An internationalised name in its other form (Unicode <-> punycode), so both get the same pseudonym."""
    forms = []
    try:
        if not name.isascii():
            forms.append(name.encode("idna").decode("ascii"))
        elif "xn--" in name:
            forms.append(name.encode("ascii").decode("idna"))
    except UnicodeError:
        pass
    return [_key(f) for f in forms]


class Pseudonyms:
    """Sensitive tokens → pseudonyms, numbered per kind in order of first appearance."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}
        self.counters: dict[str, int] = {}
        self._cache: dict[str, str] = {}
        self._texts: dict[str, str] = {}
        self.odd: dict[str, str] = {}
        """Names that are no single token (a PTR answer with control characters or markup), in every written
        form (as is, and as Python's repr escapes it): replaced whole in texts, before the tokens."""
        self._odd_pattern: re.Pattern[str] | None = None

    def add(self, kind: str, token: str, *, whole: bool = False) -> str | None:
        """The pseudonym of `token` (a new one on first sight). A name that is no single token is also replaced
        whole in texts when it holds what no name of the grammar holds (control characters, markup, spaces), or
        when `whole` says it is one name whatever it holds (a PTR answer); DOMAIN\\user stays two tokens."""
        key = _key(token.strip())
        if not key or key == THIS_MACHINE:
            return None
        if key in self.table:
            return self.table[key]
        kind = _ip_kind(key) or kind
        self.counters[kind] = self.counters.get(kind, 0) + 1
        pseudonym = f"{kind}-{self.counters[kind]}"
        self.table[key] = pseudonym
        for alternate in _alternate_forms(key):
            self.table.setdefault(alternate, pseudonym)
        if not _TOKEN.fullmatch(key) and (whole or not _COMPOSITE.fullmatch(key)):
            for form in (key, repr(key)[1:-1]):
                self.odd.setdefault(form, pseudonym)
            self._odd_pattern = None
            self._texts.clear()
        return pseudonym

    def _odd_names(self, text: str) -> str:
        if self._odd_pattern is None:
            names = sorted(self.odd, key=len, reverse=True)
            self._odd_pattern = re.compile("|".join(map(re.escape, names)), re.IGNORECASE)
        return self._odd_pattern.sub(lambda m: self.odd.get(m.group(0).lower(), m.group(0)), text)

    def name(self, value: str) -> None:
        """A whole value that is a name or an address (with a port, perhaps)."""
        value = value.strip().strip("[]")
        if not value or value == THIS_MACHINE:
            return
        if " " in value:  # not a name ("merged from 3 vantage points"): only the names and addresses inside
            self.raw(value)
            return
        if _ip_kind(value):
            self.add("ip", value)
            return
        port = _PORT.fullmatch(value)
        if port and (_ip_kind(port[1].strip("[]")) or not _ip_kind(value)):
            self.name(port[1])
            return
        self.add("host", value)

    def raw(self, text: str) -> None:
        """Free text: the addresses, dotted names and e-mail addresses in it."""
        for found in _TOKEN.findall(text):
            token = found.rstrip(_TRAILING)
            if "@" in token:
                self.add("email", token)
            elif _ip_kind(token):
                self.add("ip", token)
            elif _DOTTED_NAME.fullmatch(token):
                self.add("host", token)

    def distinguished_name(self, text: str) -> list[str]:
        """A certificate name: every value but the country; multi-word values are returned as phrases."""
        phrases = []
        for attribute, raw_value in _DN_PART.findall(text):
            kind = _DN_KINDS.get(attribute, "name")
            value = raw_value.strip()
            if not kind or not value:
                continue
            self.add(kind, value)
            if " " in value or "," in value:
                phrases.append(value)
        return phrases

    def token(self, token: str) -> str:
        """A token's redacted form: itself unless the structure named it (or it is an address)."""
        cached = self._cache.get(token)
        if cached is None:
            cached = self._cache[token] = self._token(token)
        return cached

    def _token(self, token: str) -> str:  # noqa: PLR0911 - one return per shape a token can have
        core = token.rstrip(_TRAILING)
        tail = token[len(core) :]
        if not core:
            return token
        found = self.table.get(_key(core))
        if found is not None:
            return found + tail
        if _ip_kind(core):
            return f"{self.add('ip', core)}{tail}"
        port = _PORT.fullmatch(core)
        if port:
            return f"{self.token(port[1])}:{port[2]}{tail}"
        if ":" in core:  # "name:ms.corp.example", "tcp:console"
            return ":".join(self.token(part) for part in core.split(":")) + tail
        if "@" in core:  # "user@host", "name:ms@console1" (a merged report's ids)
            return "@".join(self.token(part) for part in core.split("@")) + tail
        return token

    def text(self, text: str, phrases: Mapping[str, str] | None = None) -> str:
        for phrase, pseudonym in (phrases or {}).items():
            if phrase in text:
                text = text.replace(phrase, pseudonym)
        if self.odd:
            text = self._odd_names(text)
        done = self._texts.get(text)  # reports repeat the same strings (purposes, details, evidence values)
        if done is None:
            done = self._texts[text] = _TOKEN.sub(lambda m: self.token(m.group(0)), text)
        return done


MAX_DEPTH = 32
"""Evidence nests a few levels; anything deeper (a crafted report file) is dropped, never walked into a crash."""
TOO_DEEP = "(nested too deeply: redacted)"


def _collect_evidence(  # noqa: PLR0912 - one branch per kind of value and of evidence key
    names: Pseudonyms, value: Any, key: str, phrases: dict[str, str], depth: int = 0
) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if key == "ptr":  # {address: [names]}: each a name whole, whatever it holds (a PTR answer is any bytes)
                names.name(str(k))
                for answer in v if isinstance(v, list | tuple) else (v,):
                    if isinstance(answer, str):
                        names.add("host", answer, whole=True)
            else:
                _collect_evidence(names, v, str(k), phrases, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_evidence(names, item, key, phrases, depth + 1)
    elif isinstance(value, str):
        if key in NAME_KEYS:
            names.name(value)
        elif key in DN_KEYS:
            for phrase in names.distinguished_name(value):
                phrases[phrase] = names.table.get(_key(phrase), phrase)
        elif key in LINE_KEYS and value.strip():
            names.raw(value)
            phrases[value] = names.add("line", value) or value
        elif key in RAW_KEYS:
            names.raw(value)
        else:
            for token in _TOKEN.findall(value):  # addresses wherever they stand
                if _ip_kind(token.rstrip(_TRAILING)):
                    names.add("ip", token.rstrip(_TRAILING))


def _collect_vantage(names: Pseudonyms, vantage: Vantage) -> None:
    names.name(vantage.hostname)
    for address in vantage.addresses:
        names.name(address)


def flat_evidence(report: Report) -> list[dict[str, Any]]:
    """Each result's evidence as the JSON report writes it: a live run's typed observations and a loaded
    report's mappings look the same to redaction."""
    return [evidence_to_dict(result.evidence) for result in report.results]


def collect(report: Report, evidence: list[dict[str, Any]] | None = None) -> tuple[Pseudonyms, list[dict[str, str]]]:
    """Every sensitive token of the report, and each result's multi-word phrases (certificate organisations,
    raw file lines) that are replaced whole within that result. `evidence`: flat_evidence(report), if at hand."""
    flat = flat_evidence(report) if evidence is None else evidence
    names = Pseudonyms()
    for vantage in (report.vantage, *report.merged_from):
        _collect_vantage(names, vantage)
    per_result = []
    for result, result_evidence in zip(report.results, flat, strict=True):
        if result.source_host:
            names.name(result.source_host)
        names.name(result.check.target.name)
        if result.address:
            names.name(result.address)
        phrases: dict[str, str] = {}
        _collect_evidence(names, result_evidence, "", phrases)
        per_result.append(dict(sorted(phrases.items(), key=lambda item: -len(item[0]))))
    return names, per_result


def _scrub(names: Pseudonyms, value: Any, phrases: Mapping[str, str], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, str):
        return names.text(value, phrases)
    if isinstance(value, Mapping):
        return {_scrub(names, k, phrases, depth + 1): _scrub(names, v, phrases, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(names, v, phrases, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(names, v, phrases, depth + 1) for v in value)
    return value


def _redact_result(names: Pseudonyms, result: Result, evidence: dict[str, Any], phrases: Mapping[str, str]) -> Result:
    def text(value: str) -> str:
        return names.text(value, phrases)

    check = result.check
    target = replace(check.target, name=text(check.target.name))
    return replace(
        result,
        check=replace(check, id=text(check.id), target=target, purpose=text(check.purpose), skip_reason=text(check.skip_reason)),
        detail=text(result.detail),
        remediation=text(result.remediation),
        address=text(result.address) if result.address else result.address,
        evidence=_scrub(names, evidence, phrases),
        source_host=text(result.source_host),
    )


def _redact_vantage(names: Pseudonyms, vantage: Vantage) -> Vantage:
    return replace(vantage, hostname=names.text(vantage.hostname), addresses=tuple(names.text(a) for a in vantage.addresses))


def redact(report: Report) -> Report:
    """The same report, every name and address replaced by its pseudonym; every field kept."""
    evidence = flat_evidence(report)  # typed evidence becomes the JSON mappings first: nothing typed slips through
    names, per_result = collect(report, evidence)
    results = tuple(
        _redact_result(names, r, e, phrases) for r, e, phrases in zip(report.results, evidence, per_result, strict=True)
    )
    return replace(
        report,
        vantage=_redact_vantage(names, report.vantage),
        merged_from=tuple(_redact_vantage(names, v) for v in report.merged_from),
        results=results,
    )
