"""ocr-harness: pick an OCR engine and its preprocessing with numbers you can trust.

``await harness.extract_text("scan.tif")`` reads one file; ``extract_many`` reads
many; ``extract_document`` gives pages, lines, words, boxes and confidences. All
are loaded lazily so that importing the package stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = ("extract_text", "extract_pages", "extract_many", "extract_document", "Extractor")
__all__ = ["__version__", *_API, "Document"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from harness import api

        return getattr(api, name)
    if name == "Document":
        from harness.document import Document

        return Document
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
