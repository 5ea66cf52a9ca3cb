"""The fonts synthetic pages are set in: Debian's DejaVu, Liberation and Noto families.

Fonts are found under ``/usr/share/fonts/truetype`` (``OCR_HARNESS_FONTS_DIR``
points elsewhere). A missing font is an error naming the Debian package that
ships it, never a silent substitute: the same seed must give the same pages.
Each language is set only in families whose glyphs cover its whole corpus
(Liberation has no Vietnamese letters such as ư or ệ, so Vietnamese pages use
DejaVu and Noto).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError

if TYPE_CHECKING:
    from PIL import ImageFont

FONTS_DIR_ENV = "OCR_HARNESS_FONTS_DIR"
DEFAULT_FONTS_DIR = "/usr/share/fonts/truetype"


@dataclass(frozen=True)
class FontFamily:
    name: str
    package: str  # the Debian package that installs it
    folder: str  # under the fonts directory
    regular: str
    bold: str


FAMILIES: tuple[FontFamily, ...] = (
    FontFamily("DejaVu Serif", "fonts-dejavu-core", "dejavu", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    FontFamily("DejaVu Sans", "fonts-dejavu-core", "dejavu", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    FontFamily(
        "Liberation Serif",
        "fonts-liberation",
        "liberation",
        "LiberationSerif-Regular.ttf",
        "LiberationSerif-Bold.ttf",
    ),
    FontFamily(
        "Liberation Sans",
        "fonts-liberation",
        "liberation",
        "LiberationSans-Regular.ttf",
        "LiberationSans-Bold.ttf",
    ),
    FontFamily("Noto Serif", "fonts-noto-core", "noto", "NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"),
    FontFamily("Noto Sans", "fonts-noto-core", "noto", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
)


def fonts_dir() -> Path:
    return Path(os.environ.get(FONTS_DIR_ENV) or DEFAULT_FONTS_DIR)


def font_path(family: FontFamily, *, bold: bool = False) -> Path:
    """The font file, or ConfigError naming the Debian package to install."""
    path = fonts_dir() / family.folder / (family.bold if bold else family.regular)
    if not path.is_file():
        raise ConfigError(
            f"font {family.name}{' Bold' if bold else ''} not found at {path}",
            fix=f"install the Debian package {family.package} (apt-get install {family.package}), "
            f"or point {FONTS_DIR_ENV} at a folder with {family.folder}/{path.name}",
        )
    return path


@functools.lru_cache(maxsize=256)
def load_font(family: FontFamily, size_px: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    # Basic layout (no Raqm): the same glyph positions wherever Pillow runs, and NFC text
    # needs no shaping because every letter here has a precomposed glyph.
    return ImageFont.truetype(
        str(font_path(family, bold=bold)), size_px, layout_engine=ImageFont.Layout.BASIC
    )


def families_for(text: str) -> list[FontFamily]:
    """The families whose regular and bold faces have a glyph for every character of ``text``."""
    for family in FAMILIES:  # fail on a missing package before judging coverage
        font_path(family)
        font_path(family, bold=True)
    chars = frozenset(text) - frozenset(" \n\t")
    covering = [family for family in FAMILIES if _covers(family, chars)]
    if not covering:
        raise ConfigError("no installed font has glyphs for every character of the text to render")
    return covering


@functools.lru_cache(maxsize=64)
def _covers(family: FontFamily, chars: frozenset[str]) -> bool:
    for bold in (False, True):
        font = load_font(family, 32, bold=bold)
        # FreeType draws a missing character as the font's .notdef glyph: compare with one
        # drawn for a code point no font has.
        notdef = font.getmask("\U0010fffd")
        notdef_key = (notdef.size, bytes(notdef))
        for char in chars:
            mask = font.getmask(char)
            if (mask.size, bytes(mask)) == notdef_key:
                return False
    return True
