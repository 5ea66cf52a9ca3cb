"""Plain text: each page's text, pages separated by a form feed, ending with a newline."""

from __future__ import annotations

from harness.document import Document


def write(document: Document) -> bytes:
    return (document.text + "\n").encode("utf-8")
