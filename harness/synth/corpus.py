"""Text to set on synthetic pages: a few paragraphs of prose per language, recombined by the RNG.

The corpora (``corpora/LANG.txt``) were written for this project: lines
starting with ``# `` are headings, blank lines separate paragraphs. Pages take
runs of consecutive sentences, so the text reads like prose, not word salad.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

import numpy as np

LANGUAGES = ("en", "fr", "vi", "de", "es")

# A sentence ends at . ! ? (maybe followed by a closing quote) before a capital or an opening quote;
# "1s. 3d." and "a-t-il noté" do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?»”\"])\s+(?=[«\"„¿¡A-ZÀ-ÖØ-ÞĀ-ſƠƯẠ-Ỹ])")


@dataclass(frozen=True)
class Corpus:
    language: str
    headings: tuple[str, ...]
    sentences: tuple[str, ...]  # every paragraph's sentences, in order
    text: str  # everything, for checking font coverage


@functools.lru_cache(maxsize=None)
def load_corpus(language: str) -> Corpus:
    raw = resources.files("harness.synth").joinpath("corpora", f"{language}.txt").read_text(encoding="utf-8")
    text = unicodedata.normalize("NFC", raw)
    headings = tuple(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
    body = "\n".join(line for line in text.splitlines() if not line.startswith("# "))
    paragraphs = [" ".join(block.split()) for block in body.split("\n\n") if block.strip()]
    sentences = tuple(s for paragraph in paragraphs for s in _SENTENCE_END.split(paragraph))
    return Corpus(language, headings, sentences, text)


def paragraph(rng: np.random.Generator, corpus: Corpus, sentences: int) -> str:
    """``sentences`` consecutive sentences from a random place (wrapping around at the end)."""
    start = int(rng.integers(len(corpus.sentences)))
    return " ".join(corpus.sentences[(start + i) % len(corpus.sentences)] for i in range(sentences))


def heading(rng: np.random.Generator, corpus: Corpus) -> str:
    return corpus.headings[int(rng.integers(len(corpus.headings)))]


def words(rng: np.random.Generator, corpus: Corpus, count: int) -> str:
    """``count`` consecutive words from a random place: the text of one line image."""
    all_words = " ".join(corpus.sentences).split(" ")
    start = int(rng.integers(len(all_words) - count))
    return " ".join(all_words[start : start + count])
