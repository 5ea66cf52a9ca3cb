"""The durable store of a run: results.jsonl, one JSON object per finished job.

Each record is written as one line, flushed and fsync'ed before the runner moves
on, so a run killed at any moment (even SIGKILL or a power cut) keeps every job
that had finished. At worst the last line is torn; :func:`read_results` skips
it, and :class:`ResultStore` cuts it off before appending (``--resume``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import InputError, OutputError
from harness.files import describe_os_error

log = logging.getLogger(__name__)


class ResultStore:
    """Appends job records to a results.jsonl file, durably, one line per record."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _drop_torn_tail(self.path)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        except OSError as error:
            raise OutputError(f"{self.path}: cannot be written ({describe_os_error(error)})") from None
        self.count = 0

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and make it durable before returning."""
        try:
            line = json.dumps(record, ensure_ascii=False, allow_nan=False, default=_jsonable)
        except ValueError:  # NaN or infinity somewhere (an engine's confidence): stored as null
            line = json.dumps(_finite(record), ensure_ascii=False, allow_nan=False, default=_jsonable)
        try:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            # Every earlier record is durable; a torn last line is cut when the run is resumed.
            raise OutputError(
                f"{self.path}: cannot be written ({describe_os_error(error)}); the {self.count} job(s) "
                "stored before are kept",
                fix="free space or fix the folder, then continue the run with --resume",
            ) from None
        self.count += 1

    def close(self) -> None:
        if not self._file.closed:
            with contextlib.suppress(OSError):  # a full disk was reported when the append failed
                self._file.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a results.jsonl, tolerating a torn last line (a run killed mid-write).

    A damaged line elsewhere is skipped with a warning naming its line number; a
    missing file is an InputError.
    """
    return list(iter_results(path))


def iter_results(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The records of a results.jsonl one by one, read line by line (memory stays flat)."""
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with below, in the generator)
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such results file", fix="pass a run folder written by 'ocr-harness run'"
        ) from None
    with handle:
        for number, raw in enumerate(handle):
            record = _parse(path, number, raw)
            if record is not None:
                yield record


def _parse(path: Path, number: int, raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        record = json.loads(raw.decode("utf-8"))
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        if not raw.endswith(b"\n"):  # no final newline: the write was cut short
            log.info("%s: ignoring a torn last line (the run was stopped while writing it)", path)
        else:
            log.warning("%s: line %d is damaged and was skipped (%s)", path, number + 1, error)
        return None
    return record


def _drop_torn_tail(path: Path) -> None:
    """Cut a partial last line, so appended records start on a line of their own."""
    if not path.exists():
        return
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the last newline; a torn line is at most one record long.
        position = size
        chunk = 65536
        while position > 0:
            start = max(0, position - chunk)
            handle.seek(start)
            block = handle.read(position - start)
            index = block.rfind(b"\n")
            if index >= 0:
                handle.truncate(start + index + 1)
                return
            position = start
        handle.truncate(0)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
