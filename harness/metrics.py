"""Accuracy and speed: CER/WER under a named normalisation, and throughput figures.

In the jiwer manner, :func:`score` computes every count once (one alignment for
characters, one for words) and returns a :class:`TextScore`; :func:`cer` and
:func:`wer` only read its fields. Alignments come from :mod:`harness.editops`:
exact Levenshtein for page-sized texts, anchored on unique words for long ones,
so a book of a million characters scores in about ten times a chapter's time.

Characters are grapheme clusters: "ệ" is one character whether it is stored as
one code point or as ``e`` plus two combining marks, and reading it as ``e`` is
one substitution.

Both texts pass through the same :class:`Normalisation` first. Profiles are
named and versioned (``nfc-ws@1``); every report names the profile it used.
Profiles compose: ``historical+casefold`` applies both on top of NFC and
whitespace collapsing, which every profile includes.

Edge cases, chosen so no figure is ever infinite or NaN:

- empty reference and empty output: CER 0;
- empty reference and some output: CER 1.0 (the insertions are still counted);
- empty output and a non-empty reference: every reference character is a
  deletion, CER 1.0.

The same rule holds for WER and for totals (micro CER with no reference
characters at all).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from harness.errors import ConfigError
from harness.graphemes import graphemes

#: Bumped whenever any rule below changes, so old and new scores are never mixed silently.
NORMALISATION_VERSION = 1


@dataclass(frozen=True)
class Normalisation:
    """A text normalisation applied to reference and output alike before scoring.

    Steps, in this order: Unicode normalisation (``unicode_form``), historical
    forms, ligatures, case folding, punctuation removal, whitespace collapsing,
    then NFC again so replacements end up composed.
    """

    name: str
    unicode_form: Literal["NFC", "NFKC"] = "NFC"
    historical: bool = False
    ligatures: bool = False
    casefold: bool = False
    strip_punctuation: bool = False
    version: int = NORMALISATION_VERSION

    @property
    def id(self) -> str:
        """The name reports print: ``nfc-ws@1``, ``casefold+historical@1``."""
        return f"{self.name}@{self.version}"

    def settings(self) -> dict[str, Any]:
        """Everything that defines the profile, for run.json."""
        return {"id": self.id, **asdict(self)}

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize(self.unicode_form, text)
        if self.historical:
            text = _historical(text)
        if self.ligatures:
            text = text.translate(_LIGATURES)
        if self.casefold:
            text = text.casefold()
        if self.strip_punctuation:
            text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
        text = _WHITESPACE.sub(" ", text).strip()
        return unicodedata.normalize("NFC", text)


NFC_WS = Normalisation("nfc-ws")
"""The default: Unicode NFC, whitespace runs (newlines too) collapsed to one space, ends stripped.

Line breaks do not count: a page read as one long line scores like one read line
by line. Composed and decomposed accents compare equal.
"""

CASEFOLD = Normalisation("casefold", casefold=True)
"""``nfc-ws`` plus Unicode case folding (``"Straße"`` and ``"STRASSE"`` compare equal)."""

NOPUNCT = Normalisation("nopunct", strip_punctuation=True)
"""``nfc-ws`` plus punctuation (Unicode categories P*) removed, as jiwer's RemovePunctuation does.

Quotes, dashes, brackets and full stops no longer count (``"don't"`` becomes
``"dont"``); symbols (S*) such as ``§``, ``+`` and ``$`` still do.
"""

NFKC = Normalisation("nfkc", unicode_form="NFKC")
"""Compatibility normalisation instead of NFC: ligatures, superscripts, full-width forms folded."""

LIGATURES = Normalisation("ligatures", ligatures=True)
"""``nfc-ws`` plus the Latin presentation ligatures U+FB00-U+FB06 spelt out (``ﬁ`` -> ``fi``)."""

HISTORICAL = Normalisation("historical", historical=True, ligatures=True)
"""``ligatures`` plus historical forms read as modern ones.

- long s ``ſ`` -> ``s``;
- a, o, u with combining small e above (U+0364) -> ä, ö, ü;
- the double oblique hyphen ``⸗`` (U+2E17) -> ``-`` everywhere;
- ``¬`` (U+00AC) and ``—`` (U+2014) at the end of a line -> ``-`` (both serve
  as line-end hyphens in transcriptions; elsewhere they are left alone).
