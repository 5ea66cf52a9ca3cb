"""Thumbnails embedded in HTML reports as data URIs (the report must open offline)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

#: Thumbnail bounds in pixels: a line of print stays readable, a page stays small enough to embed.
MAX_WIDTH = 1000
MAX_HEIGHT = 1200


@dataclass(frozen=True)
class Thumbnail:
    uri: str
    width: int
    height: int


def thumbnail(
    path: Path,
    page: int = 0,
    *,
    max_width: int = MAX_WIDTH,
    max_height: int = MAX_HEIGHT,
    max_pixels: int | None = None,
) -> Thumbnail:
    """The page downscaled to fit ``max_width`` x ``max_height`` as a data URI, in the smallest encoding.

    Greyscale scans also try a 16-level PNG: text stays crisp where JPEG would smear it.
    Raises harness.errors.ImageReadError for an unreadable image (the caller shows why).
    """
    from PIL import Image

    from harness.images import load_page

    image = load_page(path, page, max_pixels=max_pixels)  # the run's pixel limit, every page
    scale = min(1.0, max_width / image.width, max_height / image.height)
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    candidates = [("png", _encode(image, "PNG", optimize=True))]
    if len(candidates[0][1]) > 20_000:
        candidates.append(("jpeg", _encode(image, "JPEG", quality=75, optimize=True)))
        if image.mode == "L":
            candidates.append(("png", _encode(image.quantize(16), "PNG", optimize=True)))
    kind, data = min(candidates, key=lambda candidate: len(candidate[1]))
    uri = f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return Thumbnail(uri, image.width, image.height)


def _encode(image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def resolve_image(image: str, *, dataset_path: str | None) -> Path | None:
    """A sample's image, only if it resolves (links followed) inside its dataset's folder.

    A run folder may come from someone else: the paths in its results.jsonl
    are never followed out of the dataset, and without a dataset folder in
    run.json no image is shown at all.
    """
    if not image or not dataset_path:
        return None
    dataset = Path(dataset_path)
    root = (dataset if dataset.is_dir() else dataset.parent).resolve()
    resolved = (root / image).resolve()  # an absolute image path stays as it is
    if root not in resolved.parents or not resolved.is_file():
        return None
    return resolved


def sample_thumbnail(
    image: str, page: int, *, dataset_path: str | None, refused: bool, max_pixels: int | None
) -> tuple[Thumbnail | None, str | None]:
    """A drill-down card's thumbnail, or why there is none: never an image the run refused,
    never one outside its dataset's folder, and never an exception (one odd image costs its
    thumbnail, not the report)."""
    from harness.errors import OcrHarnessError

    if refused:
        return None, "image not shown: the sample was refused (see its error)"
    path = resolve_image(image, dataset_path=dataset_path)
    if path is None:
        return None, (f"image not found inside the dataset folder: {image}" if image else None)
    try:
        return thumbnail(path, page, max_pixels=max_pixels), None
    except OcrHarnessError as error:
        return None, str(error)
    except Exception as error:  # noqa: BLE001 - a decoder's own exception
        return None, f"{path}: cannot be shown ({type(error).__name__}: {error})"
