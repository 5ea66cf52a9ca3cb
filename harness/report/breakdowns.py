"""CER broken down by a property of the pages (a tag, or the dataset): the report's bar charts.

Not every tag is worth a chart, and not every value is worth a bar:

- a tag with a single value, or a word that differs on every page (an id), says nothing
  about accuracy: no chart;
- a numeric tag with a few values, each on a few pages, gets a bar per value; otherwise
  (blur, noise, skew...) it is cut into a few ranges at round numbers near its quantiles, so each bar
  stands on about as many pages; a value a quarter of the pages share (typically 0: the
  degradation was not applied) gets a bar of its own;
- words get a bar each, severity words (none, light, medium, heavy...) in order of
  severity; beyond :data:`MAX_CATEGORIES` values the rarest are pooled as "other".

Every bar says how many pages it stands on. Charts come ordered by how much they tell:
datasets first, then severity tags, then the tags whose bars differ most (bars on a
single page count last: one hard page alone says little).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from harness.report.charts import Bars
from harness.run_folder import SAMPLE_KEY, tag_columns
from harness.stats import finite_or_none, quantiles

#: Numeric tags with at most this many distinct values (two pages each on average) get a bar per value.
MAX_EXACT_VALUES = 6
#: Words beyond this many distinct values: the rarest are pooled as "other".
MAX_CATEGORIES = 10
#: A value gets its own bar among ranges when at least this share of pages (and two) has it.
SHARED_MINIMUM = 0.25
#: Values that mean "not set" in a numeric tag (e.g. jpeg_quality null: no JPEG step).
NULL_WORDS = frozenset({"null", "none", "nan", "n/a", "na", "-"})
#: Severity words, mildest first; a tag whose values are all here is ordered by them.
SEVERITY = {
    word: rank
    for rank, words in enumerate(
        (
            ("none", "clean", "no"),
            ("minimal", "slight", "light", "low", "mild", "weak"),
            ("medium", "moderate", "mid", "average"),
            ("heavy", "high", "strong", "severe"),
            ("extreme", "very heavy", "very high"),
        )
    )
    for word in words
}

Kind = Literal["dataset", "severity", "words", "values", "ranges"]


@dataclass(frozen=True)
class Bins:
    """How one property's values are grouped: bar labels in order, and each raw value's bar."""

    kind: Kind
    labels: tuple[str, ...]
    of_value: dict[str, str]


@dataclass(frozen=True)
class Breakdown:
    """CER of every group in every bar of one property."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    pages: tuple[int, ...]  # distinct pages per bar, over all groups
    series: tuple[Bars, ...]  # one per backend x pipeline: CER per bar (None: no page scored there)

    @property
    def spread(self) -> float:
        """Mean over groups of the gap between their best and worst bar."""
        return self._spread(min_pages=0)

    @property
    def solid_spread(self) -> float:
        """The spread over bars on two pages or more: one hard page alone says little."""
        return self._spread(min_pages=2)

    def _spread(self, *, min_pages: int) -> float:
        gaps = []
        for series in self.series:
            pages = series.pages or (0,) * len(series.values)
            values = [
                v for v, n in zip(series.values, pages, strict=True) if v is not None and n >= min_pages
            ]
            if len(values) > 1:
                gaps.append(max(values) - min(values))
        return sum(gaps) / len(gaps) if gaps else 0.0


def breakdowns(scored: pd.DataFrame, groups: Sequence[tuple[tuple[str, str], str, str]]) -> list[Breakdown]:
    """Every breakdown worth a chart, most telling first.

    ``scored`` holds the scored, comparable rows of samples.csv; ``groups`` lists
    ``((backend, pipeline), label, colour)`` in the order the report shows them.
    """
    result: list[Breakdown] = []
    if scored.empty:
        return result
    if scored["dataset"].nunique() > 1:
        names = sorted(set(scored["dataset"].astype(str)))
        datasets = Bins("dataset", tuple(names), {name: name for name in names})
        result.append(_breakdown("dataset", "dataset", datasets, scored, groups))
    tags: list[Breakdown] = []
    for column in tag_columns(scored):
        pages = scored.drop_duplicates(list(SAMPLE_KEY))[column].astype(str).str.strip()
        bins = plan_bins([value for value in pages if value != ""])
        if bins is not None:
            tags.append(_breakdown(column, column.removeprefix("tag."), bins, scored, groups))
    tags.sort(key=lambda b: (b.kind != "severity", -b.solid_spread, -b.spread, b.name))
    return result + tags


