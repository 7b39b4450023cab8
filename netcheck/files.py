"""Reading the user's input files and writing reports, safely: the only file I/O the CLI does.

Input files are read only when they are regular files, and only up to a documented limit: a FIFO, a device
(`/dev/zero`) or a runaway file is refused with one line instead of blocking or filling memory.

Output goes to a temporary file created beside the target (random name, O_EXCL|O_NOFOLLOW, so a symlink planted
in a shared directory is never followed) and is renamed over it: a reader never sees half a report. The target
keeps its mode (and, for root, its owner). What is not a regular file is written through, never replaced: a
character device (`/dev/null`, a terminal), a FIFO, a socket, and `/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`.
A symbolic link is written through as well: the file it points to is replaced, the link itself stays; but
another user's link in a shared sticky directory such as /tmp is refused, as the kernel's protected_symlinks does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from netcheck.errors import InputError
from netcheck.model.record import record

MIB = 1024 * 1024
PLAN_LIMIT = 16 * MIB
"""--plan, --agents-file and --hosts-file (and the hosts file read by default)."""
REPORT_LIMIT = 256 * MIB
"""`report` and `merge`, per file: a 100,000-check JSON report weighs about 90 MB."""

_FD_ALIAS = re.compile(r"^/(?:proc/(?:self|thread-self|\d+)|dev)/fd/(\d+)$")
_MAX_LINKS = 40  # as the kernel's ELOOP limit


class OutputError(Exception):
    """A report could not be written (the disk is full, the device refuses): netcheck failed, exit 3."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_limited(path: Path, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; InputError (one line, exit 2) otherwise."""
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; we refuse it right after fstat.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError(f"{what} {name!r} not found") from None
    except IsADirectoryError:
        raise InputError(f"{what} {name!r} is a directory") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {name!r}: {_reason(exc)}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # before fdopen, which raises IsADirectoryError for a directory
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{what} {name!r} is a directory")
        raise InputError(f"{what} {name!r} is {_kind(info.st_mode)}, not a regular file")
    too_big = f"{what} {name!r} is larger than {_size(limit)}, the limit for a {what}"
    with os.fdopen(fd, "rb") as source:
        if info.st_size > limit:
            raise InputError(too_big)
        try:
            data = source.read(limit + 1)  # a file that grows (or lies about its size, like /proc) stops here
        except OSError as exc:
            raise InputError(f"cannot read {what} {name!r}: {_reason(exc)}") from None
    if len(data) > limit:
        raise InputError(too_big)
    return data


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB else f"{limit // 1024} KiB"


def expand_user(text: str, what: str) -> Path:
    """A path from a plan file, `~` and `~user` expanded; InputError when that home is unknown (`~nouser/k`)."""
    expanded = os.path.expanduser(text)
    if expanded.startswith("~"):
        raise InputError(f"{what} {text!r}: {text.split('/', 1)[0]!r} names no user with a home directory")
    return Path(expanded)


def read_text_limited(path: Path, what: str, limit: int = PLAN_LIMIT) -> str:
    """A UTF-8 text input file (a BOM is skipped), bounded as read_limited."""
    try:
        return read_limited(path, what, limit).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {what} {str(path)!r}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


@record
class OutputTarget:
    """Where a report goes: `replace` (a regular file, new or existing, replaced by rename) or written through."""

    path: Path
    """The file to replace (a symlink's target), or the path to open for writing through."""
    write_through: bool
    fd: int | None = None
    """This process's descriptor the path aliases (1 for /dev/stdout): written through it, sharing its offset."""
    held: bool = False
    """`fd` is a FIFO's write end opened when the output was checked (a reader was there): closed once written."""

    @property
    def is_stdout(self) -> bool:
        if self.fd is None:
            return False
        try:
            return self.fd == sys.stdout.fileno()
        except (OSError, ValueError):  # stdout replaced by an object without a descriptor (a test runner)
            return False


