"""Minimum edit-distance alignment in near-linear time, for scoring and diffs of long texts.

Exact Levenshtein alignment costs time in proportion to the product of the two
lengths: fine for a page, 44 s for a book of a million characters. Here texts are
first cut at *anchors*, then each piece between two anchors is aligned exactly:

1. Texts whose length product is at most :data:`EXACT_CELLS` are aligned exactly
   (rapidfuzz's bit-parallel Levenshtein), whole. Every page-sized text is.
2. Longer texts are anchored as in patience diff: words (or word n-grams) that
   occur exactly once in each text are matched up, and the longest run of them
   that is in the same order in both (a longest increasing subsequence) is kept,
   if there are enough (:data:`ANCHOR_SPACING`). The gaps between anchors are
   aligned the same way, recursively.
3. A gap with too few anchors is aligned exactly up to :data:`FALLBACK_CELLS`; a
   longer one (repeated passages, two texts sharing no word) in overlapping windows
   sliding along the diagonal, each aligned exactly.

The bound: the result is always a real alignment of the two texts, so its edit
count is never below the exact Levenshtein distance, and texts up to
:data:`EXACT_CELLS` get exactly that distance. On longer texts it equals the
exact distance whenever the optimal alignment matches the anchor words to each
other, which is what OCR output of a text does (tests compare it with the exact
distance on noisy OCR-like texts of 30 k-100 k characters, including texts made of
a few passages repeated). It can add edits where the texts part ways for longer than
half a window: at the edges of a block of thousands of characters the OCR never read,
the anchors may place the gap a few characters off (3 extra edits in 14,901 in the
tests, which bound it at 0.1%).

Sequences are strings with one character per unit: callers encode grapheme
clusters or words as single characters (:func:`encode`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from typing import Literal

from rapidfuzz.distance import Levenshtein

Tag = Literal["equal", "replace", "delete", "insert"]
Opcode = tuple[Tag, int, int, int, int]

#: Texts up to this many cells (length x length) are aligned exactly in one piece:
#: a few milliseconds with rapidfuzz, and every page-sized text fits.
EXACT_CELLS = 4_000_000
#: Anchors are tried as single words, then as runs of this many words (in order) when
#: single words repeat too often (a text made of a few repeated phrases).
NGRAM_SIZES = (1, 3, 8)
#: Word-level texts anchor on runs of words: a single short word ("a") that happens to be
#: unique in a gap may be a different "a" on each side.
WORD_NGRAM_SIZES = (2, 4, 8)
#: Shortest anchor (units) on character-level texts, for the same reason.
MIN_ANCHOR = 3
#: A gap without anchors is still aligned exactly up to this many cells (a repeated
#: paragraph); beyond, in windows of WINDOW units sliding along the diagonal.
FALLBACK_CELLS = 100_000_000
WINDOW = 5_000
#: Anchors are trusted only when there is at least one per ANCHOR_SPACING units, as in
#: running text: in a text made of a few repeated passages the rare "unique" words are
#: as likely to be made by OCR errors as to be landmarks.
ANCHOR_SPACING = 200


def encode(units: Iterable[str], codes: dict[str, str]) -> str:
    """One character per unit (grapheme cluster or word); ``codes`` is shared between the texts
    compared, so equal units get equal characters. ``codes.get(" ")`` is then the separator."""
    out = []
    for unit in units:
        code = codes.get(unit)
        if code is None:
            number = len(codes)
            code = codes[unit] = chr(number if number < 0xD800 else number + 0x800)  # no surrogates
        out.append(code)
    return "".join(out)


def opcodes(a: str, b: str, *, separator: str | None = " ") -> list[Opcode]:
    """Edit operations turning ``a`` into ``b`` (rapidfuzz's opcode shape, absolute offsets).

    ``separator`` splits units into anchor words (character-level texts); None means
    every unit is a word already (word-level texts).
    """
    out: list[Opcode] = []
    _align(a, b, 0, len(a), 0, len(b), separator, out)
    return _merge(out)


def counts(ops: Iterable[Opcode]) -> tuple[int, int, int, int]:
    """(hits, substitutions, deletions, insertions) of a list of opcodes."""
    hits = subs = dels = ins = 0
    for tag, a1, a2, b1, b2 in ops:
        length_a, length_b = a2 - a1, b2 - b1
        if tag == "equal":
            hits += length_a
        elif tag == "delete":
            dels += length_a
        elif tag == "insert":
            ins += length_b
        else:
            paired = min(length_a, length_b)
            subs += paired
            dels += length_a - paired
            ins += length_b - paired
    return hits, subs, dels, ins


def _align(
    a: str, b: str, a_lo: int, a_hi: int, b_lo: int, b_hi: int, sep: str | None, out: list[Opcode]
) -> None:
    # Common ends first: cheap, and they are equal in any optimal alignment.
    while a_lo < a_hi and b_lo < b_hi and a[a_lo] == b[b_lo]:
        start = a_lo
        while a_lo < a_hi and b_lo < b_hi and a[a_lo] == b[b_lo]:
            a_lo += 1
            b_lo += 1
        out.append(("equal", start, a_lo, b_lo - (a_lo - start), b_lo))
    tail: list[Opcode] = []
    end_a, end_b = a_hi, b_hi
    while a_hi > a_lo and b_hi > b_lo and a[a_hi - 1] == b[b_hi - 1]:
        a_hi -= 1
        b_hi -= 1
    if a_hi < end_a:
        tail.append(("equal", a_hi, end_a, b_hi, end_b))
    if a_lo == a_hi or b_lo == b_hi:
        if a_lo < a_hi:
            out.append(("delete", a_lo, a_hi, b_lo, b_lo))
        elif b_lo < b_hi:
            out.append(("insert", a_lo, a_lo, b_lo, b_hi))
    elif (a_hi - a_lo) * (b_hi - b_lo) <= EXACT_CELLS:
        _exact(a, b, a_lo, a_hi, b_lo, b_hi, out)
    else:
        anchors = _anchors(a, b, a_lo, a_hi, b_lo, b_hi, sep)
        if anchors:
            for anchor_a, anchor_b, length in anchors:
                _align(a, b, a_lo, anchor_a, b_lo, anchor_b, sep, out)
                out.append(("equal", anchor_a, anchor_a + length, anchor_b, anchor_b + length))
                a_lo, b_lo = anchor_a + length, anchor_b + length
            _align(a, b, a_lo, a_hi, b_lo, b_hi, sep, out)
        elif (a_hi - a_lo) * (b_hi - b_lo) <= FALLBACK_CELLS:
            _exact(a, b, a_lo, a_hi, b_lo, b_hi, out)
        else:
            _windowed(a, b, a_lo, a_hi, b_lo, b_hi, out)
    out.extend(tail)


def _exact(a: str, b: str, a_lo: int, a_hi: int, b_lo: int, b_hi: int, out: list[Opcode]) -> None:
    for op in Levenshtein.opcodes(a[a_lo:a_hi], b[b_lo:b_hi]):
        out.append((op.tag, op.src_start + a_lo, op.src_end + a_lo, op.dest_start + b_lo, op.dest_end + b_lo))  # type: ignore[arg-type]


def _windowed(a: str, b: str, a_lo: int, a_hi: int, b_lo: int, b_hi: int, out: list[Opcode]) -> None:
    """No anchor: exact alignment in windows sliding along the diagonal.

    Each window aligns WINDOW units of ``a`` with as many of ``b`` (scaled by the length
    ratio) plus a margin for drift, and keeps only the first half of its alignment: what
    happens near a window's end depends on text the window does not see.
    """
    ratio = (b_hi - b_lo) / (a_hi - a_lo)
    while (a_hi - a_lo) * (b_hi - b_lo) > EXACT_CELLS and a_hi - a_lo > WINDOW:
        span_b = min(b_hi - b_lo, int(WINDOW * ratio) + WINDOW // 2)
        window: list[Opcode] = []
        _exact(a, b, a_lo, a_lo + WINDOW, b_lo, b_lo + span_b, window)
        keep_until = a_lo + WINDOW // 2
        for index, op in enumerate(window):
            if op[2] > keep_until and index:
                break
            out.append(op)
        a_lo, b_lo = out[-1][2], out[-1][4]
    _exact(a, b, a_lo, a_hi, b_lo, b_hi, out)


def _anchors(
    a: str, b: str, a_lo: int, a_hi: int, b_lo: int, b_hi: int, sep: str | None
) -> list[tuple[int, int, int]]:
    """Unique shared words (or word n-grams) in the same order on both sides: (a, b, length)."""
    words_a = _words(a, a_lo, a_hi, sep)
    words_b = _words(b, b_lo, b_hi, sep)
    minimum = 1 if sep is None else MIN_ANCHOR
    for size in NGRAM_SIZES if sep is not None else WORD_NGRAM_SIZES:
        grams_a = _unique_grams(a, words_a, size)
        grams_b = _unique_grams(b, words_b, size)
        shared = [
            (start_a, grams_b[text], length)
            for text, (start_a, length) in grams_a.items()
            if length >= minimum and text in grams_b
        ]
        if len(shared) * ANCHOR_SPACING >= a_hi - a_lo:
            shared.sort()
            chain = _increasing([(start_a, start_b[0], length) for start_a, start_b, length in shared])
            if len(chain) * ANCHOR_SPACING >= a_hi - a_lo:
                return chain
    return []


def _words(text: str, lo: int, hi: int, sep: str | None) -> list[tuple[int, int]]:
    """(start, end) of each word in text[lo:hi]; every unit is a word when ``sep`` is None."""
    if sep is None:
        return [(index, index + 1) for index in range(lo, hi)]
    spans = []
    start = lo
    while start < hi:
        end = text.find(sep, start, hi)
        if end < 0:
            end = hi
        if end > start:
            spans.append((start, end))
        start = end + 1
    return spans


def _unique_grams(text: str, words: list[tuple[int, int]], size: int) -> dict[str, tuple[int, int]]:
    """n-grams of ``size`` words that occur once: text -> (start, length)."""
    if len(words) < size:
        return {}
    grams = [(text[words[i][0] : words[i + size - 1][1]], words[i][0]) for i in range(len(words) - size + 1)]
    seen = Counter(gram for gram, _ in grams)
    return {gram: (start, len(gram)) for gram, start in grams if seen[gram] == 1}


def _increasing(pairs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The longest run of pairs (sorted by a) whose b also increases, without overlaps."""
    tails: list[int] = []  # b start of the last pair of the best run of each length
    tail_index: list[int] = []
    previous = [-1] * len(pairs)
    for index, (_, start_b, _) in enumerate(pairs):
        position = bisect_left(tails, start_b)
        if position == len(tails):
            tails.append(start_b)
            tail_index.append(index)
        else:
            tails[position] = start_b
            tail_index[position] = index
        previous[index] = tail_index[position - 1] if position else -1
    chain = []
    index = tail_index[-1] if tail_index else -1
    while index >= 0:
        chain.append(pairs[index])
        index = previous[index]
    chain.reverse()
    # n-grams of an increasing chain may overlap on either side: keep those that do not.
    kept: list[tuple[int, int, int]] = []
    for start_a, start_b, length in chain:
        if kept and (start_a < kept[-1][0] + kept[-1][2] or start_b < kept[-1][1] + kept[-1][2]):
            continue
        kept.append((start_a, start_b, length))
    return kept


def _merge(ops: list[Opcode]) -> list[Opcode]:
    """Join neighbouring opcodes of the same tag."""
    merged: list[Opcode] = []
    for op in ops:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if merged and merged[-1][0] == op[0] and merged[-1][2] == op[1] and merged[-1][4] == op[3]:
            last = merged[-1]
            merged[-1] = (last[0], last[1], op[2], last[3], op[4])
        else:
            merged.append(op)
    return merged
