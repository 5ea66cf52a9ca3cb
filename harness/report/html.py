"""The HTML report of a run folder (report.html).

CSS, a little JavaScript (table sorting, sample ordering) and SVG charts are inline;
images are thumbnails in ``thumbnails/`` beside it (harness/report/images.py), so the
run folder opens offline as it is and report.html stays small whatever the dataset.
All ground truth and OCR output goes through Jinja2 autoescaping: OCR output
is untrusted text.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from harness.align import ClassStats, align, class_accuracy, confusions, merge_class_stats, visible
from harness.files import write_text_atomic
from harness.report import charts
from harness.report.breakdowns import Breakdown, breakdowns
from harness.report.markdown import cache_notes
from harness.report.summary_table import summary_table_context
from harness.run_folder import REPORT_FILE, RunData, group_label, load_run, tag_columns
from harness.stats import finite_or_none

#: Samples shown in the drill-down (worst first); more would make the file unwieldy.
MAX_SAMPLES = 150
#: Rows of each confusion table.
TOP_CONFUSIONS = 15
#: "CER by <property>" charts shown open; the less telling ones are folded away.
OPEN_BREAKDOWNS = 4
#: Samples named per reason in the "Not run" table.
NOT_RUN_NAMES = 12


def write_html_report(run_dir: Path, *, max_samples: int = MAX_SAMPLES) -> Path:
    """Write ``run_dir/report.html`` from the run folder's files and return its path."""
    run_dir = Path(run_dir)
    html = render_run_report(load_run(run_dir), max_samples=max_samples)
    return write_text_atomic(run_dir / REPORT_FILE, html)  # never a half-written report


def render_run_report(run: RunData, *, max_samples: int = MAX_SAMPLES) -> str:
    analysis = analyse(run)
    context = {
        "title": f"{run.info.suite or run.name}: OCR report",
        "run": run,
        "meta": _meta(run),
        "summary": summary_table_context(run.summary),
        "cache_notes": cache_notes(run.summary),
        "charts": _charts(run, analysis),
        "errors": _error_tables(run, analysis),
        "samples": _drilldown(run, analysis, max_samples),
        "failures": _failures(run),
        "not_run": _not_run(run),
    }
    return environment().get_template("report.html.j2").render(**context)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = format_percent
    env.filters["num"] = format_number
    env.filters["visible"] = visible
    env.filters["svg_width"] = charts.svg_width
    return env


# --- analysis shared by the sections -------------------------------------------------


@dataclass
class GroupAnalysis:
    """Error analysis of one backend x pipeline over its scored, comparable rows."""

    label: str
    color: str
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    classes: dict[str, ClassStats] = field(default_factory=dict)
    errors: int = 0


@dataclass
class Analysis:
    groups: dict[tuple[str, str], GroupAnalysis]


def analyse(run: RunData) -> Analysis:
    """Align every scored, comparable row; aggregate confusions and class accuracy per group.

    Alignments are summed as they are made, not kept: memory stays flat in the number of
    samples (the drill-down aligns again the few rows it shows).
    """
    groups = {
        group: GroupAnalysis(group_label(*group), charts.color(index))
        for index, group in enumerate(run.groups())
    }
    scored = scored_rows(run.samples)
    scored = scored[scored["comparable"].astype(bool)]
    for backend, pipeline, reference, text in zip(
        scored["backend"], scored["pipeline"], scored["ground_truth"], scored["text"], strict=True
    ):
        alignment = align(str(reference), str(text))
        group = groups[(backend, pipeline)]
        group.confusions.update(confusions(alignment))
        group.errors += alignment.errors
        group.classes = merge_class_stats([group.classes, class_accuracy(alignment)])
    return Analysis(groups)


def scored_rows(samples: pd.DataFrame) -> pd.DataFrame:
    return samples[samples["status"] == "ok"]


# --- sections ------------------------------------------------------------------------


