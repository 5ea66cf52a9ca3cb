"""Inline SVG line charts over runs (the history page): one series per group, changes marked.

Like :mod:`harness.report.charts`: no JavaScript, no network, every label escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from harness.report.charts import _FONT, _SMALL, _finite, _fmt, _Scale, _svg_open


@dataclass(frozen=True)
class Series:
    """One group's values over the runs (None: the group was not in that run)."""

    label: str
    color: str
    values: tuple[float | None, ...]
    low: tuple[float | None, ...] | None = None  # an interval or spread drawn as a whisker
    high: tuple[float | None, ...] | None = None
    key: str = ""  # data-group attribute, to find a series in the page


def timeline(
    series: Sequence[Series],
    runs: Sequence[str],
    *,
    title: str,
    percent: bool,
    marks: Sequence[tuple[int, str]] = (),
    numbers: Mapping[int, int] | None = None,
) -> str:
    """Values per run (x: runs in order), whiskers for intervals, dashed lines where settings changed."""
    left, right, top, plot_height = 64, 24, 24, 200
    width = max(480, left + right + 56 * max(len(runs), 1))
    axis = top + plot_height
    height = axis + 56
    values = [
        v
        for item in series
        for column in (item.values, item.low or (), item.high or ())
        for v in column
        if v is not None and _finite(v)
    ]
    parts = [_svg_open(width, height, title)]
    if not runs or not values:
        return parts[0] + f'<text x="8" y="24" {_FONT}>Nothing to plot.</text></svg>'
    y_scale = _Scale(0.0, max(max(values), 1e-4), axis, top, pad=0.08, zero=True)
    step = (width - left - right) / max(len(runs), 1)

    def x_of(index: int) -> float:
        return left + (index + 0.5) * step

    for tick in y_scale.ticks():
        y = y_scale(tick)
        shown = _fmt(tick * 100) + "%" if percent else _fmt(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{shown}</text>'
        )
    for position, (index, text) in enumerate(marks, start=1):
        number = (numbers or {}).get(index, position)
        x = x_of(index) - step / 2
        parts.append(
            f'<g class="change"><line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{axis}" stroke="#bf8700" '
            f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{top - 10}" fill="#7d4e00" {_SMALL}>'
            f"Δ{number}</text><title>{escape(text)}</title></g>"
        )
    for index, run in enumerate(runs):
        if len(runs) <= 12 or index % -(-len(runs) // 12) == 0 or index == len(runs) - 1:
            parts.append(
                f'<text x="{x_of(index):.1f}" y="{axis + 16}" text-anchor="middle" {_SMALL}>{index + 1}'
                f"<title>{escape(run)}</title></text>"
            )
    parts.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{axis + 40}" text-anchor="middle" {_FONT}>'
        "run (oldest first)</text>"
    )
    for item in series:
        parts += _series_svg(item, runs, x_of, y_scale, percent=percent)
    parts.append(
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{plot_height}" fill="none" '
    )
    parts.append('stroke="#999"/></svg>')
    return "".join(parts)


def _series_svg(
    item: Series, runs: Sequence[str], x_of: Callable[[int], float], y_scale: Any, *, percent: bool
) -> list[str]:
    """One group's line, interval whiskers and points."""
    parts: list[str] = []
    parts.append(f'<g class="series" data-group="{escape(item.key or item.label)}">')
    path: list[str] = []
    for index, value in enumerate(item.values):
        if value is None or not _finite(value):
            if len(path) > 1:
                parts.append(_polyline(path, item.color))
            path = []
            continue
        path.append(f"{x_of(index):.1f},{y_scale(value):.1f}")
    if len(path) > 1:
        parts.append(_polyline(path, item.color))
    for index, value in enumerate(item.values):
        if value is None or not _finite(value):
            continue
        low = item.low[index] if item.low else None
        high = item.high[index] if item.high else None
        x = x_of(index)
        tip = f"{item.label} · run {index + 1} ({runs[index]}): {_show(value, percent)}"
        if low is not None and high is not None and _finite(low) and _finite(high):
            tip += f" [{_show(low, percent)}, {_show(high, percent)}]"
            if high > low:
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y_scale(low):.1f}" y2="{y_scale(high):.1f}" '
                    f'stroke="{item.color}" stroke-opacity="0.45" stroke-width="3"/>'
                )
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y_scale(value):.1f}" r="3.5" fill="{item.color}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    parts.append("</g>")
    return parts


def _polyline(points: list[str], colour: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>'


def _show(value: float, percent: bool) -> str:
    return f"{value * 100:.2f}%" if percent else f"{value:.3g}"
