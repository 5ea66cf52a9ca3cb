"""report.html's summary table: every summary.csv column worth a glance, with the best marked.

Accuracy is ranked where groups are compared on the same pages: ``CER (common)``
always, the columns over each group's own pages only when every group scored the
same samples (the markdown summary follows the same rules). Pages/s is marked on
the median, and after several rounds on every row whose spread reaches the best.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from harness.report.markdown import common_samples_sentence, fairness_notes, same_samples, speed_marks
from harness.stats import finite_or_none

_SUMMARY_COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    # key, title, format, which value is best
    ("jobs", "Jobs", "int", None),
    ("failed", "Failed", "int", "low"),
    ("skipped", "Not run", "int", None),
    ("empty_outputs", "Empty output", "int", None),
    ("cer_common", "CER (common)", "pct", "low"),
    ("micro_cer", "CER", "pct", "low"),
    ("macro_cer", "Mean page CER", "pct", "low"),
    ("micro_wer", "WER", "pct", "low"),
    ("cer_unordered", "CER unordered", "pct", "low"),
    ("bow_wer", "BoW WER", "pct", "low"),
    ("pages_per_s", "Pages/s", "num", "high"),
    ("chars_per_s", "Chars/s", "num", "high"),
    ("latency_p50_s", "Latency p50 (s)", "num", "low"),
    ("latency_p95_s", "Latency p95 (s)", "num", "low"),
    ("cold_latency_s", "Cold start (s)", "num", "low"),
    ("cpu_s_per_page", "CPU s/page", "num", "low"),
    ("peak_rss_mb", "Peak RSS (MB)", "num", "low"),
)
_ACCURACY_COLUMNS = {"cer_common", "micro_cer", "macro_cer", "micro_wer", "cer_unordered", "bow_wer"}
#: accuracy over each group's own pages: ranked only when every group scored the same samples
_OWN_PAGES = _ACCURACY_COLUMNS - {"cer_common"}


def summary_table_context(frame: pd.DataFrame) -> dict[str, Any]:
    """The summary section's table: columns, rows of cells with their best marks, and its notes."""
    columns = [
        column
        for column in _SUMMARY_COLUMNS
        if column[0] in frame.columns and (column[0] != "skipped" or frame["skipped"].fillna(0).any())
    ]
    comparable = frame["comparable"] if "comparable" in frame.columns else pd.Series(True, index=frame.index)
    ranked_own_pages = same_samples(frame)
    speed_rows = set(speed_marks(frame)["speed_rows"])
    best: dict[str, float] = {}
    for key, _, _, better in columns:
        if better is None or key == "pages_per_s" or (key in _OWN_PAGES and not ranked_own_pages):
            continue
        values = frame[key][comparable] if key in _ACCURACY_COLUMNS else frame[key]
        values = values.dropna()
        if len(values) > 1:
            best[key] = float(values.min() if better == "low" else values.max())
    rows = []
    for index, row in frame.iterrows():
        cells = []
        for key, _, kind, _ in columns:
            value = finite_or_none(row.get(key))
            interval = None
            if kind == "pct" and f"{key}_low" in frame.columns:
                low, high = finite_or_none(row.get(f"{key}_low")), finite_or_none(row.get(f"{key}_high"))
                if low is not None and high is not None:
                    interval = (low, high)
            spread = None
            if key == "pages_per_s" and int(row.get("rounds") or 1) > 1:
                low, high = (
                    finite_or_none(row.get("pages_per_s_min")),
                    finite_or_none(row.get("pages_per_s_max")),
                )
                if low is not None and high is not None:
                    spread = (low, high)
            is_accuracy = key in _ACCURACY_COLUMNS
            cells.append(
                {
                    "key": key,
                    "kind": kind,
                    "value": value,
                    "interval": interval,
                    "spread": spread,
                    "best": (index in speed_rows)
                    if key == "pages_per_s"
                    else value is not None
                    and best.get(key) == value
                    and (not is_accuracy or comparable[index]),
                    "not_comparable": is_accuracy and not comparable[index],
                }
            )
        failures = _json_object(row.get("failures"))
        rows.append(
            {
                "backend": row["backend"],
                "pipeline": row["pipeline"],
                "comparable": bool(comparable[index]),
                "failures": failures,
                "cells": cells,
            }
        )
    return {
        "columns": [{"key": k, "title": t, "kind": f} for k, t, f, _ in columns],
        "rows": rows,
        "common_sentence": common_samples_sentence(frame),
        "notes": fairness_notes(frame) if "cer_unordered" in frame.columns else [],
        "rounds": int(frame["rounds"].max()) if "rounds" in frame.columns and len(frame) else 1,
    }


def _json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
