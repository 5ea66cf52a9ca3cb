"""Setting text on a page or a line: fonts, sizes, columns, headings, justification, hyphenation.

Rendering gives an ink map (a float array, 1 where the ink is full) and the
lines exactly as drawn, in reading order: running head, heading, the first
column top to bottom, then the second, then the page number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from harness.synth import corpus as text_source
from harness.synth.corpus import Corpus
from harness.synth.fonts import FontFamily, load_font

#: Paper sizes in millimetres (width, height).
PAGE_SIZES: dict[str, tuple[float, float]] = {
    "a4": (210.0, 297.0),
    "a5": (148.0, 210.0),
    "a6": (105.0, 148.0),
}

_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüáíóúœæAEIOUY")
# Languages whose printers break words at line ends (Vietnamese syllables are never split).
_HYPHENATING = frozenset({"en", "fr", "de", "es"})


@dataclass(frozen=True)
class PageStyle:
    width: int
    height: int
    dpi: int
    family: FontFamily
    body_pt: float
    leading: float  # line pitch as a multiple of the font size
    columns: int
    justify: bool
    hyphenate: bool
    margins: tuple[int, int, int, int]  # top, right, bottom, left in pixels
    heading: bool
    running_head: bool
    page_number: int | None


@dataclass(frozen=True)
class Rendered:
    ink: np.ndarray  # float32, 0 = paper, 1 = full ink
    lines: list[str]


def px(points: float, dpi: int) -> int:
    return max(1, round(points * dpi / 72))


def mm(millimetres: float, dpi: int) -> int:
    return round(millimetres * dpi / 25.4)


def page_style(
    rng: np.random.Generator, *, dpi: int, page_size: str, language: str, families: list[FontFamily]
) -> PageStyle:
    width_mm, height_mm = PAGE_SIZES[page_size]
    columns = 2 if width_mm >= 140 and rng.random() < 0.3 else 1
    # Pocket-sized pages and narrow columns are set smaller.
    small = columns == 2 or width_mm < 140
    body_pt = float(rng.choice([8.5, 9.0, 9.5, 10.0]) if small else rng.choice([10.0, 10.5, 11.0, 12.0]))
    side = float(rng.uniform(10, 16) if width_mm < 140 else rng.uniform(13, 20))
    return PageStyle(
        width=mm(width_mm, dpi),
        height=mm(height_mm, dpi),
        dpi=dpi,
        family=families[int(rng.integers(len(families)))],
        body_pt=body_pt,
        leading=round(float(rng.uniform(1.2, 1.45)), 2),
        columns=columns,
        justify=bool(rng.random() < 0.7),
        hyphenate=language in _HYPHENATING and bool(rng.random() < 0.6),
        margins=(
            mm(float(rng.uniform(12, 20)), dpi),
            mm(side, dpi),
            mm(float(rng.uniform(14, 22)), dpi),
            mm(side + float(rng.uniform(-2, 2)), dpi),
        ),
        heading=bool(rng.random() < 0.5),
        running_head=bool(rng.random() < 0.4),
        page_number=int(rng.integers(3, 240)) if rng.random() < 0.7 else None,
    )


def render_page(
    rng: np.random.Generator, style: PageStyle, corpus: Corpus, max_lines: int | None
) -> Rendered:
    canvas = Image.new("L", (style.width, style.height), 255)
    draw = ImageDraw.Draw(canvas)
    top, right, bottom, left = style.margins
    text_width = style.width - left - right
    body = load_font(style.family, px(style.body_pt, style.dpi))
    pitch = round(px(style.body_pt, style.dpi) * style.leading)
    lines: list[str] = []
    y = top
    if style.running_head:
        small = load_font(style.family, px(style.body_pt * 0.85, style.dpi))
        title = text_source.heading(rng, corpus).upper()
        _draw_centred(draw, title, small, left, text_width, y + small.getmetrics()[0])
        lines.append(title)
        y += pitch * 2
    if style.heading:
        size = style.body_pt * float(rng.uniform(1.3, 1.8))
        title = text_source.heading(rng, corpus)
        font = load_font(style.family, px(size, style.dpi), bold=True)
        while font.getlength(title) > text_width and size > style.body_pt:
            size -= 0.5
            font = load_font(style.family, px(size, style.dpi), bold=True)
        baseline = y + font.getmetrics()[0]
        if rng.random() < 0.5:
            _draw_centred(draw, title, font, left, text_width, baseline)
        else:
            draw.text((left, baseline), title, font=font, fill=0, anchor="ls")
        lines.append(title)
        y = baseline + round(pitch * float(rng.uniform(1.3, 2.0)))
    footer = style.page_number is not None
    gutter = mm(float(rng.uniform(5, 8)), style.dpi) if style.columns == 2 else 0
    column_width = (text_width - gutter * (style.columns - 1)) // style.columns
    capacity = max(0, (style.height - bottom - y - (pitch if footer else 0)) // pitch) * style.columns
    wanted = capacity if max_lines is None else min(capacity, max(1, max_lines - len(lines) - footer))
    body_lines = _body_lines(rng, style, corpus, body, column_width, wanted)
    per_column = -(-len(body_lines) // style.columns)  # balanced columns, the first one longer
    ascent = body.getmetrics()[0]
    space = body.getlength(" ")
    for index, (text, indent, last) in enumerate(body_lines):
        column, row = divmod(index, per_column)
        x: float = left + column * (column_width + gutter) + indent
        baseline = y + ascent + row * pitch
        words = text.split(" ")
        natural = sum(body.getlength(word) for word in words)
        gaps = len(words) - 1
        stretch = (column_width - indent - natural) / gaps if gaps else 0.0
        if style.justify and not last and gaps and stretch < 3 * space:
            for word in words:
                draw.text((x, baseline), word, font=body, fill=0, anchor="ls")
                x += body.getlength(word) + stretch
        else:
            draw.text((x, baseline), text, font=body, fill=0, anchor="ls")
        lines.append(text)
    if footer:
        number = str(style.page_number)
        _draw_centred(draw, number, body, left, text_width, style.height - bottom + pitch // 2)
        lines.append(number)
    return Rendered(_ink(canvas), lines)


def render_line(
    rng: np.random.Generator,
    family: FontFamily,
    size_pt: float,
    dpi: int,
    text: str,
    *,
    skew_deg: float = 0.0,
) -> Rendered:
    """One line of text cropped as line datasets crop it: a few pixels of paper around the ink.

    The crop is tall enough that rotating it by ``skew_deg`` keeps every glyph inside.
    """
    font = load_font(family, px(size_pt, dpi))
    ascent, descent = font.getmetrics()
    pad_x = round(font.size * float(rng.uniform(0.3, 1.2)))
    width = round(font.getlength(text)) + 2 * pad_x
    tilt = math.ceil(math.tan(math.radians(abs(skew_deg))) * width / 2)
    pad_y = max(round(font.size * float(rng.uniform(0.15, 0.45))), tilt + 2)
    canvas = Image.new("L", (width, ascent + descent + 2 * pad_y), 255)
    ImageDraw.Draw(canvas).text((pad_x, pad_y + ascent), text, font=font, fill=0, anchor="ls")
    return Rendered(_ink(canvas), [text])


def _body_lines(
    rng: np.random.Generator,
    style: PageStyle,
    corpus: Corpus,
    font: ImageFont.FreeTypeFont,
    width: int,
    wanted: int,
) -> list[tuple[str, int, bool]]:
    """``wanted`` lines of paragraphs: (text, indent in pixels, last line of its paragraph).

    The first paragraph is not indented: it follows a heading or continues from the page before.
    """
    indent = round(font.size * float(rng.uniform(1.0, 2.0)))
    lines: list[tuple[str, int, bool]] = []
    paragraphs = text_source.prose(rng, corpus)
    while len(lines) < wanted:
        this_indent = indent if lines else 0
        wrapped = _wrap(next(paragraphs), font, width, this_indent, style.hyphenate)
        lines.extend(
            (line, this_indent if n == 0 else 0, n == len(wrapped) - 1) for n, line in enumerate(wrapped)
        )
    return lines[:wanted]


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, indent: int, hyphenate: bool) -> list[str]:
    lines: list[str] = []
    current: list[str] = []
    for word in text.split(" "):
        room = width - (indent if not lines else 0)
        if font.getlength(" ".join([*current, word])) <= room:
            current.append(word)
            continue
        if hyphenate and current:
            split = _hyphenate(word, font, room - font.getlength(" ".join(current) + " "))
            if split:
                lines.append(" ".join([*current, split[0]]))
                current = [split[1]]
                continue
        if current:
            lines.append(" ".join(current))
        current = [word]
    if current:
        lines.append(" ".join(current))
    return lines


def _hyphenate(word: str, font: ImageFont.FreeTypeFont, room: float) -> tuple[str, str] | None:
    """Break ``word`` to fit ``room``, keeping 3 letters each side.

    A rough syllable rule that reads right to the eye: between two consonants
    that stand between vowels (Tues-day), else before a consonant that stands
    between vowels (re-main); the longest head that fits wins.
    """
    if len(word) < 7 or not word.isalpha():
        return None
    vowel = [char.lower() in _VOWELS for char in word]
    cuts = range(len(word) - 3, 2, -1)
    between_consonants = [
        c for c in cuts if vowel[c - 2] and not vowel[c - 1] and not vowel[c] and vowel[c + 1]
    ]
    before_consonant = [c for c in cuts if vowel[c - 1] and not vowel[c] and vowel[c + 1]]
    for cut in between_consonants + before_consonant:
        if font.getlength(word[:cut] + "-") <= room:
            return word[:cut] + "-", word[cut:]
    return None


def _draw_centred(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, left: int, width: int, baseline: int
) -> None:
    x = left + (width - font.getlength(text)) / 2
    draw.text((x, baseline), text, font=font, fill=0, anchor="ls")


def _ink(canvas: Image.Image) -> np.ndarray:
    return 1.0 - np.asarray(canvas, dtype=np.float32) / 255.0
