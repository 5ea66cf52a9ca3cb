"""downscale: shrink large scans to a size limit, keeping the resolution tag true."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from harness.errors import UnknownStepError
from harness.images import MAX_PIXELS_ENV, MAX_PIXELS_INFO, max_pixels_limit
from harness.pipeline import Step, StepParams

if TYPE_CHECKING:
    from PIL import Image

#: Resolution tags below this are not trusted (real scans carry 1-dpi tags).
MIN_PLAUSIBLE_DPI = 70


class DownscaleParams(StepParams):
    max_side: int | None = Field(default=None, ge=1, description="longest side, in pixels")
    max_megapixels: float | None = Field(
        default=None, gt=0, description="largest area, in millions of pixels"
    )
    target_dpi: int | None = Field(
        default=None,
        ge=1,
        description=f"resolution to scale to; ignored when the image has no resolution tag or one "
        f"below {MIN_PLAUSIBLE_DPI} dpi",
    )
    allow_upscale: bool = Field(
        default=False, description="also enlarge images smaller than the limits (off: never enlarge)"
    )

    @model_validator(mode="after")
    def _needs_a_limit(self) -> DownscaleParams:
        if self.max_side is None and self.max_megapixels is None and self.target_dpi is None:
            raise ValueError("give at least one of max_side, max_megapixels, target_dpi")
        return self


class Downscale(Step):
    name = "downscale"
    description = (
        "resize (Lanczos) to the tightest of max_side, max_megapixels and target_dpi; "
        "never enlarges unless allow_upscale=true; updates the resolution tag"
    )
    Params = DownscaleParams

    def scale_for(self, image: Image.Image) -> float | None:
        """The factor the limits ask for, or None when no limit applies to this image."""
        params = self.params
        assert isinstance(params, DownscaleParams)
        width, height = image.size
        factors = []
        if params.max_side is not None:
            factors.append(params.max_side / max(width, height))
        if params.max_megapixels is not None:
            factors.append(math.sqrt(params.max_megapixels * 1_000_000 / (width * height)))
        dpi = _dpi(image)
        if params.target_dpi is not None and dpi is not None:
            factors.append(params.target_dpi / dpi[0])
        return min(factors) if factors else None

    def apply(self, image: Image.Image) -> Image.Image:
        from PIL import Image

        params = self.params
        assert isinstance(params, DownscaleParams)
        scale = self.scale_for(image)
        if scale is None or scale == 1 or (scale > 1 and not params.allow_upscale):
            return image
        width, height = image.size
        # Round down (with a hair of tolerance for float error) so a limit is never exceeded.
        size = (max(1, math.floor(width * scale + 1e-6)), max(1, math.floor(height * scale + 1e-6)))
        if size == image.size:
            return image
        limit = max_pixels_limit(image.info.get(MAX_PIXELS_INFO))
        if size[0] * size[1] > limit:  # an upscale is a decompression bomb of our own making
            raise UnknownStepError(
                f"downscale would enlarge the page from {width}x{height} to {size[0]}x{size[1]} = "
                f"{size[0] * size[1]:,} pixels, more than the limit of {limit:,} pixels",
                fix=f"lower the step's limits, or raise --max-image-pixels or {MAX_PIXELS_ENV}",
            )
        if image.mode in ("1", "P"):
            # Pillow resizes these with nearest-neighbour only; Lanczos needs grey or colour.
            image = image.convert("L" if image.mode == "1" else "RGB")
        resized = image.resize(size, Image.Resampling.LANCZOS)
        dpi = image.info.get("dpi")
        if dpi:
            resized.info["dpi"] = (float(dpi[0]) * size[0] / width, float(dpi[1]) * size[1] / height)
        return resized


def _dpi(image: Image.Image) -> tuple[float, float] | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    x, y = (float(dpi[0]), float(dpi[1])) if isinstance(dpi, tuple) else (float(dpi), float(dpi))
    return (x, y) if x >= MIN_PLAUSIBLE_DPI and y >= MIN_PLAUSIBLE_DPI else None
