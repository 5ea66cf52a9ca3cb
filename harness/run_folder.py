"""The run folder (docs/run-folder.md): its file names, and the one way to write and read it.

Every module that touches a run folder goes through here: the runner creates
the folder, writes run.json (a typed, versioned :class:`RunInfo`) and opens the
store; reporters write their files under the names below; ``report``,
``compare`` and ``check`` read run.json, results.jsonl, samples.csv and
summary.csv through :func:`read_run_info`, :func:`read_run_results` and
:func:`load_run`.

run.json carries ``format_version``. A folder written before the field existed
(version 0) has the same fields and is read as is; a folder from a newer
version is refused with a message saying so, never half-read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError, OutputError
from harness.files import describe_os_error, write_text_atomic
from harness.store import ResultStore, iter_results, read_results

if TYPE_CHECKING:
    import pandas as pd

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
SAMPLES_FILE = "samples.csv"
SUMMARY_FILE = "summary.csv"
SUMMARY_MD_FILE = "summary.md"
REPORT_FILE = "report.html"
LATEST_LINK = "latest"
#: Held (flock) by the one process writing the folder: see harness.resume.
LOCK_FILE = ".lock"
#: run.json's format. Raise it when a field changes meaning; readers refuse newer folders.
FORMAT_VERSION = 1

NOT_A_RUN_FOLDER_FIX = "pass a folder written by 'ocr-harness run', e.g. reports/latest"

#: Columns that hold text (never converted to numbers).
TEXT_COLUMNS = frozenset(
    {
        "sample_id",
        "dataset",
        "image",
        "language",
        "backend",
        "pipeline",
        "status",
        "error_type",
        "error_message",
        "ground_truth",
        "text",
        "failures",
        "failure_policy",
        "measured_in",
        "speed_from_cache",
        "thumbnail",
        "thumbnail_read",
    }
)
BOOL_COLUMNS = frozenset({"truncated", "comparable", "cold", "cached"})
#: Identifies a sample across runs and groups.
SAMPLE_KEY = ("dataset", "sample_id", "page")
GROUP_KEY = ("backend", "pipeline")


# --- run.json --------------------------------------------------------------------------


class _Record(BaseModel):
    # Unknown keys are kept: a folder from a newer minor change still reads, and rewrites losslessly.
    model_config = ConfigDict(extra="allow")


class BackendInfo(_Record):
    """One backend of the run, by its label."""

    name: str | None = None
    version: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    thread_settings: dict[str, Any] | None = None
    executor: dict[str, Any] | None = None
    #: start-up before timing: engine_init_s, languages_s per language, warm-up errors
    load: dict[str, Any] | None = None


class DatasetInfo(_Record):
    """One dataset of the run, by its name."""

    path: str = ""
    format: str | None = None
    fingerprint: str | None = None
    samples: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)


class SuiteBackend(_Record):
    """One backend as the suite resolved it (``config.backends`` in run.json)."""

    name: str | None = None
    label: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    resolved_options: dict[str, Any] = Field(default_factory=dict)
    language: str | None = None
    thresholds: dict[str, Any] | None = None

    @property
    def report_name(self) -> str:
        """The name reports use: the label, else the backend's name."""
        return str(self.label or self.name)


class SuiteRecord(_Record):
    """The resolved suite (:meth:`harness.suite.Suite.resolved_config`), as run.json keeps it."""

    name: str | None = None
    source: str | None = None
    datasets: list[dict[str, Any]] = Field(default_factory=list)
    backends: list[SuiteBackend] = Field(default_factory=list)
    pipelines: list[str] = Field(default_factory=list)
    grid: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    run: dict[str, Any] = Field(default_factory=dict)
    check: dict[str, Any] | None = None
    plugins: list[str] = Field(default_factory=list)


