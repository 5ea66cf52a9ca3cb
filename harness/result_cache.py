"""The result cache: a job's outcome, stored under a key made of everything that decides it.

Any later run (any suite, any run folder) that plans a job with the same key reuses
the stored outcome instead of running the engine again. The key
(:func:`cache_key`) covers the image's content (and page), the backend's name,
version, resolved options and fingerprint (model or traineddata hashes), the
pipeline as resolved with each step's version and code, the language, and
:data:`~harness.worker.WORKER_LOGIC_VERSION`. Only successful outcomes are stored:
a failure is run again next time.

The store is one SQLite database (``results.sqlite3``, WAL mode, so several runs
may share it) under the per-user cache folder, ``$XDG_CACHE_HOME/ocr-harness/``
(``~/.cache/ocr-harness/``), or in ``$OCR_HARNESS_CACHE_DIR``; report thumbnails are
kept beside it (harness/thumbnails.py). Each entry keeps the
timings of the run that measured it and that run's name, so a reused row says where
its speed figures come from. ``ocr-harness cache info|prune`` shows and trims it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.defaults import CACHE_DIR_ENV, cache_dir
from harness.errors import InputError
from harness.hashing import file_sha256
from harness.thumbnails import ORIGINAL, PREPROCESSED, ThumbnailStore, thumbnail_name

if TYPE_CHECKING:
    from harness.progress import Progress
    from harness.runner import Job
    from harness.store import ResultStore
    from harness.suite import BackendEntry, Suite
    from harness.worker import Task

DATABASE = "results.sqlite3"
#: Bumped when the layout of stored outcomes changes.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    outcome TEXT NOT NULL,
    measured_in TEXT NOT NULL,
    started REAL,
    finished REAL,
    stored REAL NOT NULL,
    used REAL NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_used ON outcomes (used);
"""


def code_digest(cls: type) -> str:
    """A hash of the file defining ``cls``: changing a step's or backend's code changes its jobs' keys."""
    try:
        return file_sha256(inspect.getfile(cls))[:16]
    except (OSError, TypeError):  # defined interactively: no file to hash
        return "no-source"


