"""RapidOCR backend: PaddleOCR models run by onnxruntime, bundled in the wheel, fully offline.

The ``rapidocr`` wheel ships one multilingual PP-OCRv6 detection and recognition
model pair. This backend pins those files (so a run never downloads anything and
the fingerprint names exactly what ran) and gives onnxruntime only the worker's
share of cores.

Detection is set up for scanned documents: it sees an image at the size it is read
and never enlarges it. RapidOCR's own setting (shorter side enlarged to 736) blows a
956x44 text line up to 2944x736, which is slow (detection took 2.4 s of a 2.8 s call)
and splits the line into overlapping word boxes whose overlaps get read twice.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from harness.backends import Availability, Backend, BackendOptions, Line, Recognition, Word
from harness.hashing import file_sha256
from harness.hookspecs import hookimpl

if TYPE_CHECKING:
    from PIL import Image

#: The model files inside the wheel's ``rapidocr/models`` folder, by RapidOCR stage.
MODEL_FILES: Mapping[str, str] = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}

#: Common codes -> RapidOCR language names, for the languages the bundled recognition
#: model was trained on (rapidocr's default_models.yaml) AND whose letters are all in
#: its character dictionary. Vietnamese is in the first list but not the second: the
#: dictionary lacks most stacked diacritics (ạ ế ử ...), so it cannot be read.
#: tests/test_backends.py checks every entry against the dictionary.
_LANGUAGES: Mapping[str, str] = {
    "cs": "cs",
    "da": "da",
    "de": "de",
    "en": "en",
    "es": "es",
    "fi": "fi",
    "fr": "fr",
    "hu": "hu",
    "it": "it",
    "ja": "japan",
    "la": "la",
    "nl": "nl",
    "no": "no",
    "pl": "pl",
    "pt": "pt",
    "ro": "ro",
    "sv": "sv",
    "tr": "tr",
    "zh": "ch",
}

# Boxes whose vertical spans overlap by at least this share of the shorter one sit on one line.
_SAME_LINE_OVERLAP = 0.5

# Two readings of a character are one glyph read twice when their spans share at least this
# share of the narrower span.
_SAME_GLYPH_OVERLAP = 0.5

# The normalisation PaddleOCR trains and runs its detection models with (ImageNet's).
# RapidOCR's own default (0.5, 0.5) feeds the model a shifted distribution; on the real-dev
# scans ImageNet's reads lines better (CER 0.046 vs 0.059) and pages alike (within 0.003).
_DET_MEAN = (0.485, 0.456, 0.406)
_DET_STD = (0.229, 0.224, 0.225)


class RapidOcrOptions(BackendOptions):
    use_cls: bool = Field(
        default=False,
        description="run the text-direction classifier, which turns lines it believes are upside down; "
        "it also flips some upright lines, so leave it off for upright scans",
    )
    text_score: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="drop recognised text whose confidence is below this",
    )
    box_thresh: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="score a detected text box needs to be read; lower finds fainter text and more noise",
    )
    det_limit_type: Literal["max", "min"] = Field(
        default="max",
        description="how det_limit_side_len sizes the image text detection sees: 'max' shrinks images "
        "whose longer side exceeds it and never enlarges; 'min' enlarges images whose shorter side is "
        "below it (RapidOCR's own default, min 736, enlarges a 44-px text line's text ~3 times: 4x "
        "slower, and it splits the line into overlapping word boxes)",
    )
    det_limit_side_len: int | None = Field(
        default=None,
        ge=32,
        le=8192,
        description="side length for det_limit_type; unset: max_side_len with 'max' (detection sees "
        "the image as it is read), 736 with 'min'. With 'max', 960 reads pages about 1.5x faster but "
        "loses letters in small print",
    )
    unclip_ratio: float = Field(
        default=1.6,
        gt=0.0,
        le=5.0,
        description="how far detected text boxes are grown before reading: larger keeps more of "
        "ascenders, descenders and accents, too large takes in neighbouring words and lines",
    )
    reading_order: Literal["columns", "raw"] = Field(
        default="columns",
        description="'columns': find columns and blocks from the text boxes (recursive XY-cut) and read "
        "them as a person would; 'raw': the engine's order, lines across the whole page top to bottom "
        "(side-by-side columns merge into one line)",
    )
    max_side_len: int = Field(
        default=2000,
        ge=64,
        le=16384,
        description="longer side images are shrunk to before detection and reading; raise it for large "
        "scans with very small print, at the cost of speed and memory",
    )

    @model_validator(mode="after")
    def _detection_limit_can_take_effect(self) -> RapidOcrOptions:
        if self.det_limit_type == "max" and self.detection_side_len > self.max_side_len:
            raise ValueError(
                f"det_limit_side_len {self.detection_side_len} has no effect above max_side_len "
                f"{self.max_side_len}, which images are already shrunk to: raise max_side_len too"
            )
        return self

    @property
    def detection_side_len(self) -> int:
        """det_limit_side_len, or its default for det_limit_type."""
        if self.det_limit_side_len is not None:
            return self.det_limit_side_len
        return self.max_side_len if self.det_limit_type == "max" else 736


class RapidOcrBackend(Backend):
    name = "rapidocr"
    description = (
        "RapidOCR (PaddleOCR PP-OCRv6 small models on onnxruntime), bundled with the wheel and offline. "
        "One multilingual model: Latin-script European languages, Chinese and Japanese. "
        "Not Vietnamese (its dictionary lacks the stacked diacritics), Cyrillic, Greek or Arabic."
    )
    distribution = "rapidocr"
    Options = RapidOcrOptions

    @classmethod
    def availability(cls) -> Availability:
        installed = super().availability()
        if not installed.ok:
            return installed
        if importlib.util.find_spec("onnxruntime") is None:
            return Availability(
                False,
                "the Python package 'onnxruntime' (RapidOCR's runtime) is not installed",
                "pip install onnxruntime",
            )
        if _model_dir() is None:
            missing = ", ".join(MODEL_FILES.values())
            return Availability(
                False,
                f"the rapidocr installation lacks its bundled models ({missing})",
                "reinstall it from the wheel: pip install --force-reinstall --no-deps rapidocr",
            )
        return Availability(True)

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return dict(_LANGUAGES)

    @classmethod
    def fingerprint(cls, options: BackendOptions) -> dict[str, Any]:
        assert isinstance(options, RapidOcrOptions)
        stages = ["det", "rec"] + (["cls"] if options.use_cls else [])
        models = _model_dir()
        return {
            "models": {
                MODEL_FILES[stage]: file_sha256(models / MODEL_FILES[stage]) if models else None
                for stage in stages
            }
        }

    def __init__(self, options: BackendOptions | None = None, *, threads: int = 1) -> None:
        super().__init__(options, threads=threads)
        from rapidocr import RapidOCR

        models = _model_dir()
        assert models is not None, "availability() is checked before engines are created"
        opts = self.options
        assert isinstance(opts, RapidOcrOptions)
        # RapidOCR ignores thread counts above the core count (it then uses every core).
        self._intra_op_threads = max(1, min(self.threads, os.cpu_count() or 1))
        self._engine: Any = RapidOCR(
            params={
                "Global.use_cls": opts.use_cls,
                "Global.text_score": opts.text_score,
                "Global.log_level": "error",
                "Global.max_side_len": opts.max_side_len,
                # Where each character was read, to drop glyphs read twice by overlapping boxes.
                "Global.return_word_box": True,
                "Global.return_single_char_box": True,
                "Det.box_thresh": opts.box_thresh,
                "Det.limit_type": opts.det_limit_type,
                "Det.limit_side_len": opts.detection_side_len,
                "Det.unclip_ratio": opts.unclip_ratio,
                "Det.mean": list(_DET_MEAN),
                "Det.std": list(_DET_STD),
                "Det.model_path": str(models / MODEL_FILES["det"]),
                "Rec.model_path": str(models / MODEL_FILES["rec"]),
                "Cls.model_path": str(models / MODEL_FILES["cls"]),
                "EngineConfig.onnxruntime.intra_op_num_threads": self._intra_op_threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def thread_settings(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "onnxruntime_intra_op_threads": self._intra_op_threads,
            "onnxruntime_inter_op_threads": 1,
        }

    def recognize(self, image: Image.Image, *, language: str) -> Recognition:
        import numpy as np

        if image.mode == "L":
            pixels = np.asarray(image)
        else:
            # RapidOCR takes arrays as OpenCV does: BGR.
            pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        result = self._engine(pixels)
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None)
        scores = getattr(result, "scores", None)
        if boxes is None or texts is None or scores is None or len(texts) == 0:
            return Recognition(text="", lines=[])
        placed = getattr(result, "word_results", None)
        if placed is None or len(placed) != len(texts):
            placed = [None] * len(texts)
        words = [
            _Word(text, _axis_aligned(box), float(score), _glyph_spans(chars, text))
            for box, text, score, chars in zip(boxes, texts, scores, placed, strict=True)
            if text.strip()
        ]
        lines = [_join_line(drop_repeated_glyphs(group)) for group in self._ordered_lines(words)]
        return Recognition(text="\n".join(line.text for line in lines), lines=lines)

    def _ordered_lines(self, words: Sequence[_Word]) -> list[list[_Word]]:
        """Words grouped into lines, in reading order: block by block when reading columns."""
        assert isinstance(self.options, RapidOcrOptions)
        if self.options.reading_order == "raw":
            return group_into_lines(words)
        from harness.reading_order import reading_blocks

        lines: list[list[_Word]] = []
        for block in reading_blocks([word.box for word in words]):
            lines.extend(group_into_lines([words[index] for index in block]))
        return lines

    def close(self) -> None:
        self._engine = None


#: One recognised character and the horizontal span (left, right) it was read at.
Glyph = tuple[str, float, float]


class _Word:
    """One detected box's text; ``glyphs`` places its non-space characters, when the engine did."""

    __slots__ = ("text", "box", "score", "glyphs")

    def __init__(
        self,
        text: str,
        box: tuple[int, int, int, int],
        score: float,
        glyphs: Sequence[Glyph] | None = None,
    ) -> None:
        self.text = text.strip()
        self.box = box
        self.score = score
        self.glyphs = tuple(glyphs) if glyphs is not None else None

    def without_first_glyphs(self, count: int) -> _Word:
        """This word minus its first ``count`` non-space characters."""
        text = self.text
        for _ in range(count):
            text = text.lstrip()[1:]
        glyphs = self.glyphs[count:] if self.glyphs is not None else None
        return _Word(text, self.box, self.score, glyphs)

    @property
    def top(self) -> int:
        return self.box[1]

    @property
    def bottom(self) -> int:
        return self.box[3]


