"""RapidOCR on skewed and multi-column pages: the harness reads at least as well as the plain library.

"Plain library" is ``rapidocr.RapidOCR`` called directly, its boxes' texts in
the order it returns them: once with the harness's own detection settings (the
backend's engine object), once with RapidOCR's defaults. The pages are real-dev
pages and synthetic pages, rotated here by -5..5 degrees (tests/rotated_pages.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ocr_harness_plugins.backends.rapidocr import RapidOcrBackend
from ocr_harness_plugins.backends.rapidocr_lines import Word, group_into_lines, join_line, skew_angle
from PIL import Image
from rotated_pages import REAL_PAGES, SKEWED_SYNTH, TWO_COLUMN_SYNTH, rotated, synthetic_pages, write_rotated

from harness.images import load_page
from harness.metrics import cer

# The harness may read worse than the plain library by at most this much CER.
TOLERANCE = 0.01


# --- grouping, on boxes laid out here -----------------------------------------


def turned(quad: list[tuple[float, float]], degrees: float) -> tuple[tuple[float, float], ...]:
    """``quad`` turned anticlockwise on screen (y grows downwards) about the origin."""
    a = math.radians(degrees)
    return tuple((x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)) for x, y in quad)


def word(text: str, left: float, top: float, width: float, degrees: float, height: float = 30) -> Word:
    right, bottom = left + width, top + height
    quad = turned([(left, top), (right, top), (right, bottom), (left, bottom)], degrees)
    return Word.detected(text, quad, 0.9, None)


COLUMN_WIDTH = 1240
PHRASE_GAP = 20  # two thirds of a line's height


def page_of_phrases(degrees: float, columns: int = 1, gutter: float = 25) -> list[Word]:
    """Five lines of prose 40 px apart, each read as three phrase boxes; columns side by side.

    As in prose, the gaps between phrases fall at different places on every line.
    """
    words = []
    for column in range(columns):
        left = 100 + column * (COLUMN_WIDTH + gutter)
        for row in range(5):
            ends = (0, 300 + 60 * row, 900 - 50 * row, COLUMN_WIDTH + PHRASE_GAP)
            for piece in range(3):
                start, width = left + ends[piece], ends[piece + 1] - ends[piece] - PHRASE_GAP
                words.append(word(f"c{column}r{row}p{piece}", start, 200 + row * 40, width, degrees))
    return words[::-1]  # the engine's order is not trusted


@pytest.mark.parametrize("degrees", [-5, -2.5, 0, 1, 3, 5])
def test_phrases_of_a_skewed_page_are_grouped_into_its_lines(degrees: float) -> None:
    # On a 1240 px line skewed by 2.5 degrees the ends differ by 54 px in height: more than a
    # line's pitch, so upright rectangles would merge neighbouring lines.
    words = page_of_phrases(degrees)
    assert math.degrees(skew_angle(words)) == pytest.approx(-degrees, abs=0.01)
    lines = group_into_lines(words)
    assert [[w.text for w in line] for line in lines] == [
        [f"c0r{row}p{piece}" for piece in range(3)] for row in range(5)
    ]


@pytest.mark.parametrize("gutter", [25, 300])
@pytest.mark.parametrize("degrees", [-5, 0, 2.5])
def test_columns_side_by_side_stay_separate_lines(degrees: float, gutter: float) -> None:
    # A 25 px gutter is hardly wider than the gaps between phrases (20 px): only the blank
    # channel it makes down the page tells it apart.
    lines = group_into_lines(page_of_phrases(degrees, columns=2, gutter=gutter))
    assert len(lines) == 10
    for line in lines:
        assert len({w.text[:2] for w in line}) == 1, [w.text for w in line]
        assert [w.text[-2:] for w in line] == ["p0", "p1", "p2"]
    # Rows top to bottom, the left column's line before the right one's in each row.
    assert [line[0].text[:4] for line in lines] == [f"c{c}r{r}" for r in range(5) for c in range(2)]


def test_a_line_alone_is_not_cut_at_a_wide_space() -> None:
    # A text-line image read as two boxes 1.3 line heights apart: nothing shows a column there.
    words = [word("right", 350, 10, 300, 1), word("left", 10, 10, 300, 1)]
    assert [[w.text for w in line] for line in group_into_lines(words)] == [["left", "right"]]


def test_a_line_longer_than_its_neighbours_is_not_cut_beyond_their_ends() -> None:
    # The last line's space at x=700 has no text above it: no column is there, only paper.
    words = [word("above", 0, 0, 500, 0), word("short", 0, 40, 550, 0), word("long", 0, 80, 680, 0)]
    words.append(word("tail", 720, 80, 300, 0))
    lines = group_into_lines(words)
    assert [[w.text for w in line] for line in lines] == [["above"], ["short"], ["long", "tail"]]


def test_a_line_box_covers_its_words_and_confidence_weighs_their_length() -> None:
    words = [word("a long phrase", 0, 0, 400, 4), word("x", 420, 0, 30, 4)]
    words[1].score = 0.3
    line = join_line(words)
    assert line.box is not None
    left, top, right, bottom = line.box
    for w in words:
        for x, y in w.quad:
            assert left <= x <= right and top <= y <= bottom
    assert line.text == "a long phrase x"
    assert line.confidence == pytest.approx((0.9 * 13 + 0.3) / 14, abs=1e-5)


def test_short_boxes_do_not_set_the_angle() -> None:
    # A page number and a single letter tilted oddly, against two long level lines.
    words = [word("12", 500, 0, 40, 20), word("I", 0, 100, 12, -15), word("long line", 0, 200, 900, 0)]
    assert skew_angle(words) == pytest.approx(0, abs=1e-9)
    assert skew_angle([word("I", 0, 100, 12, -15)]) == 0


# --- real RapidOCR on real and synthetic pages --------------------------------


@pytest.fixture(scope="module")
def rapidocr() -> RapidOcrBackend:
    backend = RapidOcrBackend(threads=1)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def rapidocr_defaults() -> Any:
    """The plain library with its own default settings."""
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error", "EngineConfig.onnxruntime.intra_op_num_threads": 1})


def bgr(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def plain_text(engine: Any, image: Image.Image) -> str:
    """What the library returns, its boxes' texts in its own order, one per line."""
    return "\n".join(engine(bgr(image)).txts or [])


