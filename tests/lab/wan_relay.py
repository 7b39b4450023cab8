"""A userspace stand-in for `tc qdisc add dev X root netem delay D loss L`, for kernels without sch_netem.

Usage (as root, inside the router's namespace): python3 wan_relay.py DEVICE DELAY_MS LOSS_PERCENT MARK

It creates the TUN device DEVICE; whatever the router routes into it is dropped with probability LOSS_PERCENT,
held DELAY_MS, then sent on through a raw socket whose packets carry firewall mark MARK (a policy rule
routes marked packets the ordinary way, so they do not come back here). Route both directions of a path
through DEVICE and each direction gets the delay and the loss, as netem on both ends of a link would.
Prints "ready" once the device exists; stops on SIGTERM.
"""

from __future__ import annotations

import collections
import fcntl
import os
import random
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SO_MARK = 36


def main() -> None:
    device, delay_s, loss = sys.argv[1], float(sys.argv[2]) / 1000, float(sys.argv[3]) / 100
    mark = int(sys.argv[4])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tun = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI))
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPPROTO_RAW implies IP_HDRINCL
    out.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
    out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
    held: collections.deque[tuple[float, bytes]] = collections.deque()  # one fixed delay: arrival order is due order
    print("ready", flush=True)
    while True:
        wait = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
        readable, _, _ = select.select([tun], [], [], wait)
        now = time.monotonic()
        if readable:
            while True:
                try:
                    packet = os.read(tun, 65535)
                except BlockingIOError:
                    break
                if len(packet) >= 20 and packet[0] >> 4 == 4 and random.random() >= loss:
                    held.append((now + delay_s, packet))
        while held and held[0][0] <= now:
            _, packet = held.popleft()
            try:
                out.sendto(packet, (socket.inet_ntoa(packet[16:20]), 0))
            except OSError as exc:
                print(f"send failed: {exc}", flush=True)


if __name__ == "__main__":
    main()