def _fd_alias(path: Path) -> int | None:
    """The descriptor `path` stands for when it is, or leads through symlinks to, /proc/self/fd/N or /dev/fd/N
    (/dev/stdout → /proc/self/fd/1): -1 when it is another process's, None when it is no such alias."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        alias = _FD_ALIAS.match(current)
        if alias:
            own = current.startswith(("/proc/self/", "/proc/thread-self/", "/dev/fd/", f"/proc/{os.getpid()}/"))
            return int(alias.group(1)) if own else -1
        try:
            link = os.readlink(current)
        except OSError:
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return None


_HELD_FIFOS: dict[str, int] = {}
"""FIFO write ends opened when an --output was checked, by real path: the report is written through them."""


def _fifo_writer(path: Path, what: str) -> int:
    """A FIFO's write end, opened now without blocking: with no reader there the open fails (ENXIO), and the report
    would block forever after the probes, so that is an InputError now. Kept open until the report is written, so
    the reader does not see an end of file in between."""
    real = os.path.realpath(path)
    held = _HELD_FIFOS.get(real)
    if held is not None:
        return held
    try:
        fd = os.open(real, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise InputError(f"{what} {str(path)!r} is a FIFO that nobody reads: start its reader first") from None
        raise InputError(f"{what} {str(path)!r}: {_reason(exc)}") from None
    os.set_blocking(fd, True)
    _HELD_FIFOS[real] = fd
    return fd


def _release(target: OutputTarget) -> None:
    if target.held and target.fd is not None:
        for real, fd in list(_HELD_FIFOS.items()):
            if fd == target.fd:
                del _HELD_FIFOS[real]
        with contextlib.suppress(OSError):
            os.close(target.fd)


def _planted_link(path: Path) -> bool:
    """A symlink in a sticky world-writable directory (/tmp) that someone else owns: the kernel's
    protected_symlinks rule, which realpath() + rename would otherwise bypass (a link planted to a victim file)."""
    try:
        link = os.lstat(path)
        directory = os.stat(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    shared = bool(directory.st_mode & stat.S_ISVTX) and bool(directory.st_mode & stat.S_IWOTH)
    return stat.S_ISLNK(link.st_mode) and shared and link.st_uid not in (os.geteuid(), directory.st_uid)


def output_target(path: Path, what: str = "--output") -> OutputTarget:
    """Decide how `path` will be written and check now that it can be (before minutes of probes): InputError if not."""
    name = str(path)
    try:
        info = os.stat(path)  # follows symlinks: what the link points to decides
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"{what} {name!r}: {_reason(exc)}") from None
    alias = _fd_alias(path)
    if info is not None and (not stat.S_ISREG(info.st_mode) or alias is not None):
        if stat.S_ISDIR(info.st_mode) or stat.S_ISBLK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
            raise InputError(f"{what} {name!r} is {_kind(info.st_mode)}: give a file, a FIFO or a character device")
        if stat.S_ISFIFO(info.st_mode) and alias is None:
            return OutputTarget(path, write_through=True, fd=_fifo_writer(path, what), held=True)
        if not os.access(path, os.W_OK):
            raise InputError(f"{what} {name!r} is not writable")
        return OutputTarget(path, write_through=True, fd=alias if alias is not None and alias >= 0 else None)
    if info is None and os.path.islink(path):
        raise InputError(f"{what} {name!r} is a symbolic link to a missing file")
    if _planted_link(path):
        raise InputError(f"{what} {name!r} is another user's symbolic link in a shared directory: give the file it points to")
    real = Path(os.path.realpath(path))
    parent = real.parent
    if not parent.is_dir():
        raise InputError(f"{what} {name!r}: directory {str(path.parent)!r} does not exist")
    if info is not None and not os.access(real, os.W_OK):
        raise InputError(f"{what} {name!r} is not writable")
    try:  # the only sure test that a file can be made there (root passes access(); /proc does not take files)
        fd, probe = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{what} {name!r}: cannot create a file in {str(parent)!r}: {_reason(exc)}") from None
    return OutputTarget(real, write_through=False)


def _new_file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_output(target: OutputTarget, chunks: Iterable[str]) -> None:
    """Write the report to `target` (see output_target); OutputError when the system refuses."""
    try:
        if target.fd is not None:  # /dev/stdout: our own descriptor, so the offset is shared with what we print
            if not target.held:
                sys.stdout.flush()
            with os.fdopen(os.dup(target.fd), "w", encoding="utf-8") as sink:
                for chunk in chunks:
                    sink.write(chunk)
            return
        if target.write_through:
            with open(target.path, "a", encoding="utf-8") as sink:  # a device, a FIFO: nothing to replace
                for chunk in chunks:
                    sink.write(chunk)
            return
        _replace(target.path, chunks)
    except BrokenPipeError:
        return  # the reader of a pipe has gone (`--output /dev/stdout | head -1`): nothing left to write for
    except OSError as exc:
        raise OutputError(f"cannot write {str(target.path)!r}: {_reason(exc)}") from None
    finally:
        _release(target)


def _replace(path: Path, chunks: Iterable[str]) -> None:
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    # mkstemp opens with O_CREAT|O_EXCL|O_NOFOLLOW under a random name, mode 0600 until the write is complete.
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as sink:
            for chunk in chunks:
                sink.write(chunk)
            sink.flush()
            if existing is not None:
                if os.geteuid() == 0:
                    _keep_owner(sink.fileno(), existing)
                os.fchmod(sink.fileno(), stat.S_IMODE(existing.st_mode))
            else:
                os.fchmod(sink.fileno(), _new_file_mode())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _keep_owner(fd: int, existing: os.stat_result) -> None:
    try:
        os.fchown(fd, existing.st_uid, existing.st_gid)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EINVAL):
            raise
