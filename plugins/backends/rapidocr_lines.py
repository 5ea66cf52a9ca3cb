"""Putting RapidOCR's phrase boxes back together into lines, on straight and skewed pages.

RapidOCR detects text as phrase boxes (quadrilaterals that follow the text's
slant) and reads each box on its own. A line of print may come back as one box
or several, and not always in reading order. This module groups the boxes into
lines using the quadrilaterals themselves: the page's skew is the median angle
of its long boxes, every box is measured along and across that direction, and a
box joins the line whose nearest box it overlaps across the text direction. An
axis-aligned rectangle cannot do this: on a page skewed by 2 degrees the
rectangle of a long line spans its neighbours, and lines interleave.

Lines are cut at column gutters: gaps along the text that the neighbouring
lines leave blank too. Columns and table cells set side by side thus stay
separate lines, each with its own box; lines are listed in rows top to bottom
and left to right within a row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.backends import Line
from harness.backends import Word as LineWord

#: One recognised character and the horizontal span (left, right) it was read at.
Glyph = tuple[str, float, float]

#: Four corners (x, y) of a detected box, in image pixels.
Quad = tuple[tuple[float, float], ...]

# Boxes whose spans across the text direction overlap by at least this share of the shorter
# one sit on one line.
_SAME_LINE_OVERLAP = 0.5

# A gap along the text wider than this many line heights always parts two lines set side by
# side (table cells, columns).
_WIDE_GAP = 2.0

# A narrower gap, but wider than this, parts them when it lies in a blank channel down the page
# (a column gutter). RapidOCR itself splits a line only at wide spaces, so the gap alone cannot
# tell: two-column pages here had gutters of 0.56 to 0.9 line heights.
_NARROW_GAP = 0.25

# The channel is looked for this many line heights above and below the gap: it is blank when
# at least two lines there have text on both sides of it and none across, and more lines do
# so than read right across it (a heading, or a box the engine read across the gutter).
_CHANNEL_REACH = 3.0

# Only boxes at least this many times longer than high give the text's angle reliably.
_LONG_BOX = 2.0

# Boxes tilted further than this are not horizontal text (vertical CJK columns, stray marks).
_MAX_SKEW_DEG = 30.0

# Two readings of a character are one glyph read twice when their spans share at least this
# share of the narrower span.
_SAME_GLYPH_OVERLAP = 0.5


class Word:
    """One detected box's text; ``glyphs`` places its non-space characters, when the engine did.

    ``box`` is the axis-aligned rectangle (left, top, right, bottom) around ``quad``,
    the box as detected (the rectangle's corners when the engine gave none).
    """

    __slots__ = ("text", "box", "score", "glyphs", "quad")

    def __init__(
        self,
        text: str,
        box: tuple[int, int, int, int],
        score: float,
        glyphs: Sequence[Glyph] | None = None,
        quad: Quad | None = None,
    ) -> None:
        self.text = text.strip()
        self.box = box
        self.score = score
        self.glyphs = tuple(glyphs) if glyphs is not None else None
        left, top, right, bottom = box
        self.quad: Quad = quad or ((left, top), (right, top), (right, bottom), (left, bottom))

    @classmethod
    def detected(cls, text: str, quad: Any, score: float, glyphs: Sequence[Glyph] | None) -> Word:
        """A word from the engine's quadrilateral ``quad`` (four (x, y) points)."""
        corners = tuple((float(point[0]), float(point[1])) for point in quad)
        xs = [x for x, _ in corners]
        ys = [y for _, y in corners]
        box = (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))
        return cls(text, box, score, glyphs, corners)

    def split(self, count: int) -> tuple[Word, Word]:
        """This word cut after its first ``count`` glyphs, the quad cut between them."""
        assert self.glyphs is not None and 0 < count < len(self.glyphs)
        left_x, right_x = min(x for x, _ in self.quad), max(x for x, _ in self.quad)
        cut_x = (self.glyphs[count - 1][2] + self.glyphs[count][1]) / 2
        share = (cut_x - left_x) / (right_x - left_x) if right_x > left_x else 0.5
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.quad[:4]
        top = (x0 + share * (x1 - x0), y0 + share * (y1 - y0))
        bottom = (x3 + share * (x2 - x3), y3 + share * (y2 - y3))
        right = self.without_first_glyphs(count)
        head = self.text[: len(self.text) - len(right.text)]
        return (
            Word.detected(head, ((x0, y0), top, bottom, (x3, y3)), self.score, self.glyphs[:count]),
            Word.detected(right.text, (top, (x1, y1), (x2, y2), bottom), self.score, right.glyphs),
        )

    def without_first_glyphs(self, count: int) -> Word:
        """This word minus its first ``count`` non-space characters."""
        text = self.text
        for _ in range(count):
            text = text.lstrip()[1:]
        glyphs = self.glyphs[count:] if self.glyphs is not None else None
        return Word(text, self.box, self.score, glyphs, self.quad)


