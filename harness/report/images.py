"""Thumbnails embedded in HTML reports as data URIs (the report must open offline)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

#: Widest thumbnail in pixels: enough to read a line of print, small enough to embed.
MAX_WIDTH = 1000


def thumbnail_data_uri(path: Path, page: int = 0, *, max_width: int = MAX_WIDTH) -> str:
    """The page downscaled to ``max_width`` as a PNG or JPEG data URI, whichever is smaller.

    Raises harness.errors.ImageReadError for an unreadable image (the caller shows why).
    """
    from PIL import Image

    from harness.images import load_page

    image = load_page(path, page)
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    png = io.BytesIO()
    image.save(png, format="PNG", optimize=True)
    best, kind = png.getvalue(), "png"
    # Photographs and greyscale scans compress far better as JPEG; bilevel text stays PNG.
    if len(best) > 40_000:
        jpeg = io.BytesIO()
        image.save(jpeg, format="JPEG", quality=80, optimize=True)
        if len(jpeg.getvalue()) < len(best) * 0.8:
            best, kind = jpeg.getvalue(), "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(best).decode('ascii')}"


def resolve_image(image: str, *, dataset_path: str | None, run_dir: Path) -> Path | None:
    """Find a sample's image: as written, under its dataset folder, or beside the run folder."""
    if not image:
        return None
    candidates = [Path(image)]
    if dataset_path:
        candidates.append(Path(dataset_path) / image)
    candidates.append(run_dir / image)
    return next((candidate for candidate in candidates if candidate.is_file()), None)
