"""Names: every path (DNS per server, the hosts file, the system resolver, NetBIOS, LLMNR) judged together."""

from __future__ import annotations

from netcheck.model.checks import Check, Result
from netcheck.model.kinds import State, Verdict
from netcheck.model.observations import NameObservation


def _paths_summary(obs: NameObservation) -> str:
    parts = []
    for answer in obs.dns:
        said = ", ".join(answer.addresses) or answer.rcode
        more = f" and {answer.more} more" if answer.more else ""
        ttl = f" ttl {answer.ttl}" if answer.ttl is not None else ""
        ignored = f" (ignored {answer.ignored} record(s) for other names)" if answer.ignored else ""
        parts.append(f"DNS {answer.server}: {said}{more}{ttl}{ignored}")
    if not obs.dns:
        parts.append("DNS: no name server configured")
    if obs.hosts:
        parts.append("hosts: " + ", ".join(f"{e.address} (line {e.line})" for e in obs.hosts))
    else:
        parts.append("hosts: -")
    system_more = f" and {obs.system_more} more" if obs.system_more else ""
    parts.append(f"system: {', '.join(obs.system) or obs.system_error or '-'}{system_more}")
    for label, found in (("NetBIOS", obs.netbios), ("LLMNR", obs.llmnr)):
        if found is not None:
            parts.append(f"{label}: {', '.join(found) or 'no answer'}")
    return "; ".join(parts)


def _hosts_line_fix(obs: NameObservation, address: str) -> str:
    return f"add the line '{address} {obs.name}' to the hosts file ({obs.hosts_path or 'the hosts file'})"


def classify_name(check: Check, obs: NameObservation) -> Result:
    """The name check: pass when a path resolves and all agree; fail on a stale hosts entry or when nothing
    (that the product uses: DNS, hosts file, system resolver) resolves; warn when only the hosts file does."""
    name = obs.name
    dns_addresses, hosts_addresses, system = set(obs.dns_addresses), set(obs.hosts_addresses), set(obs.system)
    fallback = tuple(obs.netbios or ()) + tuple(obs.llmnr or ())
    summary = _paths_summary(obs)
    state = State.RESOLVED if obs.system else State.UNRESOLVED
    address = obs.system[0] if obs.system else None

    def result(verdict: Verdict, detail: str, remediation: str = "") -> Result:
        return Result(check, state, verdict, f"{detail} [{summary}]", remediation, address, obs, obs.elapsed_ms)

    if not (dns_addresses or hosts_addresses or system):
        if fallback:
            via = "NetBIOS" if obs.netbios else "LLMNR"
            return result(
                Verdict.FAIL,
                f"{name} resolves only through {via} ({fallback[0]}), which the product does not use",
                f"Add an A record {name} -> {fallback[0]} in DNS, or {_hosts_line_fix(obs, fallback[0])} of every machine "
                "that connects to it.",
            )
        servers = ", ".join(obs.dns_config.nameservers) or "none configured"
        return result(
            Verdict.FAIL,
            f"{name} does not resolve through DNS (servers: {servers}), the hosts file or the system resolver",
            f"Add an A record for {name} in DNS, or {_hosts_line_fix(obs, f'<address of {name}>')} of every machine "
            "that connects to it.",
        )
    if hosts_addresses and dns_addresses and not hosts_addresses & dns_addresses:
        entry = obs.hosts[0]
        right = obs.dns_addresses[0]
        return result(
            Verdict.FAIL,
            f"stale hosts entry: line {entry.line} of {obs.hosts_path} maps {name} to {entry.address}, DNS says {right}",
            f"Change line {entry.line} of {obs.hosts_path} to '{right} {name}', or delete it so that DNS is used.",
        )
    if not system:
        known = (obs.dns_addresses or obs.hosts_addresses)[0]
        path = "DNS" if dns_addresses else "the hosts file"
        return result(
            Verdict.FAIL,
            f"the system resolver cannot resolve {name} ({obs.system_error or 'no address'}), though {path} gives {known}",
            f"Point this machine at a name server that knows {name}, or {_hosts_line_fix(obs, known)}.",
        )
    warnings, fixes = [], []
    if system and not system & (dns_addresses | hosts_addresses):
        warnings.append(f"the system resolver says {', '.join(obs.system)}, which neither DNS nor the hosts file gives")
        fixes.append("Check nsswitch/resolver caches (nscd, systemd-resolved; ipconfig /flushdns on Windows).")
    if hosts_addresses and not dns_addresses:
        line = obs.hosts[0]
        warnings.append(f"{name} resolves only through the hosts file (line {line.line})")
        fixes.append(
            f"Add an A record {name} -> {line.address} in DNS, or keep the line '{line.address} {name}' in the hosts file "
            "of every machine that connects to it (agents on another subnet need it most)."
        )
    said = {a.server: (", ".join(sorted(a.addresses)) or a.rcode) for a in obs.dns}
    if len(set(said.values())) > 1:
        warnings.append("the name servers disagree: " + "; ".join(f"{server} says {value}" for server, value in said.items()))
        fixes.append("Fix or remove the name server that differs: agents configured with it will resolve differently.")
    for ip, names in obs.ptr:
        if names and not any(n.lower() == name.lower() or n.lower().split(".")[0] == name.lower().split(".")[0] for n in names):
            warnings.append(f"reverse lookup of {ip} names {', '.join(names)}, not {name}")
            fixes.append(f"Correct the PTR record of {ip}.")
    for problem in obs.hosts_problems:
        warnings.append(f"hosts file {problem.describe()}")
        fixes.append(f"Fix line {problem.line} of {obs.hosts_path}.")
    if warnings:
        return result(Verdict.WARN, "; ".join(warnings), " ".join(dict.fromkeys(fixes)))
    ptr = next((names for _ip, names in obs.ptr if names), ())
    reverse = f", PTR {ptr[0]}" if ptr else ""
    return result(Verdict.PASS, f"{name} resolves to {', '.join(obs.system)}; every path agrees{reverse}")
