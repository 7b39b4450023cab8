"""netcheck.model.record: frozen to mypy, plain slots at run time, and otherwise what a frozen dataclass is."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from netcheck.model.checks import Check, Result, Target
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.model.observations import Reply, TcpReply
from netcheck.model.record import record

mypy_api = pytest.importorskip("mypy.api")


@record
class Pair:
    left: int
    right: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class FrozenPair:
    left: int
    right: tuple[str, ...] = ()


def test_mypy_rejects_assigning_a_field_of_a_record(tmp_path: Path) -> None:
    source = tmp_path / "assigns.py"
    source.write_text(
        textwrap.dedent(
            """
            from netcheck.model.kinds import Role
            from netcheck.model.checks import Target
            from netcheck.model.observations import Reply, TcpReply

            target = Target("win1", Role.AGENT)
            target.name = "win2"
            reply = TcpReply("syn", Reply.RST)
            reply.attempts += 1
            """
        )
    )
    out, _err, status = mypy_api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(source)])
    assert status == 1, out
    assert 'Property "name" defined in "Target" is read-only' in out
    assert 'Property "attempts" defined in "TcpReply" is read-only' in out


def test_a_record_compares_hashes_and_replaces_as_a_frozen_dataclass() -> None:
    assert Pair(1, ("a",)) == Pair(1, ("a",)) != Pair(2)
    assert hash(Pair(1, ("a",))) == hash(FrozenPair(1, ("a",))) == hash(Pair(1, ("a",)))
    assert dataclasses.replace(Pair(1), right=("b",)) == Pair(1, ("b",))
    assert repr(Pair(1)) == "Pair(left=1, right=())"
    assert Pair.__slots__ == FrozenPair.__slots__ == ("left", "right")
    assert {Pair(1), Pair(1), Pair(2)} == {Pair(1), Pair(2)}
    with pytest.raises(AttributeError):
        Pair(1).other = 2  # type: ignore[attr-defined]  # slots: no new attributes either


def test_the_per_check_values_are_records_that_hash_by_value() -> None:
    target = Target("win1", Role.AGENT)
    check = Check("tcp:console->win1:445", Kind.TCP, Role.CONSOLE, target, 445)
    result = Result(check, State.OPEN, Verdict.PASS, "open", evidence=TcpReply("syn", Reply.SYN_ACK, ttl=64))
    again = Result(dataclasses.replace(check), State.OPEN, Verdict.PASS, "open", evidence=TcpReply("syn", Reply.SYN_ACK, ttl=64))
    assert result == again
    assert hash(result) == hash(again)
    assert hash(check) != hash(dataclasses.replace(check, port=25001))
