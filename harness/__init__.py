"""ocr-harness: pick an OCR engine and its preprocessing with numbers you can trust.

``await harness.extract_text("scan.tif")`` reads one file; ``extract_many`` reads
many. Both are loaded lazily so that importing the package stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "extract_text", "extract_pages", "extract_many", "Extractor"]


def __getattr__(name: str) -> Any:
    if name in ("extract_text", "extract_pages", "extract_many", "Extractor"):
        from harness import api

        return getattr(api, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
