"""A full-text index of extracted text: one SQLite file with FTS5, searchable by word, phrase or prefix.

    async with await Index.open("scans.sqlite") as index:
        async with Extractor(backend="tesseract") as extractor:
            report = await index.add(["scans/"], extractor)
        for hit in await index.search('"annual report" OR invoice*'):
            print(hit.path, hit.page, hit.snippet, hit.line.box if hit.line else None)

Every page of every image or PDF under the given paths is stored with its
lines, boxes and confidences, the file's content hash, the backend and its
resolved configuration, and when it was read (schema: docs/index.md). Each
file is committed on its own, so an interrupted index keeps every file that
finished. Adding again skips files whose content and configuration are
unchanged, re-reads changed ones and prunes files gone from the given folders.
A file that cannot be read is recorded with its error and never stops the rest.

Database work runs on one thread of its own, off the event loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness import index_db as db
from harness.defaults import usable_cpus
from harness.errors import ConfigError, ImageReadError, InputError, OcrHarnessError
from harness.index_db import SCHEMA_VERSION, FileError, Hit, LineHit

__all__ = ["SCHEMA_VERSION", "AddReport", "FileError", "Hit", "Index", "LineHit", "find_files"]

T = TypeVar("T")

#: What ``add`` picks up inside folders (files named explicitly are always tried).
INDEXED_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".pdf")
#: Source names of files posted to the service start with this; they are never pruned.
UPLOAD_PREFIX = "upload:"


@dataclass
class AddReport:
    """What one ``add`` did, file by file."""

    read: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileError] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.read)} read, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed, {len(self.pruned)} pruned"
        )


class Index:
    """One index file. Open it with ``await Index.open(path)``; close it with ``await index.close()``."""

    def __init__(self, connection: sqlite3.Connection, thread: ThreadPoolExecutor, path: Path) -> None:
        self.path = path
        self._connection = connection
        self._thread = thread

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, create: bool = True) -> Index:
        """Open (and with ``create``, create) the index at ``path``; ConfigError if it is not one."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr-harness-index")
        try:
            connection = await asyncio.get_running_loop().run_in_executor(
                thread, db.connect, Path(path), create
            )
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(connection, thread, Path(path))

    async def __aenter__(self) -> Index:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._connection is None:
            return
        await self._run(self._connection.close)
        self._connection = None  # type: ignore[assignment]
        self._thread.shutdown(wait=False)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        if self._connection is None:
            raise RuntimeError("this index is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)
        except sqlite3.Error as error:  # disk full, read-only, damaged: one line naming the file
            raise OcrHarnessError(f"{self.path}: the index cannot be used ({error})") from None

    # --- adding ---------------------------------------------------------------

    async def add(
        self,
        paths: Iterable[str | os.PathLike[str]],
        extractor: Any,
        *,
        prune: bool = True,
        retry_errors: bool = False,
        on_planned: Callable[[int], None] | None = None,
        on_file_done: Callable[[str, FileError | None], None] | None = None,
    ) -> AddReport:
        """Read every image and PDF under ``paths`` with ``extractor`` into the index.

        Files already indexed with the same content hash and configuration are
        skipped (also those recorded as errors, unless ``retry_errors``); with
        ``prune``, indexed files under the given folders that are gone are removed.
        ``on_planned(n)`` is called with the number of files to read, and
        ``on_file_done(path, error)`` after each one is committed.
        """
        roots = [os.path.abspath(os.fspath(path)) for path in paths]
        files = await asyncio.to_thread(find_files, roots)
        config = await asyncio.to_thread(extractor.configuration)
        report = AddReport()
        stored = await self._run(db.stored_files, self._connection)
        plan: list[tuple[str, str | FileError]] = []
        real_roots = [os.path.realpath(root) for root in roots]
        for path in files:
            digest = await asyncio.to_thread(_sha256_or_error, path, real_roots)
            previous = stored.get(path)
            if (
                isinstance(digest, str)
                and previous is not None
                and previous[0] == digest
                and previous[1] == config
                and (previous[2] is None or not retry_errors)
            ):
                report.unchanged.append(path)
            else:
                plan.append((path, digest))
        if prune:
            seen = set(files)
            gone = [path for path in stored if _under(path, roots) and path not in seen]
            await self._run(db.delete_files, self._connection, gone)
            report.pruned.extend(gone)
        if on_planned is not None:
            on_planned(len(plan))

        async def read_one(path: str, digest: str | FileError) -> None:
            error = digest if isinstance(digest, FileError) else None
            if error is None:
                error = await self._read_and_store(path, path, str(digest), extractor, config)
            else:
                await self._run(db.store, self._connection, path, "", 0, config, None, error)
            if error is None:
                report.read.append(path)
            else:
                report.failed.append(error)
            if on_file_done is not None:
                on_file_done(path, error)

        # A few readers pulling from one list: every worker busy, never the whole archive in flight.
        pending = iter(plan)

        async def reader() -> None:
            for path, digest in pending:
                await read_one(path, digest)

        count = min(len(plan), 2 * (extractor.concurrency or usable_cpus()))
        readers = [asyncio.ensure_future(reader()) for _ in range(count)]
        try:
            await asyncio.gather(*readers)
        finally:  # one reader failed (the index cannot be written): stop the others too
            for task in readers:
                task.cancel()
        return report

    async def add_file(
        self, source: str, path: str | os.PathLike[str], extractor: Any
    ) -> tuple[str, FileError | None]:
        """Index one file under the name ``source`` (the service's uploads).

        Returns ("unchanged", None) when ``source`` is already indexed with the same
        content and configuration, ("read", None) when it was read, ("failed", error) else.
        """
        config = await asyncio.to_thread(extractor.configuration)
        digest = await asyncio.to_thread(_sha256_or_error, os.fspath(path))
        if isinstance(digest, FileError):
            return "failed", digest
        previous = (await self._run(db.stored_files, self._connection, source)).get(source)
        if previous is not None and previous[0] == digest and previous[1] == config and previous[2] is None:
            return "unchanged", None
        error = await self._read_and_store(source, os.fspath(path), digest, extractor, config)
        return ("failed" if error else "read"), error

    async def _read_and_store(
        self, source: str, path: str, digest: str, extractor: Any, config: dict[str, Any]
    ) -> FileError | None:
        size = os.path.getsize(path)
        try:
            document = await extractor.extract_document(path)
        except OcrHarnessError as error:
            message = str(error).replace(path, source)
            failure = FileError(source, type(error).__name__, message, db.now())
            await self._run(db.store, self._connection, source, digest, size, config, None, failure)
            return failure
        await self._run(db.store, self._connection, source, digest, size, config, document, None)
        return None

    # --- reading --------------------------------------------------------------

    async def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Pages matching an FTS5 query (words, "phrases", prefix*, AND/OR/NOT, NEAR), best first."""
        if not query.strip():
            raise ConfigError("the search query is empty")
        if limit < 1:
            raise ConfigError(f"limit must be at least 1, not {limit}")
        return await self._run(db.search, self._connection, query, limit)

    async def errors(self) -> list[FileError]:
        """Files recorded as errors, by path."""
        return await self._run(db.errors, self._connection)

    async def stats(self) -> dict[str, int]:
        """How many files, pages and errors the index holds."""
        return await self._run(db.stats, self._connection)


# --- files ---------------------------------------------------------------------


def find_files(roots: Sequence[str]) -> list[str]:
    """Absolute paths of the files to index: named files as they are, images and PDFs inside folders.

    Hidden files and folders (names starting with ".") are skipped. A root that
    does not exist raises InputError naming it.
    """
    found: dict[str, None] = {}
    for root in roots:
        if os.path.isdir(root):
            for folder, folders, names in os.walk(root):
                folders[:] = sorted(name for name in folders if not name.startswith("."))
                for name in sorted(names):
                    if not name.startswith(".") and name.lower().endswith(INDEXED_SUFFIXES):
                        found[os.path.join(folder, name)] = None
        elif os.path.lexists(root):
            found[root] = None  # a file, or something that is not one: _sha256_or_error says which
        else:
            raise InputError(f"{root}: no such file or folder")
    return list(found)


def _sha256_or_error(path: str, real_roots: Sequence[str] = ()) -> str | FileError:
    """The file's sha256, or why it is not read: unreadable, or a link that leads outside ``real_roots``."""
    from harness.hashing import file_sha256

    target = os.path.realpath(path)
    if real_roots and not _under(target, real_roots):
        message = f"{path}: links to {target}, outside the files and folders being indexed; not read"
        return FileError(path, InputError.__name__, message, db.now())
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would block or never end
            message = f"{path}: not a regular file (a FIFO, a device or a socket); not read"
            return FileError(path, InputError.__name__, message, db.now())
        return file_sha256(path)
    except OSError as error:
        message = f"{path}: cannot be read ({error.strerror or error})"
        return FileError(path, ImageReadError.__name__, message, db.now())


def _under(path: str, roots: Sequence[str]) -> bool:
    if path.startswith(UPLOAD_PREFIX):
        return False
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)
