"""Opening images, with errors that name the file and say what is wrong.

Pillow's decompression-bomb guard stays on: an image over the pixel limit is an
ImageReadError unless the caller raises the limit (``max_pixels``, the
``--max-image-pixels`` option, or ``OCR_HARNESS_MAX_IMAGE_PIXELS``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, cast

from harness.errors import ImageReadError
from harness.wording import plural

if TYPE_CHECKING:
    from PIL import Image

#: Pillow's own default (about 89 megapixels): a 600-DPI A3 scan still fits.
DEFAULT_MAX_PIXELS = 89_478_485
MAX_PIXELS_ENV = "OCR_HARNESS_MAX_IMAGE_PIXELS"


def max_pixels_limit(max_pixels: int | None = None) -> int:
    if max_pixels is not None:
        return max_pixels
    raw = os.environ.get(MAX_PIXELS_ENV)
    return int(raw) if raw else DEFAULT_MAX_PIXELS


def count_pages(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> int:
    """Number of pages (frames) in an image file: more than one for multi-page TIFF."""
    with _open(Path(path), max_pixels) as image:
        return getattr(image, "n_frames", 1)


def load_page(path: str | os.PathLike[str], page: int = 0, *, max_pixels: int | None = None) -> Image.Image:
    """Decode one page of an image file fully into memory, as RGB or L.

    Raises ImageReadError naming the file for a missing, empty, truncated,
    non-image or oversized file, or a page index past the last page.
    """
    path = Path(path)
    with _open(path, max_pixels) as image:
        pages = getattr(image, "n_frames", 1)
        if not 0 <= page < pages:
            raise ImageReadError(f"{path}: has {plural(pages, 'page')}, there is no page {page + 1}")
        try:
            image.seek(page)
            dpi = image.info.get("dpi")
            image.load()
            loaded = _normalise_mode(image)
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageReadError(
                f"{path}: the image data is damaged or truncated ({error})",
                fix="re-export or re-scan the file",
            ) from None
    if dpi:
        loaded.info["dpi"] = dpi
    return loaded


def _open(path: Path, max_pixels: int | None) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: the file is empty (0 bytes)")
    limit = max_pixels_limit(max_pixels)
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its limit and raises above; we refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(
            f"{path}: the image is larger than the limit of {limit:,} pixels "
            "(Pillow's guard against decompression bombs)",
            fix=f"if you trust the file, raise the limit with --max-image-pixels or {MAX_PIXELS_ENV}",
        ) from None
    except UnidentifiedImageError:
        raise ImageReadError(
            f"{path}: not an image Pillow can read (the content is not PNG, TIFF, JPEG or another "
            "known format, whatever the extension says)"
        ) from None
    except OSError as error:
        raise ImageReadError(f"{path}: cannot be opened as an image ({error})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    if width * height > limit:
        image.close()
        raise ImageReadError(
            f"{path}: the image is larger than the limit of {limit:,} pixels",
            fix=f"if you trust the file, raise the limit with --max-image-pixels or {MAX_PIXELS_ENV}",
        )
    return image


def _normalise_mode(image: Image.Image) -> Image.Image:
    # Engines want 8-bit grey or RGB; alpha is flattened onto white, as paper is.
    if image.mode in ("L", "RGB"):
        return image.copy()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        from PIL import Image

        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I") or image.mode == "F":
        return _stretch_to_8_bits(image)
    return image.convert("RGB")


def _stretch_to_8_bits(image: Image.Image) -> Image.Image:
    # 16-bit and float scans: map the darkest..lightest values onto 0..255 (a plain
    # conversion clips everything above 255 to white, which erases a 16-bit scan).
    grey = image.convert("F")
    low, high = cast("tuple[float, float]", grey.getextrema())  # one band: (min, max)
    if high > low:
        scale = 255.0 / (high - low)
        grey = grey.point(lambda value: value * scale + (0.5 - low * scale))  # + 0.5: round, not truncate
    return grey.convert("L")
