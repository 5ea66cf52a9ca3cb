"""The document model: what ``extract`` and the API return when text alone is not enough.

    Document(source, backend, language, pipeline, pages)
      Page(number, text, lines, width, height, resolution, truncated, notes, downscaled_from)
        Line(text, box, confidence, words)
          Word(text, box, confidence)

Engines fill it (through the worker's Outcome), ``harness.reading_order`` sorts
its lines, the writers in ``harness.writers`` turn it into text, JSON, hOCR,
ALTO, PAGE-XML and searchable PDF. Boxes are (left, top, right, bottom) in
pixels of the image the engine read, whose size is the page's ``width`` and
``height``; confidences are 0..1. ``to_dict`` is the JSON format, documented in
docs/documents.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from harness.backends import Box, Line, Word

if TYPE_CHECKING:
    from harness.worker import Outcome

#: Version of the JSON layout of a document; raised when a field changes meaning.
SCHEMA_VERSION = 1

#: Resolution writers assume for a page whose image has no resolution tag.
ASSUMED_DPI = 300.0

__all__ = ["ASSUMED_DPI", "Document", "Line", "Page", "Word"]


@dataclass
class Page:
    """One page as read: its text, lines (in reading order) and the facts about its image."""

    number: int
    text: str
    lines: list[Line] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    #: dpi of the image the boxes refer to; None when the image had no resolution tag
    resolution: float | None = None
    #: "image" (the file's tag), "rendered" (a PDF page rendered at that resolution) or None
    resolution_source: str | None = None
    truncated: bool = False
    notes: dict[str, Any] = field(default_factory=dict)
    #: the page's size in its file when it was shrunk before OCR
    downscaled_from: tuple[int, int] | None = None
    #: why the page could not be read (``{"type": ..., "message": ...}``); its text is then empty
    error: dict[str, str] | None = None

    @property
    def dpi(self) -> float:
        """The resolution writers use: the page's own, else ASSUMED_DPI."""
        return self.resolution or ASSUMED_DPI

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "truncated": self.truncated,
            "width": self.width,
            "height": self.height,
            "resolution": self.resolution,
            "resolution_source": self.resolution_source,
            "downscaled_from": list(self.downscaled_from) if self.downscaled_from else None,
            "error": self.error,
            "notes": self.notes,
            "lines": [_line_dict(line) for line in self.lines],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Page:
        downscaled = data.get("downscaled_from")
        return cls(
            number=int(data["number"]),
            text=str(data["text"]),
            lines=[line_from_dict(line) for line in data.get("lines", [])],
            width=data.get("width"),
            height=data.get("height"),
            resolution=data.get("resolution"),
            resolution_source=data.get("resolution_source"),
            truncated=bool(data.get("truncated", False)),
            notes=dict(data.get("notes") or {}),
            downscaled_from=(int(downscaled[0]), int(downscaled[1])) if downscaled else None,
            error=dict(data["error"]) if data.get("error") else None,
        )


@dataclass
class Document:
    """Every page of one file, read with one backend configuration."""

    source: str
    backend: str
    language: str
    pipeline: str = "none"
    pages: list[Page] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Every page's text, pages joined with a form feed, as ``extract_text`` returns it."""
        return "\f".join(page.text for page in self.pages)

    @property
    def truncated(self) -> bool:
        """Whether any page's text was cut short by the engine (Aspose's evaluation mode)."""
        return any(page.truncated for page in self.pages)

    @property
    def failed_pages(self) -> list[Page]:
        """Pages that could not be read (each with its ``error``)."""
        return [page for page in self.pages if page.error]

    def readable(self) -> Document:
        """This document without its failed pages (what the page-image writers can draw)."""
        return replace(self, pages=[page for page in self.pages if not page.error])

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "source": self.source,
            "backend": self.backend,
            "language": self.language,
            "pipeline": self.pipeline,
            "text": self.text,
            "truncated": self.truncated,
            "pages": [page.to_dict() for page in self.pages],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Document:
        return cls(
            source=str(data["source"]),
            backend=str(data["backend"]),
            language=str(data["language"]),
            pipeline=str(data.get("pipeline", "none")),
            pages=[Page.from_dict(page) for page in data["pages"]],
        )

    @classmethod
    def from_outcomes(
        cls,
        source: str,
        backend: str,
        language: str,
        pipeline: str,
        outcomes: Sequence[Outcome],
        errors: Mapping[int, Exception] | None = None,
    ) -> Document:
        """The document of a file's outcomes, one per page in page order; ``errors`` by page number
        gives the pages that failed, kept as pages with their error and no text."""
        pages = []
        for number, outcome in enumerate(outcomes, start=1):
            if errors and number in errors:
                error = {"type": type(errors[number]).__name__, "message": str(errors[number])}
                pages.append(Page(number=number, text="", error=error))
                continue
            width, height = outcome.image_size if outcome.image_size else (None, None)
            pages.append(
                Page(
                    number=number,
                    text=outcome.text or "",
                    lines=[line_from_dict(line) for line in outcome.lines] or _unplaced_lines(outcome.text),
                    width=width,
                    height=height,
                    resolution=outcome.resolution,
                    resolution_source=outcome.resolution_source,
                    truncated=outcome.truncated,
                    notes=dict(outcome.notes),
                    downscaled_from=tuple(outcome.downscaled_from) if outcome.downscaled_from else None,  # type: ignore[arg-type]
                )
            )
        return cls(source=source, backend=backend, language=language, pipeline=pipeline, pages=pages)


def line_from_dict(data: Mapping[str, Any]) -> Line:
    """A Line from its JSON form (as in an Outcome or a document's JSON)."""
    return Line(
        text=str(data.get("text", "")),
        box=_box(data.get("box")),
        confidence=data.get("confidence"),
        words=tuple(
            Word(str(word.get("text", "")), _box(word.get("box")), word.get("confidence"))
            for word in data.get("words") or ()
        ),
    )


def _unplaced_lines(text: str | None) -> list[Line]:
    """Lines of a text an engine returned without lines: every writer then still holds the text."""
    return [Line(line.strip()) for line in (text or "").splitlines() if line.strip()]


def _box(value: Any) -> Box | None:
    if value is None:
        return None
    left, top, right, bottom = (int(round(float(v))) for v in value)
    return (left, top, right, bottom)


def _line_dict(line: Line) -> dict[str, Any]:
    return {
        "text": line.text,
        "box": list(line.box) if line.box else None,
        "confidence": line.confidence,
        "words": [
            {"text": word.text, "box": list(word.box) if word.box else None, "confidence": word.confidence}
            for word in line.words
        ],
    }
