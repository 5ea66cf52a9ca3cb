"""CER/WER: grapheme clusters, normalisation profiles, edge cases, aggregates."""

from __future__ import annotations

import math
import random
import unicodedata

import pytest

from harness.errors import ConfigError
from harness.metrics import (
    DEFAULT_PROFILE,
    HISTORICAL,
    NFC_WS,
    NORMALISATION_VERSION,
    PROFILES,
    cer,
    error_rate,
    graphemes,
    macro_rate,
    micro_rate,
    percentile,
    resolve_profile,
    score,
    wer,
)


def plain_levenshtein(a: list[str], b: list[str]) -> int:
    """Textbook dynamic programme, independent of jiwer and rapidfuzz."""
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right)))
        previous = current
    return previous[-1]


# --- grapheme clusters ---------------------------------------------------------------


def test_a_vietnamese_letter_with_two_marks_is_one_character_however_it_is_stored():
    composed = "ệ"
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) == 3
    assert score(decomposed, composed).cer == 0.0
    result = score("Việt", "Viet")
    assert (result.ref_chars, result.substitutions, result.deletions, result.insertions) == (4, 1, 0, 0)
    assert result.cer == pytest.approx(1 / 4)
    assert cer("ệ", "e") == 1.0


def test_a_cluster_without_a_precomposed_form_still_counts_once():
    # x + dot below + circumflex has no precomposed code point: NFC leaves three code points.
    stacked = "x\u0323\u0302"
    assert len(unicodedata.normalize("NFC", stacked)) == 3
    result = score(f"a{stacked}b", "axb")
    assert result.ref_chars == 3
    assert (result.substitutions, result.deletions, result.insertions) == (1, 0, 0)


# --- edge cases ----------------------------------------------------------------------------


def test_empty_reference_and_empty_output_is_a_perfect_score():
    result = score("", "")
    assert (result.cer, result.wer, result.char_errors) == (0.0, 0.0, 0)


def test_empty_reference_with_output_is_cer_one_with_insertions_counted():
    result = score("  \n ", "abc de")
    assert result.ref_chars == 0
    assert result.insertions == 6
    assert result.cer == 1.0
    assert result.wer == 1.0


def test_empty_output_deletes_every_reference_character():
    result = score("abc def", "")
    assert (result.deletions, result.substitutions, result.insertions, result.hits) == (7, 0, 0, 0)
    assert result.cer == 1.0
    assert result.wer == 1.0


def test_cer_can_exceed_one_but_is_never_infinite():
    result = score("ab", "abcdef")
    assert result.cer == pytest.approx(2.0)
    assert math.isfinite(result.cer)
    assert error_rate(0, 0) == 0.0
    assert error_rate(5, 0) == 1.0


def test_word_counts_after_normalisation():
    result = score("the quick  brown\nfox", "the quack brown")
    assert result.ref_words == 4
    assert (result.word_substitutions, result.word_deletions, result.word_insertions) == (1, 1, 0)
    assert wer("the quick  brown\nfox", "the quack brown") == pytest.approx(2 / 4)


# --- normalisation profiles ------------------------------------------------------------------


def test_default_profile_is_nfc_and_whitespace():
    assert DEFAULT_PROFILE is NFC_WS
    assert DEFAULT_PROFILE.id == f"nfc-ws@{NORMALISATION_VERSION}"
    assert NFC_WS("  a\tb \n\n c ") == "a b c"
    assert NFC_WS("Andromache\u0300") == "Andromachè"
    assert cer("line one\nline two\n", "line one line two") == 0.0


def test_every_profile_has_a_docstring_and_an_id():
    for name, profile in PROFILES.items():
        assert profile.id == f"{name}@{NORMALISATION_VERSION}"
        assert profile.settings()["id"] == profile.id


def test_casefold_nopunct_nfkc_ligatures():
    assert resolve_profile("casefold")("Straße") == "strasse"
    assert resolve_profile("nopunct")("„Hello,“ she said — don't!") == "Hello she said dont"
    assert resolve_profile("nfkc")("ﬁnd x²") == "find x2"
    assert resolve_profile("ligatures")("ﬁne ﬂow ﬀ") == "fine flow ff"
    assert NFC_WS("ﬁne") == "ﬁne"  # the default leaves ligatures alone