def glyph_spans(placed: Any, text: str) -> tuple[Glyph, ...] | None:
    """Characters and spans from RapidOCR's single-character boxes; None unless they spell ``text``."""
    try:
        glyphs = tuple(
            (str(char), float(min(point[0] for point in quad)), float(max(point[0] for point in quad)))
            for char, _score, quad in placed
        )
    except (TypeError, ValueError):
        return None
    if "".join(glyph[0] for glyph in glyphs) != "".join(text.split()):
        return None
    return glyphs


def _same_glyph(first: Glyph, second: Glyph) -> bool:
    shared = min(first[2], second[2]) - max(first[1], second[1])
    narrower = min(first[2] - first[1], second[2] - second[1])
    return first[0] == second[0] and shared > 0 and shared >= _SAME_GLYPH_OVERLAP * narrower


def drop_repeated_glyphs(line: Sequence[Word]) -> list[Word]:
    """Drop characters a box repeats from its left neighbour: one glyph read twice.

    Detected boxes are grown (``unclip_ratio``) before reading, so neighbours in a
    line can overlap, and a glyph in the overlap may be read by both ("the" + "e
    as-rolled"). A leading character of a box is dropped only when the box overlaps
    its neighbour and the same character was read at the same place at the end of
    the neighbour, so "the epithet" keeps both e's. ``line`` is in reading order.
    """
    kept: list[Word] = []
    for word in line:
        if kept:
            word = _without_repeated_start(kept[-1], word)
        if word.text:
            kept.append(word)
    return kept


def _without_repeated_start(left: Word, right: Word) -> Word:
    if left.glyphs is None or right.glyphs is None or left.box[2] <= right.box[0]:
        return right
    for count in range(min(len(left.glyphs), len(right.glyphs)), 0, -1):
        ends, starts = left.glyphs[-count:], right.glyphs[:count]
        if all(_same_glyph(end, start) for end, start in zip(ends, starts, strict=True)):
            return right.without_first_glyphs(count)
    return right


class _Placed:
    """A word measured in the page's text direction: ``along`` and ``across`` are (start, end)."""

    __slots__ = ("word", "along", "across", "cos", "sin")

    def __init__(self, word: Word, cos: float, sin: float) -> None:
        along = [x * cos + y * sin for x, y in word.quad]
        across = [y * cos - x * sin for x, y in word.quad]
        self.word, self.cos, self.sin = word, cos, sin
        self.along = (min(along), max(along))
        self.across = (min(across), max(across))

    @property
    def height(self) -> float:
        return self.across[1] - self.across[0]


def skew_angle(words: Sequence[Word]) -> float:
    """The text direction in radians (positive: clockwise on screen), from the words' boxes.

    The median angle of the long boxes, each weighted by its length: a short box
    (a page number, a single letter) says little about the angle of the text.
    """
    angles: list[tuple[float, float]] = []
    for word in words:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = word.quad[:4]
        # The mean of the top and bottom edges, and the distance between them.
        dx, dy = (x1 - x0 + x2 - x3) / 2, (y1 - y0 + y2 - y3) / 2
        length = math.hypot(dx, dy)
        height = math.hypot((x3 - x0 + x2 - x1) / 2, (y3 - y0 + y2 - y1) / 2)
        angle = math.atan2(dy, dx)
        if length >= _LONG_BOX * height and abs(math.degrees(angle)) <= _MAX_SKEW_DEG:
            angles.append((angle, length))
    if not angles:
        return 0.0
    angles.sort()
    half, total = sum(weight for _, weight in angles) / 2, 0.0
    for angle, weight in angles:
        total += weight
        if total >= half:
            return angle
    return angles[-1][0]


