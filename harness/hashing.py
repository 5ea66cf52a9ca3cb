"""File digests: one implementation for fingerprints, job keys and downloads."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from harness.files import open_regular


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file's bytes, cached while its size and mtime stay the same.

    Raises OSError when the file cannot be read, NotRegularFileError for a FIFO or device.
    """
    stat = os.stat(path)
    return _file_sha256(os.fspath(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
