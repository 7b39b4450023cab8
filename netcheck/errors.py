"""The errors the CLI turns into exit codes: bad input from the user (exit 2), and a command that could not work."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: the CLI reports it in one line and exits with 2."""


class CommandError(Exception):
    """A command that could not do its work (listen found no port to answer on, its --log could not be
    written): the CLI reports the message in one line and exits with `code`."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
