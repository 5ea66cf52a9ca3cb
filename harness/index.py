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
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harness.defaults import usable_cpus
from harness.errors import ConfigError, ImageReadError, InputError, OcrHarnessError

if TYPE_CHECKING:
    from harness.document import Document

T = TypeVar("T")

SCHEMA_VERSION = 1
#: What ``add`` picks up inside folders (files named explicitly are always tried).
INDEXED_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".pdf")
#: Source names of files posted to the service start with this; they are never pruned.
UPLOAD_PREFIX = "upload:"
#: Markers around matched terms inside snippets: private-use characters no OCR text holds.
_MARK_START, _MARK_END = "\ue000", "\ue001"
#: Folded diacritics: "resume" finds "résumé", "Strasse" does not find "Straße".
_TOKENIZER = "unicode61 remove_diacritics 2"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    backend TEXT NOT NULL,
    config TEXT NOT NULL,
    indexed_at TEXT NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    error_type TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS pages (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    truncated INTEGER NOT NULL DEFAULT 0,
    width INTEGER,
    height INTEGER,
    UNIQUE (file_id, number)
);
CREATE TABLE IF NOT EXISTS lines (
    id INTEGER PRIMARY KEY,
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    x0 INTEGER, y0 INTEGER, x1 INTEGER, y1 INTEGER,
    confidence REAL
);
CREATE INDEX IF NOT EXISTS lines_by_page ON lines (page_id);
CREATE VIRTUAL TABLE IF NOT EXISTS pages_fts USING fts5(
    text, content='pages', content_rowid='id', tokenize='{_TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS lines_fts USING fts5(
    text, content='lines', content_rowid='id', tokenize='{_TOKENIZER}');
