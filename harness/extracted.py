"""What the index and the service read from the Extractor: pages with their lines, boxes and confidences.

One small seam between them and the Extractor, so that both store and answer
the same shape whatever the Extractor's own result type is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

#: Pages of one file are joined with a form feed, as Tesseract separates pages.
PAGE_SEPARATOR = "\f"


@dataclass(frozen=True)
class ExtractedLine:
    """One line: its text, box (left, top, right, bottom, in the page image's pixels) and confidence 0..1."""

    text: str
    box: tuple[int, int, int, int] | None = None
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "box": list(self.box) if self.box else None, "confidence": self.confidence}


@dataclass(frozen=True)
class ExtractedPage:
    """One page: number (from 1), whole text, lines, whether the engine cut the text short, image size."""

    number: int
    text: str
    lines: tuple[ExtractedLine, ...] = ()
    truncated: bool = False
    size: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "truncated": self.truncated,
            "width": self.size[0] if self.size else None,
            "height": self.size[1] if self.size else None,
            "lines": [line.to_dict() for line in self.lines],
        }


@dataclass(frozen=True)
class ExtractedDocument:
    """Every page of one file."""

    pages: tuple[ExtractedPage, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return PAGE_SEPARATOR.join(page.text for page in self.pages)

    @property
    def truncated(self) -> bool:
        return any(page.truncated for page in self.pages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "truncated": self.truncated,
            "pages": [page.to_dict() for page in self.pages],
        }


async def extract_document(
    extractor: Any, path: str | os.PathLike[str], **overrides: Any
) -> ExtractedDocument:
    """Read every page of ``path``; raises the file's OcrHarnessError (naming it) if any page fails."""
    from harness.api import _raise_for

    pages = []
    for number, outcome in enumerate(await extractor.extract_outcomes(path, **overrides), start=1):
        _raise_for(outcome, path)
        pages.append(
            ExtractedPage(
                number=number,
                text=outcome.text or "",
                lines=tuple(_line(line) for line in outcome.lines),
                truncated=outcome.truncated,
                size=tuple(outcome.image_size) if outcome.image_size else None,  # type: ignore[arg-type]
            )
        )
    return ExtractedDocument(tuple(pages))


def _line(line: dict[str, Any]) -> ExtractedLine:
    box = line.get("box")
    return ExtractedLine(
        text=str(line.get("text") or ""),
        box=tuple(int(value) for value in box) if box else None,  # type: ignore[arg-type]
        confidence=line.get("confidence"),
    )
