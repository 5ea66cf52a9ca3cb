"""JSON: the whole document model (docs/documents.md describes every field)."""

from __future__ import annotations

import json

from harness.document import Document


def write(document: Document) -> bytes:
    return (json.dumps(document.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
