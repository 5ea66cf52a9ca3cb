"""``extract --manifest FILE``: files to read with options per file, from a CSV or TSV.

Columns: ``file`` (required; relative paths are relative to the manifest's
folder), and optionally ``language``, ``preprocess``, ``backend`` and
``options`` (a JSON object of backend options). An empty cell means the
command line's value. Errors name the manifest, the row and the column.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

COLUMNS = ("file", "language", "preprocess", "backend", "options")


def read_manifest(path: str) -> list[tuple[str, dict[str, Any]]]:
    """(file, options) for every row of the manifest at ``path``."""
    manifest = Path(path)
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{manifest}: no such manifest file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{manifest}: not UTF-8", fix="re-save the manifest as UTF-8") from None
    except OSError as error:
        raise ConfigError(f"{manifest}: cannot be read ({error.strerror or error})") from None
    delimiter = "\t" if manifest.suffix.lower() == ".tsv" or "\t" in text.partition("\n")[0] else ","
    rows = csv.DictReader(text.splitlines(), delimiter=delimiter)
    header = [name.strip() for name in rows.fieldnames or []]
    if "file" not in header:
        raise ConfigError(f"{manifest}: needs a 'file' column (columns found: {', '.join(header) or 'none'})")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise ConfigError(f"{manifest}: unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    items = []
    for number, row in enumerate(rows, start=2):
        cells = {(key or "").strip(): (value or "").strip() for key, value in row.items() if key}
        if not cells.get("file"):
            raise ConfigError(f"{manifest}: row {number}: the 'file' cell is empty")
        file = Path(cells["file"])
        options: dict[str, Any] = {}
        for column in ("language", "preprocess", "backend"):
            if cells.get(column):
                options[column] = cells[column]
        if cells.get("options"):
            try:
                backend_options = json.loads(cells["options"])
            except ValueError as error:
                raise ConfigError(f"{manifest}: row {number}: 'options' is not JSON ({error})") from None
            if not isinstance(backend_options, dict):
                raise ConfigError(f"{manifest}: row {number}: 'options' must be a JSON object")
            options["backend_options"] = backend_options
        items.append((str(file if file.is_absolute() else manifest.parent / file), options))
    return items
