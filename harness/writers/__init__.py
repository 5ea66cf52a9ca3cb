"""Writers: one small module per output format, each turning a Document into bytes.

    from harness.writers import write
    data = write(document, "hocr")

``FORMATS`` maps each format to its module and file suffix. The searchable
PDF needs the page images too: it reads them from ``document.source`` (see
harness.writers.pdf).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.document import Document

#: format -> (module under harness.writers, file suffix)
FORMATS: Mapping[str, tuple[str, str]] = {
    "text": ("text", ".txt"),
    "json": ("json_format", ".json"),
    "hocr": ("hocr", ".hocr"),
    "alto": ("alto", ".alto.xml"),
    "page": ("page_xml", ".page.xml"),
    "pdf": ("pdf", ".pdf"),
}


def write(document: Document, format: str, **options: Any) -> bytes:
    """``document`` in ``format`` (one of FORMATS); ``options`` go to that writer."""
    if format not in FORMATS:
        raise ValueError(f"unknown output format {format!r}; known: {', '.join(FORMATS)}")
    module = importlib.import_module(f"harness.writers.{FORMATS[format][0]}")
    data: bytes = module.write(document, **options)
    return data


def suffix(format: str) -> str:
    return FORMATS[format][1]
