"""From stored job records to the two tables of a run: samples and summary.

``samples_frame`` scores every job record (one row per job); ``summary_frame``
aggregates one row per backend x pipeline. Both are computed from the run
folder's results.jsonl alone; docs/run-folder.md defines every column.
"""

from __future__ import annotations

import json
import math
import statistics
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
    "bow_errors", "bow_wer", "unordered_char_errors", "cer_unordered", "empty_output",
    "load_s", "preprocess_s", "recognize_s", "engine_init_s", "total_s", "cpu_s", "peak_rss_mb", "cold",
    "worker_pid", "started", "finished", "cached", "measured_in", "thumbnail", "thumbnail_read", "key",
]  # fmt: skip
_TAGS_AT = SAMPLE_COLUMNS.index("backend")


def latest_rows(records: Iterable[dict[str, Any]], profile: Normalisation) -> list[dict[str, Any]]:
    """One scored row per job: a resumed run may hold a retried job twice; the last one counts.

    Only round 1 counts here (records of later timing rounds carry ``round``). Records are
    consumed as they stream in and only their rows are kept (not the engines' lines and notes),
    so memory follows the table, not the results file.
    """
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        if record.get("round", 1) != 1:
            continue
        identity = (record.get("dataset"), record.get("sample_id"), record.get("page"), record.get("key"))
        latest.pop(identity, None)  # re-insert so order follows when the job last ended
        latest[identity] = sample_row(record, profile)
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
        "empty_output": False,
        "cold": bool(record.get("cold")),
        "worker_pid": record.get("worker_pid") or None,
        "started": record.get("started"),
        "finished": record.get("finished"),
        "cached": bool(record.get("cached")),
        "measured_in": record.get("measured_in") or "",
        "thumbnail": (record.get("thumbnails") or {}).get("original") or "",
        "thumbnail_read": (record.get("thumbnails") or {}).get("preprocessed") or "",
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
            bow_errors=counts.bow_errors,
            bow_wer=counts.bow_wer,
            unordered_char_errors=counts.unordered_char_errors,
            cer_unordered=counts.cer_unordered,
            empty_output=counts.empty_output,
        )
    return row


COUNT_COLUMNS = (
    "ref_chars", "hyp_chars", "substitutions", "deletions", "insertions", "hits", "char_errors",
    "ref_words", "hyp_words", "word_errors", "bow_errors", "unordered_char_errors", "worker_pid",
)  # fmt: skip


def samples_frame(
    records: Iterable[dict[str, Any]],
    profile: Normalisation,
    *,
    backends: Sequence[str] = (),
    pipelines: Sequence[str] = (),
) -> pd.DataFrame:
    """The samples table: one scored row per job, group by group in run order, samples sorted."""
    rows = latest_rows(records, profile)
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


def later_rounds_frame(records: Iterable[dict[str, Any]], profile: Normalisation) -> pd.DataFrame:
    """Timing rows of rounds after the first (unscored): backend, pipeline, round, times, text."""
    rows = []
    for record in records:
        if record.get("round", 1) == 1:
            continue
        row = sample_row({**record, "ground_truth": None}, profile)
        row["round"] = int(record["round"])
        rows.append(row)
    return pd.DataFrame(rows, columns=[*SAMPLE_COLUMNS, "round"])


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
    later_rounds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The summary table: one row per backend x pipeline.

    ``common_samples``, ``cer_common`` and ``wer_common`` are on the samples every
    group of the run scored, so groups that skipped or failed different samples
    are still compared on the same pages. ``later_rounds`` (see
    :func:`later_rounds_frame`) adds the speed spread over timing rounds.
    """
    common = common_samples(samples, failure_policy)
    rows = []
    for backend, pipeline in group_order(samples, backends, pipelines):
        group = samples[(samples["backend"] == backend) & (samples["pipeline"] == pipeline)]
        row = {"backend": backend, "pipeline": pipeline, **summarise_group(group, failure_policy)}
        row.update(_common_accuracy(group, common, failure_policy))
        later = None
        if later_rounds is not None and len(later_rounds):
            later = later_rounds[
                (later_rounds["backend"] == backend) & (later_rounds["pipeline"] == pipeline)
            ]
        row.update(_rounds(row["pages_per_s"], group, later))
        rows.append(row)
    return pd.DataFrame(rows)


def sample_identity(frame: pd.DataFrame) -> pd.Series:
    """One hashable identity per row's sample (dataset, sample id, page), for matching groups."""
    return pd.Series(
        list(zip(frame["dataset"], frame["sample_id"], frame["page"].astype(int), strict=False)),
        index=frame.index,
        dtype=object,
    )


def counted_for_accuracy(frame: pd.DataFrame, failure_policy: str) -> pd.Series:
    """Rows that count in accuracy: scored ones, and failed ones with a reference under count_as_cer_1."""
    counted = frame["status"] == "ok"
    if failure_policy == "count_as_cer_1":
        counted |= (frame["status"] == "error") & frame["ref_chars"].notna()
    return counted


def common_samples(samples: pd.DataFrame, failure_policy: str = "exclude") -> set[tuple[Any, ...]]:
    """The samples every backend x pipeline group of ``samples`` counted in its accuracy."""
    if not len(samples):
        return set()
    counted = samples[counted_for_accuracy(samples, failure_policy)]
    identities = sample_identity(counted) if len(counted) else pd.Series([], dtype=object)
    groups = list(dict.fromkeys(zip(samples["backend"], samples["pipeline"], strict=False)))
    shared: set[tuple[Any, ...]] | None = None
    for backend, pipeline in groups:
        mine = (counted["backend"] == backend) & (counted["pipeline"] == pipeline)
        found = set(identities[mine])
        shared = found if shared is None else shared & found
    return shared or set()