def _axis_aligned(quad: Any) -> tuple[int, int, int, int]:
    xs = [float(point[0]) for point in quad]
    ys = [float(point[1]) for point in quad]
    return (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))


def _glyph_spans(placed: Any, text: str) -> tuple[Glyph, ...] | None:
    """Characters and spans from RapidOCR's single-character boxes; None unless they spell ``text``."""
    try:
        glyphs = tuple(
            (str(char), float(min(point[0] for point in quad)), float(max(point[0] for point in quad)))
            for char, _score, quad in placed
        )
    except (TypeError, ValueError):
        return None
    if "".join(glyph[0] for glyph in glyphs) != "".join(text.split()):
        return None
    return glyphs


def _same_glyph(first: Glyph, second: Glyph) -> bool:
    shared = min(first[2], second[2]) - max(first[1], second[1])
    narrower = min(first[2] - first[1], second[2] - second[1])
    return first[0] == second[0] and shared > 0 and shared >= _SAME_GLYPH_OVERLAP * narrower


def drop_repeated_glyphs(line: Sequence[_Word]) -> list[_Word]:
    """Drop characters a box repeats from its left neighbour: one glyph read twice.

    Detected boxes are grown (``unclip_ratio``) before reading, so neighbours in a
    line can overlap, and a glyph in the overlap may be read by both ("the" + "e
    as-rolled"). A leading character of a box is dropped only when the box overlaps
    its neighbour and the same character was read at the same place at the end of
    the neighbour, so "the epithet" keeps both e's. ``line`` is in reading order.
    """
    kept: list[_Word] = []
    for word in line:
        if kept:
            word = _without_repeated_start(kept[-1], word)
        if word.text:
            kept.append(word)
    return kept


