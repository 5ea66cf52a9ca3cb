"""Character-level alignment of ground truth and OCR output, for diffs and error analysis.

Texts are aligned on grapheme clusters (what a reader sees as one character, the same
unit as ``ref_chars`` in samples.csv) with a minimum edit-distance alignment
(:mod:`harness.editops`: near-linear in the length, so a whole book still aligns). Runs of
adjacent edits are merged into one segment, so a confusion such as ``rn`` read as ``m``
shows as one multi-character confusion instead of a substitution plus a deletion.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from harness.graphemes import graphemes

Op = Literal["equal", "substitute", "delete", "insert"]

#: Longest segment (in characters, either side) counted as one confusion; longer runs of
#: edits are garbled text rather than a confusion and are counted apart.
MAX_CONFUSION_LENGTH = 3

#: Character classes, in report order.
CHAR_CLASSES = (
    "letters",
    "letters with diacritics",
    "digits",
    "punctuation & symbols",
    "whitespace",
    "other",
)


@dataclass(frozen=True)
class Segment:
    """A stretch of the alignment: equal text, or one run of edits (``ref`` -> ``hyp``)."""

    op: Op
    ref: str
    hyp: str


@dataclass(frozen=True)
class Alignment:
    """Segments covering both texts in order, with the edit counts of the alignment."""

    segments: tuple[Segment, ...]
    ref_chars: int
    hyp_chars: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


@dataclass(frozen=True)
class ClassStats:
    """How many reference characters of one class there were, and how many were read right."""

    total: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


def align(reference: str, hypothesis: str) -> Alignment:
    """Align two texts on grapheme clusters (minimum edit distance)."""
    from harness import editops

    ref = graphemes(reference)
    hyp = graphemes(hypothesis)
    codes: dict[str, str] = {}
    encoded_ref, encoded_hyp = editops.encode(ref, codes), editops.encode(hyp, codes)
    segments: list[Segment] = []
    substitutions = deletions = insertions = 0
    pending_ref: list[str] = []
    pending_hyp: list[str] = []

    def flush() -> None:
        if not pending_ref and not pending_hyp:
            return
        op: Op = "substitute" if pending_ref and pending_hyp else "delete" if pending_ref else "insert"
        segments.append(Segment(op, "".join(pending_ref), "".join(pending_hyp)))
        pending_ref.clear()
        pending_hyp.clear()

    for tag, ref_start, ref_end, hyp_start, hyp_end in editops.opcodes(
        encoded_ref, encoded_hyp, separator=codes.get(" ")
    ):
        ref_part = ref[ref_start:ref_end]
        hyp_part = hyp[hyp_start:hyp_end]
        if tag == "equal":
            flush()
            segments.append(Segment("equal", "".join(ref_part), "".join(hyp_part)))
            continue
        if tag == "replace":
            paired = min(len(ref_part), len(hyp_part))
            substitutions += paired
            deletions += len(ref_part) - paired
            insertions += len(hyp_part) - paired
        elif tag == "delete":
            deletions += len(ref_part)
        else:
            insertions += len(hyp_part)
        pending_ref.extend(ref_part)
        pending_hyp.extend(hyp_part)
    flush()
    return Alignment(tuple(segments), len(ref), len(hyp), substitutions, deletions, insertions)


def confusions(alignment: Alignment) -> Counter[tuple[str, str]]:
    """Count ``(reference, ocr)`` confusions; ``""`` on one side is a deletion or insertion.

    Equal-length edit runs count per character (``l`` -> ``1``); unequal runs up to
    MAX_CONFUSION_LENGTH characters count as one confusion (``rn`` -> ``m``). Longer
    unequal runs are not confusions but garbled text, counted under ``("…", "…")``.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for segment in alignment.segments:
        if segment.op == "equal":
            continue
        ref = graphemes(segment.ref)
        hyp = graphemes(segment.hyp)
        if len(ref) == len(hyp):
            counts.update(zip(ref, hyp, strict=True))
        elif max(len(ref), len(hyp)) <= MAX_CONFUSION_LENGTH:
            counts[(segment.ref, segment.hyp)] += 1
        else:
            counts[("…", "…")] += 1
    return counts


@functools.lru_cache(maxsize=4096)  # a page has a few dozen distinct characters, read thousands of times
def char_class(cluster: str) -> str:
    """The class of one grapheme cluster (see CHAR_CLASSES)."""
    if not cluster:
        return "other"
    base = cluster[0]
    category = unicodedata.category(base)
    if base.isspace() or category.startswith("Z"):
        return "whitespace"
    if category.startswith("N"):
        return "digits"
    if category.startswith(("P", "S")):
        return "punctuation & symbols"
    if category.startswith("M"):
        return "letters with diacritics"  # a stray combining mark
    if category.startswith("L"):
        decomposed = unicodedata.normalize("NFD", cluster)
        has_mark = any(unicodedata.category(char).startswith("M") for char in decomposed)
        return "letters with diacritics" if has_mark else "letters"
    return "other"


def class_accuracy(alignment: Alignment) -> dict[str, ClassStats]:
    """Per character class of the reference: how many characters, how many read exactly.

    A reference character counts as correct only inside an equal segment, so every
    substitution or deletion counts against its class. Insertions have no reference
    character and are not attributed to a class.
    """
    totals: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    for segment in alignment.segments:
        for cluster in graphemes(segment.ref):
            kind = char_class(cluster)
            totals[kind] += 1
            if segment.op == "equal":
                correct[kind] += 1
    return {kind: ClassStats(totals[kind], correct[kind]) for kind in CHAR_CLASSES if totals[kind]}


def merge_class_stats(stats: Iterable[dict[str, ClassStats]]) -> dict[str, ClassStats]:
    """Sum per-class counts over many alignments."""
    totals: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    for item in stats:
        for kind, value in item.items():
            totals[kind] += value.total
            correct[kind] += value.correct
    return {kind: ClassStats(totals[kind], correct[kind]) for kind in CHAR_CLASSES if totals[kind]}


def visible(text: str) -> str:
    """Text with whitespace made visible, for confusion tables (space ␣, newline ⏎, tab ⇥)."""
    if text == "":
        return "∅"
    return text.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")