def test_historical_profile_reads_old_forms_as_modern():
    assert HISTORICAL("Geſchichte") == "Geschichte"
    assert HISTORICAL("Fa\u0364hre Ko\u0364nig Gru\u0364n") == "Fähre König Grün"
    assert HISTORICAL("Sophokles⸗Ausgabe") == "Sophokles-Ausgabe"
    assert HISTORICAL("que nous ſom¬\nmes") == "que nous som- mes"
    assert HISTORICAL("ver—") == "ver-"
    assert HISTORICAL("so — denn") == "so — denn"  # a dash inside a line is a dash
    assert cer("Geſchichte", "Geschichte", HISTORICAL) == 0.0
    assert cer("Geſchichte", "Geschichte") > 0


def test_profiles_compose_in_a_canonical_order():
    combined = resolve_profile("casefold+historical")
    assert combined.id == f"casefold+historical@{NORMALISATION_VERSION}"
    assert combined == resolve_profile(["historical", "casefold", "nfc-ws"])
    assert combined("Geſchichte") == "geschichte"
    assert resolve_profile(f"nfc-ws@{NORMALISATION_VERSION}") == NFC_WS


def test_unknown_profile_and_wrong_version_are_config_errors():
    with pytest.raises(ConfigError, match="unknown normalisation profile 'lowercase'.*casefold"):
        resolve_profile("lowercase")
    with pytest.raises(ConfigError, match="version 99"):
        resolve_profile("nfc-ws@99")


# --- against an independent implementation on real text -----------------------------------------


def _corrupt(text: str, rng: random.Random) -> str:
    chars = graphemes(text)
    for _ in range(max(1, len(chars) // 12)):
        if not chars:
            break
        position = rng.randrange(len(chars))
        action = rng.choice(("substitute", "delete", "insert"))
        if action == "substitute":
            chars[position] = rng.choice("aeiouxyzſ,. ")
        elif action == "delete":
            del chars[position]
        else:
            chars.insert(position, rng.choice("ẽ’-q"))
    return "".join(chars)


def test_cer_matches_a_plain_levenshtein_on_real_dev_ground_truth(real_dev):
    rng = random.Random(7)
    texts = [path.read_text(encoding="utf-8") for path in sorted(real_dev.glob("line_*.gt.txt"))]
    assert len(texts) >= 40
    pairs = [(text, _corrupt(text, rng)) for text in texts] + list(zip(texts, texts[1:], strict=False))
    for profile in (NFC_WS, HISTORICAL):
        for reference, hypothesis in pairs:
            result = score(reference, hypothesis, profile)
            ref_chars, hyp_chars = graphemes(profile(reference)), graphemes(profile(hypothesis))
            distance = plain_levenshtein(ref_chars, hyp_chars)
            assert result.char_errors == distance, (reference, hypothesis)
            assert result.ref_chars == len(ref_chars)
            assert result.hits + result.substitutions + result.deletions == result.ref_chars
            assert result.hits + result.substitutions + result.insertions == result.hyp_chars
            assert result.cer == pytest.approx(distance / len(ref_chars))
            words = plain_levenshtein(profile(reference).split(), profile(hypothesis).split())
            assert result.word_errors == words


# --- aggregates ------------------------------------------------------------------------------------


def test_micro_weights_by_length_and_macro_weights_pages_equally():
    errors, lengths = [1, 1], [100, 1]
    micro = micro_rate(errors, lengths)
    macro = macro_rate([error_rate(e, n) for e, n in zip(errors, lengths, strict=False)])
    assert micro.value == pytest.approx(2 / 101)
    assert macro.value == pytest.approx((0.01 + 1.0) / 2)


def test_bootstrap_intervals_contain_the_point_estimate():
    rng = random.Random(3)
    lengths = [rng.randint(20, 400) for _ in range(30)]
    errors = [rng.randint(0, n // 5) for n in lengths]
    micro = micro_rate(errors, lengths)
    macro = macro_rate([e / n for e, n in zip(errors, lengths, strict=False)])
    for interval in (micro, macro):
        assert interval.low <= interval.value <= interval.high
        assert interval.low < interval.high


def test_empty_references_never_make_an_interval_infinite_or_nan():
    # Half the pages are blank with spurious output: resamples of only those have no denominator.
    micro = micro_rate([3, 0, 2, 4], [0, 10, 0, 0])
    for bound in (micro.value, micro.low, micro.high):
        assert math.isfinite(bound)
    assert micro.low <= micro.value <= micro.high
    assert micro_rate([], []).value == 0.0
    one = micro_rate([2], [10])
    assert (one.low, one.value, one.high) == (0.2, 0.2, 0.2)


def test_percentile():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile(range(101), 95) == pytest.approx(95)
