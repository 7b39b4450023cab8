"""What the SYN engine (netcheck.observe.probes.syn) reports of each probe, in plain values (Outcome), and those
outcomes as typed observations and packet evidence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from netcheck.model.kinds import State
from netcheck.model.observations import IcmpError, Observation, Reply, TcpReply, state_from_icmp
from netcheck.model.record import record


@record
class SynReply:
    """The answer to one SYN, reduced to what decides its state."""

    tcp_flags: str | None
    icmp: IcmpError | None
    ttl: int
    sender: str
    rtt_ms: float


def state_from_syn_reply(reply: SynReply | None, *, no_arp_answer: bool = False) -> State:
    """SYN-ACK → open, RST → closed, ICMP error → by its code, silence → filtered (unreachable without ARP)."""
    if reply is None:
        return State.UNREACHABLE if no_arp_answer else State.FILTERED
    if reply.icmp is not None:
        return state_from_icmp(reply.icmp)
    flags = reply.tcp_flags or ""
    if "R" in flags:
        return State.CLOSED
    if "S" in flags and "A" in flags:
        return State.OPEN
    return State.FILTERED


ReplyFields = tuple[str | None, tuple[int, int, int, str | None] | None, int, str, float]
Outcome = tuple[ReplyFields | None, int, bool, float | None, bool, float, int]
"""What became of one probe, in plain values : the reply (tcp flags, ICMP version/type/code/
sender, ttl, sender, rtt ms) or None, attempts, blocked by this machine's firewall, the silent wait (ms), no ARP
answer, when it finished (ms since the batch started), the source port."""


def reply_evidence(
    reply: SynReply | None,
    *,
    attempts: int = 1,
    source_port: int | None = None,
    timeout_ms: float | None = None,
    no_arp_answer: bool = False,
) -> TcpReply:
    """What came back for a SYN, as packet evidence (`timeout_ms`: how long a silent probe waited last)."""
    if reply is None:
        return TcpReply("syn", Reply.NONE, attempts, timeout_ms=timeout_ms, source_port=source_port, no_arp_answer=no_arp_answer)
    if reply.icmp is not None:
        return TcpReply(
            "syn",
            Reply.ICMP,
            attempts,
            reply.ttl,
            reply.rtt_ms,
            source_port=source_port,
            icmp=reply.icmp,
            no_arp_answer=no_arp_answer,
        )
    flags = reply.tcp_flags or ""
    name = Reply.SYN_ACK if "S" in flags and "A" in flags else Reply.RST if "R" in flags else Reply.TCP
    return TcpReply(
        "syn", name, attempts, reply.ttl, reply.rtt_ms, tcp_flags=flags, source_port=source_port, no_arp_answer=no_arp_answer
    )


def observation_from(address: str, outcome: Outcome) -> Observation:
    """The Observation of one probe's outcome (see Outcome)."""
    fields, attempts, blocked, timeout_ms, no_arp, finished_ms, sport = outcome
    reply = None
    if fields is not None:
        flags, icmp, ttl, sender, rtt_ms = fields
        reply = SynReply(flags, IcmpError(*icmp) if icmp else None, ttl, sender, rtt_ms)
    evidence = reply_evidence(reply, attempts=attempts, source_port=sport, timeout_ms=timeout_ms, no_arp_answer=no_arp)
    if blocked:
        message = "this machine's firewall refused to send the SYN"
        evidence = replace(evidence, reply=Reply.ERROR, error="EPERM", message=message)
        return Observation(State.BLOCKED_LOCALLY, address, evidence, elapsed_ms=finished_ms)
    # A failed ARP lookup comes back as this machine's own host-unreachable: an ICMP state, with no_arp_answer.
    state = state_from_syn_reply(reply, no_arp_answer=no_arp)
    return Observation(state, address, evidence, elapsed_ms=finished_ms)


def deliver(
    key: tuple[str, int],
    outcome: Outcome,
    results: dict[tuple[str, int], Observation],
    on_observation: Callable[[tuple[str, int], Observation], None] | None,
) -> None:
    """One probe's outcome as its Observation, kept in `results` and handed to `on_observation` at once."""
    results[key] = observation = observation_from(key[0], outcome)
    if on_observation:
        on_observation(key, observation)
