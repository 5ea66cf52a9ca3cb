"""deskew: straighten a page scanned at a slight angle.

The angle is found by the projection-profile method (as Leptonica's pixFindSkew
does): ink pixels are sheared by each candidate angle and projected onto rows;
at the true angle text lines fall into few rows, which maximises the sum of
squared differences between neighbouring row counts. A coarse search over
±max_angle is refined around its best angle.

The corners a rotation uncovers are filled with the page's own background,
the median of a band along the image border: pure white on grey paper would
make a light frame that a later global threshold (or the engine's own) turns
the whole paper black against.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import Field

from harness.pipeline import Step, StepParams

if TYPE_CHECKING:
    from PIL import Image

# The search runs on a copy no larger than this: plenty for lines, and fast on whole pages.
_ESTIMATE_MAX_SIDE = 1600
_COARSE_STEP = 0.5
_FINE_STEP = 0.05
# Turning by less than the search can resolve would only blur the image.
_MIN_ROTATION = _FINE_STEP
# The border band whose median is the fill colour, as a share of the shorter side.
_BORDER_SHARE = 0.03


class DeskewParams(StepParams):
    max_angle: float = Field(
        default=5.0, gt=0, le=45, description="largest skew looked for, in degrees either way"
    )


class Deskew(Step):
    name = "deskew"
    description = (
        "estimate the skew by projection profiles within ±max_angle and rotate it away, filling the "
        "uncovered corners with the page's background (the median of its border)"
    )
    Params = DeskewParams

    def estimate_angle(self, image: Image.Image) -> float:
        """Counter-clockwise skew of the text in degrees (0 when there is no ink to measure)."""
        import numpy as np
        from skimage.filters import threshold_otsu

        params = self.params
        assert isinstance(params, DeskewParams)
        grey = image if image.mode == "L" else image.convert("L")
        if max(grey.size) > _ESTIMATE_MAX_SIDE:
            grey = grey.copy()
            grey.thumbnail((_ESTIMATE_MAX_SIDE, _ESTIMATE_MAX_SIDE))
        pixels = np.asarray(grey)
        if pixels.min() == pixels.max():
            return 0.0
        ys, xs = np.nonzero(pixels < threshold_otsu(pixels))
        if len(ys) == 0 or len(ys) > pixels.size / 2:
            return 0.0  # no ink, or a dark page: nothing trustworthy to measure
        xs = xs - pixels.shape[1] / 2

        def score(angle: float) -> float:
            rows = ys + xs * math.tan(math.radians(angle))
            counts = np.bincount(np.round(rows - rows.min()).astype(np.int64))
            return float(np.sum(np.diff(counts).astype(np.float64) ** 2))

        best = _best(score, np.arange(-params.max_angle, params.max_angle + 1e-9, _COARSE_STEP))
        fine = np.arange(best - _COARSE_STEP, best + _COARSE_STEP + 1e-9, _FINE_STEP)
        best = _best(score, fine[np.abs(fine) <= params.max_angle])
        return round(best, 3)

    def apply(self, image: Image.Image) -> Image.Image:
        from PIL import Image

        angle = self.estimate_angle(image)
        if abs(angle) < _MIN_ROTATION:
            return image
        if image.mode not in ("L", "RGB"):
            image = image.convert("L" if image.mode in ("1", "LA", "I", "I;16", "F") else "RGB")
        rotated = image.rotate(
            -angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=border_background(image)
        )
        rotated.info.update(image.info)
        return rotated


def border_background(image: Image.Image) -> Any:
    """The median colour of a band along the border (``L`` or ``RGB`` image): the paper's colour."""
    import numpy as np

    pixels = np.asarray(image)
    band = max(1, round(min(pixels.shape[:2]) * _BORDER_SHARE))
    ring = np.concatenate(
        [
            pixels[:band].reshape(-1, *pixels.shape[2:]),
            pixels[-band:].reshape(-1, *pixels.shape[2:]),
            pixels[:, :band].reshape(-1, *pixels.shape[2:]),
            pixels[:, -band:].reshape(-1, *pixels.shape[2:]),
        ]
    )
    median = np.median(ring, axis=0)
    if image.mode == "L":
        return int(round(float(median)))
    return tuple(int(round(float(value))) for value in median)


def _best(score: Any, angles: Any) -> float:
    scores = [score(float(angle)) for angle in angles]
    return float(angles[max(range(len(scores)), key=scores.__getitem__)])
