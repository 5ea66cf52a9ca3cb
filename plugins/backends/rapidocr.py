"""RapidOCR backend: PaddleOCR models run by onnxruntime, bundled in the wheel, fully offline.

The ``rapidocr`` wheel ships one multilingual PP-OCRv6 detection and recognition
model pair. This backend pins those files (so a run never downloads anything and
the fingerprint names exactly what ran) and gives onnxruntime only the worker's
share of cores.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from harness.backends import Availability, Backend, BackendOptions, Line, Recognition
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
        if cls.version() == "not installed":
            return Availability(
                False, "the Python package 'rapidocr' is not installed", "pip install rapidocr"
            )
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
                MODEL_FILES[stage]: _sha256(models / MODEL_FILES[stage]) if models else None
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
                "Det.box_thresh": opts.box_thresh,
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
        words = [
            _Word(text, _axis_aligned(box), float(score))
            for box, text, score in zip(boxes, texts, scores, strict=True)
            if text.strip()
        ]
        lines = [_join_line(group) for group in group_into_lines(words)]
        return Recognition(text="\n".join(line.text for line in lines), lines=lines)

    def close(self) -> None:
        self._engine = None


class _Word:
    __slots__ = ("text", "box", "score")

    def __init__(self, text: str, box: tuple[int, int, int, int], score: float) -> None:
        self.text = text.strip()
        self.box = box
        self.score = score

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
    return Line(" ".join(w.text for w in words), box, round(confidence, 5))


def _model_dir() -> Path | None:
    """The wheel's model folder, found without importing rapidocr (or None if a file is missing)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not all((models / name).is_file() for name in MODEL_FILES.values()):
        return None
    return models


def _sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@hookimpl
def register_backends(register: Any) -> None:
    register(RapidOcrBackend)