def _charts(run: RunData, analysis: Analysis) -> dict[str, list[dict[str, Any]]]:
    """Figures shown, and the less telling breakdowns, folded away."""
    figures = []
    summary = run.summary
    # Ranked on the samples every group scored (cer_common), when the run has that column.
    on_common = "cer_common" in summary.columns
    error_column = "cer_common" if on_common else "micro_cer"
    if {error_column, "pages_per_s"} <= set(summary.columns):
        points = []
        left_out = []
        for _, row in summary.iterrows():
            group = (row["backend"], row["pipeline"])
            if not bool(row.get("comparable", True)):
                left_out.append(group_label(*group))  # a truncated CER would only mislead here
                continue
            cer = finite_or_none(row[error_column])
            points.append(
                charts.Point(
                    label=group_label(*group),
                    throughput=finite_or_none(row["pages_per_s"]) or 0.0,
                    error=math.nan if cer is None else cer,
                    error_low=None if on_common else finite_or_none(row.get("micro_cer_low")),
                    error_high=None if on_common else finite_or_none(row.get("micro_cer_high")),
                    color=analysis.groups[group].color if group in analysis.groups else charts.color(0),
                )
            )
        figures.append(
            {
                "id": "chart-pareto",
                "title": "Accuracy against throughput",
                "caption": (
                    "Each point is one backend with one pipeline: CER on the "
                    f"{int(summary['common_samples'].iloc[0])} samples every group scored, against pages/s. "
                    if on_common and len(summary)
                    else "Each point is one backend with one pipeline; bars are 95% intervals of CER. "
                )
                + "Points on the dashed line (★) are not beaten on both accuracy and speed by any other."
                + (
                    f" Not plotted, as not comparable (truncated output): {', '.join(left_out)}."
                    if left_out
                    else ""
                ),
                "svg": charts.accuracy_throughput(points),
            }
        )
    ok = run.samples[run.samples["status"].isin(("ok", "unscored"))]
    if "total_s" in ok.columns:
        boxes = []
        for group, info in analysis.groups.items():
            rows = ok[(ok["backend"] == group[0]) & (ok["pipeline"] == group[1])]
            warm = rows[~rows["cold"]] if "cold" in rows.columns else rows
            latencies = tuple(float(v) for v in (warm if len(warm) else rows)["total_s"].dropna())
            boxes.append(charts.Box(info.label, latencies, info.color))
        figures.append(
            {
                "id": "chart-latency",
                "title": "Latency per job",
                "caption": "Seconds per job (load, preprocess and recognise), warm jobs only: engines and "
                "languages are loaded before timing, and a job that still had to load them is left out. "
                "Box: quartiles and median; whiskers: min, max.",
                "svg": charts.latency_boxes(boxes),
            }
        )
    scored = scored_rows(run.samples)
    groups = [(group, info.label, info.color) for group, info in analysis.groups.items()]
    by_property = [_breakdown_figure(b) for b in breakdowns(scored[scored["comparable"]], groups)]
    return {
        "figures": figures + by_property[:OPEN_BREAKDOWNS],
        "more": by_property[OPEN_BREAKDOWNS:],
    }


_BREAKDOWN_CAPTIONS = {
    "dataset": "CER of each dataset's pages",
    "severity": "CER of the pages at each {name}, mildest first",
    "words": "CER of the pages with each {name}",
    "values": "CER of the pages with each {name}",
    "ranges": "CER of the pages in each range of {name}",
}


def _breakdown_figure(breakdown: Breakdown) -> dict[str, Any]:
    caption = _BREAKDOWN_CAPTIONS[breakdown.kind].format(name=breakdown.name) + "; n = pages per bar."
    if breakdown.kind == "ranges":
        caption += (
            " Ranges are cut near its quantiles and include their lower end; "
            "a value many pages share (such as 0) has a bar of its own."
        )
    if any(bars.pages != breakdown.pages for bars in breakdown.series):
        caption += " Groups that did not score every page stand on fewer: hover a bar."
    return {
        "id": f"chart-by-{breakdown.name}",
        "name": breakdown.name,
        "title": f"CER by {breakdown.name}",
        "caption": caption,
        "svg": charts.grouped_bars(
            breakdown.labels,
            breakdown.series,
            x_title=breakdown.name,
            y_title="CER (%)",
            counts=breakdown.pages,
        ),
    }


