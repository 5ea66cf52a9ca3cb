"""Comparisons (harness.compare) as a terminal table, Markdown or a self-contained HTML page."""

from __future__ import annotations

from collections.abc import Sequence

from harness.align import visible
from harness.compare import Comparison, ConfusionChange, GroupComparison, SampleChange
from harness.report.markdown import code_span, escape_markdown
from harness.stats import PairedDiff

FORMATS = ("table", "md", "html")


def render(comparisons: Sequence[Comparison], fmt: str) -> str:
    if fmt == "table":
        return "\n\n".join(to_text(c) for c in comparisons) + "\n"
    if fmt == "md":
        return "\n\n".join(to_markdown(c) for c in comparisons) + "\n"
    if fmt == "html":
        return to_html(comparisons)
    raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")


# --- shared wording ---------------------------------------------------------------------


def pp(value: float | None) -> str:
    """A difference of rates in percentage points, signed."""
    return "–" if value is None else f"{value * 100:+.2f}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def interval(diff: PairedDiff | None) -> str:
    if diff is None:
        return "–"
    return f"{pp(diff.diff)} pp [{pp(diff.low)}, {pp(diff.high)}]"


def significance(diff: PairedDiff | None) -> str:
    if diff is None:
        return "–"
    if not diff.significant:
        return "no"
    return "yes, B better" if diff.diff < 0 else "yes, B worse"


def speed(group: GroupComparison) -> str:
    ratio = group.throughput_ratio
    if ratio is None:
        return "–"
    spread = group.throughput_ratio_range
    if spread is None:
        return f"{ratio:.2f}x (1 round)"
    return f"{ratio:.2f}x ({spread[0]:.2f}–{spread[1]:.2f})"


def group_notes(group: GroupComparison) -> list[str]:
    notes = []
    if group.failed:
        notes.append(f"{group.failed} page(s) failed on one side or both: left out")
    if group.not_comparable:
        notes.append(f"{group.not_comparable} page(s) with truncated output: not comparable, left out")
    if group.only_a or group.only_b:
        notes.append(f"pages only in A: {group.only_a}, only in B: {group.only_b}: left out")
    if group.gt_differs:
        notes.append(f"{group.gt_differs} page(s) have different ground truth on the two sides")
    if group.config_differences:
        notes.append(
            "configuration differs: " + "; ".join(str(difference) for difference in group.config_differences)
        )
    return notes


def change_line(change: SampleChange) -> str:
    page = f" p{change.page + 1}" if change.page else ""
    return f"{change.sample_id}{page}: {pct(change.cer_a)} → {pct(change.cer_b)} ({pp(change.diff)} pp)"


def confusion_text(change: ConfusionChange) -> str:
    return (
        f"{visible(change.ref)}→{visible(change.hyp)} {change.delta:+d} ({change.count_a}→{change.count_b})"
    )


def header_lines(comparison: Comparison) -> list[str]:
    lines = [f"A: {comparison.name_a}", f"B: {comparison.name_b}"]
    lines.append(
        "Differences are B − A in percentage points (pp), with 95% paired bootstrap intervals over the pages "
        "both sides scored; significant when the interval excludes 0. CER unord. and BoW WER ignore reading "
        "order, on the same pages. Speed is B's pages/s over A's, with its range over timing rounds."
    )
    if comparison.run_differences:
        lines.append(
            "The runs' configurations differ: "
            + "; ".join(str(difference) for difference in comparison.run_differences)
        )
    if comparison.unpaired_a:
        lines.append("Only in A (not compared): " + ", ".join(" · ".join(g) for g in comparison.unpaired_a))
    if comparison.unpaired_b:
        lines.append("Only in B (not compared): " + ", ".join(" · ".join(g) for g in comparison.unpaired_b))
    lines += [f"Note: {note}" for note in comparison.notes]
    return lines


_COLUMNS = (
    "group", "pages", "CER A", "CER B", "ΔCER", "significant", "WER A", "WER B", "ΔWER",
    "CER unord. A", "CER unord. B", "BoW WER A", "BoW WER B", "speed B/A",
)  # fmt: skip


def summary_cells(group: GroupComparison) -> list[str]:
    return [
        group.label,
        str(group.pairs),
        pct(group.cer_a),
        pct(group.cer_b),
        interval(group.cer),
        significance(group.cer),
        pct(group.wer_a),
        pct(group.wer_b),
        interval(group.wer),
        pct(group.cer_unordered_a),
        pct(group.cer_unordered_b),
        pct(group.bow_wer_a),
        pct(group.bow_wer_b),
        speed(group),
    ]


# --- terminal ----------------------------------------------------------------------------


def to_text(comparison: Comparison) -> str:
    lines = header_lines(comparison) + [""]
    rows = [list(_COLUMNS)] + [summary_cells(group) for group in comparison.groups]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    for group in comparison.groups:
        lines += ["", f"{group.label}: {group.verdict}"]
        for note in group_notes(group):
            lines.append(f"  note: {note}")
        if group.worse:
            lines.append("  most worse:  " + "; ".join(change_line(c) for c in group.worse))
        if group.better:
            lines.append("  most better: " + "; ".join(change_line(c) for c in group.better))
        if group.introduced:
            lines.append("  confusions introduced: " + ", ".join(confusion_text(c) for c in group.introduced))
        if group.fixed:
            lines.append("  confusions fixed:      " + ", ".join(confusion_text(c) for c in group.fixed))
    return "\n".join(lines)


# --- Markdown ------------------------------------------------------------------------------


def to_markdown(comparison: Comparison) -> str:
    lines = [f"## {escape_markdown(comparison.name_a)} → {escape_markdown(comparison.name_b)}", ""]
    lines += [f"- {escape_markdown(line)}" for line in header_lines(comparison)]
    lines += ["", "| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for group in comparison.groups:
        cells = [escape_markdown(cell) for cell in summary_cells(group)]
        if group.cer is not None and group.cer.significant:
            cells[4] = f"**{cells[4]}**"
        lines.append("| " + " | ".join(cells) + " |")
    for group in comparison.groups:
        lines += ["", f"### {escape_markdown(group.label)}: {group.verdict}", ""]
        lines += [f"- note: {escape_markdown(note)}" for note in group_notes(group)]
        for title, changes in (("Most worse", group.worse), ("Most better", group.better)):
            if changes:
                lines.append(f"- {title}: " + "; ".join(code_span(change_line(c)) for c in changes))
        for title, confusion_changes in (
            ("Confusions introduced", group.introduced),
            ("Confusions fixed", group.fixed),
        ):
            if confusion_changes:
                lines.append(
                    f"- {title}: " + ", ".join(code_span(confusion_text(c)) for c in confusion_changes)
                )
    return "\n".join(lines)


# --- HTML ----------------------------------------------------------------------------------


def to_html(comparisons: Sequence[Comparison]) -> str:
    from harness.report.html import environment

    context = {
        "comparisons": [
            {
                "comparison": comparison,
                "header": header_lines(comparison),
                "rows": [summary_cells(group) for group in comparison.groups],
                "groups": [{"group": group, "notes": group_notes(group)} for group in comparison.groups],
            }
            for comparison in comparisons
        ],
        "columns": _COLUMNS,
        "change_line": change_line,
        "significance": significance,
        "pp": pp,
        "pct": pct,
    }
    return environment().get_template("compare.html.j2").render(**context)
