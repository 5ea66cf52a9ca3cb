"""Scan degradations: what a page goes through between the printer and the PNG.

The physical page first (paper tone and texture, uneven inking, the back
page's text bleeding through, mirrored), then the scan (uneven lighting, skew,
optical blur, sensor noise and dust specks), then the file (JPEG compression).
Every parameter is drawn from the level's range by the sample's RNG and
recorded in the sample's tags, so reports can slice results by them.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

LEVELS = ("none", "light", "medium", "heavy")
#: ``mixed`` gives the levels in turn (none, light, medium, heavy, none, ...).
CHOICES = (*LEVELS, "mixed")

#: Resolutions scanners offer; a level picks among those in its range.
STANDARD_DPI = (150, 200, 240, 300, 400, 600)

# Per level: (low, high) ranges; a value of None for jpeg means no JPEG step.
_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "light": {
        "dpi": (300, 400),
        "skew_deg": (0.1, 0.6),
        "blur_px": (0.0, 0.5),
        "noise_sigma": (0.8, 2.0),
        "speckles": (0.0, 5.0),
        "lighting": (0.0, 0.08),
        "jpeg_quality": (85, 95),
        "bleed_through": (0.0, 0.05),
        "ink_fade": (0.0, 0.1),
        "paper": (238, 250),
    },
    "medium": {
        "dpi": (200, 300),
        "skew_deg": (0.5, 1.5),
        "blur_px": (0.5, 1.0),
        "noise_sigma": (2.0, 4.5),
        "speckles": (5.0, 30.0),
        "lighting": (0.08, 0.2),
        "jpeg_quality": (55, 80),
        "bleed_through": (0.05, 0.12),
        "ink_fade": (0.1, 0.25),
        "paper": (225, 242),
    },
    "heavy": {
        "dpi": (150, 200),
        "skew_deg": (1.5, 3.0),
        "blur_px": (0.9, 1.4),
        "noise_sigma": (4.5, 8.0),
        "speckles": (30.0, 120.0),
        "lighting": (0.2, 0.4),
        "jpeg_quality": (20, 45),
        "bleed_through": (0.12, 0.25),
        "ink_fade": (0.25, 0.45),
        "paper": (205, 230),
    },
}
_JPEG_CHANCE = {"light": 0.3, "medium": 0.6, "heavy": 1.0}


@dataclass(frozen=True)
class Degradation:
    """The parameters of one sample's degradation (recorded as its tags)."""

    degrade: str  # the level
    dpi: int
    skew_deg: float  # rotation, degrees (positive: anticlockwise)
    blur_px: float  # Gaussian sigma of the optics, pixels
    noise_sigma: float  # Gaussian sensor noise, grey levels
    speckles: float  # dust specks per megapixel
    lighting: float  # how much darker the darkest corner is than the brightest, 0..1
    jpeg_quality: int | None  # None: never JPEG-compressed
    bleed_through: float  # opacity of the mirrored back page, 0..1
    ink_fade: float  # how much the ink lightens where it is thinnest, 0..1
    paper: int  # paper grey level, 0..255

    def tags(self) -> dict[str, object]:
        return asdict(self)


def choose_level(degrade: str, index: int) -> str:
    return LEVELS[index % len(LEVELS)] if degrade == "mixed" else degrade


def sample_degradation(
    rng: np.random.Generator, level: str, dpi_range: tuple[int, int] | None
) -> Degradation:
    """Draw the parameters of ``level``; ``dpi_range`` (inclusive) overrides the level's resolutions."""
    dpi = _choose_dpi(rng, dpi_range or ((300, 300) if level == "none" else _RANGES[level]["dpi"]))
    if level == "none":
        return Degradation("none", dpi, 0.0, 0.0, 0.0, 0.0, 0.0, None, 0.0, 0.0, 255)
    ranges = _RANGES[level]

    def draw(name: str, digits: int = 2) -> float:
        low, high = ranges[name]
        return round(float(rng.uniform(low, high)), digits)

    skew = draw("skew_deg") * (1 if rng.random() < 0.5 else -1)
    low, high = ranges["jpeg_quality"]
    jpeg = int(rng.integers(int(low), int(high) + 1)) if rng.random() < _JPEG_CHANCE[level] else None
    return Degradation(
        degrade=level,
        dpi=dpi,
        skew_deg=skew,
        blur_px=draw("blur_px"),
        noise_sigma=draw("noise_sigma"),
        speckles=draw("speckles", 1),
        lighting=draw("lighting"),
        jpeg_quality=jpeg,
        bleed_through=draw("bleed_through"),
        ink_fade=draw("ink_fade"),
        paper=int(draw("paper", 0)),
    )