def _error_tables(run: RunData, analysis: Analysis) -> dict[str, Any]:
    from harness.align import CHAR_CLASSES

    tables = []
    for info in analysis.groups.values():
        if not info.errors:
            continue
        rows = [
            {"ref": ref, "hyp": hyp, "count": count, "share": count / info.errors}
            for (ref, hyp), count in info.confusions.most_common(TOP_CONFUSIONS)
        ]
        tables.append({"label": info.label, "color": info.color, "rows": rows, "errors": info.errors})
    present = [kind for kind in CHAR_CLASSES if any(kind in g.classes for g in analysis.groups.values())]
    class_rows = [
        {"label": info.label, "color": info.color, "cells": [info.classes.get(kind) for kind in present]}
        for info in analysis.groups.values()
        if info.classes
    ]
    return {"confusions": tables, "classes": present, "class_rows": class_rows}


def _drilldown(run: RunData, analysis: Analysis, max_samples: int) -> dict[str, Any]:
    from harness.report.images import place_images

    samples = run.samples
    group_index = {group: index for index, group in enumerate(analysis.groups)}
    datasets = run.info.datasets
    cards = []
    for (dataset, sample_id, page), rows in samples.groupby(["dataset", "sample_id", "page"], sort=False):
        entries = []
        scores: dict[int, float] = {}
        for _, row in rows.iterrows():
            group = (row["backend"], row["pipeline"])
            position = group_index.get(group, 0)
            entry = {
                "group": position,
                "label": group_label(*group),
                "color": analysis.groups[group].color if group in analysis.groups else charts.color(0),
                "status": row["status"],
                "comparable": bool(row["comparable"]),
                "truncated": bool(row.get("truncated", False)),
                "cer": finite_or_none(row.get("cer")),
                "wer": finite_or_none(row.get("wer")),
                "error": f"{row.get('error_type', '')}: {row.get('error_message', '')}".strip(": "),
                "text": row["text"],
                "segments": None,
                "reference": row["ground_truth"] if row["status"] == "ok" else None,
                "pipeline": row["pipeline"],
                "read_name": row.get("thumbnail_read") or None,
            }
            # Worst first: a failed job is as bad as it gets; unscored rows sort last.
            if row["status"] == "error":
                scores[position] = math.inf
            elif entry["cer"] is not None and row["status"] == "ok":
                scores[position] = entry["cer"]
            entries.append(entry)
        entries.sort(key=lambda entry: entry["group"])
        finite = [s for s in scores.values() if math.isfinite(s)]
        mean = (sum(finite) / len(finite)) if finite else -1.0
        if any(math.isinf(s) for s in scores.values()):
            mean = max(mean, 0.0) + 1e6  # failures first
        first = rows.iloc[0]
        # A sample refused when the run was planned (outside its root, not a regular file...) has
        # rows that never started: its image is not shown, whatever the row names.
        never_started = rows["started"].isna() if "started" in rows else False
        refused = bool(((rows["status"] == "error") & never_started).any())
        cards.append(
            {
                "dataset": dataset,
                "sample_id": sample_id,
                "page": int(page),
                "image": first.get("image", ""),
                "thumbnail_name": first.get("thumbnail") or None,
                "dataset_path": datasets[dataset].path if dataset in datasets else None,
                "refused": refused,
                "language": first.get("language", ""),
                "ground_truth": first["ground_truth"],
                "tags": {
                    c.removeprefix("tag."): first[c] for c in tag_columns(samples) if str(first[c]) != ""
                },
                "entries": entries,
                "sort_mean": mean,
                "sort_by_group": {k: (1e6 if math.isinf(v) else v) for k, v in scores.items()},
            }
        )
    cards.sort(key=lambda card: -card["sort_mean"])
    shown = cards[:max_samples]
    for card in shown:
        for entry in card["entries"]:
            if entry["reference"] is not None:  # aligned again here: analyse() keeps no alignments
                entry["segments"] = align(str(entry["reference"]), str(entry["text"])).segments
    place_images(shown, run.path, run.info.config.run.get("max_image_pixels"))
    groups = [{"index": i, "label": info.label} for i, info in enumerate(analysis.groups.values())]
    return {"cards": shown, "total": len(cards), "groups": groups}