def _without_repeated_start(left: _Word, right: _Word) -> _Word:
    if left.glyphs is None or right.glyphs is None or left.box[2] <= right.box[0]:
        return right
    for count in range(min(len(left.glyphs), len(right.glyphs)), 0, -1):
        ends, starts = left.glyphs[-count:], right.glyphs[:count]
        if all(_same_glyph(end, start) for end, start in zip(ends, starts, strict=True)):
            return right.without_first_glyphs(count)
    return right


def group_into_lines(words: Sequence[_Word]) -> list[list[_Word]]:
    """Group word boxes into lines by vertical overlap: lines top to bottom, words left to right.

    RapidOCR returns phrase boxes roughly but not always in reading order. Each
    line is compared by the median span of its words, so a slanted line does not
    swallow its neighbours. Side-by-side columns merge into one line: reading
    columns apart needs layout analysis this backend does not do.
    """
    lines: list[list[_Word]] = []
    for word in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        best, best_overlap = None, _SAME_LINE_OVERLAP
        for line in lines:
            top, bottom = _median_span(line)
            shorter = min(word.bottom - word.top, bottom - top)
            if shorter <= 0:
                continue
            overlap = (min(word.bottom, bottom) - max(word.top, top)) / shorter
            if overlap >= best_overlap:
                best, best_overlap = line, overlap
        if best is None:
            lines.append([word])
        else:
            best.append(word)
    for line in lines:
        line.sort(key=lambda w: w.box[0])
    lines.sort(key=lambda line: sum(_median_span(line)) / 2)
    return lines


