"""autocontrast: stretch the grey levels of a faded scan to the full range."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from harness.pipeline import Step, StepParams

if TYPE_CHECKING:
    from PIL import Image


class AutocontrastParams(StepParams):
    # Field descriptions are shown by `ocr-harness plugins` and in parameter errors.
    cutoff: float = Field(
        default=1.0, ge=0, lt=50, description="percent of the darkest and lightest pixels to ignore"
    )


class Autocontrast(Step):
    name = "autocontrast"
    description = "stretch grey levels so the darkest ink is black and the paper white (faded scans)"
    Params = AutocontrastParams

    def apply(self, image: Image.Image) -> Image.Image:
        from PIL import ImageOps

        params = self.params
        assert isinstance(params, AutocontrastParams)
        return ImageOps.autocontrast(image, cutoff=params.cutoff)
