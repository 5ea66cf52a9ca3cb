"""From stored job records to the two tables of a run: samples and summary.

``samples_frame`` scores every job record (one row per job); ``summary_frame``
aggregates one row per backend x pipeline. Both are computed from the run
folder's results.jsonl alone; docs/run-folder.md defines every column.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harness.files import write_atomic
from harness.metrics import (
    Normalisation,
    error_rate,
    graphemes,
    macro_rate,
    micro_rate,
    percentile,
    score,
)

STAGES = ("load", "preprocess", "recognize")

SAMPLE_COLUMNS = [
    "sample_id", "dataset", "image", "page", "language",
    # tag.<name> columns go here
    "backend", "pipeline", "status", "error_type", "error_message", "truncated", "comparable",
    "ground_truth", "text", "ref_chars", "hyp_chars", "substitutions", "deletions", "insertions", "hits",
    "char_errors", "cer", "ref_words", "hyp_words", "word_errors", "wer",
    "load_s", "preprocess_s", "recognize_s", "engine_init_s", "total_s", "cpu_s", "peak_rss_mb", "cold",
    "worker_pid", "started", "finished", "key",
]  # fmt: skip
_TAGS_AT = SAMPLE_COLUMNS.index("backend")


def latest_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per job: a resumed run may hold a retried job twice; the last one counts."""
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        identity = (record.get("dataset"), record.get("sample_id"), record.get("page"), record.get("key"))
        latest.pop(identity, None)  # re-insert so order follows when the job last ended
        latest[identity] = record
    return list(latest.values())


def sample_row(record: dict[str, Any], profile: Normalisation) -> dict[str, Any]:
    """One samples.csv row: the record's facts, its normalised texts and its scores."""
    ground_truth = record.get("ground_truth")
    text = record.get("text")
    status = record.get("status") or ("ok" if not record.get("error_type") else "error")
    if status == "ok" and ground_truth is None:
        status = "unscored"
    timings = record.get("timings") or {}
    truncated = bool(record.get("truncated"))
    row: dict[str, Any] = {
        "sample_id": record.get("sample_id"),
        "dataset": record.get("dataset"),
        "image": record.get("image"),
        "page": record.get("page", 0),
        "language": record.get("language"),
        "backend": record.get("backend"),
        "pipeline": record.get("pipeline"),
        "status": status,
        "error_type": record.get("error_type") or "",
        "error_message": record.get("error_message") or "",
        "truncated": truncated,
        "comparable": not truncated,
        "ground_truth": profile(ground_truth) if ground_truth is not None else "",
        "text": profile(text) if text is not None else "",
        "load_s": timings.get("load"),
        "preprocess_s": timings.get("preprocess"),
        "recognize_s": timings.get("recognize"),
        "engine_init_s": timings.get("engine_init"),
        "total_s": sum(timings.values()) if timings and status in ("ok", "unscored") else None,
        "cpu_s": record.get("cpu_seconds") if record.get("started") is not None else None,
        "peak_rss_mb": record.get("peak_rss_mb") or None,
        "cold": bool(record.get("cold")),
        "worker_pid": record.get("worker_pid") or None,
        "started": record.get("started"),
        "finished": record.get("finished"),
        "key": record.get("key"),
    }
    for name, value in (record.get("tags") or {}).items():
        row[f"tag.{name}"] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
    if ground_truth is not None:
        reference = profile(ground_truth)
        row["ref_chars"] = len(graphemes(reference))
        row["ref_words"] = len(reference.split())
    if text is not None:
        row["hyp_chars"] = len(graphemes(row["text"]))
        row["hyp_words"] = len(row["text"].split())
    if status == "ok" and ground_truth is not None:
        counts = score(ground_truth, text or "", profile)
        row.update(
            substitutions=counts.substitutions,
            deletions=counts.deletions,
            insertions=counts.insertions,
            hits=counts.hits,
            char_errors=counts.char_errors,
            cer=counts.cer,
            word_errors=counts.word_errors,
            wer=counts.wer,
        )
    return row


