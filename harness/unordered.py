"""Order-independent measures: bag-of-words errors and an order-free character error count.

CER and WER follow the output's reading order, so a page whose columns were read
in the wrong order scores as badly as one read wrongly. These two measures look
past the order, to tell recognition errors from reading-order errors:

``bow_errors`` (bag of words)
    Words are the normalised text split on whitespace. With R and H the multisets
    of reference and output words, missing = sum over w of max(R[w] - H[w], 0),
    extra = sum over w of max(H[w] - R[w], 0), and ``bow_errors`` =
    max(missing, extra). It is a lower bound of the word edit distance, and equals
    it when words are only misread in place.

``unordered_char_errors`` (flexible character matching)
    In the manner of the flexible character accuracy of Clausner, Pletschacher and
    Antonacopoulos (Pattern Recognition Letters 131, 2020): reference and output
    are cut into lines (each normalised on its own), and the best-matching pair of
    pieces is matched again and again. For a pair, the shorter piece is slid over
    the longer one (a window as long as the shorter piece, as in the paper); the
    pair with the largest gain (matched length minus twice its edit distance) is
    taken, its edit distance counted, and what is left of the longer piece on
    either side of the window goes back into the pool. Pairs whose edit distance
    is half the shorter length or more are never matched. Reference characters
    left unmatched count as deletions, output characters left over as
    insertions. Line breaks and the spaces between lines never count. The result
    is never above the ordered character errors: the output's own order is one
    of the orders a reader could take, so on a one-line sample it equals CER
    unless pieces were swapped.

    The matching compares every reference line with every output line, so it is
    quadratic in lines: texts with more than ``MAX_LINE_PAIRS`` line pairs or
    ``MAX_CHARACTERS`` characters (a page has a few thousand of each; a whole book
    as one text has far more) get the ordered count instead, the bound the measure never exceeds.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import partial_ratio_alignment

from harness.graphemes import graphemes

#: A matched pair must have an edit distance below this share of the shorter piece.
MAX_MATCH_DISTANCE = 0.5
#: Past this many reference x output lines, the ordered count is given (see the module docstring).
MAX_LINE_PAIRS = 40_000
#: Likewise past this many characters in both texts together (a few dense pages).
MAX_CHARACTERS = 40_000


def bag_of_words_errors(reference_words: Sequence[str], output_words: Sequence[str]) -> int:
    """max(missing, extra) over the two multisets of words (see the module docstring)."""
    reference, output = Counter(reference_words), Counter(output_words)
    missing = sum((reference - output).values())
    extra = sum((output - reference).values())
    return max(missing, extra)


def unordered_char_errors(
    reference: str, output: str, normalise: Callable[[str], str], ordered_errors: int | None = None
) -> int:
    """Character errors with reading order ignored; at most ``ordered_errors`` when given.

    ``reference`` and ``output`` are raw texts (line breaks kept); each line is passed
    through ``normalise`` before matching, and characters are grapheme clusters.
    """
    encode = _GraphemeCodec()
    reference_lines = _lines(reference, normalise)
    output_lines = _lines(output, normalise)
    too_large = len(reference_lines) * len(output_lines) > MAX_LINE_PAIRS or (
        len(reference) + len(output) > MAX_CHARACTERS
    )
    if ordered_errors is not None and too_large:
        return ordered_errors
    errors = _match([encode(line) for line in reference_lines], [encode(line) for line in output_lines])
    return errors if ordered_errors is None else min(errors, ordered_errors)


def _lines(text: str, normalise: Callable[[str], str]) -> list[str]:
    return [line for line in (normalise(raw) for raw in text.splitlines()) if line]


class _GraphemeCodec:
    """Maps each grapheme cluster to one code point, so string distances count clusters."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        out = []
        for cluster in graphemes(text):
            if len(cluster) == 1:
                out.append(cluster)
            else:  # a multi-code-point cluster: a private-use code point of its own
                out.append(self._codes.setdefault(cluster, chr(0xF0000 + len(self._codes))))
        return "".join(out)


@dataclass(frozen=True)
class _Candidate:
    gain: int
    distance: int
    reference: int  # piece ids
    output: int
    left: str  # what stays of the longer piece, left and right of the window
    right: str
    longer_is_reference: bool


def _best_window(reference: str, output: str) -> tuple[int, str, str, bool] | None:
    """(distance, left rest, right rest, longer is reference) of the best window, or None."""
    longer_is_reference = len(reference) > len(output)
    shorter, longer = (output, reference) if longer_is_reference else (reference, output)
    found = partial_ratio_alignment(shorter, longer)
    if found is None:
        return None
    start, end = found.dest_start, found.dest_end
    limit = int(MAX_MATCH_DISTANCE * len(shorter) - 1e-9)
    if limit < 0:
        return None
    distance = Levenshtein.distance(shorter, longer[start:end], score_cutoff=limit)
    if distance > limit:
        return None
    return distance, longer[:start].strip(), longer[end:].strip(), longer_is_reference


