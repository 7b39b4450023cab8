"""What every classifier shares: results for checks that were not probed or could not be run."""

from __future__ import annotations

from netcheck.model.checks import Check, Result
from netcheck.model.kinds import State, Verdict


def where(check: Check, address: str | None) -> str:
    """'win1 (198.18.0.31)', or just the name when it is the address."""
    return f"{check.target.name} ({address})" if address and address != check.target.name else check.target.name


def unresolved_link(check: Check, name_check_id: str) -> Result:
    """A link whose name did not resolve: not probed; the name check carries the failure, once."""
    return Result(check, State.UNRESOLVED, Verdict.SKIP, f"not probed: {check.target.name} did not resolve (see {name_check_id})")


def skipped_link(check: Check) -> Result:
    return Result(check, State.NOT_PROBED, Verdict.SKIP, f"not probed from here: {check.skip_reason}")


def error_result(check: Check, message: str) -> Result:
    """netcheck itself could not run the check: never a guess, always `error` with the reason."""
    return Result(check, State.ERROR, Verdict.ERROR, f"netcheck could not run this check: {message}")