def compare(
    backend: RapidOcrBackend, image: Image.Image, truth: str, defaults: Any = None
) -> dict[str, float]:
    rates = {
        "harness": cer(truth, backend.recognize(image, language="en").text),
        "plain": cer(truth, plain_text(backend._engine, image)),
    }
    if defaults is not None:
        rates["defaults"] = cer(truth, plain_text(defaults, image))
    return rates


def assert_reads_as_well_as_plain(rates: dict[str, float]) -> None:
    assert rates["harness"] <= rates["plain"] + TOLERANCE, rates
    if "defaults" in rates:
        assert rates["harness"] <= rates["defaults"] + TOLERANCE, rates


@pytest.fixture(scope="module")
def skewed_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_pages(tmp_path_factory.mktemp("synth") / "skewed", SKEWED_SYNTH)


def test_the_skewed_synthetic_page_reads_as_well_as_the_plain_library(
    rapidocr: RapidOcrBackend,
    rapidocr_defaults: Any,
    skewed_synth: Path,
) -> None:
    image = load_page(skewed_synth / "page_en_0004.png")
    truth = (skewed_synth / "page_en_0004.gt.txt").read_text(encoding="utf-8")
    rates = compare(rapidocr, image, truth, rapidocr_defaults)
    assert rates["harness"] < 0.05, rates
    assert_reads_as_well_as_plain(rates)


def real_page_path(real_dev: Path, stem: str) -> Path:
    return next(p for p in real_dev.glob(f"{stem}.*") if not p.name.endswith((".txt", ".xml")))