def cache_key(job_key: str, backend_fingerprint: Mapping[str, Any], pipeline_versions: Iterable[Any]) -> str:
    """The cache key of a job: its run key (image, page, pipeline, backend, options, language)
    plus the backend's fingerprint, the steps' versions and the worker logic's version."""
    from harness import __version__
    from harness.worker import WORKER_LOGIC_VERSION

    payload = json.dumps(
        {
            "job": job_key,
            "fingerprint": backend_fingerprint,
            "steps": list(pipeline_versions),
            "worker_logic": WORKER_LOGIC_VERSION,
            "harness": __version__,
            "schema": SCHEMA_VERSION,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedOutcome:
    """A stored outcome with the run that measured it."""

    outcome: dict[str, Any]
    measured_in: str
    started: float | None
    finished: float | None


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    entries: int
    size_bytes: int
    file_bytes: int
    by_backend: dict[str, int]
    oldest: float | None
    newest: float | None


class ResultCache:
    """The SQLite store of outcomes by cache key. Use as a context manager, or call ``close()``."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.path = self.folder / DATABASE
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut may lose the last entries only
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise InputError(
                f"{self.path}: the result cache cannot be opened ({error})",
                fix=f"set {CACHE_DIR_ENV} to a writable folder, or run with --no-cache",
            ) from None

    def get(self, key: str) -> CachedOutcome | None:
        row = self._db.execute(
            "SELECT outcome, measured_in, started, finished FROM outcomes WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        self._db.execute("UPDATE outcomes SET used = ? WHERE key = ?", (time.time(), key))
        try:
            outcome = json.loads(row[0])
        except ValueError:  # a damaged entry is a miss; the fresh outcome will replace it
            return None
        return CachedOutcome(outcome, row[1], row[2], row[3])

    def put(
        self,
        key: str,
        *,
        backend: str,
        outcome: Mapping[str, Any],
        measured_in: str,
        started: float | None,
        finished: float | None,
    ) -> None:
        text = json.dumps(outcome, ensure_ascii=False, default=str)
        now = time.time()
        self._db.execute(
            "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, backend, text, measured_in, started, finished, now, now, len(text.encode("utf-8"))),
        )

    def info(self) -> CacheInfo:
        entries, size, oldest, newest = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(stored), MAX(stored) FROM outcomes"
        ).fetchone()
        by_backend = dict(
            self._db.execute("SELECT backend, COUNT(*) FROM outcomes GROUP BY backend ORDER BY backend")
        )
        file_bytes = sum(path.stat().st_size for path in self.folder.glob(f"{DATABASE}*") if path.is_file())
        return CacheInfo(self.path, entries, size, file_bytes, by_backend, oldest, newest)

    def prune(
        self,
        *,
        older_than_days: float | None = None,
        max_size_mb: float | None = None,
        backend: str | None = None,
        everything: bool = False,
    ) -> int:
        """Remove entries; returns how many. ``max_size_mb`` drops the least recently used first."""
        removed = 0
        if everything:
            removed += self._db.execute("DELETE FROM outcomes").rowcount
        if backend is not None:
            removed += self._db.execute("DELETE FROM outcomes WHERE backend = ?", (backend,)).rowcount
        if older_than_days is not None:
            cutoff = time.time() - older_than_days * 86400
            removed += self._db.execute("DELETE FROM outcomes WHERE used < ?", (cutoff,)).rowcount
        if max_size_mb is not None:
            budget = int(max_size_mb * 1024 * 1024)
            total = 0
            doomed = []
            for key, size in self._db.execute("SELECT key, size FROM outcomes ORDER BY used DESC"):
                total += size
                if total > budget:
                    doomed.append((key,))
            self._db.executemany("DELETE FROM outcomes WHERE key = ?", doomed)
            removed += len(doomed)
        if removed:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")
        return removed

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- the runner's side: keys for planned jobs, reusing and remembering outcomes ---------------------


class JobCache:
    """A run's view of the cache: keys for its jobs, reuse (unless refreshing) and storing."""

    def __init__(self, suite: Suite, cache: ResultCache | None, *, refresh: bool, run_name: str) -> None:
        self.suite = suite
        self.cache = cache
        self.refresh = refresh
        self.run_name = run_name
        self._fingerprints: dict[str, Any] = {}
        self._pipelines: dict[str, list[Any]] = {}

    @classmethod
    def open(cls, suite: Suite, run_name: str) -> JobCache:
        """The cache for a run of ``suite``; one that does nothing when the suite says not to use it."""
        store = ResultCache() if suite.run.cache else None
        return cls(suite, store, refresh=suite.run.refresh, run_name=run_name)

    def __enter__(self) -> JobCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.cache is not None:
            self.cache.close()

    def reuse(
        self,
        jobs: list[Job],
        make_record: Callable[..., dict[str, Any]],
        thumbnails: JobThumbnails,
        store: ResultStore,
        counts: Counter[str],
        progress: Progress | None,
    ) -> list[Job]:
        """Store a record for every job the cache holds (marked cached, naming the run that
        measured it); return the jobs left to run."""
        from harness.worker import Outcome

        if self.cache is None:
            return jobs
        known = {field.name for field in fields(Outcome)}
        missing = []
        for job in jobs:
            hit = self.lookup(job)
            if hit is None:
                missing.append(job)
                continue
            outcome = Outcome(**{name: value for name, value in hit.outcome.items() if name in known})
            record = make_record(job, outcome, started=hit.started, finished=hit.finished)
            record["cached"] = True
            record["measured_in"] = hit.measured_in
            record["thumbnails"] = thumbnails.names(job.sample.image, job.sample.page, job.pipeline)
            store.append(record)
            counts[record["status"]] += 1
            if progress is not None:
                progress.job_done(failed=False)
        return missing

    def key(self, job: Job) -> str:
        return cache_key(job.key, self._fingerprint(job.backend), self._pipeline_versions(job.pipeline))

    def lookup(self, job: Job) -> CachedOutcome | None:
        return None if self.refresh or self.cache is None else self.cache.get(self.key(job))

    def remember(self, job: Job, record: Mapping[str, Any], outcome: Mapping[str, Any]) -> None:
        """Store a fresh outcome that succeeded (failures are run again next time)."""
        if record.get("status") != "ok" or self.cache is None:
            return
        self.cache.put(
            self.key(job),
            backend=job.backend.name,
            outcome=outcome,
            measured_in=self.run_name,
            started=record.get("started"),
            finished=record.get("finished"),
        )

    def _fingerprint(self, backend: BackendEntry) -> Any:
        if backend.label not in self._fingerprints:
            backend_class = backend.backend_class
            try:
                fingerprint = backend_class.fingerprint(backend_class.Options(**backend.spec.options_dict))
            except Exception as error:  # no fingerprint: the code's hash still keys the engine
                fingerprint = {"error": type(error).__name__}
            self._fingerprints[backend.label] = {"engine": fingerprint, "code": code_digest(backend_class)}
        return self._fingerprints[backend.label]

    def _pipeline_versions(self, pipeline: str) -> list[Any]:
        if pipeline not in self._pipelines:
            self._pipelines[pipeline] = pipeline_versions(pipeline, self.suite.plugin_modules)
        return self._pipelines[pipeline]


def pipeline_versions(pipeline: str, plugin_modules: tuple[str, ...]) -> list[Any]:
    """Each step of ``pipeline`` with its version (if it declares one) and a hash of its code."""
    from harness.pipeline import build_pipeline
    from harness.plugins import get_registry

    steps = build_pipeline(pipeline, get_registry(plugin_modules).steps())
    return [
        [type(step).name, getattr(type(step), "version", None), code_digest(type(step))] for step in steps
    ]


class JobThumbnails:
    """The runner's side: which thumbnails a job should make, and keeping those it made."""

    def __init__(self, plugin_modules: tuple[str, ...], store: ThumbnailStore | None = None) -> None:
        self.store = store if store is not None else ThumbnailStore()
        self.plugin_modules = plugin_modules
        self._pipeline_keys: dict[str, str | None] = {}

    def names(self, image: str | os.PathLike[str], page: int, pipeline: str) -> dict[str, str]:
        """Thumbnail file names of a job (a pipeline that changes nothing shares the original's)."""
        try:
            digest = file_sha256(image)
        except OSError:
            return {}
        original = thumbnail_name(digest, page)
        key = self._pipeline_key(pipeline)
        return {
            ORIGINAL: original,
            PREPROCESSED: original if key is None else thumbnail_name(digest, page, key),
        }

    def task(self, job: Job, task: Task) -> tuple[Task, dict[str, str]]:
        """The job's ``task`` asking for the thumbnails the store lacks, and the thumbnails' names."""
        names = self.names(job.sample.image, job.sample.page, job.pipeline)
        return replace(task, thumbnails=self.wanted(names)), names

    def wanted(self, names: dict[str, str]) -> tuple[str, ...]:
        """The kinds not in the store yet (the worker makes those)."""
        kinds = []
        if ORIGINAL in names and not self.store.has(names[ORIGINAL]):
            kinds.append(ORIGINAL)
        preprocessed = names.get(PREPROCESSED)
        if preprocessed and preprocessed != names.get(ORIGINAL) and not self.store.has(preprocessed):
            kinds.append(PREPROCESSED)
        return tuple(kinds)

    def keep(self, made: dict[str, bytes], names: dict[str, str]) -> None:
        for kind, data in made.items():
            if kind in names:
                self.store.put(names[kind], data)
        made.clear()

    def _pipeline_key(self, pipeline: str) -> str | None:
        if pipeline not in self._pipeline_keys:
            try:
                versions = pipeline_versions(pipeline, self.plugin_modules)
            except Exception:  # an unbuildable pipeline fails its jobs; no thumbnail either
                versions = [["unbuildable", pipeline]]
            self._pipeline_keys[pipeline] = None if not versions else f"{pipeline}|{versions}"
        return self._pipeline_keys[pipeline]