COUNT_COLUMNS = (
    "ref_chars", "hyp_chars", "substitutions", "deletions", "insertions", "hits", "char_errors",
    "ref_words", "hyp_words", "word_errors", "worker_pid",
)  # fmt: skip


def samples_frame(
    records: Iterable[dict[str, Any]],
    profile: Normalisation,
    *,
    backends: Sequence[str] = (),
    pipelines: Sequence[str] = (),
) -> pd.DataFrame:
    """The samples table: one scored row per job, group by group in run order, samples sorted."""
    rows = [sample_row(record, profile) for record in latest_records(records)]
    tags: list[str] = []
    for row in rows:
        tags.extend(column for column in row if column.startswith("tag.") and column not in tags)
    columns = SAMPLE_COLUMNS[:_TAGS_AT] + tags + SAMPLE_COLUMNS[_TAGS_AT:]
    frame = pd.DataFrame(rows, columns=columns)
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype("Int64")  # counts stay integers beside empty cells
    if len(frame):
        rank = {group: index for index, group in enumerate(group_order(frame, backends, pipelines))}
        frame["_group"] = [rank[group] for group in zip(frame["backend"], frame["pipeline"], strict=False)]
        frame = frame.sort_values(["_group", "dataset", "sample_id", "page"], kind="stable")
        frame = frame.drop(columns="_group").reset_index(drop=True)
    return frame


# --- summary -----------------------------------------------------------------------------


