"""summary.md: the summary as a Markdown table to paste into a pull request.

The best value is in bold only where groups are compared on the same pages:
accuracy in ``CER (common)`` (the samples every group scored; the other accuracy
columns are each group's own pages and are marked only when every group scored
the same set), among rows whose accuracy is comparable. Speed is marked on the
median pages/s, and with several timing rounds every group whose spread reaches
the best one's is marked too (a tie within the spread). Every figure states its
denominator or unit, the normalisation is named, and confidence intervals read
``[low, high]``. Output the engine truncated (evaluation mode) shows
``n/c (truncated)`` instead of a CER.
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
    ("CER (common)", "cer_common", True),
    ("CER micro [95% CI]", "micro_cer", True),
    ("WER micro [95% CI]", "micro_wer", True),
    ("CER unordered", "cer_unordered", True),
    ("BoW WER", "bow_wer", True),
    ("CER macro [95% CI]", "macro_cer", True),
    ("scored / jobs", None, None),
    ("failed", "failed", None),
    ("empty", "empty_outputs", None),
    ("pages/s", "pages_per_s", False),
    ("latency p50 / p95 (s)", "latency_p50_s", True),
]
#: Accuracy columns computed on each group's own pages: ranked only when all groups scored the same set.
_OWN_PAGES = ("micro_cer", "micro_wer", "cer_unordered", "bow_wer", "macro_cer")


def same_samples(summary: pd.DataFrame) -> bool:
    """Whether every group counted exactly the samples all groups share."""
    if "common_samples" not in summary or not len(summary):
        return True
    return bool((summary["accuracy_pages"].astype(int) == summary["common_samples"].astype(int)).all())


def common_samples_sentence(summary: pd.DataFrame) -> str | None:
    """One sentence when groups scored different sample sets (None when they did not)."""
    if same_samples(summary):
        return None
    counts = summary["accuracy_pages"].astype(int)
    common = int(summary["common_samples"].iloc[0])
    return (
        f"Groups scored different samples ({counts.min()} to {counts.max()} each): they are ranked "
        f"on the {common} sample{'s' if common != 1 else ''} every group scored (CER (common), where the "
        "best is marked); the other accuracy figures cover each group's own samples."
    )


def summary_table(summary: pd.DataFrame) -> str:
    """The Markdown table alone (what the terminal prints at the end of a run)."""
    own_pages_ranked = same_samples(summary)
    best: dict[str, Any] = {
        column: _best(summary, column, lower)
        for _, column, lower in _COLUMNS
        if column and lower is not None and column != "pages_per_s"
        and (own_pages_ranked or column not in _OWN_PAGES)
    }  # fmt: skip
    best.update(speed_marks(summary))
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
    notes.extend(fairness_notes(summary))
    workers, threads = info.workers, info.threads_per_worker
    setup = f" on {workers} worker(s) x {threads} thread(s)" if workers else ""
    rounds = int(summary["rounds"].max()) if "rounds" in summary and len(summary) else 1
    spread = (
        f"median of {rounds} timing rounds run in turn (A B A B), (slowest–fastest) beside it; a speed "
        "is marked best with every row whose fastest round reaches the best row's slowest"
        if rounds > 1
        else "a single timing round, so no spread: run with --rounds 3 before trusting a speed ranking"
    )
    notes.append(
        "Speed: pages/s = pages read / wall time of the row (first job start to last job end), "
        f"engines and languages loaded beforehand{setup}; {spread}; latency = worker time per page, "
        "warm jobs only."
    )
    notes.extend(cache_notes(summary))
    return notes


def cache_notes(summary: pd.DataFrame) -> list[str]:
    """Which rows reuse cached outcomes, and whose timings their speed figures are."""
    if "speed_from_cache" not in summary:
        return []
    notes = []
    for _, row in summary.iterrows():
        if row.get("speed_from_cache"):
            notes.append(
                f"{row['backend']} · {row['pipeline']}: every outcome came from the result cache, so its "
                f"speed figures are those measured in run {row['speed_from_cache']}, not in this run."
            )
    cached = int(summary["cached"].sum()) if "cached" in summary else 0
    if cached:
        notes.append(
            f"Cached: {cached} job{'s' if cached != 1 else ''} reused an outcome from the result cache "
            "(`cached` = true in samples.csv); run with --no-cache or --refresh to measure afresh."
        )
    return notes


def fairness_notes(summary: pd.DataFrame) -> list[str]:
    """Empty outputs, reading order and unstable outputs, each said apart from ordinary errors."""
    notes = []
    empty = [
        f"{row['backend']} · {row['pipeline']} {int(row['empty_outputs'])}"
        for _, row in summary.iterrows()
        if int(row.get("empty_outputs") or 0)
    ]
    if empty:
        notes.append(
            "Empty output (the engine returned no text for a page whose reference has text; each "
            "scores CER 100%): " + "; ".join(empty) + ". See `empty_output` in samples.csv."
        )
    notes.append(
        "CER unordered and BoW WER ignore reading order (lines matched in any order; words as a bag): "
        "where CER is far above CER unordered, the engine read the words but in another order, "
        "e.g. columns read across." + reading_order_examples(summary)
    )
    changed = [
        f"{row['backend']} · {row['pipeline']} {int(row['changed_outputs'])}"
        for _, row in summary.iterrows()
        if int(row.get("changed_outputs") or 0)
    ]
    if changed:
        notes.append(
            "Outputs that changed in later timing rounds (accuracy is from round 1): "
            + "; ".join(changed)
            + "."
        )
    return notes


def reading_order_examples(summary: pd.DataFrame) -> str:
    """ " Here: group CER x% vs y% unordered" for groups where order costs over 5 points of CER."""
    gaps = []
    for _, row in summary.iterrows():
        cer, unordered = finite_or_none(row.get("micro_cer")), finite_or_none(row.get("cer_unordered"))
        if cer is not None and unordered is not None and cer - unordered > 0.05:
            gaps.append(f"{row['backend']} · {row['pipeline']} {_percent(cer)} vs {_percent(unordered)}")
    return f" Here: {'; '.join(gaps)}." if gaps else ""


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
        common_samples_sentence(summary) or "",
        summary_table(summary),
        "\n".join(f"- {note}" for note in summary_notes(summary, info)),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


# --- cells ----------------------------------------------------------------------------


def _best(summary: pd.DataFrame, column: str, lower: bool) -> float | None:
    if column not in summary or len(summary) < 2:
        return None
    accuracy = _is_accuracy(column)
    values = [
        float(row[column])
        for _, row in summary.iterrows()
        if finite_or_none(row.get(column)) is not None and (not accuracy or bool(row.get("comparable", True)))
    ]
    if len(values) < 2:
        return None
    return min(values) if lower else max(values)


def _cell(row: pd.Series, heading: str, column: str | None, best: dict[str, Any]) -> str:
    if column in ("backend", "pipeline"):
        return escape_markdown(row[column])
    if column is None:  # scored / jobs
        return f"{int(row['scored'])} / {int(row['jobs'])}"
    if column == "failed":
        return str(int(row["failed"]))
    if column == "empty_outputs":
        return str(int(row.get("empty_outputs") or 0))
    value = finite_or_none(row.get(column))
    if _is_accuracy(column):
        if value is not None and not bool(row.get("comparable", True)):
            return NOT_COMPARABLE
        if value is None:
            return EMPTY
        text = _percent(value)
        if f"{column}_low" in row.index:
            text += f" [{_percent(row[column + '_low'])}, {_percent(row[column + '_high'])}]"
        return _bold_first(text, _percent(value)) if _is_best(value, best.get(column)) else text
    if column == "pages_per_s":
        if value is None:
            return EMPTY
        text = f"{value:.2f}"
        text = f"**{text}**" if row.name in best.get("speed_rows", ()) else text
        low, high = finite_or_none(row.get("pages_per_s_min")), finite_or_none(row.get("pages_per_s_max"))
        if int(row.get("rounds") or 1) > 1 and low is not None and high is not None:
            text += f" ({low:.2f}–{high:.2f})"
        return text
    if column == "latency_p50_s":
        p95 = finite_or_none(row.get("latency_p95_s"))
        if value is None:
            return EMPTY
        text = f"{value:.3f}"
        text = f"**{text}**" if _is_best(value, best.get(column)) else text
        return f"{text} / {p95:.3f}" if p95 is not None else text
    return EMPTY if value is None else f"{value:g}"


def _is_accuracy(column: str) -> bool:
    return column.endswith(("_cer", "_wer", "_common", "_unordered"))


def speed_marks(summary: pd.DataFrame) -> dict[str, Any]:
    """Rows (by index) whose pages/s is marked best: the highest median, and with several rounds
    every row whose fastest round reaches the best row's slowest (the spreads overlap)."""
    rates = {
        index: finite_or_none(row.get("pages_per_s"))
        for index, row in summary.iterrows()
        if finite_or_none(row.get("pages_per_s")) is not None
    }
    if len(rates) < 2:
        return {"speed_rows": ()}
    best = max(rates, key=lambda index: rates[index] or 0.0)
    marked = {best}
    floor = finite_or_none(summary.loc[best].get("pages_per_s_min"))
    if int(summary.loc[best].get("rounds") or 1) > 1 and floor is not None:
        for index in rates:
            top = finite_or_none(summary.loc[index].get("pages_per_s_max"))
            if top is not None and top >= floor:
                marked.add(index)
    return {"speed_rows": tuple(sorted(marked))}


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
