"""The Aspose.OCR backend class: options, languages, availability, recognition.

Everything here except ``__init__``/``recognize`` runs in the main process and
never imports ``aspose`` (importing it starts .NET, after which a forked child
hangs or crashes). Engines exist only in spawned worker processes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from harness.backends import Availability, Backend, BackendOptions, Line, Recognition
from harness.errors import EngineNotInstalledError, LicenseError

from . import runtime

if TYPE_CHECKING:
    from PIL import Image

#: The environment variable naming a licence file when the ``license`` option is not given.
LICENSE_ENV = "ASPOSE_OCR_LICENSE"

#: Common codes -> names in aspose.ocr.Language (26.10). Greek, Latin and Thai have no
#: model there. tests/test_aspose.py checks every name against the installed enum.
_LANGUAGES: Mapping[str, str] = {
    "af": "AFR", "ar": "ARA", "be": "BEL", "bg": "BUL", "bs": "BOS", "ca": "CAT", "cs": "CES",
    "da": "DAN", "de": "DEU", "en": "ENG", "es": "SPA", "et": "EST", "fa": "PES", "fi": "FIN",
    "fr": "FRA", "gl": "GLG", "hi": "HIN", "hr": "HRV", "hu": "HUN", "id": "IND", "it": "ITA",
    "ja": "JPN", "kk": "KAZ", "ko": "KOR", "lt": "LIT", "lv": "LAV", "ms": "MLY", "nl": "NLD",
    "no": "NOR", "pl": "POL", "pt": "POR", "ro": "RON", "ru": "RUS", "sk": "SLK", "sl": "SLV",
    "sr": "SRP", "sv": "SWE", "sw": "SWH", "ta": "TAM", "te": "TEL", "tl": "TGL", "tr": "TUR",
    "uk": "UKR", "ur": "URD", "vi": "VIE", "zh": "CHINESE",
}  # fmt: skip

#: What evaluation mode appends to the text it cut short. The cut can also leave part of
#: a first banner just before it ("...tota\n ************* Tria").
_TRIAL_BANNER = re.compile(r"\n?[ \t]*\*{3,}[ \t]*Trial Licenses[ \t]*\*{3,}[ \t]*\n?\Z")
_BANNER_LINE = "************* Trial Licenses *************"
_TRIAL_WARNING = "Trial Licenses"
#: Said on every single-line read; notes["single_line"] records that instead.
_SINGLE_LINE_WARNING = "Setting single line recognition"


class AsposeOptions(BackendOptions):
    license: str | None = Field(
        default=None,
        description=f"path of an Aspose.OCR licence file (default: ${LICENSE_ENV}); without a licence "
        "Aspose runs in evaluation mode, which cuts every text short (results are flagged truncated)",
    )
    single_line: bool | Literal["auto"] = Field(
        default="auto",
        description="read the image as one text line: true for line crops (faster), false for pages; "
        "auto reads it as a page and, when no text line is found, again as one line",
    )
    # DOCUMENT_LAYOUT, TABLE, CURVED_TEXT, FORMULA and MULTICOLUMN need models Aspose downloads
    # from GitHub at first use; this backend never lets an engine reach the network.
    detect_areas_mode: Literal["universal", "lean"] = Field(
        default="universal",
        description="how Aspose finds text areas: universal (its default: any text, also sparse) or "
        "lean (faster; for plain pages of a few text blocks)",
    )
    upscale_small_font: bool = Field(default=False, description="use extra algorithms for small print")
    automatic_color_inversion: bool = Field(
        default=True, description="detect light text on a dark background and read it with a special model"
    )
    lines_filtration: bool = Field(
        default=False,
        description="read text inside ruled table cells; off treats ruled areas as plain text and is faster",
    )
    auto_skew: bool = Field(
        default=False,
        description="straighten a page scanned at a slight angle before reading it (Aspose's filter; "
        "adds roughly 80% to a page's time here)",
    )
    auto_contrast: bool = Field(
        default=False, description="correct the contrast before reading (faint print, coloured paper)"
    )
    allowed_symbols: str | None = Field(
        default=None, description="read only these characters, e.g. '0123456789'"
    )
    ignored_symbols: str | None = Field(default=None, description="never output these characters")

    @model_validator(mode="after")
    def _license_file_exists(self) -> AsposeOptions:
        # In the main process, before any OCR: a wrong path is a configuration error, not 100 failed rows.
        license_file(self)
        return self


def license_file(options: AsposeOptions) -> Path | None:
    """The licence file to use (option, else $ASPOSE_OCR_LICENSE), or None; LicenseError if it is missing."""
    if options.license:
        path, origin = Path(options.license).expanduser(), "the aspose option 'license'"
    elif os.environ.get(LICENSE_ENV):
        path, origin = Path(os.environ[LICENSE_ENV]).expanduser(), f"${LICENSE_ENV}"
    else:
        return None
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise LicenseError(
            f"{origin} names the Aspose.OCR licence file {path}, which {what}",
            fix="give the path of your .lic file, or unset it to run in evaluation mode",
        )
    return path


class AsposeBackend(Backend):
    name = "aspose"
    description = (
        "Aspose.OCR for Python via .NET (commercial; onnxruntime models on a bundled .NET Core 3.1). "
        "Without a licence it runs in evaluation mode and keeps only the start of each text."
    )
    distribution = runtime.DISTRIBUTION
    Options = AsposeOptions

    # --- main process ---------------------------------------------------------

    @classmethod
    def availability(cls) -> Availability:
        if runtime.aspose_version() is None:
            return Availability(
                False, f"the Python package {runtime.DISTRIBUTION!r} is not installed", runtime.INSTALL_FIX
            )
        root = runtime.runtime_dir()
        probe = runtime.probe_runtime(root)
        if not probe.ok:
            return Availability(False, probe.detail, runtime.PROVISION_FIX)
        return Availability(True)

    @classmethod
    def provision(cls) -> str:
        return runtime.provision()

    @classmethod
    def worker_env(cls, threads: int) -> Mapping[str, str]:
        # Without it every .NET process leaves debug pipes in the temp folder.
        return {"COMPlus_EnableDiagnostics": runtime.DOTNET_ENV["COMPlus_EnableDiagnostics"]}

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return dict(_LANGUAGES)

    @classmethod
    def caveat(cls, options: BackendOptions) -> str | None:
        assert isinstance(options, AsposeOptions)
        if license_file(options) is not None:
            return None
        return (
            "evaluation mode: texts are cut short (Aspose keeps only the start of each text); "
            f"to add a licence, set {LICENSE_ENV}=/path/to/Aspose.OCR.lic or give --option license=PATH"
        )

    @classmethod
    def fingerprint(cls, options: BackendOptions) -> dict[str, Any]:
        assert isinstance(options, AsposeOptions)
        made = runtime.manifest(runtime.runtime_dir())
        licence = license_file(options)
        return {
            "openssl": f"{made['package']} {made['version']}" if made else "not provisioned by ocr-harness",
            "license": "licence file" if licence else "evaluation mode",
        }

    # --- worker process -------------------------------------------------------

    def __init__(self, options: BackendOptions | None = None, *, threads: int = 1) -> None:
        super().__init__(options, threads=threads)
        opts = self.options
        assert isinstance(opts, AsposeOptions)
        licence = license_file(opts)
        root = runtime.runtime_dir()
        # Trust the libraries only once a child process has started .NET with them: a bad
        # one would abort this process instead of raising.
        probe = runtime.probe_runtime(root)
        if not probe.ok:
            raise EngineNotInstalledError(
                f"Aspose.OCR cannot start here: {probe.detail}", fix=runtime.PROVISION_FIX
            )
        runtime.prepare_process(root)
        import aspose.ocr as ocr
        from aspose.ocr.models.preprocessingfilters import PreprocessingFilter

        self._ocr = ocr
        self._licensed = _apply_licence(ocr, licence)
        # Aspose's onnxruntime otherwise takes 8 threads per process whatever the core count.
        ocr.OnnxRuntimeSessionOptions.set_intra_op_num_threads(self.threads)
        self._api = ocr.AsposeOcr()
        filters = [
            make()
            for wanted, make in (
                (opts.auto_skew, PreprocessingFilter.auto_skew),
                (opts.auto_contrast, PreprocessingFilter.contrast_correction_filter),
            )
            if wanted
        ]
        self._filters: Any = None
        if filters:
            self._filters = PreprocessingFilter()
            for image_filter in filters:
                self._filters.add(image_filter)

    def thread_settings(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "onnxruntime_intra_op_threads": self.threads,
            "threads_count": self.threads,
        }

    def recognize(self, image: Image.Image, *, language: str) -> Recognition:
        single_line = self.options.single_line  # type: ignore[attr-defined]
        result = self._read(image, language, single_line=single_line is True)
        if (
            single_line == "auto"
            and not result.recognition_lines_result
            and not _strip_banner(result.recognition_text)[0].strip()
        ):
            # Page layout detection finds no line in a tight crop of one line.
            result = self._read(image, language, single_line=True)
            single_line = True
        return self._recognition(result, image.size, single_line=single_line is True)

    def _read(self, image: Image.Image, language: str, *, single_line: bool) -> Any:
        ocr = self._ocr
        opts = self.options
        assert isinstance(opts, AsposeOptions)
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        if self._filters is None:
            source = ocr.OcrInput(ocr.InputType.SINGLE_IMAGE)
        else:
            source = ocr.OcrInput(ocr.InputType.SINGLE_IMAGE, self._filters)
        source.add(rgb.tobytes(), rgb.width, rgb.height, ocr.PixelType.RGB)
        settings = ocr.RecognitionSettings()
        settings.language = getattr(ocr.Language, _LANGUAGES[language])
        settings.threads_count = self.threads
        settings.recognize_single_line = single_line
        settings.detect_areas_mode = getattr(ocr.DetectAreasMode, opts.detect_areas_mode.upper())
        settings.upscale_small_font = opts.upscale_small_font
        settings.automatic_color_inversion = opts.automatic_color_inversion
        settings.lines_filtration = opts.lines_filtration
        if opts.allowed_symbols:
            settings.allowed_symbols = opts.allowed_symbols
        if opts.ignored_symbols:
            settings.ignored_symbols = opts.ignored_symbols
        return self._api.recognize(source, settings)[0]

    def _recognition(self, result: Any, size: tuple[int, int], *, single_line: bool) -> Recognition:
        width, height = size
        text, banner = _strip_banner(result.recognition_text)
        warnings = list(dict.fromkeys(str(w) for w in result.warnings))
        evaluation = banner or _TRIAL_WARNING in warnings
        lines = [_line(item) for item in result.recognition_lines_result]
        if single_line and not lines and text.strip():
            # Single-line mode returns no line list: the one line is the whole image.
            lines = [Line(text.strip(), (0, 0, width, height), None)]
        if evaluation:
            lines = clip_lines(lines, len(text))
        notes: dict[str, Any] = {
            "evaluation_mode": evaluation,
            "licensed": self._licensed,
            "single_line": single_line,
        }
        other = [w for w in warnings if w != _TRIAL_WARNING and not w.startswith(_SINGLE_LINE_WARNING)]
        if other:
            notes["warnings"] = other
        return Recognition(text=text, lines=lines, truncated=evaluation, notes=notes)

    def close(self) -> None:
        api, self._api = getattr(self, "_api", None), None
        if api is not None:
            api.free_resources()


def _apply_licence(ocr: Any, path: Path | None) -> bool:
    if path is None:
        return False
    licence = ocr.License()
    try:
        licence.set_license(str(path))
    except RuntimeError as error:
        detail = str(error).split("Details:", 1)[-1].strip()
        raise LicenseError(
            f"{path} is not a valid Aspose.OCR licence: {detail}",
            fix="use the .lic file Aspose sent you, or unset the licence to run in evaluation mode",
        ) from None
    if not licence.is_licensed:
        raise LicenseError(
            f"Aspose.OCR did not accept the licence {path} (it may have expired)",
            fix="renew the licence, or unset it to run in evaluation mode",
        )
    return True


def _strip_banner(text: str) -> tuple[str, bool]:
    """The text without evaluation mode's trailing 'Trial Licenses' line, and whether it had one."""
    stripped = _TRIAL_BANNER.sub("", text)
    if stripped == text:
        return text, False
    head, _, last = stripped.rpartition("\n")
    fragment = last.strip()
    if fragment.startswith("***") and _BANNER_LINE.startswith(fragment):
        stripped = head
    return stripped, True


def clip_lines(lines: list[Line], budget: int) -> list[Line]:
    """Lines cut to the first ``budget`` characters of their joined text, as evaluation mode cuts the text.

    Aspose's line list is not cut short with the text; passing it on whole would
    report more than the evaluation licence gives.
    """
    kept: list[Line] = []
    for line in lines:
        if budget <= 0:
            break
        kept.append(Line(line.text[:budget], line.box, line.confidence))
        budget -= len(line.text) + 1  # the newline between lines
    return kept


def _line(item: Any) -> Line:
    rect = item.line
    box = (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height)
    # Aspose reports 0.0 when it has no confidence for a line.
    confidence = float(item.confidence) or None
    return Line(str(item.text_in_line), box, confidence)
