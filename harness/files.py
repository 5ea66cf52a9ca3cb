"""Opening files users hand us (regular files only), and writing ours atomically.

A FIFO named ``scan.png`` blocks the first ``open()`` forever and a link to
``/dev/zero`` never ends a read; neither is a sample. Files are opened without
blocking, checked with ``fstat`` and refused unless regular, so a hostile
dataset can cost a row, never a hung run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from harness.errors import OutputError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(OSError):
    """The path is a FIFO, a device, a socket or a folder: never read as a file."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(errno.EINVAL, f"is {kind}, not a regular file", os.fspath(path))


def kind_of(mode: int) -> str:
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading; raises NotRegularFileError unless it is a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once; the check is on the
    opened descriptor, so a file swapped after a check cannot slip through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        mode = os.stat(path).st_mode  # a socket cannot be opened at all: say what it is
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, kind_of(mode)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, kind_of(mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_bytes(path: str | os.PathLike[str]) -> bytes:
    """Every byte of a regular file (OSError, NotRegularFileError included, otherwise)."""
    with open_regular(path) as handle:
        return handle.read()


def ensure_regular(path: str | os.PathLike[str]) -> None:
    """Raise NotRegularFileError (or another OSError) unless ``path`` is a regular file.

    For readers that insist on opening the path themselves (Pillow).
    """
    open_regular(path).close()


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Have ``write`` fill a temporary file beside ``path``, then rename it over ``path``.

    A reader never sees half a file, and a failed write (full disk, read-only
    folder) leaves nothing behind: it is an OutputError naming the file and the
    cause. The temporary file is this process's own, so processes writing the same
    file at once (two runs sharing the thumbnail store) never write into each other's.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot be written ({describe_os_error(error)})") from None
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    return write_atomic(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def describe_os_error(error: OSError) -> str:
    """The cause of an OSError in a few words ("No space left on device"), without the path."""
    return error.strerror or str(error) or type(error).__name__


def printable_path(path: str | os.PathLike[str]) -> str:
    """A path as UTF-8 text: bytes of a name that is not UTF-8 are shown escaped (``caf\\xe9.png``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
