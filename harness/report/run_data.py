"""Reading a run folder (docs/run-folder.md) into typed pandas frames.

Reporters, ``compare`` and ``check`` read run folders only through this module, so
an old run folder can be re-reported at any time. Text columns are read verbatim:
an OCR output of ``NA`` or ``null`` stays text, never a missing value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import InputError

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
        "thumbnail",
        "thumbnail_read",
        "speed_from_cache",
    }
)
BOOL_COLUMNS = frozenset({"truncated", "comparable", "cold", "cached"})
#: Identifies a sample across runs and groups.
SAMPLE_KEY = ("dataset", "sample_id", "page")
GROUP_KEY = ("backend", "pipeline")


@dataclass
class RunData:
    """One run folder: its path, run.json, and samples.csv / summary.csv as frames."""

    path: Path
    samples: pd.DataFrame
    summary: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

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
    """Read a run folder; a clear InputError names what is missing or unreadable."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(
            f"{folder}: not a run folder (no such directory)",
            fix="pass a folder written by 'ocr-harness run', e.g. reports/latest",
        )
    for required in ("samples.csv", "summary.csv"):
        if not (folder / required).is_file():
            raise InputError(
                f"{folder}: not a run folder ({required} is missing)",
                fix="pass a folder written by 'ocr-harness run', e.g. reports/latest",
            )
    info: dict[str, Any] = {}
    if (folder / "run.json").is_file():
        try:
            info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise InputError(f"{folder / 'run.json'}: not valid JSON: {error}") from None
    return RunData(folder, read_table(folder / "samples.csv"), read_table(folder / "summary.csv"), info)


def read_table(path: Path) -> pd.DataFrame:
    """Read a samples.csv or summary.csv with text kept as text and numbers typed."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise InputError(f"{path}: cannot read CSV: {error}") from None
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
