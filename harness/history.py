"""How a suite's results moved across runs: every run folder of a suite, read in time order.

Run folders are read only through the run-folder reading code; a folder that
cannot be read is named with its reason and left out, and the others still count.
Between two consecutive runs, what could explain a jump is listed: engine
versions, models and options, the normalisation, the failure policy, the
datasets, ocr-harness itself, and the workers and machine that set the speed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.run_folder import RunData, has_results, load_run, read_run_info

#: A run folder's name: ``<suite>-<UTC time>`` with an optional ``-N`` (two runs in one second).
_RUN_FOLDER = re.compile(r"^(?P<suite>.+)-\d{8}T\d{6}Z(?:-\d+)?$")
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")

Group = tuple[str, str]  # (backend label, pipeline), as in summary.csv


@dataclass(frozen=True)
class Point:
    """One group's figures in one run (rates as fractions; None where the run lacks the column)."""

    run: int  # index into History.runs
    cer: float | None
    cer_low: float | None
    cer_high: float | None
    cer_unordered: float | None
    pages_per_s: float | None
    pages_per_s_min: float | None
    pages_per_s_max: float | None
    scored: int


@dataclass
class Run:
    """One run folder of the suite, and what changed since the run before it."""

    name: str
    path: Path
    started: str
    changes: list[str] = field(default_factory=list)


@dataclass
class History:
    suite: str
    runs: list[Run] = field(default_factory=list)
    series: dict[Group, list[Point]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # folders left out, each with its reason

    @property
    def has_unordered(self) -> bool:
        return any(point.cer_unordered is not None for points in self.series.values() for point in points)

    @property
    def has_speed_spread(self) -> bool:
        return any(
            point.pages_per_s_min is not None and point.pages_per_s_min != point.pages_per_s_max
            for points in self.series.values()
            for point in points
        )


def history_file_name(suite: str) -> str:
    """``history-<suite>.html``, with the suite name made safe as a file name."""
    return f"history-{_UNSAFE_IN_FILE_NAME.sub('_', suite).strip('._') or 'suite'}.html"


def find_runs(reports_dir: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """Run folders directly under ``reports_dir`` by suite name, and the folders that were not read.

    Symbolic links (``latest``) are not followed: each run is its own folder, and
    nothing outside ``reports_dir`` is read.
    """
    if not reports_dir.is_dir():
        what = "not a folder" if reports_dir.exists() else "no such folder"
        raise InputError(f"{reports_dir}: {what}", fix="pass the folder runs write to, e.g. reports")
    by_suite: dict[str, list[Path]] = {}
    skipped: list[str] = []
    try:
        entries = sorted(reports_dir.iterdir())
    except OSError as error:
        raise InputError(f"{reports_dir}: cannot list: {error.strerror or error}") from None
    for entry in entries:
        if entry.is_symlink() or not entry.is_dir() or not has_results(entry):
            continue
        try:
            suite = _suite_of(entry)
        except InputError as error:
            skipped.append(str(error))
            continue
        by_suite.setdefault(suite, []).append(entry)
    return by_suite, skipped


def build_history(suite: str, folders: Iterable[Path], skipped: Iterable[str] = ()) -> History:
    """The suite's runs in the order they started, with each group's figures per run."""
    history = History(suite, skipped=list(skipped))
    loaded: list[tuple[str, RunData]] = []
    for folder in folders:
        try:
            run = load_run(folder)
        except InputError as error:
            history.skipped.append(str(error))
            continue
        loaded.append((_started(run), run))
    loaded.sort(key=lambda item: (item[0], item[1].name))
    previous: dict[str, Any] | None = None
    for index, (started, run) in enumerate(loaded):
        info = _plain(run.info)
        history.runs.append(
            Run(run.name, run.path, started, changes=config_changes(previous, info) if previous else [])
        )
        previous = info
        for row in run.summary.to_dict("records"):
            group = (str(row.get("backend", "")), str(row.get("pipeline", "")))
            history.series.setdefault(group, []).append(_point(index, row))
    return history


def config_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What differs between two runs' run.json that could move accuracy or speed, one line each."""
    old, new = _settings(before), _settings(after)
    lines = []
    for key in dict.fromkeys([*old, *new]):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {_show(old.get(key))} → {_show(new.get(key))}")
    return lines


def _settings(info: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    harness = info.get("harness") or {}
    settings["ocr-harness"] = " ".join(
        str(part) for part in (harness.get("version"), (harness.get("commit") or "")[:10]) if part
    )
    settings["normalisation"] = (info.get("normalisation") or {}).get("id")
    settings["failure policy"] = info.get("failure_policy")
    settings["workers × threads"] = f"{info.get('workers')} × {info.get('threads_per_worker')}"
    environment = info.get("environment") or {}
    settings["machine"] = f"{environment.get('cpu_model')}, {environment.get('usable_cpus')} usable cores"
    for name, dataset in sorted((info.get("datasets") or {}).items()):
        settings[f"dataset {name}"] = (dataset or {}).get("fingerprint")
    resolved = {
        str(entry.get("label") or entry.get("name")): entry.get("resolved_options") or entry.get("options")
        for entry in ((info.get("config") or {}).get("backends") or [])
        if isinstance(entry, Mapping)
    }
    for label, backend in sorted((info.get("backends") or {}).items()):
        backend = backend or {}
        settings[f"{label} version"] = backend.get("version")
        settings[f"{label} options"] = resolved.get(label, backend.get("options"))
        settings[f"{label} models"] = backend.get("fingerprint")
    return settings


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, str):
        return value[:12] + "…" if re.fullmatch(r"[0-9a-f]{64}", value) else value
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _point(index: int, row: Mapping[str, Any]) -> Point:
    return Point(
        run=index,
        cer=_number(row.get("micro_cer")),
        cer_low=_number(row.get("micro_cer_low")),
        cer_high=_number(row.get("micro_cer_high")),
        cer_unordered=_number(row.get("cer_unordered")),
        pages_per_s=_number(row.get("pages_per_s")),
        pages_per_s_min=_number(row.get("pages_per_s_min")),
        pages_per_s_max=_number(row.get("pages_per_s_max")),
        scored=int(_number(row.get("scored")) or 0),
    )


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _suite_of(folder: Path) -> str:
    suite = _plain(read_run_info(folder)).get("suite")
    if suite:
        return str(suite)
    match = _RUN_FOLDER.match(folder.name)
    return match.group("suite") if match else folder.name


def _started(run: RunData) -> str:
    started = _plain(run.info).get("started")
    if isinstance(started, int | float):
        from datetime import UTC, datetime

        return datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds")
    if started:
        return str(started)
    match = re.search(r"-(\d{8}T\d{6}Z)", run.name)
    return match.group(1) if match else ""


def _plain(info: Any) -> dict[str, Any]:
    """run.json as a plain dict, whether read as a dict or as a typed record."""
    if hasattr(info, "model_dump"):
        return dict(info.model_dump())
    return dict(info or {})
