"""Reading order: columns and blocks found from boxes (harness.reading_order), and RapidOCR using it."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
from test_backends import cer

from harness.backends import Line
from harness.reading_order import order_lines, reading_blocks


def column(left: int, top: int, count: int, *, width: int = 400, height: int = 30, pitch: int = 40) -> list:
    return [(left, top + i * pitch, left + width, top + i * pitch + height) for i in range(count)]


def test_two_columns_are_read_one_after_the_other_not_line_by_line_across() -> None:
    left, right = column(100, 300, 5), column(560, 300, 5)
    boxes = [box for pair in zip(left, right, strict=True) for box in pair]  # the engine's row order
    order = [boxes[i] for block in reading_blocks(boxes) for i in block]
    assert order == left + right


def test_a_heading_across_both_columns_comes_first_and_a_footer_last() -> None:
    heading = (300, 100, 760, 160)
    footer = (420, 900, 480, 930)
    left, right = column(100, 300, 4), column(560, 300, 4)
    boxes = [footer, *right, heading, *left]
    order = [boxes[i] for block in reading_blocks(boxes) for i in block]
    assert order == [heading, *left, *right, footer]


def test_word_gaps_are_not_columns_and_a_single_column_reads_top_to_bottom() -> None:
    # Two phrases per line, 12 px apart (a wide space, far below a line height of 30): one column.
    boxes = []
    for row in range(4):
        top = 100 + 40 * row
        boxes += [(100, top, 300, top + 30), (312, top, 500, top + 30)]
    given = list(reversed(boxes))
    order = [given[i] for block in reading_blocks(given) for i in block]
    assert order == boxes


def test_lines_without_boxes_keep_their_order_after_the_placed_ones() -> None:
    lines = [
        Line("right", (560, 100, 900, 130)),
        Line("unplaced one"),
        Line("left", (100, 100, 400, 130)),
        Line("left below", (100, 140, 400, 170)),
        Line("unplaced two"),
    ]
    ordered = [line.text for line in order_lines(lines)]
    assert ordered == ["left", "left below", "right", "unplaced one", "unplaced two"]
    assert order_lines([]) == [] and reading_blocks([]) == []


def test_many_boxes_do_not_hit_the_recursion_limit() -> None:
    boxes = column(0, 0, 3000, pitch=31)
    assert [i for block in reading_blocks(boxes) for i in block] == list(range(3000))


def order_independent_error(reference: str, hypothesis: str) -> float:
    """Characters missing or extra, whatever their order: the floor any reading order can reach."""
    ref, hyp = Counter("".join(reference.split())), Counter("".join(hypothesis.split()))
    return sum(((ref - hyp) + (hyp - ref)).values()) / max(1, sum(ref.values()))


@pytest.fixture(scope="module")
def two_column_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.cli import main

    out = tmp_path_factory.mktemp("synth") / "pages"
    # Seed 3's first A4 page is set in two columns (checked below, so a generator change shows).
    args = ["--pages", "1", "--page-size", "a4", "--degrade", "none", "--dpi", "150", "--seed", "3"]
    assert main(["datasets", "synth", str(out), *args, "--lines-per-page", "40"]) == 0
    page = out / "page_en_0001.png"
    assert json.loads(page.with_suffix("").with_suffix(".tags.json").read_text())["columns"] == 2
    return page


@pytest.mark.slow
def test_rapidocr_reads_two_columns_in_order(two_column_page: Path) -> None:
    from ocr_harness_plugins.backends.rapidocr import RapidOcrBackend, RapidOcrOptions

    from harness.images import load_page

    image = load_page(two_column_page)
    truth = two_column_page.with_suffix(".gt.txt").read_text(encoding="utf-8")
    errors = {}
    for mode in ("raw", "columns"):
        backend = RapidOcrBackend(RapidOcrOptions(reading_order=mode), threads=2)
        text = backend.recognize(image, language="en").text
        backend.close()
        errors[mode] = (cer(truth, text), order_independent_error(truth, text))
    (raw, _), (columns, floor) = errors["raw"], errors["columns"]
    assert raw > 0.3, errors  # the engine's own order interleaves the columns
    assert columns < floor + 0.03, errors  # in reading order: close to what no order can improve


def test_line_boxes_split_at_a_gutter_narrower_than_a_line() -> None:
    # Lines of two columns 15 px apart (half a line height), listed row by row as engines do.
    left = [Line(f"left {i}", box) for i, box in enumerate(column(100, 300, 4, width=400))]
    right = [Line(f"right {i}", box) for i, box in enumerate(column(515, 300, 4, width=400))]
    rows = [line for pair in zip(left, right, strict=True) for line in pair]
    assert order_lines(rows) == left + right


def test_columns_of_a_page_scanned_askew_are_found() -> None:
    # Two columns turned 2 degrees clockwise: the upright boxes of each column's lines drift left
    # going down, so the left column's last lines reach past the right column's first ones.
    angle = math.radians(2)
    cos, sin = math.cos(angle), math.sin(angle)

    def turned(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        corners = [(x * cos - y * sin, x * sin + y * cos) for x in box[::2] for y in box[1::2]]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))

    left = [Line(f"left {i}", turned(box)) for i, box in enumerate(column(100, 100, 30, width=500))]
    right = [Line(f"right {i}", turned(box)) for i, box in enumerate(column(640, 100, 30, width=500))]
    rows = [line for pair in zip(left, right, strict=True) for line in pair]
    assert order_lines(rows) != left + right  # straight cuts find no gutter
    assert order_lines(rows, skew=angle) == left + right


def test_a_line_joined_across_the_gutter_does_not_hide_it() -> None:
    left = [Line(f"left {i}", box) for i, box in enumerate(column(100, 100, 20, width=500))]
    right = [Line(f"right {i}", box) for i, box in enumerate(column(640, 100, 20, width=500))]
    joined = Line("left 0 right 0", (100, 100, 1140, 130))  # an engine read both first lines as one
    rows = [joined] + [line for pair in zip(left[1:], right[1:], strict=True) for line in pair]
    assert order_lines(rows) == [joined, *left[1:], *right[1:]]
    # A short region never gets a stray: two lines with a gap under one of them are rows.
    rows = [Line("ab", (100, 100, 1140, 130)), Line("c", (100, 140, 500, 170))]
    rows.append(Line("d", (640, 140, 900, 170)))
    assert order_lines(rows) == rows
