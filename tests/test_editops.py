"""Near-linear alignment: the same edit distance as exact Levenshtein on OCR-like texts, valid always."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from harness import editops
from harness.align import align
from harness.metrics import score
from harness.synth.corpus import load_corpus

CONFUSIONS = [
    ("rn", "m"),
    ("l", "1"),
    ("O", "0"),
    ("e", "c"),
    ("cl", "d"),
    ("ii", "n"),
    (".", ","),
    ("é", "e"),
]


def ocr_like(text: str, rng: random.Random, rate: float) -> str:
    """``text`` as a middling OCR engine reads it: confusions, drops, inserts, a lost line now and then."""
    out = []
    index = 0
    while index < len(text):
        roll = rng.random()
        if roll < rate:
            source, target = rng.choice(CONFUSIONS)
            if text.startswith(source, index):
                out.append(target)
                index += len(source)
                continue
            out.append(rng.choice("abcdefghijklmnopqrstuvwxyz.,;'"))  # substitution
            index += 1
        elif roll < rate * 1.4:
            index += 1  # deletion
        elif roll < rate * 1.8:
            out.append(rng.choice("il.,'` "))  # insertion (speckle)
        elif roll < rate * 1.802:
            index = text.find(" ", index + 60) if text.find(" ", index + 60) > 0 else len(text)  # a lost run
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def book(characters: int, seed: int = 0, language: str = "en") -> str:
    """Sentences drawn at random from a corpus until ``characters`` long (so long word runs are unique)."""
    rng = random.Random(seed)
    sentences = [sentence for paragraph in load_corpus(language).paragraphs for sentence in paragraph]
    parts: list[str] = []
    total = 0
    while total < characters:
        sentence = rng.choice(sentences)
        parts.append(sentence)
        total += len(sentence) + 1
    return " ".join(parts)[:characters]


def running_text(characters: int, seed: int = 0) -> str:
    """Words of the corpora in random order: nearly every word pair occurs once, as in a long book."""
    rng = random.Random(seed)
    vocabulary = sorted(
        {word for language in ("en", "fr", "de") for word in load_corpus(language).text.split()}
    )
    words: list[str] = []
    total = 0
    while total < characters:
        words.append(rng.choice(vocabulary))
        total += len(words[-1]) + 1
    return " ".join(words)[:characters]


def exact_distance(a: str, b: str) -> int:
    codes: dict[str, str] = {}
    return Levenshtein.distance(editops.encode(a, codes), editops.encode(b, codes))


def anchored_distance(a: str, b: str) -> int:
    codes: dict[str, str] = {}
    ops = editops.opcodes(editops.encode(a, codes), editops.encode(b, codes), separator=codes.get(" "))
    _, subs, dels, ins = editops.counts(ops)
    return subs + dels + ins


@pytest.fixture
def small_exact_limit(monkeypatch):
    """Force anchoring on texts short enough for the exact algorithm to check it."""
    monkeypatch.setattr(editops, "EXACT_CELLS", 10_000)
    monkeypatch.setattr(editops, "FALLBACK_CELLS", 1_000_000)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("rate", [0.01, 0.05, 0.15])
@pytest.mark.parametrize("make_text", [book, running_text], ids=["repeated-passages", "running-text"])
def test_anchored_distance_equals_exact_levenshtein_on_ocr_like_texts(
    small_exact_limit, make_text, seed, rate
):
    reference = make_text(30_000, seed)
    hypothesis = ocr_like(reference, random.Random(seed + 100), rate)
    assert anchored_distance(reference, hypothesis) == exact_distance(reference, hypothesis)


def test_a_lost_column_far_longer_than_a_window_is_found_by_the_anchors(small_exact_limit):
    reference = running_text(60_000, 9)
    damaged = ocr_like(reference, random.Random(10), 0.03)
    hypothesis = damaged[:20_000] + damaged[32_000:]  # twelve thousand characters never read
    exact = exact_distance(reference, hypothesis)
    # The documented bound: where a block is lost, its edges may cost a few more edits.
    assert exact <= anchored_distance(reference, hypothesis) <= exact * 1.001


def test_a_long_text_scores_like_exact_levenshtein_at_the_default_limit():
    reference = book(100_000, 7)
    hypothesis = ocr_like(reference, random.Random(8), 0.04)
    result = score(reference, hypothesis)
    assert result.char_errors == exact_distance(" ".join(reference.split()), " ".join(hypothesis.split()))


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet="ab cdé\u0301", max_size=400),
    st.text(alphabet="ab cdé\u0301", max_size=400),
)
def test_the_result_is_a_valid_alignment_never_below_the_exact_distance(reference, hypothesis):
    limits = editops.EXACT_CELLS, editops.FALLBACK_CELLS, editops.WINDOW
    editops.EXACT_CELLS, editops.FALLBACK_CELLS, editops.WINDOW = (
        50,
        400,
        16,
    )  # anchor and slide on short texts
    try:
        codes: dict[str, str] = {}
        a, b = editops.encode(reference, codes), editops.encode(hypothesis, codes)
        ops = editops.opcodes(a, b, separator=codes.get(" "))
    finally:
        editops.EXACT_CELLS, editops.FALLBACK_CELLS, editops.WINDOW = limits
    # The opcodes cover both texts, in order, with equal text where they say "equal".
    position_a = position_b = 0
    for tag, a1, a2, b1, b2 in ops:
        assert (a1, b1) == (position_a, position_b)
        if tag == "equal":
            assert a[a1:a2] == b[b1:b2]
        position_a, position_b = a2, b2
    assert (position_a, position_b) == (len(a), len(b))
    _, subs, dels, ins = editops.counts(ops)
    assert subs + dels + ins >= Levenshtein.distance(a, b)


def test_texts_sharing_no_word_still_align_completely(small_exact_limit, monkeypatch):
    monkeypatch.setattr(editops, "FALLBACK_CELLS", 10_000)
    reference = " ".join("abcdefgh"[i % 8] * 3 for i in range(2_000))
    hypothesis = " ".join("ijklmnop"[i % 8] * 2 for i in range(2_500))
    ops = editops.opcodes(*_encoded(reference, hypothesis))
    assert ops[-1][2] == len(reference) and ops[-1][4] == len(hypothesis)


def _encoded(a: str, b: str) -> tuple[str, str]:
    codes: dict[str, str] = {}
    return editops.encode(a, codes), editops.encode(b, codes)


def test_word_errors_of_a_long_text_match_exact_levenshtein_on_words(small_exact_limit):
    reference = book(30_000, 3)
    hypothesis = ocr_like(reference, random.Random(4), 0.03)
    ref_words, hyp_words = reference.split(), hypothesis.split()
    codes: dict[str, str] = {}
    exact = Levenshtein.distance(editops.encode(ref_words, codes), editops.encode(hyp_words, codes))
    assert score(reference, hypothesis).word_errors == exact


def test_the_diff_view_of_a_long_text_rebuilds_both_texts(small_exact_limit):
    reference = book(20_000, 5, "fr")
    hypothesis = ocr_like(reference, random.Random(6), 0.05)
    alignment = align(reference, hypothesis)
    assert "".join(segment.ref for segment in alignment.segments) == reference
    assert "".join(segment.hyp for segment in alignment.segments) == hypothesis
    assert alignment.errors == exact_distance(reference, hypothesis)
