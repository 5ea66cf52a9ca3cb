"""A test data set of skewed pages, built from real and synthetic pages rather than committed.

Real pages come from real-dev; synthetic pages from ``ocr-harness datasets synth``
with recorded seeds. Each is rotated by a few angles (positive: anticlockwise)
and written as a folder dataset (``STEM_rot+2.5.png`` and its ``.gt.txt``), so
the same pages can be read by a backend in-process or by ``ocr-harness run``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from harness.images import load_page
from harness.synth import SynthOptions, generate

#: Real-dev pages in print a modern model reads: two book pages and a 1589 French page.
REAL_PAGES = ("page_en_oldbooks_a013", "page_en_oldbooks_g020", "page_fr_fauxvisage1589_p010")

#: ``ocr-harness datasets synth OUT --pages 4 --seed 3``: its 4th page is skewed by -2.3 degrees
#: and heavily degraded.
SKEWED_SYNTH = SynthOptions(pages=4, seed=3)
#: ``ocr-harness datasets synth OUT --pages 1 --seed 9 --page-size a4 --degrade light``: a page
#: set in two columns, 10 pt at 300 dpi.
TWO_COLUMN_SYNTH = SynthOptions(pages=1, seed=9, page_size="a4", degrade="light")


def rotated(image: Image.Image, degrees: float) -> Image.Image:
    """``image`` turned by ``degrees`` (anticlockwise), on white paper, nothing cut off."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("L")
    if degrees == 0:
        return image
    white = 255 if image.mode == "L" else (255, 255, 255)
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=white)


def synthetic_pages(out: Path, options: SynthOptions) -> Path:
    """The synthetic dataset ``options`` describe, written to ``out``."""
    generate(out, options)
    return out


def write_rotated(out: Path, sources: dict[str, Path], angles: tuple[float, ...]) -> list[Path]:
    """Each source page turned by each angle, in ``out``: ``sources`` maps the stem to write
    to an image file, whose ground truth is the ``.gt.txt`` beside it."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, path in sources.items():
        page = load_page(path)
        truth = path.with_name(f"{path.name.split('.')[0]}.gt.txt").read_text(encoding="utf-8")
        for angle in angles:
            name = f"{stem}_rot{angle:+.1f}"
            rotated(page, angle).save(out / f"{name}.png")
            (out / f"{name}.gt.txt").write_text(truth, encoding="utf-8")
            written.append(out / f"{name}.png")
    return written