"""

PROFILES: dict[str, Normalisation] = {
    profile.name: profile for profile in (NFC_WS, CASEFOLD, NOPUNCT, NFKC, LIGATURES, HISTORICAL)
}
DEFAULT_PROFILE = NFC_WS

_WHITESPACE = re.compile(r"\s+")
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "ſt",
        "\ufb06": "st",
    }
)
_UMLAUT = {"a": "ä", "o": "ö", "u": "ü", "A": "Ä", "O": "Ö", "U": "Ü"}
_E_ABOVE = re.compile("([aouAOU])\u0364")
_LINE_END_HYPHEN = re.compile("[\u00ac\u2014][ \t]*(?=\r?\n|$)")


def _historical(text: str) -> str:
    text = text.replace("\u017f", "s").replace("\u2e17", "-")
    text = _E_ABOVE.sub(lambda match: _UMLAUT[match.group(1)], text)
    return _LINE_END_HYPHEN.sub("-", text)


def resolve_profile(spec: str | Sequence[str] | Normalisation | None) -> Normalisation:
    """A profile from its name, ``a+b`` or a list of names; an optional ``@version`` must match.

    Raises ConfigError naming the valid profiles.
    """
    if isinstance(spec, Normalisation):
        return spec
    if spec is None:
        return DEFAULT_PROFILE
    text = spec if isinstance(spec, str) else "+".join(spec)
    text, _, version = text.strip().partition("@")
    if version and version != str(NORMALISATION_VERSION):
        raise ConfigError(
            f"normalisation {spec!r} asks for version {version}, but this ocr-harness has version "
            f"{NORMALISATION_VERSION} of the profiles",
            fix=f"drop the @{version} or write @{NORMALISATION_VERSION}",
        )
    names = [part.strip() for part in text.split("+") if part.strip()] or [DEFAULT_PROFILE.name]
    unknown = [name for name in names if name not in PROFILES]
    if unknown:
        raise ConfigError(
            f"unknown normalisation profile {unknown[0]!r}; profiles: {', '.join(PROFILES)}",
            fix="combine profiles with '+', e.g. 'historical+casefold'",
        )
    chosen = [PROFILES[name] for name in PROFILES if name in names]  # canonical order, no repeats
    if len(chosen) > 1:
        chosen = [profile for profile in chosen if profile is not NFC_WS]  # implied by every profile
    combined = chosen[0]
    for profile in chosen[1:]:
        combined = replace(
            combined,
            unicode_form="NFKC" if "NFKC" in (combined.unicode_form, profile.unicode_form) else "NFC",
            historical=combined.historical or profile.historical,
            ligatures=combined.ligatures or profile.ligatures,
            casefold=combined.casefold or profile.casefold,
            strip_punctuation=combined.strip_punctuation or profile.strip_punctuation,
        )
    return replace(combined, name="+".join(profile.name for profile in chosen))


# --- scoring -------------------------------------------------------------------


def error_rate(errors: int | float, reference_length: int | float) -> float:
    """``errors / reference_length``, with the documented rule for an empty reference."""
    from harness.stats import error_rates

    return float(error_rates(errors, reference_length))


@dataclass(frozen=True)
class TextScore:
    """Every count for one reference/output pair (after normalisation)."""

    ref_chars: int
    hyp_chars: int
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int
    hyp_words: int
    word_hits: int
    word_substitutions: int
    word_deletions: int
    word_insertions: int
    #: order-independent counts (harness.unordered): bag-of-words and flexible character errors
    bow_errors: int = 0
    unordered_char_errors: int = 0

    @property
    def char_errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def word_errors(self) -> int:
        return self.word_substitutions + self.word_deletions + self.word_insertions

    @property
    def cer(self) -> float:
        return error_rate(self.char_errors, self.ref_chars)

    @property
    def wer(self) -> float:
        return error_rate(self.word_errors, self.ref_words)

    @property
    def bow_wer(self) -> float:
        return error_rate(self.bow_errors, self.ref_words)

    @property
    def cer_unordered(self) -> float:
        return error_rate(self.unordered_char_errors, self.ref_chars)

    @property
    def empty_output(self) -> bool:
        """The reference has text and the output (after normalisation) has none."""
        return self.ref_chars > 0 and self.hyp_chars == 0


def _align(reference: list[str], hypothesis: list[str], *, words: bool) -> tuple[int, int, int, int]:
    """(hits, substitutions, deletions, insertions) between two token lists (near-linear time)."""
    if not reference or not hypothesis:
        return 0, 0, len(reference), len(hypothesis)
    from harness import editops

    codes: dict[str, str] = {}
    encoded_ref = editops.encode(reference, codes)
    encoded_hyp = editops.encode(hypothesis, codes)
    separator = None if words else codes.get(" ")
    return editops.counts(editops.opcodes(encoded_ref, encoded_hyp, separator=separator))


def score(reference: str, hypothesis: str, profile: Normalisation = DEFAULT_PROFILE) -> TextScore:
    """Normalise both texts with ``profile`` and count character and word edits.

    The order-independent counts (``bow_errors``, ``unordered_char_errors``) come
    from :mod:`harness.unordered`, which reads the raw texts line by line.
    """
    raw_reference, raw_hypothesis = reference, hypothesis
    reference, hypothesis = profile(reference), profile(hypothesis)
    ref_chars, hyp_chars = graphemes(reference), graphemes(hypothesis)
    ref_words, hyp_words = reference.split(), hypothesis.split()
    hits, subs, dels, ins = _align(ref_chars, hyp_chars, words=False)
    word_hits, word_subs, word_dels, word_ins = _align(ref_words, hyp_words, words=True)
    return TextScore(
        ref_chars=len(ref_chars),
        hyp_chars=len(hyp_chars),
        hits=hits,
        substitutions=subs,
        deletions=dels,
        insertions=ins,
        ref_words=len(ref_words),
        hyp_words=len(hyp_words),
        word_hits=word_hits,
        word_substitutions=word_subs,
        word_deletions=word_dels,
        word_insertions=word_ins,
        **_unordered_counts(raw_reference, raw_hypothesis, ref_words, hyp_words, subs + dels + ins, profile),
    )


def _unordered_counts(
    raw_reference: str,
    raw_hypothesis: str,
    ref_words: list[str],
    hyp_words: list[str],
    char_errors: int,
    profile: Normalisation,
) -> dict[str, int]:
    from harness.unordered import bag_of_words_errors, unordered_char_errors

    return {
        "bow_errors": bag_of_words_errors(ref_words, hyp_words),
        "unordered_char_errors": unordered_char_errors(
            raw_reference, raw_hypothesis, profile, ordered_errors=char_errors
        ),
    }


def cer(reference: str, hypothesis: str, profile: Normalisation = DEFAULT_PROFILE) -> float:
    """Character error rate over grapheme clusters."""
    return score(reference, hypothesis, profile).cer


def wer(reference: str, hypothesis: str, profile: Normalisation = DEFAULT_PROFILE) -> float:
    """Word error rate (words are whitespace-separated after normalisation)."""
    return score(reference, hypothesis, profile).wer


# --- aggregates ------------------------------------------------------------------

FailurePolicy = Literal["exclude", "count_as_cer_1"]
FAILURE_POLICIES: tuple[str, ...] = ("exclude", "count_as_cer_1")


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap 95% confidence interval."""

    value: float
    low: float
    high: float


def micro_rate(errors: Sequence[float], lengths: Sequence[float]) -> Interval:
    """Total errors / total reference length, with a bootstrap CI drawing whole samples."""
    from harness.stats import bootstrap_ci

    value = error_rate(sum(errors), sum(lengths))
    if not errors:
        return Interval(value, value, value)
    low, high = bootstrap_ci(errors, weights=lengths, statistic="ratio")
    return Interval(value, _finite(low, value), _finite(high, value))


def macro_rate(rates: Sequence[float]) -> Interval:
    """The mean of per-sample rates, with a bootstrap CI."""
    from harness.stats import bootstrap_ci

    if not rates:
        return Interval(0.0, 0.0, 0.0)
    value = sum(rates) / len(rates)
    low, high = bootstrap_ci(rates, statistic="mean")
    return Interval(value, low, high)


def _finite(bound: float, point: float) -> float:
    # A resample holding only empty-reference pages has no denominator; by the
    # empty-reference rule such a resample scores 1.0.
    return bound if math.isfinite(bound) else max(1.0, point)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100, linear interpolation), or None for no values."""
    from harness.stats import quantiles

    listed = list(values)
    return quantiles(listed, [q / 100])[0] if listed else None
