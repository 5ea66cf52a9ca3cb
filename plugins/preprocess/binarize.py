"""binarize: black text on white, by a global (Otsu) or local (Sauvola) threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from harness.pipeline import Step, StepParams

if TYPE_CHECKING:
    from PIL import Image

_SAUVOLA_ONLY = ("window", "k")


class BinarizeParams(StepParams):
    method: Literal["otsu", "sauvola", "none"] = Field(
        default="otsu",
        description="otsu: one threshold for the page; sauvola: a threshold per neighbourhood, "
        "for uneven lighting and stains; none: leave the image as it is",
    )
    window: int = Field(
        default=25, ge=3, description="sauvola only: side of the square neighbourhood, odd, in pixels"
    )
    k: float = Field(
        default=0.2, gt=0, le=1, description="sauvola only: how far below the local mean ink must be"
    )

    @field_validator("window")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"window must be odd, got {value}")
        return value

    @model_validator(mode="after")
    def _sauvola_params_only_for_sauvola(self) -> BinarizeParams:
        given = [name for name in _SAUVOLA_ONLY if name in self.model_fields_set]
        if given and self.method != "sauvola":
            raise ValueError(f"{' and '.join(given)} only apply to method=sauvola, not method={self.method}")
        return self


class Binarize(Step):
    name = "binarize"
    description = "threshold to pure black and white (8-bit grey, values 0 and 255) with scikit-image"
    Params = BinarizeParams

    def apply(self, image: Image.Image) -> Image.Image:
        import numpy as np
        from PIL import Image
        from skimage.filters import threshold_otsu, threshold_sauvola

        params = self.params
        assert isinstance(params, BinarizeParams)
        if params.method == "none":
            return image
        grey = np.asarray(image if image.mode == "L" else image.convert("L"))
        low, high = int(grey.min()), int(grey.max())
        if low == high:
            # One flat colour: nothing to separate, and Otsu would turn a blank page black.
            flat = 255 if low >= 128 else 0
            binary = np.full(grey.shape, flat, dtype=np.uint8)
        else:
            if params.method == "otsu":
                threshold = threshold_otsu(grey)
            else:
                threshold = threshold_sauvola(grey, window_size=params.window, k=params.k)
            binary = np.where(grey > threshold, 255, 0).astype(np.uint8)
        result = Image.fromarray(binary, mode="L")
        result.info.update(image.info)
        return result
