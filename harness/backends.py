"""What an OCR backend is: the class a backend plugin registers.

A backend class is inspected in the main process (name, version, languages,
availability: all cheap, none of them may import the engine) and instantiated
only inside worker processes, once per worker, then reused for every job.
"""

from __future__ import annotations

import importlib.metadata
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from harness.errors import UnsupportedLanguageError

if TYPE_CHECKING:
    from PIL import Image

#: The common language vocabulary: ISO 639-1 codes. Backends map these to their own.
LANGUAGES: Mapping[str, str] = {
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "hi": "Hindi",
    "hu": "Hungarian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "la": "Latin",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}


#: A box in pixels of the image the engine read: (left, top, right, bottom).
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Word:
    """One recognised word: text, box and confidence 0..1."""

    text: str
    box: Box | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class Line:
    """One recognised line: text, box, confidence 0..1, and its words where the engine gives them."""

    text: str
    box: Box | None = None
    confidence: float | None = None
    words: tuple[Word, ...] = ()


@dataclass
class Recognition:
    """What a backend returns for one image.

    ``truncated`` is true when the engine is known to have returned only part of
    the text (Aspose's evaluation mode): such accuracy figures are not comparable.
    ``notes`` holds engine facts worth keeping with the result (JSON-serialisable).
    """

    text: str
    lines: list[Line] = field(default_factory=list)
    truncated: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here; if not, the exact reason and the fix."""

    ok: bool
    reason: str = ""
    fix: str = ""


@dataclass(frozen=True)
class BackendSpec:
    """A backend by name with its options (plain JSON values): what a worker builds an engine from."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, options: dict[str, Any] | None = None) -> BackendSpec:
        return cls(name, tuple(sorted((options or {}).items())))

    @property
    def options_dict(self) -> dict[str, Any]:
        return dict(self.options)

    def __str__(self) -> str:
        if not self.options:
            return self.name
        return f"{self.name}{json.dumps(self.options_dict, sort_keys=True, separators=(',', ':'))}"


class BackendOptions(BaseModel):
    """Base of every backend's options model: unknown options are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Backend(ABC):
    """Base class of OCR backends.

    Subclasses set ``name``, ``description``, ``distribution`` (the PyPI
    distribution whose version is the engine version), an ``Options`` model, and
    implement ``languages`` and ``recognize``. Engines must not start their own
    parallelism beyond ``threads``: the runner owns concurrency.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    distribution: ClassVar[str | None] = None
    Options: ClassVar[type[BackendOptions]] = BackendOptions

    def __init__(self, options: BackendOptions | None = None, *, threads: int = 1) -> None:
        """Create the engine. Runs in a worker process; ``threads`` is this worker's share of cores."""
        self.options = options if options is not None else self.Options()
        self.threads = threads

    # --- main process: cheap, must not import the engine ----------------------

    @classmethod
    def version(cls) -> str:
        """The engine's version, read from package metadata."""
        if cls.distribution is None:
            return "unknown"
        try:
            return importlib.metadata.version(cls.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    @classmethod
    def availability(cls) -> Availability:
        """Whether the engine can run here. Default: its distribution is installed."""
        if cls.distribution is None or cls.version() != "not installed":
            return Availability(ok=True)
        return Availability(
            ok=False,
            reason=f"the Python package {cls.distribution!r} is not installed",
            fix=f"pip install {cls.distribution}",
        )

    @classmethod
    def worker_env(cls, threads: int) -> Mapping[str, str]:
        """Environment variables a worker process needs before this engine loads, for ``threads``.

        Set in every worker before any engine is imported (a thread limit an
        engine's library reads once at load time, a runtime's switches).
        Main process; must not import the engine. Default: nothing.
        """
        return {}

    @classmethod
    def provision(cls) -> str:
        """Fetch what the engine needs besides Python packages (``ocr-harness doctor --fix NAME``).

        Returns what was done; raises an OcrHarnessError with a fix if it cannot.
        Idempotent and quick when there is nothing left to do. Main process.
        """
        return "nothing to provision"

    @classmethod
    @abstractmethod
    def languages(cls) -> Mapping[str, str]:
        """Common language codes this backend can read here, mapped to the engine's own codes."""

    @classmethod
    def engine_language(cls, language: str) -> str:
        """The engine's code for a common code, or UnsupportedLanguageError listing what it can do."""
        supported = cls.languages()
        if language in supported:
            return supported[language]
        known = ", ".join(sorted(supported)) or "none"
        what = LANGUAGES.get(language, f"unknown language code {language!r}")
        raise UnsupportedLanguageError(
            f"backend {cls.name!r} cannot read {what} ({language!r}); it can read: {known}",
            fix="choose one of those languages or another backend",
        )

    @classmethod
    def caveat(cls, options: BackendOptions) -> str | None:
        """A warning that holds for every result with these options, or None. Main process, cheap.

        Aspose without a licence says its texts are cut short: ``extract`` prints
        it, the API warns with it, ``doctor`` shows it.
        """
        return None

    @classmethod
    def fingerprint(cls, options: BackendOptions) -> dict[str, Any]:
        """Facts that make a result reproducible (model or traineddata hashes). Main process."""
        return {}

    # --- worker process -------------------------------------------------------

    @abstractmethod
    def recognize(self, image: Image.Image, *, language: str) -> Recognition:
        """Read the text of one page image. ``language`` is a common code already checked."""

    def warm_up(self, language: str) -> None:
        """Load what reading ``language`` needs (models, traineddata) before any job is timed.

        The default reads a small rendered word, which loads whatever an engine loads
        lazily on its first page in a language. Override when loading is cheaper to
        ask for directly.
        """
        from PIL import Image, ImageDraw, ImageFont

        image = Image.new("L", (360, 64), 255)
        ImageDraw.Draw(image).text((12, 12), "Warm up 2024", fill=0, font=ImageFont.load_default(size=32))
        self.recognize(image, language=language)

    def thread_settings(self) -> dict[str, Any]:
        """The thread counts the engine was given, recorded with every run."""
        return {"threads": self.threads}

    def close(self) -> None:  # noqa: B027 - optional hook: most engines need no cleanup
        """Release the engine. Called when the worker stops."""
