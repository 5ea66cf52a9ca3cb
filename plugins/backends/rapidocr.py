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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from harness.backends import Availability, Backend, BackendOptions, Line, Recognition
from harness.hashing import file_sha256
from harness.hookspecs import hookimpl

from .rapidocr_lines import Word, assemble_lines, glyph_spans, skew_angle

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
        description="'columns': find columns and blocks from the line boxes (recursive XY-cut on the "
        "page turned straight) and read them as a person would; 'raw': lines in rows, top to bottom "
        "and left to right, so the lines of side-by-side columns alternate",
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
        assert isinstance(self.options, RapidOcrOptions)
        lines = lines_of(self._engine(pixels), reading_order=self.options.reading_order == "columns")
        return Recognition(text="\n".join(line.text for line in lines), lines=lines)

    def close(self) -> None:
        self._engine = None


def lines_of(result: Any, *, reading_order: bool = True) -> list[Line]:
    """The lines of a RapidOCR result, put together from its boxes (see rapidocr_lines).

    With ``reading_order``, lines are sorted as a person reads them (harness.reading_order,
    columns found from the line boxes on the page turned straight); else in rows, top to bottom.
    """
    boxes = getattr(result, "boxes", None)
    texts = getattr(result, "txts", None)
    scores = getattr(result, "scores", None)
    if boxes is None or texts is None or scores is None or len(texts) == 0:
        return []
    placed = getattr(result, "word_results", None)
    if placed is None or len(placed) != len(texts):
        placed = [None] * len(texts)
    words = [
        Word.detected(text, box, float(score), glyph_spans(chars, text))
        for box, text, score, chars in zip(boxes, texts, scores, placed, strict=True)
        if text.strip()
    ]
    lines = assemble_lines(words)
    if not reading_order:
        return lines
    from harness.reading_order import order_lines

    return order_lines(lines, skew=skew_angle(words))


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
