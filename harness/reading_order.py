"""Reading order: boxes sorted the way a person reads a page, columns found from the boxes.

Recursive XY-cut: a region of boxes is cut at a vertical gap (between columns)
when it has one at least ``min_column_gap`` wide, else at its widest horizontal
gap (between a heading and the text, between paragraphs, between lines). Parts
of a vertical cut are read left to right, of a horizontal cut top to bottom.
A region with no gap left is a block; its boxes are sorted top to bottom, then
left to right.

Any backend that returns line (or phrase) boxes can use it: ``order_lines`` for
finished lines, ``reading_blocks`` for boxes that still have to be grouped into
lines (RapidOCR groups its phrase boxes into lines block by block, so two
columns never merge into one line).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from harness.backends import Box, Line

#: Between phrase boxes, a vertical gap is a column gutter when at least this many median box
#: heights wide: spaces between words are about a third of one, gutters one or more.
COLUMN_GAP_HEIGHTS = 1.0
#: Between line boxes, word spaces are inside the boxes: any gap running down a whole region is a
#: gutter or a table column, and real gutters can be narrower than a line height (0.56 seen).
LINE_COLUMN_GAP_HEIGHTS = 0.25
#: A region of this many boxes or more may have one crossing its gutter (and one more for every as
#: many again): engines sometimes join two columns' lines into one, and specks get read as text.
STRAY_SHARE = 1 / 30


def reading_blocks(
    boxes: Sequence[Box], *, min_column_gap: float | None = None, skew: float = 0.0
) -> list[list[int]]:
    """Indices into ``boxes`` grouped into blocks, blocks and the boxes in each in reading order.

    ``min_column_gap`` (pixels) defaults to COLUMN_GAP_HEIGHTS median box heights.
    ``skew`` is the text's angle in radians (positive: clockwise on screen): on a page
    scanned askew a gutter runs at that angle, and no straight cut finds it, so the
    boxes are turned straight first.
    """
    if not boxes:
        return []
    if skew:
        boxes = _straightened(boxes, skew)
    if min_column_gap is None:
        heights = [max(1, box[3] - box[1]) for box in boxes]
        min_column_gap = COLUMN_GAP_HEIGHTS * statistics.median(heights)
    blocks: list[list[int]] = []
    # Depth-first over regions, last pushed first: parts are pushed in reverse reading order.
    pending: list[list[int]] = [list(range(len(boxes)))]
    while pending:
        region = pending.pop()
        parts = _cut(region, boxes, min_column_gap)
        if parts is None:
            blocks.append(sorted(region, key=lambda i: (boxes[i][1], boxes[i][0])))
        else:
            pending.extend(reversed(parts))
    return blocks


def order_lines(
    lines: Sequence[Line], *, min_column_gap: float | None = None, skew: float = 0.0
) -> list[Line]:
    """``lines`` in reading order; lines without a box keep their order, after the others.

    ``min_column_gap`` (pixels) defaults to LINE_COLUMN_GAP_HEIGHTS median line heights;
    ``skew`` as for reading_blocks.
    """
    placed = [line for line in lines if line.box is not None]
    unplaced = [line for line in lines if line.box is None]
    boxes = [line.box for line in placed if line.box is not None]
    if boxes and min_column_gap is None:
        min_column_gap = LINE_COLUMN_GAP_HEIGHTS * statistics.median(max(1, b[3] - b[1]) for b in boxes)
    blocks = reading_blocks(boxes, min_column_gap=min_column_gap, skew=skew)
    order = [index for block in blocks for index in block]
    return [placed[index] for index in order] + unplaced


def _straightened(boxes: Sequence[Box], skew: float) -> list[Box]:
    """Boxes turned by ``-skew`` about the origin, each keeping its width.

    The upright box around a tilted line is taller than the line by its width times
    the slope: that much is taken off again, so neighbouring lines do not overlap.
    """
    slope = math.tan(skew)
    straight: list[Box] = []
    for left, top, right, bottom in boxes:
        width, height = right - left, bottom - top
        x, y = (left + right) / 2, (top + bottom) / 2
        x, y = x + y * slope, y - x * slope
        half = max(height - width * abs(slope), height / 2) / 2
        straight.append((round(x - width / 2), round(y - half), round(x + width / 2), round(y + half)))
    return straight


def _cut(region: list[int], boxes: Sequence[Box], min_column_gap: float) -> list[list[int]] | None:
    if len(region) < 2:
        return None
    columns = _split(region, boxes, axis=0, min_gap=min_column_gap, widest_only=False)
    if columns is not None:
        return columns
    columns = _gutter_despite_strays(region, boxes, min_column_gap)
    if columns is not None:
        return columns
    return _split(region, boxes, axis=1, min_gap=0, widest_only=True)


def _gutter_despite_strays(region: list[int], boxes: Sequence[Box], min_gap: float) -> list[list[int]] | None:
    """A gutter that a few boxes cross (a line an engine joined across it, a stray mark), or None.

    Up to STRAY_SHARE of a large region's boxes may cross a channel at least ``min_gap``
    wide; at least two boxes must start on each side. A box goes to the side it starts on.
    """
    strays = int(STRAY_SHARE * len(region))
    if strays < 1:
        return None
    left_edge = min(boxes[i][0] for i in region)
    width = max(boxes[i][2] for i in region) - left_edge + 1
    coverage = [0] * (width + 1)
    for i in region:
        coverage[boxes[i][0] - left_edge] += 1
        coverage[boxes[i][2] - left_edge] -= 1
    best: tuple[int, int] | None = None  # (width, middle) of the widest channel
    running, start = 0, None
    for x in range(width + 1):
        running += coverage[x]
        if running <= strays and start is None:
            start = x
        elif running > strays and start is not None:
            if x - start >= min_gap and (best is None or x - start > best[0]):
                best = (x - start, (start + x) // 2 + left_edge)
            start = None
    if best is None:
        return None
    cut = best[1]
    parts = [[i for i in region if boxes[i][0] < cut], [i for i in region if boxes[i][0] >= cut]]
    if min(len(part) for part in parts) < 2:
        return None
    return parts


def _split(
    region: list[int], boxes: Sequence[Box], *, axis: int, min_gap: float, widest_only: bool
) -> list[list[int]] | None:
    """``region`` cut at the gaps of its projection on ``axis`` (0: x, 1: y), or None if it has none.

    With ``widest_only``, only at the widest gap (ties: the first): cutting a
    two-column band at every line gap would slice the columns into interleaved rows.
    """
    order = sorted(region, key=lambda i: boxes[i][axis])
    parts: list[list[int]] = [[order[0]]]
    gaps: list[float] = []
    reach = boxes[order[0]][axis + 2]
    for index in order[1:]:
        start = boxes[index][axis]
        gap = start - reach
        if gap > min_gap:
            parts.append([index])
            gaps.append(gap)
        else:
            parts[-1].append(index)
        reach = max(reach, boxes[index][axis + 2])
    if len(parts) < 2:
        return None
    if widest_only:
        cut = gaps.index(max(gaps)) + 1
        return [[i for part in parts[:cut] for i in part], [i for part in parts[cut:] for i in part]]
    return parts