class RunInfo(_Record):
    """run.json: the environment fingerprint and the resolved configuration of a run."""

    format_version: int = FORMAT_VERSION
    suite: str | None = None
    #: "local" or "dask"; a Dask run names its scheduler (None: a LocalCluster started for the run)
    executor: str | None = None
    scheduler: str | None = None
    started: str | float | None = None
    finished: str | float | None = None
    interrupted: bool = False
    resumed: list[str] | None = None
    harness: dict[str, Any] = Field(default_factory=dict)
    normalisation: dict[str, Any] = Field(default_factory=dict)
    failure_policy: str | None = None
    workers: int | None = None
    threads_per_worker: int | None = None
    timeout_s: float | None = None
    rounds: int = 1
    backends: dict[str, BackendInfo] = Field(default_factory=dict)
    datasets: dict[str, DatasetInfo] = Field(default_factory=dict)
    pipelines: list[str] = Field(default_factory=list)
    config: SuiteRecord = Field(default_factory=SuiteRecord)
    environment: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, data: RunInfo | dict[str, Any] | None) -> RunInfo:
        """A RunInfo from itself, a run.json dict, or nothing (an empty one)."""
        if isinstance(data, RunInfo):
            return data
        return cls.model_validate(data or {})

    @property
    def normalisation_id(self) -> str | None:
        return self.normalisation.get("id")

    @property
    def normalisation_name(self) -> str | None:
        return self.normalisation.get("name")

    @property
    def backend_labels(self) -> list[str]:
        """The suite's backends in suite order, as reports name them."""
        return [backend.report_name for backend in self.config.backends]

    @property
    def suite_file(self) -> Path | None:
        return Path(self.config.source) if self.config.source else None

    def to_json(self) -> str:
        data = self.model_dump(mode="json")
        if not data.get("resumed"):
            data.pop("resumed", None)
        return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def write_run_info(run_dir: Path, info: RunInfo) -> None:
    write_text_atomic(run_dir / RUN_FILE, info.to_json())


def has_run_info(run_dir: str | Path) -> bool:
    return (Path(run_dir) / RUN_FILE).is_file()


def read_run_info(run_dir: str | Path) -> RunInfo:
    """The run's run.json (an empty RunInfo if there is none); InputError if unreadable or too new."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return RunInfo(format_version=0)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not valid JSON: {error}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a run.json (not a JSON object)")
    version = data.setdefault("format_version", 0)  # written before run.json had a version
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InputError(f"{path}: format_version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise InputError(
            f"{path}: written by a newer ocr-harness (run folder format {version}; "
            f"this version reads up to {FORMAT_VERSION})",
            fix="upgrade ocr-harness to read this run folder",
        )
    try:
        return RunInfo.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise InputError(f"{path}: not a run.json this version can read: {problems}") from None


# --- creating a run folder ---------------------------------------------------------------


def new_run_dir(output: Path, suite_name: str, *, now: datetime | None = None) -> Path:
    """``output/<suite>-<UTC timestamp>``, created (a numeric suffix if that second is taken)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    if output.exists() and not output.is_dir():
        raise OutputError(
            f"{output}: is a file, not a folder; run folders cannot be written under it",
            fix="pass a folder with --out (or [run] output)",
        )
    candidate = output / f"{suite_name}-{stamp}"
    number = 2
    try:
        output.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                candidate = output / f"{suite_name}-{stamp}-{number}"
                number += 1
    except OSError as error:
        raise OutputError(
            f"{candidate}: the run folder cannot be created ({describe_os_error(error)})",
            fix="pass a folder you can write to with --out (or [run] output)",
        ) from None


def point_latest(run_dir: Path) -> None:
    """Point ``<output>/latest`` at this run folder (relative symlink, replaced atomically)."""
    link = run_dir.parent / LATEST_LINK
    temporary = run_dir.parent / f".{LATEST_LINK}.{os.getpid()}"
    try:
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        temporary.symlink_to(run_dir.name, target_is_directory=True)
        os.replace(temporary, link)
    except OSError:  # a file system without symlinks: the run folder is still complete
        if temporary.is_symlink():
            temporary.unlink()


