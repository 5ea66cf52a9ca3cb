"""Write run folders by hand, following docs/run-folder.md, for report/compare/check tests.

Scores are computed from the texts given (grapheme alignment), so the files agree with
each other the way a real run's do. Use ``job(...)`` to describe rows and
``write_run(folder, jobs)`` to write samples.csv, summary.csv, run.json and results.jsonl.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from harness.align import align
from harness.stats import bootstrap_ci


@dataclass
class Job:
    sample_id: str
    ground_truth: str | None
    text: str | None
    backend: str = "tesseract"
    pipeline: str = "none"
    dataset: str = "real-dev"
    image: str = ""
    page: int = 0
    language: str = "en"
    tags: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.5
    cold: bool = False
    truncated: bool = False
    error_type: str = ""
    error_message: str = ""
    skipped: bool = False  # not run: e.g. a language the backend cannot read


def job(sample_id: str, ground_truth: str | None, text: str | None, **kwargs: Any) -> Job:
    return Job(sample_id, ground_truth, text, **kwargs)


def sample_row(item: Job) -> dict[str, Any]:
    row: dict[str, Any] = {
        "sample_id": item.sample_id,
        "dataset": item.dataset,
        "image": item.image,
        "page": item.page,
        "language": item.language,
    }
    row.update({f"tag.{key}": value for key, value in item.tags.items()})
    status = "error" if item.error_type else "unscored" if item.ground_truth is None else "ok"
    if item.skipped:
        status = "skipped"
    row.update(
        backend=item.backend,
        pipeline=item.pipeline,
        status=status,
        error_type=item.error_type,
        error_message=item.error_message,
        truncated=item.truncated,
        comparable=not item.truncated,
        ground_truth=item.ground_truth or "",
        text=item.text or "",
    )
    if status == "ok":
        alignment = align(item.ground_truth or "", item.text or "")
        ref_words = (item.ground_truth or "").split()
        word_errors = Levenshtein.distance(ref_words, (item.text or "").split())
        row.update(
            ref_chars=alignment.ref_chars,
            hyp_chars=alignment.hyp_chars,
            substitutions=alignment.substitutions,
            deletions=alignment.deletions,
            insertions=alignment.insertions,
            hits=alignment.ref_chars - alignment.substitutions - alignment.deletions,
            char_errors=alignment.errors,
            cer=_rate(alignment.errors, alignment.ref_chars),
            ref_words=len(ref_words),
            word_errors=word_errors,
            wer=_rate(word_errors, len(ref_words)),
        )
    timed = status not in ("error", "skipped")
    row.update(
        load_s=0.01 if timed else "",
        preprocess_s=0.02 if timed else "",
        recognize_s=item.seconds - 0.03 if timed else "",
        total_s=item.seconds if timed else "",
        cpu_s=item.seconds if timed else "",
        peak_rss_mb=300.0,
        cold=item.cold,
    )
    return row


def summary_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["backend"], row["pipeline"]), []).append(row)
    result = []
    for (backend, pipeline), members in groups.items():
        scored = [r for r in members if r["status"] == "ok"]
        failed = [r for r in members if r["status"] == "error"]
        timed = [r for r in members if r["status"] not in ("error", "skipped")]
        failures: dict[str, int] = {}
        for r in failed:
            failures[r["error_type"]] = failures.get(r["error_type"], 0) + 1
        summary: dict[str, Any] = {
            "backend": backend,
            "pipeline": pipeline,
            "jobs": len(members),
            "scored": len(scored),
            "failed": len(failed),
            "unscored": len(members) - len(scored) - len(failed),
            "failures": json.dumps(failures),
            "failure_policy": "exclude",
        }
        for unit, errors, length, rate in (
            ("cer", "char_errors", "ref_chars", "cer"),
            ("wer", "word_errors", "ref_words", "wer"),
        ):
            e = [r[errors] for r in scored]
            n = [r[length] for r in scored]
            micro = _rate(sum(e), sum(n))
            micro_low, micro_high = bootstrap_ci(e, weights=n, statistic="ratio") if scored else (0.0, 0.0)
            rates = [r[rate] for r in scored]
            macro = sum(rates) / len(rates) if rates else 0.0
            macro_low, macro_high = bootstrap_ci(rates)
            summary.update(
                {
                    f"micro_{unit}": micro,
                    f"micro_{unit}_low": micro_low,
                    f"micro_{unit}_high": micro_high,
                    f"macro_{unit}": macro,
                    f"macro_{unit}_low": macro_low,
                    f"macro_{unit}_high": macro_high,
                }
            )
        seconds = [r["total_s"] for r in timed]
        warm = [r["total_s"] for r in timed if not r["cold"]] or seconds
        cold = [r["total_s"] for r in timed if r["cold"]]
        summary.update(
            comparable=not any(r["truncated"] for r in scored),
            pages_per_s=len(timed) / sum(seconds) if seconds else 0.0,
            chars_per_s=sum(r.get("hyp_chars", 0) for r in scored) / sum(seconds) if seconds else 0.0,
            cpu_s_per_page=statistics.mean(seconds) if seconds else "",
            peak_rss_mb=300.0,
            latency_p50_s=statistics.median(warm) if warm else "",
            latency_p95_s=max(warm) if warm else "",
            latency_max_s=max(warm) if warm else "",
            cold_latency_s=statistics.mean(cold) if cold else "",
        )
        result.append(summary)
    return result


def write_run(
    folder: Path,
    jobs: Sequence[Job],
    *,
    suite: str = "test-suite",
    config: dict | None = None,
    dataset_paths: dict[str, str] | None = None,
) -> Path:
    """Write a complete run folder (without report.html) and return it.

    ``dataset_paths`` gives datasets' folders (reports show only images inside them).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = [sample_row(item) for item in jobs]
    _write_csv(folder / "samples.csv", rows)
    _write_csv(folder / "summary.csv", summary_rows(rows))
    datasets: dict[str, Any] = {}
    for item in jobs:
        path = (dataset_paths or {}).get(item.dataset, "")
        datasets.setdefault(item.dataset, {"path": path, "fingerprint": "x", "samples": 0})
    for name in datasets:
        datasets[name]["samples"] = len({(j.sample_id, j.page) for j in jobs if j.dataset == name})
    info = {
        "suite": suite,
        "started": 1_764_000_000.0,
        "finished": 1_764_000_060.0,
        "harness": {"version": "0.1.0", "commit": "abc1234"},
        "normalisation": {"id": "nfc-ws@1", "name": "nfc-ws"},
        "failure_policy": "exclude",
        "backends": {
            b: {"version": "1.0", "fingerprint": {}, "thread_settings": {}} for b in {j.backend for j in jobs}
        },
        "datasets": datasets,
        "config": config or {},
        "environment": {"python": "3.11", "os": "Linux", "cpu_model": "test", "cpu_count": 2, "env": {}},
    }
    (folder / "run.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    with open(folder / "results.jsonl", "w", encoding="utf-8") as handle:
        for item in jobs:
            handle.write(
                json.dumps({"sample_id": item.sample_id, "backend": item.backend, "text": item.text}) + "\n"
            )
    return folder


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def _rate(errors: float, length: float) -> float:
    if length:
        return errors / length
    return 0.0 if errors == 0 else 1.0