def _common_accuracy(
    group: pd.DataFrame, common: set[tuple[Any, ...]], failure_policy: str
) -> dict[str, Any]:
    counted = group[counted_for_accuracy(group, failure_policy)]
    on_common = counted[sample_identity(counted).isin(common)] if len(counted) else counted
    failed = on_common["status"] != "ok"
    # A failed job counted under count_as_cer_1 is an empty output: every reference unit is an error.
    char_errors = on_common["char_errors"].where(~failed, on_common["ref_chars"]).fillna(0)
    word_errors = on_common["word_errors"].where(~failed, on_common["ref_words"]).fillna(0)
    return {
        "common_samples": len(common),
        "cer_common": error_rate(int(char_errors.sum()), int(on_common["ref_chars"].sum()))
        if common
        else None,
        "wer_common": error_rate(int(word_errors.sum()), int(on_common["ref_words"].sum()))
        if common
        else None,
    }


def _rounds(first_rate: float | None, group: pd.DataFrame, later: pd.DataFrame | None) -> dict[str, Any]:
    """Pages/s over timing rounds (median, min, max) and later outputs that differ from round 1."""
    rates = [first_rate] if first_rate is not None else []
    changed = 0
    rounds = 1
    if later is not None and len(later):
        rounds += int(later["round"].nunique())
        for _, rows in later.groupby("round"):
            rate = _speed(rows)["pages_per_s"]
            if rate is not None:
                rates.append(rate)
        first_text = dict(zip(group["key"], group["text"], strict=False))
        read = later[later["status"].isin(("ok", "unscored"))]
        changed = sum(
            1
            for key, text in zip(read["key"], read["text"], strict=False)
            if first_text.get(key, text) != text
        )
    ordered = sorted(rates)
    return {
        "rounds": rounds,
        "pages_per_s": statistics.median(ordered) if ordered else None,
        "pages_per_s_min": ordered[0] if ordered else None,
        "pages_per_s_max": ordered[-1] if ordered else None,
        "changed_outputs": changed,
    }


def summarise_group(group: pd.DataFrame, failure_policy: str) -> dict[str, Any]:
    status = group["status"]
    failed = group[status == "error"]
    row: dict[str, Any] = {
        "jobs": int((status != "skipped").sum()),
        "scored": int((status == "ok").sum()),
        "failed": len(failed),
        "unscored": int((status == "unscored").sum()),
        "skipped": int((status == "skipped").sum()),
        "cached": int(group["cached"].astype(bool).sum()) if "cached" in group else 0,
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
    bow_errors = [int(v) for v in scored["bow_errors"]]
    unordered_errors = [int(v) for v in scored["unordered_char_errors"]]
    if failure_policy == "count_as_cer_1":
        # A failed job counts as an empty output: every reference character deleted (CER 1).
        failed = group[(group["status"] == "error") & group["ref_chars"].notna()]
        char_errors += [int(v) for v in failed["ref_chars"]]
        ref_chars += [int(v) for v in failed["ref_chars"]]
        word_errors += [int(v) for v in failed["ref_words"]]
        ref_words += [int(v) for v in failed["ref_words"]]
        bow_errors += [int(v) for v in failed["ref_words"]]
        unordered_errors += [int(v) for v in failed["ref_chars"]]
    row: dict[str, Any] = {
        "accuracy_pages": len(char_errors),
        "ref_chars": sum(ref_chars),
        "ref_words": sum(ref_words),
        # micro rates of the order-independent measures (harness.unordered)
        "bow_wer": error_rate(sum(bow_errors), sum(ref_words)) if bow_errors else None,
        "cer_unordered": error_rate(sum(unordered_errors), sum(ref_chars)) if unordered_errors else None,
        "empty_outputs": int(scored["empty_output"].astype(bool).sum()),
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
    # Outcomes reused from the cache keep the timings of the run that measured them. Speed comes
    # from this run's own jobs when it has any; otherwise from the measuring runs, each on its own
    # clock (their wall times add up), and the row says so.
    cached = ran["cached"].astype(bool) if "cached" in ran else pd.Series(False, index=ran.index)
    if (~cached).any():
        ran = ran[~cached]
    measured_in = sorted({str(name) for name in ran["measured_in"] if name}) if cached.all() else []
    read = ran[ran["status"].isin(("ok", "unscored"))]
    warm = read[~read["cold"].astype(bool)]
    cold = read[read["cold"].astype(bool)]
    row: dict[str, Any] = {"pages": len(read), "warm_pages": len(warm), "cold_pages": len(cold)}
    row["speed_from_cache"] = ", ".join(measured_in)
    wall = None
    startups = []
    for _, measured in ran.groupby(ran["measured_in"] if measured_in else pd.Series(0, index=ran.index)):
        measured_cold = measured[measured["cold"].astype(bool) & measured["status"].isin(("ok", "unscored"))]
        # A cold job's time beyond its page work is worker start-up (process, imports, engine).
        page_work = measured_cold[[f"{stage}_s" for stage in STAGES]].fillna(0).sum(axis=1)
        startup = _max(measured_cold["finished"] - measured_cold["started"] - page_work)
        startups.append(startup or 0.0)
        span = float(measured["finished"].max() - measured["started"].min()) - (startup or 0.0)
        wall = (wall or 0.0) + span
    startup = max(startups) if startups and len(cold) else None
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
