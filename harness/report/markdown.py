"""summary.md: the summary as a Markdown table to paste into a pull request.

The best value of each column is in bold (among rows whose accuracy is
comparable); every figure states its denominator or unit, the normalisation is
named, and confidence intervals read ``[low, high]``. Output the engine
truncated (evaluation mode) shows ``n/c (truncated)`` instead of a CER.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pandas as pd

from harness.run_folder import RunInfo
from harness.stats import finite_or_none

NOT_COMPARABLE = "n/c (truncated)"
EMPTY = "–"

# (heading, summary column, whether lower is better: None for columns never marked best)
_COLUMNS: list[tuple[str, str | None, bool | None]] = [
    ("backend", "backend", None),
    ("pipeline", "pipeline", None),
    ("CER micro [95% CI]", "micro_cer", True),
    ("WER micro [95% CI]", "micro_wer", True),
    ("CER macro [95% CI]", "macro_cer", True),
    ("scored / jobs", None, None),
    ("failed", "failed", None),
    ("pages/s", "pages_per_s", False),
    ("latency p50 / p95 (s)", "latency_p50_s", True),
]


def summary_table(summary: pd.DataFrame) -> str:
    """The Markdown table alone (what the terminal prints at the end of a run)."""
    best = {
        column: _best(summary, column, lower) for _, column, lower in _COLUMNS if column and lower is not None
    }
    lines = [
        "| " + " | ".join(heading for heading, _, _ in _COLUMNS) + " |",
        "| "
        + " | ".join("---" if column in ("backend", "pipeline") else "---:" for _, column, _ in _COLUMNS)
        + " |",
    ]
    for _, row in summary.iterrows():
        cells = []
        for heading, column, _ in _COLUMNS:
            cells.append(_cell(row, heading, column, best))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_notes(summary: pd.DataFrame, info: RunInfo | dict[str, Any]) -> list[str]:
    """The lines under the table: denominators, normalisation, failures, speed definitions."""
    info = RunInfo.of(info)
    normalisation = info.normalisation_id or "nfc-ws@1"
    policy = info.failure_policy or (summary["failure_policy"].iloc[0] if len(summary) else "exclude")
    notes = [
        f"Normalisation {code_span(normalisation)} on both texts before scoring. CER = character edits "
        "(S+D+I) / reference characters, counted as grapheme clusters; WER the same for words. "
        "Micro = total edits / total reference length of the row's scored pages (`scored`); "
        "macro = mean of per-page rates. 95% CIs: bootstrap over pages.",
    ]
    if policy == "count_as_cer_1":
        notes.append(
            "Failed jobs count as CER 1 (failure_policy `count_as_cer_1`): an empty output for that page."
        )
    else:
        notes.append(
            "Failed jobs are left out of accuracy (failure_policy `exclude`) and counted in `failed`."
        )
    failures = []
    for _, row in summary.iterrows():
        reasons = json.loads(row["failures"] or "{}")
        if reasons:
            listed = ", ".join(f"{escape_markdown(name)} {count}" for name, count in sorted(reasons.items()))
            failures.append(
                f"{escape_markdown(row['backend'])} · {escape_markdown(row['pipeline'])}: {listed}"
            )
    if failures:
        notes.append("Failures by reason: " + "; ".join(failures) + ".")
    skipped = int(summary["skipped"].sum()) if "skipped" in summary else 0
    if skipped:
        notes.append(
            f"Not run: {skipped} job{'s' if skipped != 1 else ''} skipped because the backend cannot read "
            "the sample's language (see `status` = skipped in samples.csv); not counted in `jobs`."
        )
    unscored = int(summary["unscored"].sum()) if "unscored" in summary else 0
    if unscored:
        notes.append(
            f"Unscored: {unscored} job{'s' if unscored != 1 else ''} on pages without ground truth "
            "(run and timed, not scored)."
        )
    if "comparable" in summary and not summary["comparable"].astype(bool).all():
        notes.append(
            f"{NOT_COMPARABLE}: the engine returned only part of the text (evaluation mode), "
            "so its CER and WER must not be compared."
        )
    workers, threads = info.workers, info.threads_per_worker
    setup = f" on {workers} worker(s) x {threads} thread(s)" if workers else ""
    notes.append(
        "Speed: pages/s = pages read / wall time of the row (first job start to last job end, "
        f"less worker start-up){setup}; latency = worker time per page, warm jobs only."
    )
    return notes


def summary_markdown(summary: pd.DataFrame, info: RunInfo | dict[str, Any]) -> str:
    """The whole summary.md."""
    info = RunInfo.of(info)
    title = f"# {escape_markdown(info.suite or 'run')}: summary"
    started = info.started
    subtitle = f"Run started {started}." if started else ""
    if info.interrupted:
        subtitle += " The run was interrupted: figures cover the jobs that finished."
    parts = [
        title,
        subtitle.strip(),
        summary_table(summary),
        "\n".join(f"- {note}" for note in summary_notes(summary, info)),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


# --- cells ----------------------------------------------------------------------------


def _best(summary: pd.DataFrame, column: str, lower: bool) -> float | None:
    if column not in summary or len(summary) < 2:
        return None
    accuracy = column.endswith(("_cer", "_wer"))
    values = [
        float(row[column])
        for _, row in summary.iterrows()
        if finite_or_none(row.get(column)) is not None and (not accuracy or bool(row.get("comparable", True)))
    ]
    if len(values) < 2:
        return None
    return min(values) if lower else max(values)


def _cell(row: pd.Series, heading: str, column: str | None, best: dict[str, float | None]) -> str:
    if column in ("backend", "pipeline"):
        return escape_markdown(row[column])
    if column is None:  # scored / jobs
        return f"{int(row['scored'])} / {int(row['jobs'])}"
    if column == "failed":
        return str(int(row["failed"]))
    value = finite_or_none(row.get(column))
    if column.endswith(("_cer", "_wer")):
        if value is not None and not bool(row.get("comparable", True)):
            return NOT_COMPARABLE
        if value is None:
            return EMPTY
        text = f"{_percent(value)} [{_percent(row[column + '_low'])}, {_percent(row[column + '_high'])}]"
        return _bold_first(text, _percent(value)) if _is_best(value, best.get(column)) else text
    if column == "pages_per_s":
        if value is None:
            return EMPTY
        text = f"{value:.2f}"
        return f"**{text}**" if _is_best(value, best.get(column)) else text
    if column == "latency_p50_s":
        p95 = finite_or_none(row.get("latency_p95_s"))
        if value is None:
            return EMPTY
        text = f"{value:.3f}"
        text = f"**{text}**" if _is_best(value, best.get(column)) else text
        return f"{text} / {p95:.3f}" if p95 is not None else text
    return EMPTY if value is None else f"{value:g}"


def _bold_first(text: str, value_text: str) -> str:
    return f"**{value_text}**" + text[len(value_text) :]


def _is_best(value: float, best: float | None) -> bool:
    return best is not None and math.isclose(value, best, rel_tol=1e-12, abs_tol=1e-12)


def _percent(value: Any) -> str:
    number = finite_or_none(value)
    return EMPTY if number is None else f"{number * 100:.2f}%"


# Characters that start markup in GitHub-flavoured Markdown wherever they stand: emphasis,
# code, links and images, raw HTML and entities, table cells, strike-through, math, and the
# "@" and "#" of references. Backslash-escaped, each renders as itself.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&!$@#])")
_AUTOLINK = re.compile(r"(?i)(?<=www)\.|:(?=//)")


def escape_markdown(text: object) -> str:
    """Text (labels, file names, suite names) that renders as itself in any Markdown, on one line."""
    escaped = _MARKUP.sub(r"\\\1", " ".join(str(text).splitlines()))
    # Bare URLs become links in GitHub's renderer; an escaped "www." or "://" does not.
    return _AUTOLINK.sub(lambda match: "\\" + match.group(0), escaped)


def code_span(text: object) -> str:
    """Text as an inline code span, whatever backticks it holds (no escapes work inside one)."""
    one_line = " ".join(str(text).splitlines())
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {one_line} " if one_line.startswith("`") or one_line.endswith("`") else one_line
    return f"{fence}{padded}{fence}"