def group_order(
    samples: pd.DataFrame, backends: Sequence[str] = (), pipelines: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """(backend, pipeline) pairs: the run's own order first, then any others as they appear."""
    present = list(dict.fromkeys(zip(samples["backend"], samples["pipeline"], strict=False)))
    planned = [(b, p) for b in backends for p in pipelines if (b, p) in present]
    return planned + [group for group in present if group not in planned]


def summary_frame(
    samples: pd.DataFrame,
    *,
    failure_policy: str = "exclude",
    backends: Sequence[str] = (),
    pipelines: Sequence[str] = (),
) -> pd.DataFrame:
    """The summary table: one row per backend x pipeline."""
    rows = []
    for backend, pipeline in group_order(samples, backends, pipelines):
        group = samples[(samples["backend"] == backend) & (samples["pipeline"] == pipeline)]
        rows.append({"backend": backend, "pipeline": pipeline, **summarise_group(group, failure_policy)})
    return pd.DataFrame(rows)


def summarise_group(group: pd.DataFrame, failure_policy: str) -> dict[str, Any]:
    status = group["status"]
    failed = group[status == "error"]
    row: dict[str, Any] = {
        "jobs": int((status != "skipped").sum()),
        "scored": int((status == "ok").sum()),
        "failed": len(failed),
        "unscored": int((status == "unscored").sum()),
        "skipped": int((status == "skipped").sum()),
        "failures": json.dumps(dict(Counter(failed["error_type"])), sort_keys=True),
        "failure_policy": failure_policy,
    }
    row.update(_accuracy(group, failure_policy))
    row.update(_speed(group))
    return row


def _accuracy(group: pd.DataFrame, failure_policy: str) -> dict[str, Any]:
    scored = group[group["status"] == "ok"]
    char_errors = [int(v) for v in scored["char_errors"]]
    ref_chars = [int(v) for v in scored["ref_chars"]]
    word_errors = [int(v) for v in scored["word_errors"]]
    ref_words = [int(v) for v in scored["ref_words"]]
    if failure_policy == "count_as_cer_1":
        # A failed job counts as an empty output: every reference character deleted (CER 1).
        failed = group[(group["status"] == "error") & group["ref_chars"].notna()]
        char_errors += [int(v) for v in failed["ref_chars"]]
        ref_chars += [int(v) for v in failed["ref_chars"]]
        word_errors += [int(v) for v in failed["ref_words"]]
        ref_words += [int(v) for v in failed["ref_words"]]
    row: dict[str, Any] = {
        "accuracy_pages": len(char_errors),
        "ref_chars": sum(ref_chars),
        "ref_words": sum(ref_words),
        "truncated": int(group["truncated"].astype(bool).sum()),
        "comparable": not bool(scored["truncated"].astype(bool).any()),
    }
    for unit, errors, lengths in (("cer", char_errors, ref_chars), ("wer", word_errors, ref_words)):
        if not errors:
            row.update(
                {f"{kind}_{unit}{end}": None for kind in ("micro", "macro") for end in ("", "_low", "_high")}
            )
            continue
        micro = micro_rate(errors, lengths)
        macro = macro_rate([error_rate(e, n) for e, n in zip(errors, lengths, strict=False)])
        row.update(
            {
                f"micro_{unit}": micro.value,
                f"micro_{unit}_low": micro.low,
                f"micro_{unit}_high": micro.high,
                f"macro_{unit}": macro.value,
                f"macro_{unit}_low": macro.low,
                f"macro_{unit}_high": macro.high,
            }
        )
    return row


def _speed(group: pd.DataFrame) -> dict[str, Any]:
    ran = group[group["started"].notna() & (group["status"] != "skipped")]
    read = ran[ran["status"].isin(("ok", "unscored"))]
    warm = read[~read["cold"].astype(bool)]
    cold = read[read["cold"].astype(bool)]
    row: dict[str, Any] = {"pages": len(read), "warm_pages": len(warm), "cold_pages": len(cold)}
    # A cold job's time beyond its page work is worker start-up (process, imports, engine).
    page_work = cold[[f"{stage}_s" for stage in STAGES]].fillna(0).sum(axis=1)
    startup = _max(cold["finished"] - cold["started"] - page_work)
    wall = None
    if len(ran):
        wall = float(ran["finished"].max() - ran["started"].min()) - (startup or 0.0)
    row["wall_s"] = wall if wall is not None and wall > 0 else None
    row["startup_s"] = startup
    seconds = row["wall_s"]
    row["pages_per_s"] = len(read) / seconds if seconds else None
    row["chars_per_s"] = float(read["hyp_chars"].fillna(0).sum()) / seconds if seconds else None
    cpu_rows = warm if len(warm) else read
    row["cpu_s_per_page"] = _mean(cpu_rows["cpu_s"])
    row["peak_rss_mb"] = _max(ran["peak_rss_mb"])
    row.update(_percentiles("latency", warm["total_s"]))
    row["cold_latency_s"] = _mean(cold["total_s"])
    for stage in STAGES:
        row.update(_percentiles(stage, warm[f"{stage}_s"]))
    return row


def _percentiles(name: str, values: pd.Series) -> dict[str, float | None]:
    clean = [float(v) for v in values if v is not None and not _missing(v)]
    return {
        f"{name}_p50_s": percentile(clean, 50),
        f"{name}_p95_s": percentile(clean, 95),
        f"{name}_max_s": max(clean) if clean else None,
    }


def _mean(values: pd.Series) -> float | None:
    clean = [float(v) for v in values if not _missing(v)]
    return sum(clean) / len(clean) if clean else None


def _max(values: pd.Series) -> float | None:
    clean = [float(v) for v in values if not _missing(v)]
    return max(clean) if clean else None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


# --- writing ------------------------------------------------------------------------------


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """UTF-8 CSV: missing values as empty cells, booleans as true/false, never NaN or inf."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool or out[column].map(lambda v: isinstance(v, bool)).all():
            out[column] = out[column].map(lambda v: "true" if v else "false")
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].mask(out[column].isin([math.inf, -math.inf]))
    return write_atomic(
        path, lambda temporary: out.to_csv(temporary, index=False, na_rep="", encoding="utf-8")
    )