def plan_bins(values: Sequence[str]) -> Bins | None:
    """Group one property's values, one value per page; None when a chart would tell nothing."""
    distinct = set(values)
    if len(distinct) < 2:
        return None
    numbers = {value: number for value in distinct if (number := finite_or_none(value)) is not None}
    others = distinct - set(numbers)
    if len(set(numbers.values())) >= 2 and all(value.lower() in NULL_WORDS for value in others):
        bins = _numeric_bins(values, numbers, sorted(others))
        return bins if len(bins.labels) > 1 else None
    if len(distinct) == len(values):
        return None  # a different word on every page: an id, not a property
    if all(value.lower() in SEVERITY for value in distinct):
        ordered = sorted(distinct, key=lambda value: (SEVERITY[value.lower()], value))
        return Bins("severity", tuple(ordered), {value: value for value in distinct})
    return _word_bins(values)


def _numeric_bins(values: Sequence[str], numbers: dict[str, float], others: list[str]) -> Bins:
    per_value = sum(value in numbers for value in values) / len(set(numbers.values()))
    if len(set(numbers.values())) <= MAX_EXACT_VALUES and per_value >= 2:
        ordered = sorted(numbers, key=lambda value: (numbers[value], value))
        exact = list(dict.fromkeys(_format(numbers[value]) for value in ordered))
        mapping = {value: _format(numbers[value]) for value in ordered}
        return Bins("values", tuple(exact + others), {**mapping, **{o: o for o in others}})
    per_page = sorted(numbers[value] for value in values if value in numbers)
    target = 4 if len(per_page) >= 12 else 3 if len(per_page) >= 6 else 2
    # A value many pages share (0: "not applied", 255: white paper) is a bar of its own;
    # the values between shared ones are cut into ranges that never straddle them.
    counts = Counter(per_page)
    shared = sorted(n for n, count in counts.items() if count >= max(2, SHARED_MINIMUM * len(per_page)))
    rest = [n for n in per_page if n not in shared]
    segments = [
        [n for n in rest if lower < n < upper]
        for lower, upper in zip([-math.inf, *shared], [*shared, math.inf], strict=True)
    ]
    available = max(target - len(shared), 1)
    by_number: dict[float, str] = {}
    labels: list[str] = []
    for index, segment in enumerate(segments):
        if segment:
            ranges = _ranges(segment, max(1, round(available * len(segment) / len(rest))), shared)
            for number in segment:
                # Ranges include their lower end; the last one its upper end too.
                by_number[number] = next(
                    (label for low, high, label in ranges if low <= number < high), ranges[-1][2]
                )
            labels += [label for _, _, label in ranges if label in by_number.values()]
        if index < len(shared):
            by_number[shared[index]] = _format(shared[index])
            labels.append(by_number[shared[index]])
    ranged = {value: by_number[number] for value, number in numbers.items()}
    kind: Kind = "ranges" if set(labels) - {_format(n) for n in numbers.values()} else "values"
    return Bins(kind, tuple(labels + others), {**ranged, **{o: o for o in others}})