CREATE TRIGGER IF NOT EXISTS pages_added AFTER INSERT ON pages BEGIN
    INSERT INTO pages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS pages_removed AFTER DELETE ON pages BEGIN
    INSERT INTO pages_fts (pages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER IF NOT EXISTS lines_added AFTER INSERT ON lines BEGIN
    INSERT INTO lines_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS lines_removed AFTER DELETE ON lines BEGIN
    INSERT INTO lines_fts (lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


@dataclass(frozen=True)
class LineHit:
    """The line of a hit that matches the query best: number on its page (from 1), text, box, confidence."""

    number: int
    text: str
    box: tuple[int, int, int, int] | None
    confidence: float | None


@dataclass(frozen=True)
class Hit:
    """One page that matches a query. ``score`` is minus its bm25 rank: higher is better."""

    path: str
    page: int
    score: float
    snippet: str
    #: (start, end) character ranges of the matched terms inside ``snippet``
    highlights: tuple[tuple[int, int], ...]
    line: LineHit | None
    backend: str

    def to_dict(self) -> dict[str, Any]:
        line = None
        if self.line is not None:
            line = {
                "number": self.line.number,
                "text": self.line.text,
                "box": list(self.line.box) if self.line.box else None,
                "confidence": self.line.confidence,
            }
        return {
            "path": self.path,
            "page": self.page,
            "score": self.score,
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "line": line,
            "backend": self.backend,
        }


@dataclass(frozen=True)
class FileError:
    """A file the index could not read, and why."""

    path: str
    error_type: str
    message: str
    indexed_at: str


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
                thread, _connect, Path(path), create
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
        stored = await self._run(_stored_files, self._connection)
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
            await self._run(_delete_files, self._connection, gone)
            report.pruned.extend(gone)
        if on_planned is not None:
            on_planned(len(plan))

        async def read_one(path: str, digest: str | FileError) -> None:
            error = digest if isinstance(digest, FileError) else None
            if error is None:
                error = await self._read_and_store(path, path, str(digest), extractor, config)
            else:
                await self._run(_store, self._connection, path, "", 0, config, None, error)
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
        previous = (await self._run(_stored_files, self._connection, source)).get(source)
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
            failure = FileError(source, type(error).__name__, message, _now())
            await self._run(_store, self._connection, source, digest, size, config, None, failure)
            return failure
        await self._run(_store, self._connection, source, digest, size, config, document, None)
        return None

    # --- reading --------------------------------------------------------------

    async def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Pages matching an FTS5 query (words, "phrases", prefix*, AND/OR/NOT, NEAR), best first."""
        if not query.strip():
            raise ConfigError("the search query is empty")
        if limit < 1:
            raise ConfigError(f"limit must be at least 1, not {limit}")
        return await self._run(_search, self._connection, query, limit)

    async def errors(self) -> list[FileError]:
        """Files recorded as errors, by path."""
        return await self._run(_errors, self._connection)

    async def stats(self) -> dict[str, int]:
        """How many files, pages and errors the index holds."""
        return await self._run(_stats, self._connection)


# --- on the index's thread -----------------------------------------------------


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    if not create and not path.is_file():
        raise ConfigError(f"{path}: no such index", fix="create it with 'ocr-harness index PATHS --db FILE'")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not an index file")
    try:
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 5000")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version == 0 and tables - {"sqlite_sequence"}:
            raise ConfigError(f"{path}: is an SQLite database, but not an ocr-harness index")
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"{path}: index schema {version} is newer than this ocr-harness reads ({SCHEMA_VERSION})",
                fix="upgrade ocr-harness",
            )
        if version == 0:
            connection.execute("PRAGMA journal_mode = WAL")  # readers (the service) never wait for a writer
            connection.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{path}: cannot be opened as an index ({error})") from None
    return connection


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: one file is all or nothing."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: object, *rest: object) -> None:
        self.connection.execute("ROLLBACK" if kind else "COMMIT")


def _stored_files(
    connection: sqlite3.Connection, only: str | None = None
) -> dict[str, tuple[str, dict[str, Any], str | None]]:
    """path -> (sha256, configuration, error type) of every indexed file, or of the one named ``only``."""
    query = "SELECT path, sha256, config, error_type FROM files"
    rows = (
        connection.execute(query, ())
        if only is None
        else connection.execute(f"{query} WHERE path = ?", (only,))
    )
    return {path: (digest, json.loads(config), error) for path, digest, config, error in rows}


def _delete_files(connection: sqlite3.Connection, paths: Sequence[str]) -> None:
    for path in paths:
        with _transaction(connection):
            _delete_file(connection, path)


def _delete_file(connection: sqlite3.Connection, path: str) -> None:
    # Children first, explicitly: the FTS tables follow through the triggers on each table.
    connection.execute(
        "DELETE FROM lines WHERE page_id IN "
        "(SELECT pages.id FROM pages JOIN files ON files.id = pages.file_id WHERE files.path = ?)",
        (path,),
    )
    connection.execute("DELETE FROM pages WHERE file_id IN (SELECT id FROM files WHERE path = ?)", (path,))
    connection.execute("DELETE FROM files WHERE path = ?", (path,))


def _store(
    connection: sqlite3.Connection,
    source: str,
    digest: str,
    size: int,
    config: dict[str, Any],
    document: Document | None,
    error: FileError | None,
) -> None:
    """Replace whatever the index held for ``source`` with this reading, in one transaction."""
    with _transaction(connection):
        _delete_file(connection, source)
        cursor = connection.execute(
            "INSERT INTO files (path, sha256, size, backend, config, indexed_at, pages, error_type, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source,
                digest,
                size,
                config.get("backend", ""),
                json.dumps(config, sort_keys=True),
                error.indexed_at if error else _now(),
                len(document.pages) if document else 0,
                error.error_type if error else None,
                error.message if error else None,
            ),
        )
        if document is None:
            return
        file_id = cursor.lastrowid
        for page in document.pages:
            page_id = connection.execute(
                "INSERT INTO pages (file_id, number, text, truncated, width, height) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (file_id, page.number, page.text, int(page.truncated), page.width, page.height),
            ).lastrowid
            connection.executemany(
                "INSERT INTO lines (page_id, number, text, x0, y0, x1, y1, confidence) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (page_id, number, line.text, *(line.box or (None,) * 4), line.confidence)
                    for number, line in enumerate(page.lines, start=1)
                ],
            )


def _search(connection: sqlite3.Connection, query: str, limit: int) -> list[Hit]:
    try:
        rows = connection.execute(
            "SELECT pages.id, files.path, pages.number, bm25(pages_fts), files.backend, "
            "snippet(pages_fts, 0, ?, ?, '…', 16) "
            "FROM pages_fts JOIN pages ON pages.id = pages_fts.rowid JOIN files ON files.id = pages.file_id "
            "WHERE pages_fts MATCH ? ORDER BY bm25(pages_fts) LIMIT ?",
            (_MARK_START, _MARK_END, query, limit),
        ).fetchall()
    except sqlite3.OperationalError as error:
        raise ConfigError(
            f"cannot search for {query!r}: {error}",
            fix='FTS5 syntax: words, "a phrase", prefix*, AND, OR, NOT, NEAR(a b); '
            "put words with punctuation in double quotes",
        ) from None
    hits = []
    for page_id, path, number, rank, backend, marked in rows:
        snippet, highlights = _unmark(marked)
        terms = [snippet[start:end] for start, end in highlights]
        hits.append(
            Hit(
                path=path,
                page=number,
                score=-rank,
                snippet=snippet.replace("\n", " "),
                highlights=tuple(highlights),
                line=_best_line(connection, page_id, query, terms),
                backend=backend,
            )
        )
    return hits


def _best_line(connection: sqlite3.Connection, page_id: int, query: str, terms: list[str]) -> LineHit | None:
    columns = "lines.number, lines.text, x0, y0, x1, y1, confidence"
    row = connection.execute(
        f"SELECT {columns} FROM lines_fts JOIN lines ON lines.id = lines_fts.rowid "
        "WHERE lines_fts MATCH ? AND lines.page_id = ? ORDER BY bm25(lines_fts) LIMIT 1",
        (query, page_id),
    ).fetchone()
    if row is None:
        # The match spans lines (a phrase across a line break): the first line holding a matched term.
        for term in terms:
            row = connection.execute(
                f"SELECT {columns} FROM lines WHERE page_id = ? AND instr(lower(text), lower(?)) > 0 "
                "ORDER BY number LIMIT 1",
                (page_id, term),
            ).fetchone()
            if row is not None:
                break
    if row is None:
        return None
    number, text, x0, y0, x1, y1, confidence = row
    box = (x0, y0, x1, y1) if x0 is not None else None
    return LineHit(number, text, box, confidence)


def _unmark(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Snippet text without the markers, and where the marked ranges are in it."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start = 0
    for char in marked:
        if char == _MARK_START:
            start = length
        elif char == _MARK_END:
            spans.append((start, length))
        else:
            text.append(char)
            length += 1
    return "".join(text), spans


def _errors(connection: sqlite3.Connection) -> list[FileError]:
    rows = connection.execute(
        "SELECT path, error_type, error, indexed_at FROM files WHERE error_type IS NOT NULL ORDER BY path"
    )
    return [FileError(*row) for row in rows]


def _stats(connection: sqlite3.Connection) -> dict[str, int]:
    files, errors = connection.execute("SELECT count(*), count(error_type) FROM files").fetchone()
    pages = connection.execute("SELECT count(*) FROM pages").fetchone()[0]
    return {"files": files, "pages": pages, "errors": errors}


# --- files ---------------------------------------------------------------------


def find_files(roots: Sequence[str]) -> list[str]:
    """Absolute paths of the files to index: named files as they are, images and PDFs inside folders.

    Hidden files and folders (names starting with ".") are skipped. A root that
    does not exist raises InputError naming it.
    """
    found: dict[str, None] = {}
    for root in roots:
        if os.path.isfile(root):
            found[root] = None
        elif os.path.isdir(root):
            for folder, folders, names in os.walk(root):
                folders[:] = sorted(name for name in folders if not name.startswith("."))
                for name in sorted(names):
                    if not name.startswith(".") and name.lower().endswith(INDEXED_SUFFIXES):
                        found[os.path.join(folder, name)] = None
        else:
            raise InputError(f"{root}: no such file or folder")
    return list(found)


def _sha256_or_error(path: str, real_roots: Sequence[str] = ()) -> str | FileError:
    """The file's sha256, or why it is not read: unreadable, or a link that leads outside ``real_roots``."""
    from harness.hashing import file_sha256

    target = os.path.realpath(path)
    if real_roots and not _under(target, real_roots):
        message = f"{path}: links to {target}, outside the files and folders being indexed; not read"
        return FileError(path, InputError.__name__, message, _now())
    try:
        return file_sha256(path)
    except OSError as error:
        message = f"{path}: cannot be read ({error.strerror or error})"
        return FileError(path, ImageReadError.__name__, message, _now())


def _under(path: str, roots: Sequence[str]) -> bool:
    if path.startswith(UPLOAD_PREFIX):
        return False
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
