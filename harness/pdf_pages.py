"""Scanned PDFs as page images: each PDF page is rendered (pypdfium2) at a chosen resolution.

A PDF page is a sample exactly as a TIFF page is: ``count_pages`` and
``load_page`` in harness.images come here for files that start with ``%PDF``.
The resolution a page was rendered at is its ``dpi`` tag, so engines and writers
see a true resolution.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ImageReadError

if TYPE_CHECKING:
    from PIL import Image

#: Resolution PDF pages are rendered at unless asked otherwise.
DEFAULT_PDF_DPI = 300

_PDF_MAGIC = b"%PDF-"


def is_pdf(path: Path) -> bool:
    """Whether a file is a PDF, judged by its content (its first kilobyte), not its name."""
    try:
        with open(path, "rb") as handle:
            return _PDF_MAGIC in handle.read(1024)
    except OSError:
        return False


def count_pdf_pages(path: Path) -> int:
    with _open_pdf(path) as document:
        return len(document)


def render_pdf_page(
    path: Path, page: int, *, dpi: float = DEFAULT_PDF_DPI, max_pixels: int, pixel_budget: int | None = None
) -> Image.Image:
    """Page ``page`` (from 0) rendered at ``dpi`` as grey or RGB, with its ``dpi`` tag.

    With ``pixel_budget``, a page that would be larger is rendered at the lower
    resolution that fits (never rendered large first), and ``downscaled_from`` in
    its info holds the size at ``dpi``. A page larger than ``max_pixels`` at the
    resolution it is rendered at is an ImageReadError.
    """
    if dpi <= 0:
        raise ImageReadError(f"{path}: the PDF rendering resolution must be positive, not {dpi}")
    with _open_pdf(path) as document:
        pages = len(document)
        if not 0 <= page < pages:
            raise ImageReadError(f"{path}: has {pages} page(s), there is no page {page + 1}")
        pdf_page = document[page]
        try:
            width_pt, height_pt = pdf_page.get_size()
            full = (round(width_pt * dpi / 72), round(height_pt * dpi / 72))
            scale = dpi / 72
            downscaled_from = None
            size = full
            if pixel_budget is not None and full[0] * full[1] > pixel_budget:
                shrink = math.sqrt(pixel_budget / (full[0] * full[1]))
                size = (max(1, math.floor(full[0] * shrink)), max(1, math.floor(full[1] * shrink)))
                scale = size[0] / width_pt
                downscaled_from = full
            if size[0] * size[1] > max_pixels:
                from harness.defaults import MAX_PIXELS_ENV

                raise ImageReadError(
                    f"{path}: page {page + 1} rendered at {dpi:g} dpi would be {size[0]}x{size[1]}, over "
                    f"the limit of {max_pixels:,} pixels",
                    fix=f"render at a lower resolution, or raise the limit with --max-image-pixels or "
                    f"{MAX_PIXELS_ENV}",
                )
            bitmap = pdf_page.render(scale=scale, draw_annots=True)
            image = bitmap.to_pil()
        except ImageReadError:
            raise
        except Exception as error:  # pdfium's own failures on a damaged page
            raise ImageReadError(f"{path}: page {page + 1} cannot be rendered ({error})") from None
        finally:
            pdf_page.close()
    image = image.convert("RGB") if image.mode not in ("L", "RGB") else image
    if image.width >= size[0] and image.height >= size[1] and image.size != size:
        image = image.crop((0, 0, *size))  # pdfium rounds sizes up: an edge one pixel past the page
    effective = dpi * image.width / full[0] if full[0] else dpi
    image.info["dpi"] = (effective, effective)
    image.info["dpi_source"] = "rendered"
    if downscaled_from is not None:
        image.info["downscaled_from"] = downscaled_from
    return image


@contextlib.contextmanager
def _open_pdf(path: Path) -> Iterator[Any]:
    """A pypdfium2 document, closed after use, with errors that name the file."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        reason = str(error)
        if "password" in reason.lower():
            reason = "it is encrypted with a password"
        raise ImageReadError(
            f"{path}: not a PDF that can be read ({reason})", fix="re-export or repair the PDF"
        ) from None
    try:
        yield document
    finally:
        document.close()
