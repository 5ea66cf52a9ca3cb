"""Inline SVG charts for the HTML report: no JavaScript, no network, text escaped.

Each function returns one ``<svg>`` element as a string; every label is escaped here,
because labels include user-supplied names (pipelines, tag values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from harness.stats import quantiles

#: Tableau 10: distinguishable, and readable for most colour-blind readers.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)

_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
_SMALL = 'font-family="system-ui, sans-serif" font-size="11"'
#: Average width of a character of _FONT, to lay out legends without measuring text.
_CHAR_WIDTH = 6.8


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Point:
    """One backend x pipeline in the accuracy/throughput plane."""

    label: str
    throughput: float
    error: float
    error_low: float | None = None
    error_high: float | None = None
    color: str = PALETTE[0]
    comparable: bool = True


@dataclass(frozen=True)
class Box:
    """A distribution summarised for a box plot, plus the raw values for a strip."""

    label: str
    values: tuple[float, ...]
    color: str = PALETTE[0]


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """Points no other point beats on both axes (lower error and higher throughput)."""
    candidates = [p for p in points if p.comparable and _finite(p.error) and _finite(p.throughput)]
    front = []
    for point in candidates:
        dominated = any(
            other.error <= point.error
            and other.throughput >= point.throughput
            and (other.error < point.error or other.throughput > point.throughput)
            for other in candidates
        )
        if not dominated:
            front.append(point)
    return sorted(front, key=lambda p: p.throughput)


def accuracy_throughput(points: Sequence[Point], *, error_name: str = "CER") -> str:
    """Scatter of error rate (down is better) against pages/s (right is better), front marked."""
    width, height = 620, 400
    left, right, top, bottom = 64, 220, 20, 48
    plotted = [p for p in points if _finite(p.error) and _finite(p.throughput) and p.throughput > 0]
    if not plotted:
        return _empty(width, "No group has both an error rate and a throughput to plot.")
    xs = [p.throughput for p in plotted]
    x_log = max(xs) / min(xs) > 20
    x_scale = _Scale(min(xs), max(xs), left, width - right, log=x_log, pad=0.08)
    highs = [p.error_high if p.error_high is not None else p.error for p in plotted]
    y_scale = _Scale(0.0, max(max(highs), 1e-4), height - bottom, top, pad=0.05, zero=True)
    parts = [_svg_open(width, height, f"{error_name} against throughput")]
    parts += _axes(x_scale, y_scale, left, width - right, top, height - bottom)
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle" {_FONT}>'
        f"pages per second{' (log scale)' if x_log else ''} → faster</text>"
    )
    parts.append(
        f'<text transform="translate(16,{(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle" '
        f"{_FONT}>{escape(error_name)} (%) ↓ better</text>"
    )
    front = pareto_front(plotted)
    if len(front) > 1:
        # Step line: the best error rate reachable at each throughput or more.
        path = []
        for index, point in enumerate(front):
            x, y = x_scale(point.throughput), y_scale(point.error)
            if index:
                path.append(f"L{x_scale(front[index - 1].throughput):.1f},{y:.1f}")
            path.append(f"{'M' if not index else 'L'}{x:.1f},{y:.1f}")
        parts.append(
            f'<path class="pareto" d="{" ".join(path)}" fill="none" stroke="#444" '
            'stroke-dasharray="5 4" stroke-width="1.5"/>'
        )
    front_labels = {p.label for p in front}
    for point in plotted:
        x, y = x_scale(point.throughput), y_scale(point.error)
        tooltip = f"{point.label}: {point.error * 100:.2f}% {error_name}, {point.throughput:.3g} pages/s" + (
            "" if point.comparable else " (not comparable: truncated output)"
        )
        if point.error_low is not None and point.error_high is not None:
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y_scale(point.error_low):.1f}" '
                f'y2="{y_scale(point.error_high):.1f}" stroke="{point.color}" stroke-width="2" '
                'opacity="0.6"/>'
            )
        fill = point.color if point.comparable else "none"
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{fill}" stroke="{point.color}" '
            f'stroke-width="2"><title>{escape(tooltip)}</title></circle>'
        )
        if point.label in front_labels:
            parts.append(
                f'<circle class="pareto-point" cx="{x:.1f}" cy="{y:.1f}" r="10" fill="none" '
                'stroke="#222" stroke-width="1.5"/>'
            )
    # Legend on the right: one entry per point, front members starred.
    for index, point in enumerate(plotted):
        y = top + 10 + index * 18
        if y > height - bottom:
            break
        fill = point.color if point.comparable else "none"
        star = "★ " if point.label in front_labels else ""
        note = "" if point.comparable else " (n/c)"
        parts.append(
            f'<circle cx="{width - right + 18}" cy="{y}" r="5" fill="{fill}" stroke="{point.color}" '
            f'stroke-width="2"/><text x="{width - right + 28}" y="{y + 4}" {_FONT}>'
            f"{escape(star + _shorten(point.label, 27) + note)}<title>{escape(point.label)}</title></text>"
        )
    parts.append(
        f'<text x="{width - right + 10}" y="{height - 12}" {_FONT} fill="#555">★ Pareto front (dashed)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Bars:
    """One series of a grouped bar chart: a value per category (None: nothing to show there)."""

    label: str
    color: str
    values: tuple[float | None, ...]
    pages: tuple[int, ...] | None = None  # what each bar stands on, for its tooltip


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[Bars],
    *,
    x_title: str,
    y_title: str,
    counts: Sequence[int] | None = None,
) -> str:
    """Bars per category, one per series, values as fractions shown in %; ``counts`` as n= below."""
    left, right, top, plot_height = 64, 16, 20, 220
    width = max(600, left + right + len(categories) * max(64, 14 * len(series) + 24))
    legend, legend_height = _legend([(s.label, s.color) for s in series], left, width - right)
    axis = top + plot_height
    height = axis + 64 + legend_height
    values = [v for s in series for v in s.values if v is not None and _finite(v)]
    if not categories or not values:
        return _empty(width, "Nothing to plot.")
    y_scale = _Scale(0.0, max(max(values), 1e-4), axis, top, pad=0.05, zero=True)
    parts = [_svg_open(width, height, f"{y_title} by {x_title}")]
    band = (width - left - right) / len(categories)
    bar = band * 0.8 / max(1, len(series))
    parts += _y_axis(y_scale, left, width - right)
    for c_index, category in enumerate(categories):
        x0 = left + c_index * band + band * 0.1
        middle = left + (c_index + 0.5) * band
        parts.append(
            f'<text class="category" x="{middle:.1f}" y="{axis + 16}" text-anchor="middle" {_FONT}>'
            f"{escape(_shorten(category, max(6, int(band / 7))))}<title>{escape(category)}</title></text>"
        )
        if counts is not None:
            parts.append(
                f'<text class="count" x="{middle:.1f}" y="{axis + 31}" text-anchor="middle" {_SMALL} '
                f'fill="#59636e">n={counts[c_index]}<title>{counts[c_index]} pages</title></text>'
            )
        for s_index, item in enumerate(series):
            value = item.values[c_index]
            x = x0 + s_index * bar
            pages = f" over {item.pages[c_index]} pages" if item.pages is not None else ""
            if value is None or not _finite(value):
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{axis - 3}" text-anchor="middle" fill="#8c959f" '
                    f"{_SMALL}>"
                    f"–<title>{escape(f'{item.label} | {category}: nothing scored')}</title></text>"
                )
                continue
            y = min(y_scale(value), axis - 2)  # a zero still shows as a sliver, unlike "nothing scored"
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{axis - y:.1f}" fill="{item.color}"><title>'
                f"{escape(f'{item.label} | {category}: {value * 100:.2f}%{pages}')}</title></rect>"
            )
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{axis}" y2="{axis}" stroke="#333"/>')
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{axis + 48}" text-anchor="middle" {_FONT}>'
        f"{escape(x_title)}</text>"
    )
    parts.append(
        f'<text transform="translate(16,{(top + axis) / 2}) rotate(-90)" text-anchor="middle" '
        f"{_FONT}>{escape(y_title)}</text>"
    )
    parts += [f'<g transform="translate(0,{axis + 66})">', *legend, "</g>"]
    parts.append("</svg>")
    return "".join(parts)


def latency_boxes(boxes: Sequence[Box], *, unit: str = "s") -> str:
    """Horizontal box plots (quartiles, whiskers at min/max) with every value as a dot."""
    rows = [b for b in boxes if b.values]
    if not rows:
        return _empty(560, "No latencies to plot.")
    width = 560
    label_width = 200
    row_height = 34
    top, bottom = 16, 44
    height = top + bottom + row_height * len(rows)
    every = [v for b in rows for v in b.values]
    positive = [v for v in every if v > 0]
    log = bool(positive) and len(positive) == len(every) and max(every) / min(positive) > 30
    x_scale = _Scale(min(every), max(every), label_width, width - 20, log=log, pad=0.04, zero=not log)
    parts = [_svg_open(width, height, "latency per job")]
    for tick in x_scale.ticks():
        x = x_scale(tick)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - bottom}" stroke="#e5e5e5"/>'
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" {_FONT}>{_fmt(tick)}</text>'
        )
    for index, box in enumerate(rows):
        y = top + index * row_height + row_height / 2
        q = _quantiles(box.values)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>'
            f"{escape(_shorten(box.label, 28))}<title>{escape(box.label)}</title></text>"
        )
        parts.append(
            f'<line x1="{x_scale(q[0]):.1f}" x2="{x_scale(q[4]):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{box.color}"/>'
            f'<rect class="box" x="{x_scale(q[1]):.1f}" y="{y - 9:.1f}" '
            f'width="{max(x_scale(q[3]) - x_scale(q[1]), 1):.1f}" height="18" fill="{box.color}" '
            f'fill-opacity="0.25" stroke="{box.color}"><title>'
            f"{escape(f'{box.label}: median {_fmt(q[2])} {unit}, quartiles {_fmt(q[1])}-{_fmt(q[3])}')}"
            "</title></rect>"
            f'<line x1="{x_scale(q[2]):.1f}" x2="{x_scale(q[2]):.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" '
            f'stroke="{box.color}" stroke-width="3"/>'
        )
        for j, value in enumerate(box.values[:400]):
            jitter = ((j * 7919) % 13 - 6) * 0.9  # deterministic jitter: the same report twice is identical
            parts.append(
                f'<circle cx="{x_scale(value):.1f}" cy="{y + jitter:.1f}" r="2" fill="{box.color}" '
                'fill-opacity="0.6"/>'
            )
    parts.append(
        f'<text x="{(label_width + width - 20) / 2}" y="{height - 8}" text-anchor="middle" {_FONT}>'
        f"seconds per job{' (log scale)' if log else ''}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


# --- helpers ------------------------------------------------------------------


class _Scale:
    """Maps data to pixels, linearly or logarithmically, with 'nice' ticks."""

    def __init__(
        self,
        low: float,
        high: float,
        start: float,
        end: float,
        *,
        log: bool = False,
        pad: float = 0.0,
        zero: bool = False,
    ) -> None:
        self.log = log
        if log:
            low, high = math.log10(low), math.log10(high)
        if zero:
            low = min(low, 0.0)
        if high - low < 1e-12:
            low, high = low - 0.5 if not zero else low, high + 0.5
        span = high - low
        self.low = low if zero and low == 0 else low - span * pad
        self.high = high + span * pad
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.start + (v - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if self.log:
            return [10.0**e for e in range(math.ceil(self.low), math.floor(self.high) + 1)] or [
                10**self.low,
                10**self.high,
            ]
        raw = (self.high - self.low) / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.low / step) * step
        return [first + i * step for i in range(int((self.high - first) / step) + 1)]


def _axes(x_scale: _Scale, y_scale: _Scale, x0: float, x1: float, y0: float, y1: float) -> list[str]:
    parts = _y_axis(y_scale, x0, x1)
    for tick in x_scale.ticks():
        x = x_scale(tick)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{y1 + 16}" text-anchor="middle" {_FONT}>{_fmt(tick)}</text>'
        )
    parts.append(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" stroke="#999"/>')
    return parts


def _y_axis(y_scale: _Scale, x0: float, x1: float) -> list[str]:
    parts = []
    for tick in y_scale.ticks():
        y = y_scale(tick)
        parts.append(
            f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{_fmt(tick * 100)}</text>'
        )
    return parts


def _legend(entries: Sequence[tuple[str, str]], x0: float, x1: float) -> tuple[list[str], int]:
    """Swatches and labels in as many equal columns as the longest label allows; and the height."""
    labels = [_shorten(label, 48) for label, _ in entries]
    item_width = 24 + _CHAR_WIDTH * max((len(label) for label in labels), default=0)
    columns = max(1, min(len(entries), int((x1 - x0 + 16) // (item_width + 16))))
    parts = []
    for index, ((label, colour), text) in enumerate(zip(entries, labels, strict=True)):
        x = x0 + (index % columns) * (item_width + 16)
        y = (index // columns) * 18
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 17:.1f}" y="{y + 1}" {_FONT}>{escape(text)}<title>{escape(label)}</title></text>'
        )
    return parts, 18 * math.ceil(len(entries) / columns)


def svg_width(svg: str) -> int:
    """The width in pixels of a chart made here (read from its opening tag)."""
    match = re.match(r'<svg [^>]*?width="(\d+)"', svg)
    return int(match.group(1)) if match else 0


def _svg_open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(title)}">'
    )


def _empty(width: float, message: str) -> str:
    return f'{_svg_open(width, 40, message)}<text x="8" y="24" {_FONT}>{escape(message)}</text></svg>'


def _quantiles(values: Sequence[float]) -> tuple[float, float, float, float, float]:
    low, lower, middle, upper, high = quantiles(values, [0, 0.25, 0.5, 0.75, 1])
    return low, lower, middle, upper, high


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.3g}"
    return f"{value:.2g}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
