"""A hostile SSH server (asyncssh) for the lab: its host key is trusted, and it refuses every password with a
reason that quotes the password it was sent, as the mode says (`python3 hostile_ssh.py ADDRESS PORT KEY MODE`).

Modes: `long` ("x" * 190 + the password: a reason cut at 200 characters ends inside it), `repr` (Python's
repr of it), `json` (JSON-escaped), `percent` (percent-encoded)."""

from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import quote

import asyncssh

ECHOES = {
    "long": lambda password: "x" * 190 + password,
    "repr": repr,
    "json": json.dumps,
    "percent": lambda password: quote(password, safe=""),
}


class Refusing(asyncssh.SSHServer):
    def __init__(self, mode: str) -> None:
        self.echo = ECHOES[mode]

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        raise asyncssh.PermissionDenied(self.echo(password))


async def main() -> None:
    address, port, key, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    await asyncssh.create_server(lambda: Refusing(mode), address, port, server_host_keys=[key])
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
