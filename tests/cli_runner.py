"""Run netcheck's CLI in process, the way an admin's shell would see it: exit code, stdout, stderr, and both
interleaved (`output`). Faster than a subprocess per case; the subprocess tests check the real entry point."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str
    output: str
    """stdout and stderr interleaved, in the order they were written."""
    exception: BaseException | None = None


class _Tee(io.TextIOBase):
    """One of the two streams: written to its own buffer and to the shared, interleaved one."""

    def __init__(self, own: io.StringIO, mixed: io.StringIO) -> None:
        self.own, self.mixed = own, mixed

    def write(self, text: str) -> int:
        self.own.write(text)
        self.mixed.write(text)
        return len(text)

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


class CliRunner:
    def invoke(
        self,
        app: Callable[[list[str]], int],
        args: Sequence[str],
        env: Mapping[str, str | None] | None = None,
        input: str | None = None,
    ) -> Result:
        out, err, mixed = io.StringIO(), io.StringIO(), io.StringIO()
        saved_streams = sys.stdin, sys.stdout, sys.stderr
        saved_env = {key: os.environ.get(key) for key in env or {}}
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(input or ""), _Tee(out, mixed), _Tee(err, mixed)
        exception: BaseException | None = None
        try:
            code = app(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # noqa: BLE001 - reported in the result, as click's runner did
            code, exception = 1, exc
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            for key, old in saved_env.items():
                if old is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = old
        return Result(code, out.getvalue(), err.getvalue(), mixed.getvalue(), exception)
