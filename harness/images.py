"""Opening images and PDF pages, with errors that name the file and say what is wrong.

Pillow's decompression-bomb guard stays on: an image over the pixel limit is an
ImageReadError unless the caller raises the limit (``max_pixels``, the
``--max-image-pixels`` option, or ``OCR_HARNESS_MAX_IMAGE_PIXELS``).

With a ``pixel_budget`` (``extract`` and the API, not ``run``), a page over the
budget is shrunk as it is loaded: JPEG decodes at a reduced scale (``draft``),
PDF pages render at a lower resolution, other formats are decoded and at once
reduced by a whole factor (``reduce``) then resized, so only one full-size copy
is ever held. The page records ``downscaled_from`` in its info.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from harness.errors import ImageReadError
from harness.pdf_pages import DEFAULT_PDF_DPI, count_pdf_pages, is_pdf, render_pdf_page

if TYPE_CHECKING:
    from PIL import Image

#: Pillow's own default (about 89 megapixels): a 600-DPI A3 scan still fits.
DEFAULT_MAX_PIXELS = 89_478_485
MAX_PIXELS_ENV = "OCR_HARNESS_MAX_IMAGE_PIXELS"

#: What ``extract`` and the API shrink a larger page to before OCR: 40 megapixels,
#: an A3 page at 400 dpi or an A4 page at 600 dpi. Engines gain nothing above it.
DEFAULT_PIXEL_BUDGET = 40_000_000
#: The largest image ``extract`` and the API accept when they downscale by themselves
#: (a 12000x16000 scan is 192 megapixels); the guard against decompression bombs stays.
AUTO_DOWNSCALE_MAX_PIXELS = 400_000_000

#: Resolution tags below this are not trusted (real scans carry 1-dpi tags).
MIN_PLAUSIBLE_DPI = 70

#: What to do about a page over the limit. A benchmark never shrinks a page by itself: the step is
#: named so that the shrinking is part of the pipeline being measured.
OVERSIZED_FIX = (
    f"if you trust the file, raise the limit with --max-image-pixels or {MAX_PIXELS_ENV}, and add "
    "'downscale(max_megapixels=40)' as the pipeline's first step so engines read it at a sane size "
    "(extract and the API do that by themselves)"
)


def max_pixels_limit(max_pixels: int | None = None) -> int:
    if max_pixels is not None:
        return max_pixels
    raw = os.environ.get(MAX_PIXELS_ENV)
    return int(raw) if raw else DEFAULT_MAX_PIXELS


def count_pages(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> int:
    """Number of pages in an image file or PDF: more than one for multi-page TIFF and PDF."""
    path = Path(path)
    _check_file(path)
    if is_pdf(path):
        return count_pdf_pages(path)
    with _open(path, max_pixels) as image:
        return getattr(image, "n_frames", 1)


def load_page(
    path: str | os.PathLike[str],
    page: int = 0,
    *,
    max_pixels: int | None = None,
    pixel_budget: int | None = None,
    pdf_dpi: float = DEFAULT_PDF_DPI,
) -> Image.Image:
    """Decode one page of an image file (or render one PDF page) into memory, as RGB or L.

    ``pixel_budget``: shrink a larger page to it while loading (module docstring).
    ``pdf_dpi``: the resolution PDF pages are rendered at.
    Raises ImageReadError naming the file for a missing, empty, truncated,
    non-image or oversized file, or a page index past the last page.
    """
    path = Path(path)
    _check_file(path)
    if is_pdf(path):
        return render_pdf_page(
            path, page, dpi=pdf_dpi, max_pixels=max_pixels_limit(max_pixels), pixel_budget=pixel_budget
        )
    with _open(path, max_pixels) as image, _without_pillow_guard():
        pages = getattr(image, "n_frames", 1)
        if not 0 <= page < pages:
            raise ImageReadError(f"{path}: has {pages} page(s), there is no page {page + 1}")
        try:
            image.seek(page)
            dpi = image.info.get("dpi")
            full_size = image.size
            over_budget = pixel_budget is not None and full_size[0] * full_size[1] > pixel_budget
            if over_budget and image.format == "JPEG":
                # DCT scaling: decodes at 1/2, 1/4 or 1/8 size directly, never the full image.
                image.draft(image.mode, _fit(full_size, pixel_budget or 0))
            image.load()
            loaded = _normalise_mode(image)
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageReadError(
                f"{path}: the image data is damaged or truncated ({error})",
                fix="re-export or re-scan the file",
            ) from None
    if over_budget:
        loaded = _shrink_to(loaded, _fit(full_size, pixel_budget or 0))
        loaded.info["downscaled_from"] = full_size
    if dpi:
        loaded.info["dpi"] = _scaled_dpi(dpi, full_size[0], loaded.width) if over_budget else dpi
    return loaded


def _fit(size: tuple[int, int], budget: int) -> tuple[int, int]:
    """The largest size of the same shape within ``budget`` pixels."""
    scale = math.sqrt(budget / (size[0] * size[1]))
    return max(1, math.floor(size[0] * scale)), max(1, math.floor(size[1] * scale))


def _shrink_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    from PIL import Image

    if image.size == size:
        return image
    # reduce() by a whole factor is cheap and frees the full-size copy; Lanczos finishes the job.
    factor = min(image.width // size[0], image.height // size[1])
    if factor >= 2:
        image = image.reduce(factor)
    return image.resize(size, Image.Resampling.LANCZOS)


def _scaled_dpi(dpi: object, full_width: int, width: int) -> tuple[float, float]:
    x, y = (dpi if isinstance(dpi, tuple) else (dpi, dpi))  # type: ignore[misc]
    ratio = width / full_width
    return float(x) * ratio, float(y) * ratio


_guard_lock = threading.Lock()
_guard_users = 0
_guard_saved: int | None = None


@contextlib.contextmanager
def _without_pillow_guard() -> Iterator[None]:
    """Pillow's global pixel guard off while the harness, which checks each size itself, reads a file.

    Pillow checks its own limit on open, seek and decode, so a raised harness limit
    would not reach the decoder otherwise. Counted under a lock: threads reading
    files at once (the API counts pages on threads) restore Pillow's value once, last.
    """
    global _guard_users, _guard_saved
    from PIL import Image

    with _guard_lock:
        if _guard_users == 0:
            _guard_saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _guard_users += 1
    try:
        yield
    finally:
        with _guard_lock:
            _guard_users -= 1
            if _guard_users == 0:
                Image.MAX_IMAGE_PIXELS = _guard_saved


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: the file is empty (0 bytes)")


def _open(path: Path, max_pixels: int | None) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: the file is empty (0 bytes)")
    limit = max_pixels_limit(max_pixels)
    try:
        with _without_pillow_guard():  # the size is checked below, against the harness's limit
            image = Image.open(path)
            width, height = image.size
    except UnidentifiedImageError:
        raise ImageReadError(
            f"{path}: not an image Pillow can read (the content is not PNG, TIFF, JPEG, PDF or another "
            "known format, whatever the extension says)"
        ) from None
    except OSError as error:
        raise ImageReadError(f"{path}: cannot be opened as an image ({error})") from None
    if width * height > limit:
        image.close()
        raise ImageReadError(
            f"{path}: the image is larger than the limit of {limit:,} pixels",
            fix=OVERSIZED_FIX,
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