def _failures(run: RunData) -> list[dict[str, Any]]:
    """Jobs that ran and failed, one row each."""
    failed = run.samples[run.samples["status"] == "error"]
    return [
        {
            "sample_id": row["sample_id"],
            "dataset": row["dataset"],
            "page": row["page"],
            "image": row.get("image", ""),
            "backend": row["backend"],
            "pipeline": row["pipeline"],
            "error_type": row.get("error_type", ""),
            "error_message": row.get("error_message", ""),
        }
        for _, row in failed.head(1000).iterrows()
    ]


def _not_run(run: RunData) -> list[dict[str, Any]]:
    """Jobs skipped before the run (e.g. a language the backend cannot read), one row per reason."""
    skipped = run.samples[run.samples["status"] == "skipped"]
    reasons = []
    for (backend, error_type, message), rows in skipped.groupby(
        ["backend", "error_type", "error_message"], sort=False
    ):
        pages = rows.drop_duplicates(["dataset", "sample_id", "page"])
        names = [
            f"{row['sample_id']} p{int(row['page']) + 1}" if int(row["page"]) else str(row["sample_id"])
            for _, row in pages.iterrows()
        ]
        reasons.append(
            {
                "backend": backend,
                "error_type": error_type,
                "error_message": message,
                "jobs": len(rows),
                "pipelines": list(dict.fromkeys(rows["pipeline"])),
                "samples": names[:NOT_RUN_NAMES],
                "more_samples": max(0, len(names) - NOT_RUN_NAMES),
            }
        )
    return reasons


def _meta(run: RunData) -> dict[str, Any]:
    info = run.info
    harness, normalisation, environment = info.harness, info.normalisation, info.environment
    return {
        "suite": info.suite or run.name,
        "folder": run.name,
        "started": _timestamp(info.started),
        "finished": _timestamp(info.finished),
        "harness": " ".join(
            str(v) for v in (harness.get("version"), str(harness.get("commit") or "")[:12]) if v
        )
        + (" (uncommitted changes)" if harness.get("dirty") else ""),
        "normalisation": normalisation.get("id") or normalisation.get("name") or "",
        "failure_policy": info.failure_policy or "",
        "environment": {k: v for k, v in environment.items() if not isinstance(v, dict)},
        "thread_env": environment.get("env") if isinstance(environment.get("env"), dict) else {},
        "backends": {label: facts.model_dump(exclude_none=True) for label, facts in info.backends.items()},
        "datasets": {name: facts.model_dump(exclude_none=True) for name, facts in info.datasets.items()},
        "groups": len(run.groups()),
        "samples": int(run.samples[["dataset", "sample_id"]].drop_duplicates().shape[0]),
        "pages": int(run.samples[["dataset", "sample_id", "page"]].drop_duplicates().shape[0]),
        "jobs": int((run.samples["status"] != "skipped").sum()),
        "not_run": int((run.samples["status"] == "skipped").sum()),
    }


# --- formatting ----------------------------------------------------------------------


def format_percent(value: Any, digits: int = 2) -> str:
    number = finite_or_none(value)
    return "–" if number is None else f"{number * 100:.{digits}f}%"


def format_number(value: Any) -> str:
    number = finite_or_none(value)
    if number is None:
        return "–"
    if number == 0:
        return "0"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    if abs(number) >= 10:
        return f"{number:.1f}"
    return f"{number:.3g}"


def _timestamp(value: Any) -> str:
    from datetime import UTC, datetime

    number = finite_or_none(value)
    if number is not None:
        return datetime.fromtimestamp(number, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value or "")