def group_into_lines(words: Sequence[Word]) -> list[list[Word]]:
    """Group word boxes into lines, each in reading order; rows top to bottom, left to right.

    Boxes are measured along and across the page's text direction (:func:`skew_angle`).
    Going along the text, a box continues the line whose last box it overlaps most
    across the text (at least half the shorter height) and is near enough to. Comparing
    with the nearest box, not the whole line, follows lines that curve. A line is then
    cut at every gap that is part of a blank channel down the page (:func:`_in_columns`).
    """
    angle = skew_angle(words)
    cos, sin = math.cos(angle), math.sin(angle)
    lines: list[list[_Placed]] = []
    for placed in sorted((_Placed(word, cos, sin) for word in words), key=lambda p: p.along[0]):
        best, best_overlap = None, _SAME_LINE_OVERLAP
        for line in lines:
            last = line[-1]
            height = min(placed.height, last.height)
            gap = placed.along[0] - last.along[1]
            if height <= 0 or gap > _WIDE_GAP * height:
                continue
            overlap = (min(placed.across[1], last.across[1]) - max(placed.across[0], last.across[0])) / height
            if overlap >= best_overlap:
                best, best_overlap = line, overlap
        if best is None:
            lines.append([placed])
        else:
            best.append(placed)
    return [[placed.word for placed in line] for line in _in_rows(_in_columns(lines))]


def _in_columns(lines: list[list[_Placed]]) -> list[list[_Placed]]:
    """``lines`` cut at gaps that neighbouring lines leave blank too: column gutters.

    A wide space inside a line of prose has the neighbouring lines' text above and
    below it; a gutter has their gaps. A line with no neighbours is never cut. The
    engine sometimes reads across a narrow gutter as one box: such a box is cut
    between the glyphs either side of the gutter.
    """
    cut: list[list[_Placed]] = []
    for line in lines:
        current: list[_Placed] = []
        for placed in line:
            pieces = _cut_at_gutters(placed, line, lines)
            if current and _is_gutter(
                current[-1].along[1], pieces[0].along[0], current[-1], placed, line, lines
            ):
                cut.append(current)
                current = []
            current.append(pieces[0])
            for piece in pieces[1:]:  # cut at a gutter already
                cut.append(current)
                current = [piece]
        cut.append(current)
    return cut


def _cut_at_gutters(placed: _Placed, line: list[_Placed], lines: list[list[_Placed]]) -> list[_Placed]:
    glyphs = placed.word.glyphs
    if glyphs is None or len(glyphs) < 2:
        return [placed]
    left_x, right_x = min(x for x, _ in placed.word.quad), max(x for x, _ in placed.word.quad)
    scale = (placed.along[1] - placed.along[0]) / max(right_x - left_x, 1e-9)
    for count in range(1, len(glyphs)):
        start = placed.along[0] + (glyphs[count - 1][2] - left_x) * scale
        end = placed.along[0] + (glyphs[count][1] - left_x) * scale
        if _is_gutter(start, end, placed, placed, line, lines):
            head, rest = placed.word.split(count)
            cos, sin = placed.cos, placed.sin
            return [_Placed(head, cos, sin), *_cut_at_gutters(_Placed(rest, cos, sin), line, lines)]
    return [placed]


