"""Thumbnails for reports: made once per image, in the worker that has it loaded, kept by content hash.

A job asks its worker for the thumbnails nobody has made yet: the page as scanned
(``original``) and the page as the engine read it, after preprocessing
(``preprocessed``). The worker makes them from the image it already decoded (a
fast box reduction and one JPEG encode, a few milliseconds), the runner stores them
in the per-user thumbnail store, named by the image's content hash (and the
pipeline for preprocessed ones), so every later run and report reuses them.
Reports copy the thumbnails they show into ``thumbnails/`` beside report.html.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

ORIGINAL = "original"
PREPROCESSED = "preprocessed"
#: Bounds in pixels: a line of print stays readable, a page stays small.
MAX_WIDTH = 1000
MAX_HEIGHT = 1200
#: JPEG quality: text stays legible at thumbnail size, a page is some 50-150 kB.
QUALITY = 70
SUFFIX = ".jpg"


def encode_thumbnail(
    image: Image.Image, *, max_width: int = MAX_WIDTH, max_height: int = MAX_HEIGHT
) -> bytes:
    """``image`` shrunk to fit the bounds, as JPEG bytes (grey stays grey)."""
    thumb = image if image.mode in ("L", "RGB") else image.convert("RGB")
    # One integer box reduction (each thumbnail pixel the mean of a block of the page): 6 ms for
    # a 300-dpi A4 page, where a bicubic resize of the whole page took 40 ms in every worker.
    factor = max(1, math.ceil(max(thumb.width / max_width, thumb.height / max_height)))
    if factor > 1:
        thumb = thumb.reduce(factor)
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=QUALITY)
    return buffer.getvalue()


def thumbnail_dir() -> Path:
    """The per-user thumbnail store, beside the result cache (``$OCR_HARNESS_CACHE_DIR`` moves both)."""
    from harness.defaults import cache_dir

    return cache_dir() / "thumbnails"


def thumbnail_name(image_digest: str, page: int, pipeline_key: str | None = None) -> str:
    """The file name of a thumbnail: the image's content hash and page (and the pipeline's key)."""
    name = f"{image_digest[:32]}-p{page}"
    if pipeline_key is not None:
        name += "-" + hashlib.sha256(pipeline_key.encode("utf-8")).hexdigest()[:16]
    return name + SUFFIX


class ThumbnailStore:
    """A folder of thumbnails by name; writes are atomic, so concurrent runs never see half a file."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else thumbnail_dir()

    def path(self, name: str) -> Path:
        return self.folder / name

    def has(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def put(self, name: str, data: bytes) -> None:
        from harness.errors import OutputError
        from harness.files import write_atomic

        # A thumbnail is a convenience: the report makes one later or shows none.
        with contextlib.suppress(OSError, OutputError):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / name, lambda temporary: temporary.write_bytes(data))

