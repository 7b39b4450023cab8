"""ICMP errors: what one says (type, code, sender) and the state it means for a probed link.

Shared by the connect probe, the SYN engine and the observations; it imports nothing that does I/O and
nothing heavy, so the SYN engine's process can start before netcheck has imported the rest of a run.
"""

from __future__ import annotations

from netcheck.model import State
from netcheck.record import record

ICMP4_CODE_NAMES = {
    0: "net-unreachable",
    1: "host-unreachable",
    2: "protocol-unreachable",
    3: "port-unreachable",
    9: "net-admin-prohibited",
    10: "host-admin-prohibited",
    13: "admin-prohibited",
}


@record(frozen=True, slots=True)
class IcmpError:
    """An ICMP error the kernel tied to our socket (or saw for our SYN)."""

    version: int
    type: int
    code: int
    sender: str | None

    def describe(self) -> str:
        name = ICMP4_CODE_NAMES.get(self.code, f"code {self.code}") if self.version == 4 else f"code {self.code}"
        where = f" from {self.sender}" if self.sender else ""
        return f"ICMP{'' if self.version == 4 else 'v6'} {self.type}/{self.code} {name}{where}"


ICMP_DEST_UNREACH = 3
ICMP_TIME_EXCEEDED = 11
ICMP6_DEST_UNREACH = 1
# ICMPv4 destination-unreachable codes that mean "no route to that host or network" rather than
# "a device refused it": net/host unreachable, unknown, isolated, for TOS.
_ICMP4_UNREACHABLE_CODES = {0, 1, 5, 6, 7, 8, 11, 12}
# ICMPv6 destination-unreachable: 0 no route, 2 beyond scope, 3 address unreachable.
_ICMP6_UNREACHABLE_CODES = {0, 2, 3}


def state_from_icmp(icmp: IcmpError) -> State:
    """ICMP error → state: no route is `unreachable`, everything else (admin-prohibited, …) is `filtered`."""
    if icmp.version == 4:
        if icmp.type == ICMP_TIME_EXCEEDED:
            return State.UNREACHABLE
        if icmp.type == ICMP_DEST_UNREACH and icmp.code in _ICMP4_UNREACHABLE_CODES:
            return State.UNREACHABLE
        return State.FILTERED
    if icmp.type == ICMP6_DEST_UNREACH and icmp.code in _ICMP6_UNREACHABLE_CODES:
        return State.UNREACHABLE
    return State.FILTERED