def _is_gutter(
    start: float, end: float, left: _Placed, right: _Placed, line: list[_Placed], lines: list[list[_Placed]]
) -> bool:
    """Whether the gap from ``start`` to ``end`` along ``line`` lies in a blank channel down the page."""
    height = min(left.height, right.height)
    if end - start <= _NARROW_GAP * height:
        return False
    top = min(left.across[0], right.across[0]) - _CHANNEL_REACH * height
    bottom = max(left.across[1], right.across[1]) + _CHANNEL_REACH * height
    covering = left_of = right_of = 0
    for other in lines:
        if other is line:
            continue
        here = [p.along for p in other if top <= (p.across[0] + p.across[1]) / 2 <= bottom]
        if here and _covers(here, start, end):
            covering += 1
        else:  # a line (or a column's line on its own) beside the gap, none of it across
            left_of += any(s < start for s, _ in here)
            right_of += any(e > end for _, e in here)
    blank = min(left_of, right_of)  # lines that have the gap too: text on both sides of it
    return blank >= 2 and covering < blank


def _covers(spans: list[tuple[float, float]], start: float, end: float) -> bool:
    """Whether the spans together cover all of ``start`` to ``end``, as a line of prose does."""
    reached = start
    for span_start, span_end in sorted(spans):
        if span_start > reached:
            break
        reached = max(reached, span_end)
    return reached >= end


def _in_rows(lines: list[list[_Placed]]) -> list[list[_Placed]]:
    """Lines top to bottom; lines side by side (overlapping across the text) left to right."""
    spans = {id(line): _median_span(line) for line in lines}
    rows: list[tuple[tuple[float, float], list[list[_Placed]]]] = []
    for line in sorted(lines, key=lambda line: sum(spans[id(line)])):
        top, bottom = spans[id(line)]
        if rows:
            (row_top, row_bottom), row = rows[-1]
            shorter = min(bottom - top, row_bottom - row_top)
            if shorter > 0 and min(bottom, row_bottom) - max(top, row_top) >= _SAME_LINE_OVERLAP * shorter:
                row.append(line)
                continue
        rows.append(((top, bottom), [line]))
    return [line for _, row in rows for line in sorted(row, key=lambda line: line[0].along[0])]


def _median_span(line: Sequence[_Placed]) -> tuple[float, float]:
    tops = sorted(placed.across[0] for placed in line)
    bottoms = sorted(placed.across[1] for placed in line)
    middle = len(line) // 2
    return tops[middle], bottoms[middle]


def join_line(words: Sequence[Word]) -> Line:
    """One line from its words in reading order: the box around all of them, confidence by length."""
    box = (
        min(w.box[0] for w in words),
        min(w.box[1] for w in words),
        max(w.box[2] for w in words),
        max(w.box[3] for w in words),
    )
    # Weight by length: a confident long phrase outweighs a doubtful single letter.
    weights = [max(1, len(w.text)) for w in words]
    confidence = sum(w.score * n for w, n in zip(words, weights, strict=True)) / sum(weights)
    placed = tuple(word for phrase in words for word in split_words(phrase))
    return Line(" ".join(w.text for w in words), box, round(confidence, 5), placed)


def split_words(phrase: Word) -> list[LineWord]:
    """A detected phrase's words, placed by their characters' spans where the engine gave them."""
    texts = phrase.text.split()
    left, top, right, bottom = phrase.box
    score = round(phrase.score, 5)
    if phrase.glyphs is None or len(phrase.glyphs) != sum(len(text) for text in texts):
        if len(texts) == 1:
            return [LineWord(texts[0], phrase.box, score)]
        return [LineWord(text, None, score) for text in texts]  # writers share the line box out
    words = []
    position = 0
    for text in texts:
        glyphs = phrase.glyphs[position : position + len(text)]
        position += len(text)
        start = max(left, round(min(glyph[1] for glyph in glyphs)))
        end = min(right, round(max(glyph[2] for glyph in glyphs)))
        words.append(LineWord(text, (start, top, max(end, start + 1), bottom), score))
    return words


def assemble_lines(words: Sequence[Word]) -> list[Line]:
    """The engine's words as lines in reading order, glyphs read twice dropped."""
    lines = (drop_repeated_glyphs(group) for group in group_into_lines(words))
    return [join_line(line) for line in lines if line]
