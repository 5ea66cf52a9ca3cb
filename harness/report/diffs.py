"""Ground truth and OCR output side by side, at character and at word level, edits linked.

Each run of edits gets a number shown on both sides (``link``): the report
highlights both halves of an edit when either is hovered. Character level comes
from the alignment of :mod:`harness.align` (grapheme clusters); word level aligns
the words of the same two texts (minimum edit distance over words), keeping each
text's own spacing and line breaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz.distance import Levenshtein

from harness.align import Alignment, Segment

#: ``same``: read right; ``del``: missing from the output; ``ins``: not in the ground truth;
#: ``sub``: read as something else; ``gap``: where the other side has text this side lacks.
Kind = Literal["same", "del", "ins", "sub", "gap"]
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Piece:
    text: str
    kind: Kind
    link: int | None = None  # the edit this piece belongs to, the same number on both sides


@dataclass(frozen=True)
class SideBySide:
    reference: tuple[Piece, ...]
    output: tuple[Piece, ...]
    edits: int


def side_by_side(alignment: Alignment) -> dict[str, SideBySide]:
    """The character-level and word-level views of one aligned pair of texts."""
    reference = "".join(segment.ref for segment in alignment.segments)
    output = "".join(segment.hyp for segment in alignment.segments)
    return {"chars": character_diff(alignment.segments), "words": word_diff(reference, output)}


def character_diff(segments: Sequence[Segment]) -> SideBySide:
    reference: list[Piece] = []
    output: list[Piece] = []
    link = 0
    for segment in segments:
        if segment.op == "equal":
            reference.append(Piece(segment.ref, "same"))
            output.append(Piece(segment.hyp, "same"))
            continue
        link += 1
        _add_edit(reference, output, segment.ref, segment.hyp, link)
    return SideBySide(tuple(reference), tuple(output), link)


def word_diff(reference: str, output: str) -> SideBySide:
    """Words aligned by minimum edit distance; adjacent word edits form one linked edit."""
    ref_words = [(m.start(), m.end()) for m in _WORD.finditer(reference)]
    out_words = [(m.start(), m.end()) for m in _WORD.finditer(output)]
    opcodes = Levenshtein.opcodes([reference[a:b] for a, b in ref_words], [output[a:b] for a, b in out_words])
    ref_pieces: list[Piece] = []
    out_pieces: list[Piece] = []
    ref_at = out_at = 0  # characters of each text already placed
    link = 0
    pending: list[int] = []  # word ranges of a run of edits: ref start, ref end, out start, out end

    def place(text: str, at: int, words: list[tuple[int, int]], start: int, end: int) -> tuple[str, str, int]:
        """Text before the words (spacing, kept as is) and the words' own span."""
        if start == end:
            return "", "", at
        first, last = words[start][0], words[end - 1][1]
        return text[at:first], text[first:last], last

    def flush() -> None:
        nonlocal ref_at, out_at, link
        if not pending:
            return
        link += 1
        ref_lead, ref_text, ref_at = place(reference, ref_at, ref_words, pending[0], pending[1])
        out_lead, out_text, out_at = place(output, out_at, out_words, pending[2], pending[3])
        if ref_lead:
            ref_pieces.append(Piece(ref_lead, "same"))
        if out_lead:
            out_pieces.append(Piece(out_lead, "same"))
        _add_edit(ref_pieces, out_pieces, ref_text, out_text, link)
        pending.clear()

    for opcode in opcodes:
        if opcode.tag != "equal":
            if pending:
                pending[1], pending[3] = opcode.src_end, opcode.dest_end
            else:
                pending.extend((opcode.src_start, opcode.src_end, opcode.dest_start, opcode.dest_end))
            continue
        flush()
        for text, at, words, pieces, start, end in (
            (reference, ref_at, ref_words, ref_pieces, opcode.src_start, opcode.src_end),
            (output, out_at, out_words, out_pieces, opcode.dest_start, opcode.dest_end),
        ):
            lead, span, new_at = place(text, at, words, start, end)
            if lead or span:
                pieces.append(Piece(lead + span, "same"))
            if text is reference:
                ref_at = new_at
            else:
                out_at = new_at
    flush()
    if reference[ref_at:]:
        ref_pieces.append(Piece(reference[ref_at:], "same"))
    if output[out_at:]:
        out_pieces.append(Piece(output[out_at:], "same"))
    return SideBySide(tuple(ref_pieces), tuple(out_pieces), link)


def _add_edit(reference: list[Piece], output: list[Piece], ref: str, hyp: str, link: int) -> None:
    if ref and hyp:
        reference.append(Piece(ref, "sub", link))
        output.append(Piece(hyp, "sub", link))
    elif ref:
        reference.append(Piece(ref, "del", link))
        output.append(Piece("", "gap", link))
    else:
        reference.append(Piece("", "gap", link))
        output.append(Piece(hyp, "ins", link))
