from __future__ import annotations

import pytest

from harness.align import (
    Segment,
    align,
    char_class,
    class_accuracy,
    confusions,
    merge_class_stats,
    visible,
)


def test_segments_rebuild_both_texts_and_count_edits():
    reference, hypothesis = "modern burn 1l", "modem bum! Il"
    alignment = align(reference, hypothesis)
    assert "".join(s.ref for s in alignment.segments) == reference
    assert "".join(s.hyp for s in alignment.segments) == hypothesis
    assert alignment.errors == 5
    assert alignment.ref_chars == len(reference)


def test_rn_read_as_m_is_one_multi_character_confusion():
    alignment = align("modern", "modem")
    assert Segment("substitute", "rn", "m") in alignment.segments
    assert confusions(alignment) == {("rn", "m"): 1}


def test_equal_length_edit_runs_count_per_character():
    assert confusions(align("a 1l b", "a lI b")) == {("1", "l"): 1, ("l", "I"): 1}


def test_deletions_insertions_and_garbled_runs():
    assert confusions(align("abc", "ac")) == {("b", ""): 1}
    assert confusions(align("ac", "abc")) == {("", "b"): 1}
    # A long unequal run is garbage, not a confusion worth listing as such.
    assert confusions(align("x hello world y", "x ### y")) == {("…", "…"): 1}


def test_empty_texts():
    assert align("", "").segments == ()
    only_insertions = align("", "ab")
    assert (only_insertions.insertions, only_insertions.errors) == (2, 2)
    assert align("ab", "").deletions == 2


def test_graphemes_are_single_characters():
    # "é" decomposed is one character: reading it as "e" is one substitution, not a deletion of a mark.
    alignment = align("cafe\u0301", "cafe")
    assert alignment.ref_chars == 4
    assert (alignment.substitutions, alignment.deletions) == (1, 0)


@pytest.mark.parametrize(
    ("reference", "hypothesis"),
    [
        ("modern burn", "modem bum"),
        ("Tiếng Việt", "Tieng Viet"),
        ("ſich aͤndern", "sich ändern"),
        ("", "x"),
        ("ab", ""),
    ],
)
def test_edit_counts_agree_with_the_metrics_module(reference, hypothesis):
    from harness.metrics import Normalisation, score

    verbatim = Normalisation("verbatim")
    expected = score(reference, hypothesis, verbatim)
    assert align(verbatim(reference), verbatim(hypothesis)).errors == expected.char_errors


@pytest.mark.parametrize(
    ("cluster", "kind"),
    [
        ("a", "letters"),
        ("ſ", "letters"),
        ("é", "letters with diacritics"),
        ("e\u0301", "letters with diacritics"),
        ("ệ", "letters with diacritics"),
        ("7", "digits"),
        (",", "punctuation & symbols"),
        ("§", "punctuation & symbols"),
        (" ", "whitespace"),
        ("\u00a0", "whitespace"),
    ],
)
def test_character_classes(cluster, kind):
    assert char_class(cluster) == kind


def test_class_accuracy_counts_reference_characters_read_exactly():
    stats = class_accuracy(align("Café 12, ok", "Cafe 12. ok!"))
    assert stats["letters with diacritics"].total == 1 and stats["letters with diacritics"].correct == 0
    assert stats["digits"].accuracy == 1.0
    assert stats["punctuation & symbols"].accuracy == 0.0  # "," read as "."; the extra "!" has no class
    assert stats["letters"].total == 5 and stats["letters"].correct == 5
    merged = merge_class_stats([stats, stats])
    assert merged["letters"].total == 10


def test_visible_whitespace():
    assert visible(" \n\t") == "␣⏎⇥"
    assert visible("") == "∅"


def test_the_two_aligners_agree_on_every_count_over_many_random_texts():
    """Counts come from jiwer (metrics), the diff view from rapidfuzz (align): they must never disagree."""
    import random

    from harness.metrics import Normalisation, score

    verbatim = Normalisation("verbatim")
    alphabet = ["a", "b", "r", "n", "m", "l", "1", "I", " ", "é", "e\u0301", "ệ", "ſ", ",", "\u00a0"]
    generator = random.Random(9)
    for _ in range(400):
        reference = "".join(generator.choices(alphabet, k=generator.randint(0, 30)))
        hypothesis = "".join(generator.choices(alphabet, k=generator.randint(0, 30)))
        counts = score(reference, hypothesis, verbatim)
        alignment = align(verbatim(reference), verbatim(hypothesis))
        assert (alignment.ref_chars, alignment.hyp_chars) == (counts.ref_chars, counts.hyp_chars)
        assert (alignment.substitutions, alignment.deletions, alignment.insertions) == (
            counts.substitutions,
            counts.deletions,
            counts.insertions,
        ), (reference, hypothesis)
