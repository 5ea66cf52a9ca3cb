"""Grapheme clusters: the per-code-point fast path agrees with the full UAX #29 rules."""

from __future__ import annotations

import re

import grapheme
from grapheme.grapheme_property_group import GraphemePropertyGroup, get_group
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.graphemes import _ALONE, graphemes

#: Properties no rule joins to a neighbour on their own (CR LF aside, checked below).
STANDS_ALONE = {
    GraphemePropertyGroup.OTHER,
    GraphemePropertyGroup.CONTROL,
    GraphemePropertyGroup.CR,
    GraphemePropertyGroup.LF,
    GraphemePropertyGroup.EXTENDED_PICTOGRAPHIC,
}


def _ranges() -> list[tuple[int, int]]:
    return [(ord(low), ord(high)) for low, high in re.findall(r"(.)-(.)", _ALONE, flags=re.DOTALL)]


def test_every_code_point_taken_one_by_one_has_a_property_that_stands_alone():
    assert _ranges(), "the ranges could not be read"
    for low, high in _ranges():
        for code in range(low, high + 1):
            assert get_group(chr(code)) in STANDS_ALONE, hex(code)


# Letters a page mixes: Latin with and without precomposed accents, combining marks, CR LF,
# Greek, Cyrillic, a flag (two regional indicators), a ZWJ emoji sequence, Hangul jamo, Devanagari.
ALPHABET = [
    *"aZé ß\r\n\t.,—“", "e\u0301", "\u0323", "\u0302", "Ω", "ж", "\u0483", "🇫", "🇷", "👩", "\u200d", "💻",
    "\u1100", "\u1161", "क", "\u093f", "\u00ad", "©",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join))
def test_clusters_are_those_of_the_full_rules_on_any_mix_of_scripts(text):
    assert graphemes(text) == list(grapheme.graphemes(text))


def test_latin_text_with_precomposed_accents_takes_the_fast_path_and_cr_lf_stays_one_cluster():
    assert graphemes("Größe: 12 €") == list("Größe: 12 €")
    assert graphemes("a\r\nb") == ["a", "\r\n", "b"]
    assert graphemes("e\u0301t\u00e9") == ["e\u0301", "t", "\u00e9"]
