"""grayscale: drop colour (ITU-R 601-2 luma, as Pillow converts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.pipeline import Step

if TYPE_CHECKING:
    from PIL import Image


class Grayscale(Step):
    name = "grayscale"
    description = "convert to 8-bit grey (ITU-R 601-2 luma); grey images pass through unchanged"

    def apply(self, image: Image.Image) -> Image.Image:
        return image if image.mode == "L" else image.convert("L")
