"""Searchable PDF: each page's image with an invisible text layer on its word boxes (fpdf2).

One PDF page per page of the document, sized from the page's resolution (an
image with no resolution tag is taken as ASSUMED_DPI), so a 300-dpi A4 scan
gives an A4 page. Each word is drawn in text render mode 3 (invisible) at its
box: font size from the box height, horizontal stretching to the box width, so
a viewer's selection and search land where the word is printed. Words the engine
did not place are estimated from their line box (layout.words_of).

The page images are read again from ``document.source`` with the same loading
rules as the OCR (PDF rendering resolution, pixel budget), then fitted to the
page: boxes refer to the image the engine read, which a pipeline may have resized.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.document import Document, Line, Page
from harness.writers.layout import words_of

if TYPE_CHECKING:
    from PIL import Image

#: Unicode fonts for the text layer, first found wins (Debian's fonts-dejavu-core, fonts-liberation).
FONT_FILES: Sequence[str] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
# DejaVu Sans's ascent and descent, as shares of the font size: a word's box spans both.
_ASCENT = 0.928
_DESCENT = 0.236


def write(
    document: Document,
    *,
    images: Sequence[Image.Image] | None = None,
    max_pixels: int | None = None,
    pixel_budget: int | None = None,
    pdf_dpi: float = 300,
) -> bytes:
    """The searchable PDF. ``images``: the page images (default: read from ``document.source``)."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    pdf.set_creator("ocr-harness")
    pdf.set_title(Path(document.source).name)
    pdf.set_margins(0, 0, 0)
    pdf.set_auto_page_break(False)
    font = _font(pdf)
    for index, page in enumerate(document.pages):
        if images is not None:
            image = images[index]
        else:
            from harness.images import load_page

            image = load_page(
                document.source, index, max_pixels=max_pixels, pixel_budget=pixel_budget, pdf_dpi=pdf_dpi
            )
        _page(pdf, page, image, font)
    return bytes(pdf.output())


def _font(pdf: Any) -> str:
    for path in FONT_FILES:
        if os.path.isfile(path):
            pdf.add_font("text-layer", fname=path)
            return "text-layer"
    return "helvetica"  # a core font: Latin-1 only, other characters become "?"


def _page(pdf: Any, page: Page, image: Image.Image, font: str) -> None:
    width = page.width or image.width
    height = page.height or image.height
    scale = 72 / page.dpi  # points per pixel of the image the boxes refer to
    pdf.add_page(format=(width * scale, height * scale))
    pdf.image(_encoded(image), x=0, y=0, w=width * scale, h=height * scale)
    pdf.text_mode = "INVISIBLE"
    for line in _placed(page):
        words = [word for word in words_of(line) if word.box is not None and word.text.strip()]
        if not words:
            continue
        # One font size and baseline per line, from the line's box: readers put words of one size
        # on one baseline into one line, and words of mixed sizes (ascenders, descenders) apart.
        line_box = line.box or words[0].box
        assert line_box is not None
        line_height = (line_box[3] - line_box[1]) * scale
        bottom = line_box[3] * scale
        for word, following in zip(words, [*words[1:], None], strict=True):
            assert word.box is not None
            left, right = word.box[0] * scale, word.box[2] * scale
            _place(pdf, font, word.text, left, right, bottom, line_height)
            if following is not None and following.box is not None and following.box[0] * scale > right:
                # A space stretched over the gap: readers then join the words of a line with spaces.
                _place(pdf, font, " ", right, following.box[0] * scale, bottom, line_height)
    pdf.text_mode = "FILL"


def _placed(page: Page) -> list[Line]:
    """The page's lines, those the engine did not place laid down the left edge, so they stay searchable."""
    width, height = page.width or 1, page.height or 1
    unplaced = [line for line in page.lines if line.box is None]
    pitch = min(height // max(1, len(unplaced)), max(1, height // 40))
    lines, row = [], 0
    for line in page.lines:
        if line.box is None:
            line = replace(line, box=(0, row * pitch, width, row * pitch + max(1, pitch * 4 // 5)), words=())
            row += 1
        lines.append(line)
    return lines


def _place(pdf: Any, font: str, text: str, left: float, right: float, bottom: float, height: float) -> float:
    """Draw ``text`` from ``left`` to ``right`` above ``bottom``; returns the font size used (0: none)."""
    if font == "helvetica":
        text = text.encode("latin-1", "replace").decode("latin-1")
    size = max(height / (_ASCENT + _DESCENT), 1.0)
    pdf.set_font(font, size=size)
    natural = pdf.get_string_width(text)
    if natural <= 0:
        return 0.0
    pdf.set_stretching(max(1.0, 100 * (right - left) / natural))
    pdf.text(left, bottom - _DESCENT * size, text)
    pdf.set_stretching(100)
    return size


def _encoded(image: Image.Image) -> io.BytesIO:
    # Photos and grey scans as JPEG, black-and-white as PNG: a page is a few hundred kB, not megabytes.
    data = io.BytesIO()
    if image.mode == "RGB" or (image.mode == "L" and image.getcolors(16) is None):
        image.save(data, format="JPEG", quality=85)
    else:
        image.convert("L").save(data, format="PNG", optimize=False)
    data.seek(0)
    return data
