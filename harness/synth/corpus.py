"""Text to set on synthetic pages: a few paragraphs of prose per language, recombined by the RNG.

The corpora (``corpora/LANG.txt``) were written for this project: lines
starting with ``# `` are headings, blank lines separate paragraphs. A page
starts at a random sentence and goes on paragraph by paragraph, so it reads
like prose, not word salad.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
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
    paragraphs: tuple[tuple[str, ...], ...]  # each paragraph's sentences
    text: str  # everything, for checking font coverage


@functools.cache
def load_corpus(language: str) -> Corpus:
    raw = resources.files("harness.synth").joinpath("corpora", f"{language}.txt").read_text(encoding="utf-8")
    text = unicodedata.normalize("NFC", raw)
    headings = tuple(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
    body = "\n".join(line for line in text.splitlines() if not line.startswith("# "))
    paragraphs = [" ".join(block.split()) for block in body.split("\n\n") if block.strip()]
    split = tuple(tuple(_SENTENCE_END.split(paragraph)) for paragraph in paragraphs)
    return Corpus(language, headings, split, text)


def prose(rng: np.random.Generator, corpus: Corpus) -> Iterator[str]:
    """Paragraphs without end: from a random sentence of a random paragraph on, then whole
    paragraphs in a random order, none repeated before all have been used."""
    order = rng.permutation(len(corpus.paragraphs))
    first = corpus.paragraphs[int(order[0])]
    yield " ".join(first[int(rng.integers(len(first))) :])
    while True:
        for index in order[1:]:
            yield " ".join(corpus.paragraphs[int(index)])
        order = rng.permutation(len(corpus.paragraphs))
        yield " ".join(corpus.paragraphs[int(order[0])])


def heading(rng: np.random.Generator, corpus: Corpus) -> str:
    return corpus.headings[int(rng.integers(len(corpus.headings)))]


def words(rng: np.random.Generator, corpus: Corpus, count: int) -> str:
    """``count`` consecutive words from a random place: the text of one line image."""
    all_words = " ".join(" ".join(source) for source in corpus.paragraphs).split(" ")
    start = int(rng.integers(len(all_words) - count))
    return " ".join(all_words[start : start + count])