def _ranges(ordered: list[float], count: int, shared: Sequence[float]) -> list[tuple[float, float, str]]:
    """Up to ``count`` ranges over sorted values, cut near the quantiles at round numbers.

    Each cut is rounded as coarsely as it can be while staying within half the distance
    to the neighbouring quantiles, so skewed values (1, 10, ..., 10⁶) get sensible edges.
    Where a round end would take in a ``shared`` value (a bar of its own), the label
    shows the nearest real value instead: "0.01–0.1" beside a bar "0", not "0–0.1".
    """
    low, high = ordered[0], ordered[-1]
    if high == low:
        return [(low, high, _format(low))]
    cuts = quantiles(ordered, [index / count for index in range(count + 1)])
    edges: list[tuple[float, int]] = []  # (edge, decimals to show)
    for index, value in enumerate(cuts):
        neighbours = [cuts[j] for j in (index - 1, index + 1) if 0 <= j <= count]
        gaps = [abs(value - other) for other in neighbours if other != value]
        if not gaps and 0 < index < count:
            continue  # ties: this cut coincides with its neighbour
        step = _round_step(min(gaps or [(high - low) / count]) / 2)
        direction: Literal["down", "up", "nearest"] = (
            "down" if index == 0 else "up" if index == count else "nearest"
        )
        edge = _round_to(value, step, direction)
        if 0 < index < count and not edges[-1][0] < edge < high:
            continue
        edges.append((edge, _digits(step)))
    if len(edges) < 2:
        return [(low, high, f"{_format(low)}{_dash(low, high)}{_format(high)}")]
    ranges = []
    for index, ((a, a_digits), (b, b_digits)) in enumerate(zip(edges, edges[1:], strict=False)):
        start, end = _format(a, a_digits), _format(b, b_digits)
        if index == 0 and any(a <= value < low for value in shared):
            start = _format(low, significant=2)
        if index == len(edges) - 2 and any(high < value <= b for value in shared):
            end = _format(high, significant=2)
        ranges.append((a, b, f"{start}{_dash(a, b)}{end}"))
    return ranges


def _word_bins(values: Sequence[str]) -> Bins:
    counts = Counter(values)
    if len(counts) <= MAX_CATEGORIES:
        ordered = sorted(counts)
        return Bins("words", tuple(ordered), {value: value for value in ordered})
    kept = sorted(value for value, _ in counts.most_common(MAX_CATEGORIES - 1))
    other = f"other ({len(counts) - len(kept)} values)"
    mapping = {value: (value if value in kept else other) for value in counts}
    return Bins("words", (*kept, other), mapping)


def _breakdown(
    column: str,
    name: str,
    bins: Bins,
    scored: pd.DataFrame,
    groups: Sequence[tuple[tuple[str, str], str, str]],
) -> Breakdown:
    bar = scored[column].astype(str).str.strip().map(bins.of_value)
    rows = scored.assign(_bar=bar).dropna(subset=["_bar"])
    pages = tuple(
        int(rows[rows["_bar"] == label].drop_duplicates(list(SAMPLE_KEY)).shape[0]) for label in bins.labels
    )
    series = []
    for (backend, pipeline), label, colour in groups:
        mine = rows[(rows["backend"] == backend) & (rows["pipeline"] == pipeline)]
        cer: list[float | None] = []
        counts: list[int] = []
        for bin_label in bins.labels:
            subset = mine[mine["_bar"] == bin_label]
            reference = float(subset["ref_chars"].sum()) if len(subset) else 0.0
            cer.append(float(subset["char_errors"].sum()) / reference if reference else None)
            counts.append(len(subset))
        series.append(Bars(label, colour, tuple(cer), tuple(counts)))
    return Breakdown(name, bins.kind, bins.labels, pages, tuple(series))


# --- numbers -------------------------------------------------------------------------


def _round_to(value: float, step: float, direction: Literal["down", "up", "nearest"]) -> float:
    steps = value / step
    if direction == "down":
        whole = math.floor(steps + 1e-9)
    elif direction == "up":
        whole = math.ceil(steps - 1e-9)
    else:
        whole = round(steps)
    return round(whole * step, _digits(step))  # 3 * 0.1 is 0.30000000000000004: keep edges exact


def _round_step(raw: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten not above ``raw``: edges read as round numbers."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return max(m * magnitude for m in (1, 2, 5) if m * magnitude <= raw * (1 + 1e-9))


def _digits(step: float) -> int:
    return next(d for d in range(10) if abs(round(step, d) - step) < step * 1e-6)


def _format(number: float, digits: int | None = None, *, significant: int = 6) -> str:
    """A number as a short label: no trailing zeros, a real minus sign ("−3 – −1" reads better)."""
    text = f"{number:.{significant}g}" if digits is None else f"{number:.{digits}f}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace("-", "−")


def _dash(low: float, high: float) -> str:
    return " – " if low < 0 or high < 0 else "–"
