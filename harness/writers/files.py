"""Where ``extract`` puts each output: stdout, one file, or one file per input in a folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.document import Document
from harness.writers import suffix, write

#: Formats whose outputs can be joined into one stream for several files.
STREAM_FORMATS = ("text", "json")


def outputs(document: Document, format: str, **options: object) -> list[tuple[str, bytes]]:
    """(name, data) of every file ``document`` gives in ``format``: one per page for PAGE-XML."""
    stem = Path(document.source).name
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix else stem
    if format == "page" and len(document.pages) > 1:
        return [
            (f"{stem}.page{page.number}{suffix(format)}", write(document, format, page=page.number))
            for page in document.pages
        ]
    return [(f"{stem}{suffix(format)}", write(document, format, **options))]


def needs_folder(documents: Sequence[Document], format: str) -> bool:
    """Whether ``--output`` must be a folder: several output files, in a format that cannot be joined."""
    if format in STREAM_FORMATS:
        return False
    return len(documents) > 1 or any(format == "page" and len(doc.pages) > 1 for doc in documents)


def unique_names(names: Sequence[str]) -> list[str]:
    """``names`` with a number added to repeats (scan.hocr, scan-2.hocr), so no output overwrites another."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        if count == 1:
            unique.append(name)
        else:
            head, dot, tail = name.partition(".")
            unique.append(f"{head}-{count}{dot}{tail}")
    return unique