def _match(reference_lines: list[str], output_lines: list[str]) -> int:
    """Greedy best-first matching of pieces; returns matched distances plus unmatched characters.

    Measuring a pair (sliding one piece over the other) is the costly step, so pairs are
    first ranked by an upper bound of their gain from the characters the two pieces share
    (:class:`_Bags`). Each new piece keeps its pairs with the other side sorted by that
    bound, and the heap holds each piece's next unmeasured pair and every measured one, in
    the order of :func:`_sort_key` (the bound standing in for the gain). A pair is measured
    when its bound comes out on top, so the pair taken at each step is the one a scan of
    every measured pair would take; most pairs of unrelated lines never are measured, since
    their pieces are matched elsewhere first. Entries of used-up pieces are dropped.
    """
    pieces: dict[int, str] = {}
    reference_ids: set[int] = set()
    output_ids: set[int] = set()
    new_id = itertools.count()  # ids are never reused, so a queued entry names its pieces
    bags = _Bags(reference_lines + output_lines)
    # (-gain or -bound, reference id, output id, 0 measured / 1 bound), and the candidate, or
    # the rest of the bounded pairs of the piece that owns this one
    queue: list[tuple[tuple[int, int, int, int], Any]] = []

    def next_pair(owner: int, pairs: Iterator[tuple[int, int, int, int]]) -> None:
        if owner in pieces:
            for key in pairs:
                heapq.heappush(queue, (key, (owner, pairs)))
                return

    def add(texts: list[str], side: set[int]) -> None:
        added = []
        for text in texts:
            if text:
                piece = next(new_id)
                pieces[piece] = text
                side.add(piece)
                added.append(piece)
        others = sorted(output_ids if side is reference_ids else reference_ids)
        if not added or not others:
            return
        bounds = bags.bounds([pieces[i] for i in added], [pieces[i] for i in others])
        for piece, keys in zip(added, bounds, strict=True):
            pairs = [
                (key, piece, others[column], 1) if side is reference_ids else (key, others[column], piece, 1)
                for key, column in keys
            ]
            next_pair(piece, iter(pairs))

    add(reference_lines, reference_ids)
    add(output_lines, output_ids)

    errors = 0
    while queue:
        (_, ref_id, out_id, bound), payload = heapq.heappop(queue)
        if bound:
            next_pair(*payload)
            if ref_id in pieces and out_id in pieces:
                candidate = _candidate(ref_id, out_id, pieces)
                if candidate is not None:
                    heapq.heappush(queue, ((*_sort_key(candidate), 0), candidate))
            continue
        if ref_id not in pieces or out_id not in pieces:
            continue
        best: _Candidate = payload
        errors += best.distance
        reference_ids.discard(best.reference)
        output_ids.discard(best.output)
        del pieces[best.reference], pieces[best.output]
        add([best.left, best.right], reference_ids if best.longer_is_reference else output_ids)
    errors += sum(len(pieces[i]) for i in reference_ids) + sum(len(pieces[i]) for i in output_ids)
    return errors


class _Bags:
    """Character counts of pieces, to bound how well two pieces can match."""

    def __init__(self, lines: list[str]) -> None:
        import numpy as np

        self._np = np
        self._alphabet = np.unique(self._codes("".join(lines)))

    def _codes(self, text: str) -> Any:
        return self._np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=self._np.uint32)

    def _counts(self, texts: list[str]) -> Any:
        np = self._np
        counts = np.zeros((len(texts), len(self._alphabet)), dtype=np.int32)
        for row, text in enumerate(texts):
            np.add.at(counts[row], np.searchsorted(self._alphabet, self._codes(text)), 1)
        return counts

    def bounds(self, texts: list[str], others: list[str]) -> list[list[tuple[int, int]]]:
        """For each of ``texts``: (-bound of the gain, index in ``others``) of every pair that can
        match, best first (ties: lower index first). A window of the longer piece holds at most
        the characters the two share, so the shorter needs ``len(shorter) - shared`` edits at least.
        """
        np = self._np
        mine, theirs = self._counts(texts), self._counts(others)
        shared = np.minimum(mine[:, None, :], theirs[None, :, :]).sum(axis=2)
        lengths = np.array([len(text) for text in texts + others])
        shorter = np.minimum(lengths[: len(texts), None], lengths[None, len(texts) :])
        missing = shorter - shared
        keys = 2 * missing - shorter  # -(shorter - 2 * missing): the gain's bound, negated
        allowed = missing <= np.floor(MAX_MATCH_DISTANCE * shorter - 1e-9)
        result = []
        for row in range(len(texts)):
            columns = np.flatnonzero(allowed[row])
            order = columns[np.argsort(keys[row, columns], kind="stable")]
            result.append(list(zip(keys[row, order].tolist(), order.tolist(), strict=True)))
        return result


def _candidate(ref_id: int, out_id: int, pieces: dict[int, str]) -> _Candidate | None:
    window = _best_window(pieces[ref_id], pieces[out_id])
    if window is None:
        return None
    distance, left, right, longer_is_reference = window
    shorter = min(len(pieces[ref_id]), len(pieces[out_id]))
    return _Candidate(shorter - 2 * distance, distance, ref_id, out_id, left, right, longer_is_reference)


def _sort_key(candidate: _Candidate) -> tuple[int, int, int]:
    # Largest gain first; ties go to the earlier pieces, so the result does not depend on set order.
    return (-candidate.gain, candidate.reference, candidate.output)
