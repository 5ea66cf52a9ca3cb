"""Order-independent measures: bag-of-words errors and the order-free character error rate."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import missing_requirement
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.metrics import HISTORICAL, score
from harness.unordered import _candidate, _match, bag_of_words_errors

WORDS = st.sampled_from(["the", "cat", "sat", "on", "a", "mat", "Straße", "ệ", "l1", "rn"])
LINES = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)


def independent_bow(reference: str, output: str) -> int:
    ref, out = Counter(reference.split()), Counter(output.split())
    missing = sum(max(ref[w] - out[w], 0) for w in ref)
    extra = sum(max(out[w] - ref[w], 0) for w in out)
    return max(missing, extra)


def test_bag_of_words_counts_missing_and_extra_words() -> None:
    assert bag_of_words_errors(["a", "b", "c"], ["c", "b", "a"]) == 0
    assert bag_of_words_errors(["a", "b", "b"], ["a", "b"]) == 1
    assert bag_of_words_errors(["a", "b"], ["a", "x", "y", "z"]) == 3
    counts = score("the cat sat", "cat the sat on")
    assert (counts.bow_errors, counts.bow_wer) == (1, pytest.approx(1 / 3))
    assert counts.wer > counts.bow_wer


def test_bag_of_words_equals_wer_when_words_are_misread_in_place() -> None:
    counts = score("one two three four", "one tvvo three f0ur")
    assert counts.bow_errors == counts.word_errors == 2


def test_empty_reference_rule_holds_for_the_new_rates() -> None:
    assert score("", "").bow_wer == score("", "").cer_unordered == 0.0
    assert score("", "noise").bow_wer == score("", "noise").cer_unordered == 1.0
    empty = score("some text", "  \n")
    assert empty.empty_output and empty.cer_unordered == 1.0 and empty.bow_wer == 1.0
    assert not score("", "").empty_output


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, min_size=1, max_size=5), st.lists(LINES, min_size=0, max_size=5))
def test_order_free_measures_are_bounded_by_the_ordered_ones(reference: list[str], output: list[str]) -> None:
    counts = score("\n".join(reference), "\n".join(output))
    assert counts.bow_errors == independent_bow(" ".join(reference), " ".join(output))
    assert counts.bow_errors <= counts.word_errors
    assert counts.unordered_char_errors <= counts.char_errors


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij", min_size=5, max_size=30), min_size=2, max_size=6, unique=True))
def test_lines_read_in_any_order_have_no_order_free_errors(lines: list[str]) -> None:
    counts = score("\n".join(lines), "\n".join(reversed(lines)))
    assert counts.unordered_char_errors == 0
    assert counts.bow_errors == 0


def scan_match(reference_lines: list[str], output_lines: list[str]) -> int:
    """The matching as the module docstring states it: at every step, measure every live pair
    and take the one with the largest gain (ties: the earliest pieces)."""
    pieces: dict[int, str] = {}
    sides: tuple[set[int], set[int]] = (set(), set())
    ids = iter(range(10**9))

    def add(text: str, side: set[int]) -> None:
        if text:
            piece = next(ids)
            pieces[piece] = text
            side.add(piece)

    for line in reference_lines:
        add(line, sides[0])
    for line in output_lines:
        add(line, sides[1])
    errors = 0
    while True:
        candidates = [_candidate(r, o, pieces) for r in sorted(sides[0]) for o in sorted(sides[1])]
        found = [c for c in candidates if c is not None]
        if not found:
            break
        best = max(found, key=lambda c: (c.gain, -c.reference, -c.output))
        errors += best.distance
        sides[0].discard(best.reference)
        sides[1].discard(best.output)
        del pieces[best.reference], pieces[best.output]
        add(best.left, sides[0] if best.longer_is_reference else sides[1])
        add(best.right, sides[0] if best.longer_is_reference else sides[1])
    return errors + sum(len(pieces[i]) for i in sides[0] | sides[1])


PIECE = st.text(alphabet="abcde xyzé", min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECE, max_size=8), st.lists(PIECE, max_size=8))
def test_the_bounded_best_first_matching_takes_the_pairs_a_full_scan_takes(reference, output) -> None:
    assert _match(reference, output) == scan_match(reference, output)


def test_columns_read_side_by_side_score_like_the_right_order() -> None:
    left = ["The quick brown fox jumps", "over the lazy dog while", "the farmer sleeps soundly."]
    right = ["Meanwhile in the village", "the baker opens the shop", "before the sun comes up."]
    reference = "\n".join(left + right)
    interleaved = "\n".join(f"{a} {b}" for a, b in zip(left, right, strict=True))
    misread = interleaved.replace("quick", "qu1ck").replace("baker", "bakcr")
    counts = score(reference, misread)
    right_order = score(
        reference, "\n".join(left + right).replace("quick", "qu1ck").replace("baker", "bakcr")
    )
    assert counts.cer > 0.3
    assert counts.cer_unordered == pytest.approx(right_order.cer, abs=0.005)
    assert counts.bow_wer == pytest.approx(right_order.wer)


def test_each_line_is_normalised_with_the_run_profile() -> None:
    # The historical profile turns a line-end "¬" into "-": it must see line ends, line by line.
    counts = score("ſchoͤn ge¬\nſagt", "schön ge-\nsagt", HISTORICAL)
    assert counts.cer == counts.cer_unordered == 0.0


def test_a_cluster_counts_as_one_character() -> None:
    counts = score("Việt Nam\nHà Nội", "Ha Nội\nViệt Nam")
    assert counts.unordered_char_errors == 1  # "à" read as "a": one cluster, wherever it stands


# --- real lines and real engine output ----------------------------------------------------


def test_on_real_lines_order_free_cer_follows_cer(real_dev: Path) -> None:
    """On one-line samples (ground truth against a lightly garbled copy) it never exceeds CER."""
    differences = []
    for path in sorted(real_dev.glob("line_*.gt.txt")):
        truth = path.read_text(encoding="utf-8")
        garbled = truth.replace("e", "c").replace("in", "m")[:-3]
        counts = score(truth, garbled)
        assert counts.cer_unordered <= counts.cer + 0.01, path.name
        differences.append(counts.cer - counts.cer_unordered)
    assert len(differences) > 40
    assert sum(differences) / len(differences) <= 0.02


def test_rapidocr_on_a_synthetic_two_column_page_errs_in_order_not_in_words(tmp_path: Path) -> None:
    from PIL import Image

    from harness.synth.generator import SynthOptions, generate
    from plugins.backends.rapidocr import RapidOcrBackend

    if not RapidOcrBackend.availability().ok:
        missing_requirement("RapidOCR is not installed")
    generate(tmp_path, SynthOptions(pages=3, seed=1, degrade="none", lines_per_page=10))
    two_column = [
        path.with_name(path.name.replace(".tags.json", ""))
        for path in sorted(tmp_path.glob("page_*.tags.json"))
        if json.loads(path.read_text(encoding="utf-8")).get("columns") == 2
    ]
    assert two_column, "the synthetic pages should include a two-column page"
    stem = two_column[0]
    engine = RapidOcrBackend(threads=1)
    try:
        with Image.open(stem.with_suffix(".png")) as image:
            text = engine.recognize(image, language="en").text
    finally:
        engine.close()
    counts = score(stem.with_suffix(".gt.txt").read_text(encoding="utf-8"), text)
    assert counts.cer > 0.3  # the columns are read across, line by line
    assert counts.cer_unordered < 0.1
    assert counts.bow_wer < 0.15
