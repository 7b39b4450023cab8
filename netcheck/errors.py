"""The errors the CLI turns into exit codes: bad input from the user (exit 2)."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: the CLI reports it in one line and exits with 2."""