# --- results.jsonl -----------------------------------------------------------------------


def has_results(run_dir: str | Path) -> bool:
    return (Path(run_dir) / RESULTS_FILE).is_file()


def require_results(run_dir: str | Path) -> Path:
    """The run folder, or an InputError if it has no results.jsonl."""
    run_dir = Path(run_dir)
    if not has_results(run_dir):
        raise InputError(f"{run_dir}: not a run folder ({RESULTS_FILE} is missing)", fix=NOT_A_RUN_FOLDER_FIX)
    return run_dir


def open_store(run_dir: Path) -> ResultStore:
    """The run's results.jsonl, open for durable appends."""
    return ResultStore(run_dir / RESULTS_FILE)


def read_run_results(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every stored job record of the run (a torn last line is ignored)."""
    return read_results(Path(run_dir) / RESULTS_FILE)


def iter_run_results(run_dir: str | Path) -> Iterator[dict[str, Any]]:
    """The stored job records one by one, read as they are used (memory stays flat)."""
    return iter_results(Path(run_dir) / RESULTS_FILE)


# --- samples.csv and summary.csv ----------------------------------------------------------


@dataclass
class RunData:
    """One run folder: its path, run.json, and samples.csv / summary.csv as frames."""

    path: Path
    samples: pd.DataFrame
    summary: pd.DataFrame
    info: RunInfo

    @property
    def name(self) -> str:
        return self.path.resolve().name

    def groups(self) -> list[tuple[str, str]]:
        """(backend, pipeline) pairs in summary order (then any only in samples.csv)."""
        seen = [tuple(row) for row in self.summary[list(GROUP_KEY)].itertuples(index=False)]
        for row in self.samples[list(GROUP_KEY)].drop_duplicates().itertuples(index=False):
            if tuple(row) not in seen:
                seen.append(tuple(row))
        return seen  # type: ignore[return-value]


def load_run(path: str | Path) -> RunData:
    """Read a reported run folder; a clear InputError names what is missing or unreadable."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a run folder (no such directory)", fix=NOT_A_RUN_FOLDER_FIX)
    for required in (SAMPLES_FILE, SUMMARY_FILE):
        if not (folder / required).is_file():
            raise InputError(f"{folder}: not a run folder ({required} is missing)", fix=NOT_A_RUN_FOLDER_FIX)
    info = read_run_info(folder)
    return RunData(folder, read_table(folder / SAMPLES_FILE), read_table(folder / SUMMARY_FILE), info)


def read_table(path: Path) -> pd.DataFrame:
    """Read a samples.csv or summary.csv with text kept as text and numbers typed.

    An OCR output of ``NA`` or ``null`` stays text, never a missing value.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise InputError(f"{path}: cannot read CSV: {error}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    for column in frame.columns:
        if column in TEXT_COLUMNS or column.startswith("tag."):
            continue  # tag values stay as written: "1" must not become "1.0"
        if column in BOOL_COLUMNS:
            frame[column] = frame[column].str.strip().str.lower().isin(("true", "1", "yes"))
            continue
        values = frame[column].str.strip()
        numbers = pd.to_numeric(values.replace("", None), errors="coerce")
        # Only columns whose every non-empty value is a number become numeric (tag values may be words).
        if (numbers.notna() | (values == "")).all():
            frame[column] = numbers.astype(float)
    for column in ("page",):
        if column in frame.columns and pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].fillna(0).astype(int)
    for column in ("dataset", "backend", "pipeline", "status", "text", "ground_truth"):
        if column not in frame.columns:
            frame[column] = ""
    if "comparable" not in frame.columns:
        frame["comparable"] = True
    return frame


def tag_columns(frame: pd.DataFrame) -> list[str]:
    """The ``tag.<name>`` columns of a samples frame."""
    return [column for column in frame.columns if column.startswith("tag.")]


def group_label(backend: str, pipeline: str) -> str:
    return f"{backend} · {pipeline}"
