"""Tesseract backend, in-process through tesserocr (whose wheel bundles libtesseract).

Language data (``*.traineddata``) is not in the wheel: it comes from the system
(Debian's ``tesseract-ocr-LANG`` packages) or from ``TESSDATA_PREFIX``. Which
languages a machine can read is decided by the files on disk, found without
importing tesserocr, so the main process stays light.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from harness.backends import Availability, Backend, BackendOptions, Line, Recognition, Word
from harness.errors import EngineError
from harness.hashing import file_sha256
from harness.hookspecs import hookimpl

if TYPE_CHECKING:
    from PIL import Image

#: Common codes -> traineddata names. A language is offered only where its file exists.
TRAINEDDATA: Mapping[str, str] = {
    "ar": "ara",
    "cs": "ces",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "es": "spa",
    "fi": "fin",
    "fr": "fra",
    "hi": "hin",
    "hu": "hun",
    "it": "ita",
    "ja": "jpn",
    "ko": "kor",
    "la": "lat",
    "nl": "nld",
    "no": "nor",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sv": "swe",
    "th": "tha",
    "tr": "tur",
    "uk": "ukr",
    "vi": "vie",
    "zh": "chi_sim",
}

#: Where distributions put traineddata, newest layout first.
SYSTEM_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)

#: Below this, an image's resolution tag is treated as missing (real scans carry 1-dpi tags).
MIN_PLAUSIBLE_DPI = 70

# Modes that produce text: 0 (orientation only) and 2 (layout only) return nothing.
_TEXT_PSMS = {1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}


#: An image at least this many times wider than tall is read as one text line by psm "auto".
LINE_ASPECT_RATIO = 5
#: Tesseract's own limit on an image side (its coordinates are 16-bit); past it, it reads nothing.
MAX_SIDE = 32767


class TesseractOptions(BackendOptions):
    psm: int | Literal["auto"] = Field(
        default="auto",
        description="page segmentation mode: auto (default) = 7 for a line-shaped image (width >= "
        f"{LINE_ASPECT_RATIO} x height), else 3; "
        "3 = automatic page layout, 4 = one column, 6 = one uniform block of text, 7 = a single line, "
        "11 = sparse text, 13 = raw line",
    )
    dpi: int = Field(
        default=300,
        ge=MIN_PLAUSIBLE_DPI,
        le=2400,
        description=f"resolution assumed when an image has none or one below {MIN_PLAUSIBLE_DPI} dpi",
    )

    @field_validator("psm")
    @classmethod
    def _psm_reads_text(cls, value: int | str) -> int | str:
        if value != "auto" and value not in _TEXT_PSMS:
            modes = ", ".join(str(mode) for mode in sorted(_TEXT_PSMS))
            raise ValueError(f"psm {value} does not recognise text; use one of {modes}")
        return value


class TesseractBackend(Backend):
    name = "tesseract"
    description = (
        "Tesseract 5 LSTM, in-process through tesserocr. Reads every language whose .traineddata "
        "is installed (Debian: apt-get install tesseract-ocr-LANG; or set TESSDATA_PREFIX)."
    )
    distribution = "tesserocr"
    Options = TesseractOptions

    @classmethod
    def availability(cls) -> Availability:
        installed = super().availability()
        if not installed.ok:
            return installed
        tessdata = tessdata_dir()
        if tessdata is None:
            prefix = os.environ.get("TESSDATA_PREFIX")
            where = f"TESSDATA_PREFIX={prefix}" if prefix else ", ".join(SYSTEM_TESSDATA_DIRS)
            return Availability(
                False,
                f"no Tesseract language data (*.traineddata) found in {where}",
                "apt-get install tesseract-ocr-eng (and tesseract-ocr-LANG for other languages), "
                "or set TESSDATA_PREFIX to a folder holding .traineddata files",
            )
        return Availability(True)

    @classmethod
    def version(cls) -> str:
        # The wrapper's version alone hides the engine's: wheels bundle libtesseract, named with its version.
        wrapper = super().version()
        if wrapper == "not installed":
            return wrapper
        for file in importlib.metadata.files(cls.distribution or "") or ():
            match = re.search(r"libtesseract[^/]*\.so\.(\d+\.\d+\.\d+)$", str(file))
            if match:
                return f"{wrapper} (libtesseract {match.group(1)})"
        return wrapper

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        tessdata = tessdata_dir()
        if tessdata is None:
            return {}
        return {
            code: data for code, data in TRAINEDDATA.items() if (tessdata / f"{data}.traineddata").is_file()
        }

    @classmethod
    def worker_env(cls, threads: int) -> Mapping[str, str]:
        # Tesseract's OpenMP reads this once, when the library loads: it must be set first.
        # (OMP_NUM_THREADS does not limit the Debian build.)
        return {"OMP_THREAD_LIMIT": str(threads)}

    @classmethod
    def fingerprint(cls, options: BackendOptions) -> dict[str, Any]:
        tessdata = tessdata_dir()
        if tessdata is None:
            return {}
        # Hashes, not the folder path: the same data on another machine is the same engine.
        return {
            "traineddata": {
                f"{data}.traineddata": file_sha256(tessdata / f"{data}.traineddata")
                for data in sorted(cls.languages().values())
            },
        }

    def __init__(self, options: BackendOptions | None = None, *, threads: int = 1) -> None:
        super().__init__(options, threads=threads)
        os.environ.update(self.worker_env(self.threads))
        import tesserocr

        self._tesserocr = tesserocr
        tessdata = tessdata_dir()
        assert tessdata is not None, "availability() is checked before engines are created"
        self._tessdata = tessdata
        self._apis: dict[str, Any] = {}

    def _api(self, traineddata: str) -> Any:
        api = self._apis.get(traineddata)
        if api is None:
            # tesserocr wants the folder path with a trailing separator.
            api = self._tesserocr.PyTessBaseAPI(
                path=str(self._tessdata) + os.sep,
                lang=traineddata,
                oem=self._tesserocr.OEM.LSTM_ONLY,
            )
            self._apis[traineddata] = api
        return api

    def thread_settings(self) -> dict[str, Any]:
        return {"threads": self.threads, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT")}

    def recognize(self, image: Image.Image, *, language: str) -> Recognition:
        tesserocr = self._tesserocr
        options = self.options
        assert isinstance(options, TesseractOptions)
        api = self._api(self.engine_language(language))
        dpi, dpi_source = _effective_dpi(image, options.dpi)
        if options.psm != "auto":
            psm = options.psm
        elif image.width >= LINE_ASPECT_RATIO * image.height:
            psm = tesserocr.PSM.SINGLE_LINE
        else:
            psm = tesserocr.PSM.AUTO
        lines = self._read(api, image, dpi, psm)
        return Recognition(
            text="\n".join(line.text for line in lines),
            lines=lines,
            notes={
                "dpi": dpi,
                "dpi_source": dpi_source,
                "psm": int(psm),
                "tesseract": tesserocr.tesseract_version().split()[1],
            },
        )

    def _read(self, api: Any, image: Image.Image, dpi: int, psm: int) -> list[Line]:
        tesserocr = self._tesserocr
        if max(image.size) > MAX_SIDE:
            raise EngineError(
                f"Tesseract reads images up to {MAX_SIDE} pixels a side; this one is "
                f"{image.width}x{image.height}",
                fix=f"add a downscale(max_side={MAX_SIDE}) step to the pipeline",
            )
        api.SetPageSegMode(psm)
        api.SetImage(image)
        api.SetSourceResolution(dpi)
        lines: list[Line] = []
        try:
            if not api.Recognize():
                raise EngineError(
                    f"Tesseract could not recognise this {image.width}x{image.height} image "
                    "(its layout analysis failed)"
                )
            iterator = api.GetIterator()
            if iterator is None:  # nothing was found on the page: no text, not a failure
                return []
            line_level, word_level = tesserocr.RIL.TEXTLINE, tesserocr.RIL.WORD
            current: tuple[str, Any, float | None] | None = None
            words: list[Word] = []
            for item in tesserocr.iterate_level(iterator, word_level):
                if item.IsAtBeginningOf(line_level):
                    if current is not None:
                        lines.extend(_line(current, words))
                    current, words = _read_level(item, line_level), []
                text, box, confidence = _read_level(item, word_level)
                if text:
                    words.append(Word(text, box, confidence))
            if current is not None:
                lines.extend(_line(current, words))
        finally:
            api.Clear()
        return lines

    def close(self) -> None:
        for api in self._apis.values():
            api.End()
        self._apis.clear()


def _read_level(item: Any, level: Any) -> tuple[str, Any, float | None]:
    """Text, box and confidence (0..1) of the element at ``level`` where the iterator stands."""
    try:
        text = (item.GetUTF8Text(level) or "").strip()
    except RuntimeError:  # tesserocr's "No text returned": an empty element, not a failure
        text = ""
    box = item.BoundingBox(level)
    confidence = item.Confidence(level)
    return text, tuple(box) if box else None, round(confidence / 100, 4) if confidence >= 0 else None


def _line(line: tuple[str, Any, float | None], words: list[Word]) -> list[Line]:
    text, box, confidence = line
    return [Line(text, box, confidence, tuple(words))] if text else []


def tessdata_dir() -> Path | None:
    """The folder of .traineddata files: TESSDATA_PREFIX (the folder or its parent), else the system's."""
    prefix = os.environ.get("TESSDATA_PREFIX")
    candidates = (
        [Path(prefix), Path(prefix) / "tessdata"] if prefix else [Path(d) for d in SYSTEM_TESSDATA_DIRS]
    )
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.traineddata")):
            return candidate
    return None


def _effective_dpi(image: Image.Image, fallback: int) -> tuple[int, str]:
    dpi = image.info.get("dpi")
    if dpi:
        value = round(float(dpi[0] if isinstance(dpi, tuple) else dpi))
        if value >= MIN_PLAUSIBLE_DPI:
            return value, "image"
    return fallback, "assumed"


@hookimpl
def register_backends(register: Any) -> None:
    register(TesseractBackend)
