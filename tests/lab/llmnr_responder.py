"""A minimal LLMNR responder for the lab (RFC 4795): answers A queries for one name, unicast to the asker.

Usage: python3 llmnr_responder.py NAME ADDRESS   (run inside the host's namespace; stops on SIGTERM)
"""

from __future__ import annotations

import signal
import socket
import sys

import dns.message
import dns.rdatatype
import dns.rrset


def main() -> None:
    name, address = sys.argv[1].lower().rstrip("."), sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 5355))
    membership = socket.inet_aton("224.0.0.252") + socket.inet_aton(address)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    print("ready", flush=True)
    while True:
        data, peer = sock.recvfrom(2048)
        try:
            query = dns.message.from_wire(data)
        except Exception as exc:  # noqa: BLE001 - anything that is not a query is logged and ignored
            print(f"ignored {len(data)} bytes from {peer}: {exc}", flush=True)
            continue
        if not query.question:
            continue
        question = query.question[0]
        if question.name.to_text().rstrip(".").lower() != name or question.rdtype != dns.rdatatype.A:
            continue
        response = dns.message.make_response(query)
        response.flags &= ~0x0100  # LLMNR has no RD bit in responses
        response.answer.append(dns.rrset.from_text(question.name, 30, "IN", "A", address))
        sock.sendto(response.to_wire(), peer)


if __name__ == "__main__":
    main()