def _median_span(line: Sequence[_Word]) -> tuple[float, float]:
    tops = sorted(w.top for w in line)
    bottoms = sorted(w.bottom for w in line)
    middle = len(line) // 2
    return float(tops[middle]), float(bottoms[middle])


def _join_line(words: Sequence[_Word]) -> Line:
    box = (
        min(w.box[0] for w in words),
        min(w.box[1] for w in words),
        max(w.box[2] for w in words),
        max(w.box[3] for w in words),
    )
    # Weight by length: a confident long phrase outweighs a doubtful single letter.
    weights = [max(1, len(w.text)) for w in words]
    confidence = sum(w.score * n for w, n in zip(words, weights, strict=True)) / sum(weights)
    placed = tuple(word for phrase in words for word in _split_words(phrase))
    return Line(" ".join(w.text for w in words), box, round(confidence, 5), placed)


def _split_words(phrase: _Word) -> list[Word]:
    """A detected phrase's words, placed by their characters' spans where the engine gave them."""
    texts = phrase.text.split()
    left, top, right, bottom = phrase.box
    score = round(phrase.score, 5)
    if phrase.glyphs is None or len(phrase.glyphs) != sum(len(text) for text in texts):
        if len(texts) == 1:
            return [Word(texts[0], phrase.box, score)]
        return [Word(text, None, score) for text in texts]  # writers share the line box out
    words = []
    position = 0
    for text in texts:
        glyphs = phrase.glyphs[position : position + len(text)]
        position += len(text)
        start = max(left, round(min(glyph[1] for glyph in glyphs)))
        end = min(right, round(max(glyph[2] for glyph in glyphs)))
        words.append(Word(text, (start, top, max(end, start + 1), bottom), score))
    return words


def _model_dir() -> Path | None:
    """The wheel's model folder, found without importing rapidocr (or None if a file is missing)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not all((models / name).is_file() for name in MODEL_FILES.values()):
        return None
    return models


@hookimpl
def register_backends(register: Any) -> None:
    register(RapidOcrBackend)
