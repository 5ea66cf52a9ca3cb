"""The history of a suite as a self-contained HTML page (history-<suite>.html) and a terminal table.

Charts are inline SVG, styles inline, no script or network: the file opens offline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.history import Group, History, Point
from harness.report import charts
from harness.report.timeline import Series, timeline

#: Characters of a sparkline, lowest to highest.
_SPARKS = "▁▂▃▄▅▆▇█"


def render_history(history: History) -> str:
    from harness.report.html import environment

    marks = [(index, "\n".join(run.changes)) for index, run in enumerate(history.runs) if run.changes]
    numbers = {index: number for number, (index, _) in enumerate(marks, start=1)}
    names = [f"{run.name} ({run.started})" for run in history.runs]
    colours = _colours(history)
    figures: list[dict[str, Any]] = []
    for backend, groups in _by_backend(history).items():
        metrics: list[tuple[str, str, bool]] = [("cer", "CER", True)]
        if history.has_unordered:
            metrics.append(("cer_unordered", "CER unordered", True))
        metrics.append(("pages_per_s", "pages/s", False))
        # Another engine's version or options moved nothing here: only this backend's changes are marked.
        others = [other for other in _by_backend(history) if other != backend]
        mine = [
            (index, text)
            for index, text in marks
            if any(not line.startswith(tuple(f"{other} " for other in others)) for line in text.splitlines())
        ]
        for metric, title, percent in metrics:
            series = [_series(history, group, metric, colours[group]) for group in groups]
            figures.append(
                {
                    "id": f"history-{len(figures)}",
                    "title": f"{backend}: {title}",
                    "svg": timeline(
                        series,
                        names,
                        title=f"{backend}: {title}",
                        percent=percent,
                        marks=mine,
                        numbers=numbers,
                    ),
                    "caption": _caption(metric, history),
                    "key": [(group[1], colours[group]) for group in groups],
                }
            )
    context = {
        "history": history,
        "figures": figures,
        "groups": [_group_row(history, group, colours[group]) for group in history.series],
        "marks": numbers,
    }
    return environment().get_template("history.html.j2").render(**context)


def write_history(history: History, target: Path) -> Path:
    """Write the page atomically (never half a page); OutputError, naming the file, if it cannot be."""
    from harness.files import write_text_atomic

    target.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(target, render_history(history))


def history_table(history: History, *, width: int | None = None) -> Any:
    """A rich Table: per group, its latest figures and a sparkline of CER over the runs."""
    from rich.table import Table

    table = Table(
        title=f"{history.suite}: {len(history.runs)} run{'s' if len(history.runs) != 1 else ''}",
        title_justify="left",
        expand=False,
    )
    table.add_column("backend", overflow="fold")
    table.add_column("pipeline", overflow="fold")
    table.add_column("runs", justify="right")
    table.add_column("CER latest", justify="right")
    table.add_column("Δ first", justify="right")
    table.add_column("CER over runs", no_wrap=True)
    if history.has_unordered:
        table.add_column("CER unord.", justify="right")
    table.add_column("pages/s", justify="right")
    for group, points in history.series.items():
        last = points[-1]
        first_cer = next((p.cer for p in points if p.cer is not None), None)
        cells = [
            group[0],
            group[1],
            str(len(points)),
            _percent(last.cer),
            _change(first_cer, last.cer),
            sparkline([_at(points, index, "cer") for index in range(len(history.runs))]),
        ]
        if history.has_unordered:
            cells.append(_percent(last.cer_unordered))
        cells.append(_speed(last))
        table.add_row(*cells)
    return table


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled from the lowest to the highest; a space where there is none."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    return "".join(
        " "
        if value is None or not math.isfinite(value)
        else _SPARKS[0 if span == 0 else min(len(_SPARKS) - 1, int((value - low) / span * len(_SPARKS)))]
        for value in values
    )


def _by_backend(history: History) -> dict[str, list[Group]]:
    grouped: dict[str, list[Group]] = {}
    for group in history.series:
        grouped.setdefault(group[0], []).append(group)
    return grouped


def _colours(history: History) -> dict[Group, str]:
    colours = {}
    for groups in _by_backend(history).values():
        for index, group in enumerate(groups):
            colours[group] = charts.color(index)
    return colours


def _at(points: Sequence[Point], run: int, attribute: str) -> float | None:
    for point in points:
        if point.run == run:
            value = getattr(point, attribute)
            return value if isinstance(value, float) else None
    return None


def _series(history: History, group: Group, metric: str, colour: str) -> Series:
    points = history.series[group]
    runs = range(len(history.runs))
    low_name, high_name = {
        "cer": ("cer_low", "cer_high"),
        "pages_per_s": ("pages_per_s_min", "pages_per_s_max"),
    }.get(metric, ("", ""))
    return Series(
        label=f"{group[0]} · {group[1]}",
        color=colour,
        values=tuple(_at(points, run, metric) for run in runs),
        low=tuple(_at(points, run, low_name) for run in runs) if low_name else None,
        high=tuple(_at(points, run, high_name) for run in runs) if high_name else None,
        key=f"{group[0]} · {group[1]}",
    )


def _caption(metric: str, history: History) -> str:
    if metric == "cer":
        return "Micro CER per run, its 95% bootstrap interval as a bar. Δ: settings changed before this run."
    if metric == "cer_unordered":
        return "Order-independent CER: low while CER rises means the words were read in another order."
    spread = (
        "the slowest and fastest timing round as a bar" if history.has_speed_spread else "one timing round"
    )
    return f"Pages per second (median over rounds), {spread}. Speed depends on the machine: see the changes."


def _group_row(history: History, group: Group, colour: str) -> dict[str, Any]:
    points = history.series[group]
    last = points[-1]
    first_cer = next((p.cer for p in points if p.cer is not None), None)
    return {
        "backend": group[0],
        "pipeline": group[1],
        "colour": colour,
        "runs": len(points),
        "cer": _percent(last.cer),
        "change": _change(first_cer, last.cer),
        "cer_unordered": _percent(last.cer_unordered),
        "speed": _speed(last),
        "scored": last.scored,
    }


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _change(first: float | None, last: float | None) -> str:
    if first is None or last is None:
        return "–"
    return f"{(last - first) * 100:+.2f}pp"


def _speed(point: Point) -> str:
    if point.pages_per_s is None:
        return "–"
    text = f"{point.pages_per_s:.3g}"
    low, high = point.pages_per_s_min, point.pages_per_s_max
    if low is not None and high is not None and high > low:
        text += f" ({low:.3g}–{high:.3g})"
    return text