def test_a_real_page_turned_reads_as_well_as_the_plain_library(
    rapidocr: RapidOcrBackend, rapidocr_defaults: Any, real_dev: Path
) -> None:
    # A clean real page turned by 2.5 degrees: upright rectangles read it with CER 0.11.
    page = load_page(real_page_path(real_dev, "page_en_oldbooks_a013"))
    truth = (real_dev / "page_en_oldbooks_a013.gt.txt").read_text(encoding="utf-8")
    rates = compare(rapidocr, rotated(page, 2.5), truth, rapidocr_defaults)
    assert rates["harness"] < 0.03, rates
    assert_reads_as_well_as_plain(rates)


def printed_lines(truth: str) -> list[str]:
    return [line for line in truth.splitlines() if line.strip()]


def test_two_columns_turned_are_read_line_by_line_never_across_the_gutter(
    rapidocr: RapidOcrBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = synthetic_pages(tmp_path_factory.mktemp("synth") / "two-column", TWO_COLUMN_SYNTH)
    image = rotated(load_page(folder / "page_en_0001.png"), -3)
    truth = printed_lines((folder / "page_en_0001.gt.txt").read_text(encoding="utf-8"))
    result = rapidocr.recognize(image, language="en")
    assert len(result.lines) >= 0.9 * len(truth)
    # Each line read is one printed line of one column: a line merged across the gutter would
    # hold two printed lines, half of it unmatched.
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    misread = [
        line.text
        for line in result.lines
        if process.extractOne(line.text, truth, scorer=Levenshtein.normalized_distance)[1] > 0.1
    ]
    assert len(misread) <= 0.05 * len(result.lines), misread
    # Both columns' lines are items of their own, boxed within their side of the page (a title
    # may span both; lines near the top and bottom lean across the middle by the skew).
    middle = image.width / 2
    left = [line for line in result.lines if line.box and line.box[2] < middle]
    right = [line for line in result.lines if line.box and line.box[0] > middle]
    assert len(left) >= 0.3 * len(truth) and len(right) >= 0.3 * len(truth), (len(left), len(right))


# --- more pages and angles -----------------------------------------------------

# A spread of pages and angles over -5..5 degrees; every pair would take minutes on two cores.
SWEEP = [
    ("page_en_oldbooks_a013", -5.0),
    ("page_en_oldbooks_g020", -2.5),
    ("page_en_oldbooks_g020", 5.0),
    ("page_fr_fauxvisage1589_p010", -5.0),
    ("page_fr_fauxvisage1589_p010", 2.5),
    # Two columns, undegraded: both readers list the columns' lines row by row (reading order
    # is not built here), so this only checks the harness loses nothing there either.
    ("synth_page_en_0001", 5.0),
    ("synth_page_en_0004", -5.0),
]


@pytest.fixture(scope="module")
def rotated_dataset(real_dev: Path, skewed_synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pages of the sweep, turned by its angles, as a folder dataset."""
    sources = {stem: real_page_path(real_dev, stem) for stem in REAL_PAGES}
    sources.update({f"synth_{p.stem}": p for p in sorted(skewed_synth.glob("page_*.png"))[::3]})
    out = tmp_path_factory.mktemp("rotated")
    for stem, path in sources.items():
        write_rotated(out, {stem: path}, tuple(angle for name, angle in SWEEP if name == stem))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("stem", "angle"), SWEEP)
def test_turned_pages_read_as_well_as_the_plain_library(
    rapidocr: RapidOcrBackend, rapidocr_defaults: Any, rotated_dataset: Path, stem: str, angle: float
) -> None:
    name = f"{stem}_rot{angle:+.1f}"
    image = load_page(rotated_dataset / f"{name}.png")
    truth = (rotated_dataset / f"{name}.gt.txt").read_text(encoding="utf-8")
    assert_reads_as_well_as_plain(compare(rapidocr, image, truth, rapidocr_defaults))
