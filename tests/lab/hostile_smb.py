"""A hostile SMB server for the lab: it answers the negotiation (SMB 2.0.2), then resets the connection at
session setup (`python3 hostile_smb.py ADDRESS PORT`)."""

from __future__ import annotations

import socket
import struct
import sys
import threading

from impacket import smb3structs as s3


def reply(request: bytes) -> bytes:
    resp = s3.SMB2Negotiate_Response()
    resp["SecurityMode"] = 1
    resp["DialectRevision"] = 0x0202
    resp["ServerGuid"] = b"N" * 16
    resp["Capabilities"] = 0
    resp["MaxTransactSize"] = 65536
    resp["MaxReadSize"] = 65536
    resp["MaxWriteSize"] = 65536
    resp["SystemTime"] = 0
    resp["ServerStartTime"] = 0
    resp["SecurityBufferOffset"] = 0x80
    resp["SecurityBufferLength"] = 0
    resp["Buffer"] = b""
    packet = s3.SMB2Packet()
    packet["Flags"] = s3.SMB2_FLAGS_SERVER_TO_REDIR
    packet["Command"] = s3.SMB2_NEGOTIATE
    packet["Status"] = 0
    if request[:4] == b"\xfeSMB":
        packet["MessageID"] = struct.unpack_from("<Q", request, 24)[0]
    packet["Data"] = resp.getData()
    data = packet.getData()
    return struct.pack(">I", len(data)) + data


def recv_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        part = conn.recv(size - len(data))
        if not part:
            return None
        data += part
    return data


def recv_message(conn: socket.socket) -> bytes | None:
    head = recv_exactly(conn, 4)
    return None if head is None else recv_exactly(conn, struct.unpack(">I", head)[0] & 0xFFFFFF)


def serve(conn: socket.socket) -> None:
    try:
        while (message := recv_message(conn)) is not None:
            if message[:4] == b"\xfeSMB" and struct.unpack_from("<H", message, 12)[0] != s3.SMB2_NEGOTIATE:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
                return
            conn.sendall(reply(message))
    finally:
        conn.close()


def main() -> None:
    address, port = sys.argv[1], int(sys.argv[2])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(16)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
