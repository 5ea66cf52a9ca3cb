"""Opening images, with errors that name the file and say what is wrong.

A page over the pixel limit (the guard against decompression bombs) is an
ImageReadError unless the caller raises the limit (``max_pixels``, the
``--max-image-pixels`` option, or ``OCR_HARNESS_MAX_IMAGE_PIXELS``). The limit
is checked on every page's header before anything is decoded, and it is the one
limit that applies: Pillow's own global guard is off while the harness has a
file open, so a raised limit really reaches the decoder.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from harness.defaults import MAX_PIXELS_ENV
from harness.errors import ImageReadError
from harness.files import ensure_regular
from harness.pdf_pages import DEFAULT_PDF_DPI, count_pdf_pages, is_pdf, render_pdf_page

if TYPE_CHECKING:
    from PIL import Image

#: Pillow's own default (about 89 megapixels): a 600-DPI A3 scan still fits.
DEFAULT_MAX_PIXELS = 89_478_485
#: Key in a loaded image's ``info``: the pixel limit it was loaded under.
MAX_PIXELS_INFO = "ocr_harness_max_pixels"

#: What ``extract`` and the API shrink a larger page to before OCR: 40 megapixels,
#: an A3 page at 400 dpi or an A4 page at 600 dpi. Engines gain nothing above it.
DEFAULT_PIXEL_BUDGET = 40_000_000
#: The largest image ``extract`` and the API accept when they downscale by themselves
#: (a 12000x16000 scan is 192 megapixels); the guard against decompression bombs stays.
AUTO_DOWNSCALE_MAX_PIXELS = 400_000_000
#: Resolution tags below this are not trusted (real scans carry 1-dpi tags).
MIN_PLAUSIBLE_DPI = 70


def max_pixels_limit(max_pixels: int | None = None) -> int:
    if max_pixels is not None:
        return max_pixels
    raw = os.environ.get(MAX_PIXELS_ENV)
    return int(raw) if raw else DEFAULT_MAX_PIXELS


def count_pages(
    path: str | os.PathLike[str], *, max_pixels: int | None = None, check_size: bool = True
) -> int:
    """Number of pages: the pages of a TIFF; every other file (animated WebP included) is one page.

    With ``check_size`` every page is checked against the pixel limit (from its
    header: nothing is decoded), so a bomb on page 2 is refused here. Without
    it, only the pages are counted, and each page is checked when it is loaded:
    one oversized or damaged page then fails alone, the others are read.
    """
    path = Path(path)
    limit = max_pixels_limit(max_pixels)
    if _is_pdf_file(path):
        return count_pdf_pages(path)
    with _pillow_limit(), _open(path) as image:
        pages = _pages(image)
        if check_size:
            for page in range(pages):
                _seek(path, image, page, pages)
                _check_size(path, image, limit, page, pages)
        return pages


def load_page(
    path: str | os.PathLike[str],
    page: int = 0,
    *,
    max_pixels: int | None = None,
    pixel_budget: int | None = None,
    pdf_dpi: float = DEFAULT_PDF_DPI,
) -> Image.Image:
    """Decode one page of an image file (or render one PDF page) into memory, as RGB or L.

    ``pixel_budget``: shrink a larger page to it while loading (JPEG decodes at a
    reduced scale, PDF pages render small, others are reduced at once after decoding),
    recording ``downscaled_from`` in its info. ``pdf_dpi``: PDF rendering resolution.

    Raises ImageReadError naming the file for a missing, empty, truncated,
    non-image, non-regular or oversized file (the page's own size is checked
    before it is decoded), or a page index past the last page.
    """
    path = Path(path)
    limit = max_pixels_limit(max_pixels)
    if _is_pdf_file(path):
        return render_pdf_page(path, page, dpi=pdf_dpi, max_pixels=limit, pixel_budget=pixel_budget)
    with _pillow_limit(), _open(path) as image:
        pages = _pages(image)
        if not 0 <= page < pages:
            raise ImageReadError(f"{path}: has {pages} page(s), there is no page {page + 1}")
        _seek(path, image, page, pages)
        _check_size(path, image, limit, page, pages)
        try:
            dpi = image.info.get("dpi")
            full_size = image.size
            over_budget = pixel_budget is not None and full_size[0] * full_size[1] > pixel_budget
            if over_budget and image.format == "JPEG":
                # DCT scaling: decodes at 1/2, 1/4 or 1/8 size directly, never the full image.
                image.draft(image.mode, _fit(full_size, pixel_budget or 0))
            image.load()
            loaded = _normalise_mode(image)
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageReadError(
                f"{path}: the image data{_of_page(page, pages)} is damaged or truncated ({error})",
                fix="re-export or re-scan the file",
            ) from None
    if over_budget:
        loaded = _shrink_to(loaded, _fit(full_size, pixel_budget or 0))
        loaded.info["downscaled_from"] = full_size
    if dpi:
        loaded.info["dpi"] = _scaled_dpi(dpi, full_size[0], loaded.width) if over_budget else dpi
    loaded.info[MAX_PIXELS_INFO] = limit  # steps that enlarge a page keep within the same limit
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


def _is_pdf_file(path: Path) -> bool:
    if not path.is_file():
        _open(path).close()  # raises the error that names the file and what it is
    return is_pdf(path)


def image_header(path: str | os.PathLike[str], page: int = 0) -> tuple[tuple[int, int], float | None]:
    """Size and DPI of one page from the file header (nothing decoded, no pixel limit).

    Raises ImageReadError for a file that cannot be opened.
    """
    path = Path(path)
    with _pillow_limit(), _open(path) as image:
        _seek(path, image, page, _pages(image))
        dpi = image.info.get("dpi")
        return image.size, round(float(dpi[0]), 1) if dpi and dpi[0] else None


# Pillow's own guard is a global read again inside decoders (after Image.open returns).
# The harness checks every page itself, so the global is off while a file is open;
# a lock keeps threads (the async API opens headers off the event loop) from
# restoring each other's value.
_LIMIT_LOCK = threading.RLock()


@contextlib.contextmanager
def _pillow_limit() -> Iterator[None]:
    from PIL import Image

    with _LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's warnings about odd metadata: errors say what matters
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _pages(image: Image.Image) -> int:
    # Frames of an animated WebP, GIF or MPO are not pages of a document: one page, the first frame.
    return getattr(image, "n_frames", 1) if image.format == "TIFF" else 1


def _seek(path: Path, image: Image.Image, page: int, pages: int) -> None:
    try:
        image.seek(page)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageReadError(
            f"{path}: page {page + 1} of {pages} is damaged ({error})", fix="re-export or re-scan the file"
        ) from None


def _check_size(path: Path, image: Image.Image, limit: int, page: int, pages: int) -> None:
    width, height = image.size
    if width * height > limit:
        raise ImageReadError(
            f"{path}: {f'page {page + 1} of {pages}' if pages > 1 else 'the image'} ({width}x{height} = "
            f"{width * height:,} pixels) is larger than the limit of {limit:,} pixels "
            "(the guard against decompression bombs)",
            fix=f"if you trust the file, raise the limit with --max-image-pixels or {MAX_PIXELS_ENV}, and "
            "add 'downscale(max_megapixels=40)' as the pipeline's first step (extract and the API shrink "
            "pages by themselves)",
        )


def _of_page(page: int, pages: int) -> str:
    return f" of page {page + 1} of {pages}" if pages > 1 else ""


def _open(path: Path) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        ensure_regular(path)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image file") from None
    except OSError as error:
        raise ImageReadError(f"{path}: cannot be opened ({error.strerror})") from None
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: the file is empty (0 bytes)")
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        raise ImageReadError(
            f"{path}: not an image Pillow can read (the content is not PNG, TIFF, JPEG or another "
            "known format, whatever the extension says)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageReadError(
            f"{path}: the image is damaged or truncated: it cannot be opened ({error})"
        ) from None
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