def _choose_dpi(rng: np.random.Generator, dpi_range: tuple[float, float]) -> int:
    low, high = dpi_range
    standard = [dpi for dpi in STANDARD_DPI if low <= dpi <= high]
    if standard:
        return int(standard[int(rng.integers(len(standard)))])
    return int(rng.integers(int(low), int(high) + 1))


def degrade(rng: np.random.Generator, ink: np.ndarray, back: np.ndarray, d: Degradation) -> Image.Image:
    """The scanned page: a greyscale image from the front's ink map and the back page's (same size)."""
    height, width = ink.shape
    if d.degrade == "none":
        return Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8), mode="L")
    scale = d.dpi / 300  # sizes of physical features, in pixels at this resolution
    ink = ink * (1 - d.ink_fade * _smooth_field(rng, ink.shape, cell=max(4, round(12 * scale))))
    darkness = float(rng.uniform(0.85, 0.95))
    paper_texture = 1 - 0.04 * _smooth_field(rng, ink.shape, cell=max(8, round(60 * scale)))
    back_ink = _gaussian(np.fliplr(back), 1.5 * scale)
    back_ink = np.roll(back_ink, int(rng.integers(-20, 21) * scale), axis=0)
    value = (d.paper / 255) * paper_texture * (1 - darkness * ink) * (1 - d.bleed_through * back_ink)
    value *= 1 - d.lighting * _lighting_field(rng, ink.shape)
    image = Image.fromarray((255 * value).astype(np.float32), mode="F")
    if d.skew_deg:
        # The scanner lid beyond the page edge is about as light as the paper.
        image = image.rotate(d.skew_deg, resample=Image.Resampling.BICUBIC, fillcolor=float(d.paper))
    pixels = np.asarray(image, dtype=np.float32)
    if d.blur_px:
        pixels = _gaussian(pixels, d.blur_px)
    pixels = pixels + rng.normal(0.0, d.noise_sigma, pixels.shape).astype(np.float32)
    count = int(d.speckles * width * height / 1e6)
    if count:
        rows, cols = rng.integers(0, height, count), rng.integers(0, width, count)
        radius = max(1, round(scale))
        for row, col in zip(rows, cols, strict=True):
            pixels[max(0, row - radius // 2) : row + radius, max(0, col - radius // 2) : col + radius] *= 0.35
    result = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), mode="L")
    if d.jpeg_quality is not None:
        buffer = io.BytesIO()
        result.save(buffer, format="JPEG", quality=d.jpeg_quality)
        result = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    return result


def _gaussian(array: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.filters import gaussian

    return gaussian(array, sigma=sigma, preserve_range=True, mode="nearest").astype(np.float32)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], *, cell: int) -> np.ndarray:
    """Smooth random values in 0..1 varying over about ``cell`` pixels (blotches, fibres, thin ink)."""
    height, width = shape
    coarse = rng.random((max(2, height // cell), max(2, width // cell))).astype(np.float32)
    field = Image.fromarray(coarse, mode="F").resize((width, height), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(field, dtype=np.float32), 0.0, 1.0)


def _lighting_field(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """0 at the brightest point, 1 at the darkest: a tilt plus a falloff towards one edge."""
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x /= max(1, width - 1)
    y /= max(1, height - 1)
    angle = float(rng.uniform(0, 2 * np.pi))
    tilt = np.cos(angle) * x + np.sin(angle) * y
    centre_x, centre_y = float(rng.uniform(-0.5, 1.5)), float(rng.uniform(-0.5, 1.5))
    falloff = np.sqrt((x - centre_x) ** 2 + (y - centre_y) ** 2)
    field = 0.5 * tilt + falloff
    field -= field.min()
    return field / max(float(field.max()), 1e-6)
