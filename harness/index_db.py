"""The index's SQLite side: the schema (docs/index.md), and what runs on the index's own thread.

harness.index owns the connection and calls these functions on its thread,
never on the event loop. Each change to a file is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.document import Document

SCHEMA_VERSION = 1
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


def connect(path: Path, create: bool) -> sqlite3.Connection:
    if not create and not path.is_file():
        raise ConfigError(f"{path}: no such index", fix="create it with 'ocr-harness index PATHS --db FILE'")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not an index file")
    try:
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 5000")
        # With WAL, a commit survives the process being killed without an fsync each time; only a
        # power cut can lose the last files, which the next run then reads again.
        connection.execute("PRAGMA synchronous = NORMAL")
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


def stored_files(
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


def delete_files(connection: sqlite3.Connection, paths: Sequence[str]) -> None:
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


def store(
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
                error.indexed_at if error else now(),
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


def search(connection: sqlite3.Connection, query: str, limit: int) -> list[Hit]:
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


def errors(connection: sqlite3.Connection) -> list[FileError]:
    rows = connection.execute(
        "SELECT path, error_type, error, indexed_at FROM files WHERE error_type IS NOT NULL ORDER BY path"
    )
    return [FileError(*row) for row in rows]


def stats(connection: sqlite3.Connection) -> dict[str, int]:
    files, errors = connection.execute("SELECT count(*), count(error_type) FROM files").fetchone()
    pages = connection.execute("SELECT count(*) FROM pages").fetchone()[0]
    return {"files": files, "pages": pages, "errors": errors}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
