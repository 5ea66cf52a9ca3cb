"""The built-in preprocessing steps: downscale, grayscale, binarize, deskew."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from harness.errors import UnknownStepError
from harness.images import load_page
from harness.pipeline import Step, apply_pipeline, build_pipeline
from harness.plugins import get_registry

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def steps() -> dict[str, type[Step]]:
    return get_registry().steps()


def run(spec: str, image: Image.Image) -> Image.Image:
    return apply_pipeline(image, build_pipeline(spec, steps()))


def one(spec: str) -> Step:
    [step] = build_pipeline(spec, steps())
    return step


def text_page(size: tuple[int, int] = (1000, 700), rows: int = 10, ink: int = 0) -> Image.Image:
    font = ImageFont.truetype(str(DEJAVU), 26)
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    for row in range(rows):
        draw.text(
            (50, 40 + row * 60),
            f"Line {row}: the quick brown fox jumps over the lazy dog.",
            font=font,
            fill=ink,
        )
    return page


def test_the_built_in_steps_are_registered() -> None:
    assert {"downscale", "grayscale", "binarize", "deskew"} <= set(steps())


# --- downscale ---------------------------------------------------------------


def test_downscale_never_enlarges_unless_asked() -> None:
    small = Image.new("L", (400, 300), 255)
    small.info["dpi"] = (150, 150)
    for spec in ("downscale(max_side=2000)", "downscale(max_megapixels=5)", "downscale(target_dpi=300)"):
        assert run(spec, small).size == (400, 300), spec
    enlarged = run("downscale(max_side=800,allow_upscale=true)", small)
    assert enlarged.size == (800, 600)
    assert enlarged.info["dpi"] == pytest.approx((300, 300))


def test_downscale_honours_max_side() -> None:
    image = Image.new("RGB", (3000, 1200), "white")
    assert run("downscale(max_side=2000)", image).size == (2000, 800)


def test_downscale_honours_max_megapixels() -> None:
    image = Image.new("L", (3001, 2003), 255)
    result = run("downscale(max_megapixels=1.5)", image)
    width, height = result.size
    assert width * height <= 1_500_000
    assert width * height > 1_490_000
    assert width / height == pytest.approx(3001 / 2003, rel=1e-3)


def test_downscale_to_a_target_dpi_updates_the_resolution_tag() -> None:
    image = Image.new("L", (2400, 3000), 255)
    image.info["dpi"] = (600, 600)
    result = run("downscale(target_dpi=300)", image)
    assert result.size == (1200, 1500)
    assert result.info["dpi"] == pytest.approx((300, 300))


def test_downscale_ignores_target_dpi_for_bogus_resolution_tags() -> None:
    image = Image.new("L", (1850, 2621), 255)
    image.info["dpi"] = (1, 1)  # the real-dev old-books pages say 1 dpi
    assert run("downscale(target_dpi=300)", image).size == (1850, 2621)
    assert run("downscale(target_dpi=300,max_side=1000)", image).size[1] == 1000


def test_downscale_takes_the_tightest_limit() -> None:
    image = Image.new("L", (4000, 3000), 255)
    image.info["dpi"] = (400, 400)
    result = run("downscale(max_side=3000,max_megapixels=12,target_dpi=200)", image)
    assert result.size == (2000, 1500)


def test_downscale_a_real_600_dpi_page(real_dev: Path) -> None:
    page = load_page(real_dev / "page_de_bebel1879_0146.tif")
    assert page.info["dpi"] == pytest.approx((600, 600), abs=1)
    result = run("downscale(max_side=2000)", page)
    assert max(result.size) == 2000
    scale = 2000 / max(page.size)
    assert result.info["dpi"][0] == pytest.approx(600 * scale, rel=0.01)
    # Lanczos on a bilevel scan gives grey edges, not a nearest-neighbour copy.
    assert len(np.unique(np.asarray(result))) > 2


def test_downscale_needs_a_limit() -> None:
    with pytest.raises(UnknownStepError, match="at least one of max_side, max_megapixels, target_dpi"):
        build_pipeline("downscale", steps())


# --- grayscale ---------------------------------------------------------------


def test_grayscale_converts_colour_and_passes_grey_through() -> None:
    colour = Image.new("RGB", (10, 10), (200, 30, 30))
    grey = run("grayscale", colour)
    assert grey.mode == "L"
    already = Image.new("L", (10, 10), 128)
    assert run("grayscale", already) is already


# --- binarize ----------------------------------------------------------------


def unevenly_lit_page() -> tuple[Image.Image, np.ndarray]:
    page = np.asarray(text_page(ink=40)).astype(float)
    # Light falls off towards the left edge, as under a book scanner's lamp.
    light = np.linspace(0.35, 1.0, page.shape[1])[None, :]
    return Image.fromarray((page * light).astype(np.uint8)), page < 128


@pytest.mark.parametrize(
    "spec", ["binarize", "binarize(method=sauvola)", "binarize(method=sauvola,window=15,k=0.3)"]
)
def test_binarize_outputs_only_black_and_white(spec: str) -> None:
    image, _ = unevenly_lit_page()
    result = run(spec, image.convert("RGB"))
    assert result.mode == "L"
    assert set(np.unique(np.asarray(result))) == {0, 255}


def test_sauvola_keeps_text_where_otsu_loses_it_to_uneven_light() -> None:
    image, ink = unevenly_lit_page()
    otsu = np.asarray(run("binarize(method=otsu)", image))
    sauvola = np.asarray(run("binarize(method=sauvola,window=25)", image))
    dark_side = slice(0, 200)
    # Otsu's single threshold turns the whole dim side black; Sauvola's local one finds the ink.
    assert (otsu[:, dark_side] == 0).mean() > 0.9
    assert (sauvola[:, dark_side] == 0).mean() < 2 * ink[:, dark_side].mean()
    assert (otsu != sauvola).any()


def test_binarize_none_leaves_the_image_alone() -> None:
    image = Image.new("RGB", (20, 20), (120, 130, 140))
    assert run("binarize(method=none)", image) is image


def test_binarize_keeps_a_blank_page_white() -> None:
    blank = Image.new("L", (50, 50), 250)
    assert set(np.unique(np.asarray(run("binarize", blank)))) == {255}


@pytest.mark.parametrize(
    "spec, complaint",
    [
        ("binarize(method=sauvola,window=24)", "window must be odd"),
        ("binarize(method=sauvola,window=1)", "window"),
        ("binarize(method=otsu,window=31)", "only apply to method=sauvola"),
        ("binarize(method=niblack)", "method"),
    ],
)
def test_binarize_refuses_bad_parameters(spec: str, complaint: str) -> None:
    with pytest.raises(UnknownStepError) as error:
        build_pipeline(spec, steps())
    message = str(error.value)
    assert "'binarize'" in message and complaint in message
    assert "valid parameters: method" in message


# --- deskew ------------------------------------------------------------------


@pytest.mark.parametrize("angle", [-3.7, -1.2, 0.8, 2.5])
def test_deskew_finds_and_removes_a_known_rotation(angle: float) -> None:
    straight = text_page()
    skewed = straight.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    deskew = one("deskew")
    assert deskew.estimate_angle(skewed) == pytest.approx(angle, abs=0.5)
    corrected = run("deskew", skewed)
    assert abs(deskew.estimate_angle(corrected)) <= 0.5
    # The corners the rotation uncovers are filled with paper, not black.
    assert corrected.getpixel((0, 0)) == 255 and corrected.getpixel((corrected.width - 1, 0)) == 255


def test_deskew_works_on_a_real_line(real_dev: Path) -> None:
    line = load_page(real_dev / "line_en_uw3_0575_010019.png").convert("L")
    skewed = line.rotate(1.5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert one("deskew").estimate_angle(skewed) == pytest.approx(1.5, abs=0.5)


def test_deskew_searches_only_within_max_angle() -> None:
    skewed = text_page().rotate(6, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert abs(one("deskew(max_angle=2)").estimate_angle(skewed)) <= 2
    assert one("deskew(max_angle=8)").estimate_angle(skewed) == pytest.approx(6, abs=0.5)


def test_deskew_leaves_straight_and_blank_pages_alone() -> None:
    blank = Image.new("L", (300, 200), 255)
    assert run("deskew", blank) is blank
    straight = text_page()
    assert run("deskew", straight) is straight


def test_deskew_refuses_an_out_of_range_angle() -> None:
    with pytest.raises(UnknownStepError, match="'deskew'.*max_angle"):
        build_pipeline("deskew(max_angle=90)", steps())


# --- pipelines ---------------------------------------------------------------


def test_unknown_step_error_lists_the_valid_steps() -> None:
    with pytest.raises(UnknownStepError) as error:
        build_pipeline("grayscale|sharpen", steps())
    message = str(error.value)
    assert "'sharpen'" in message
    assert "binarize, deskew, downscale, grayscale" in message


def test_unknown_parameter_error_names_the_step_and_its_parameters() -> None:
    with pytest.raises(UnknownStepError) as error:
        build_pipeline("downscale(max_sides=2000)", steps())
    message = str(error.value)
    assert "'downscale'" in message and "max_sides" in message
    assert "max_side: int | None" in message and "target_dpi" in message


def test_a_pipeline_runs_its_steps_in_order_and_keeps_the_resolution() -> None:
    image = text_page().convert("RGB")
    image.info["dpi"] = (400, 400)
    result = run("downscale(target_dpi=200)|grayscale|binarize(method=sauvola,window=15)|deskew", image)
    assert result.mode == "L" and result.size == (500, 350)
    assert set(np.unique(np.asarray(result))) == {0, 255}
    assert result.info["dpi"] == pytest.approx((200, 200))


def test_deskew_fills_uncovered_corners_with_the_paper_colour() -> None:
    grey_paper = text_page(ink=40).point(lambda value: 190 if value == 255 else value)
    corrected = run("deskew", grey_paper.rotate(3, expand=True, fillcolor=190))
    pixels = np.asarray(corrected)
    corners = [pixels[0, 0], pixels[0, -1], pixels[-1, 0], pixels[-1, -1]]
    assert all(abs(int(value) - 190) <= 2 for value in corners)
    # A global threshold after it sees ink on paper, not paper against a white frame.
    assert (
        np.asarray(run("deskew|binarize(method=otsu)", grey_paper.rotate(3, expand=True, fillcolor=190))) == 0
    ).mean() < 0.2


def test_deskew_fill_follows_colour_paper() -> None:
    page = text_page().convert("RGB").point(lambda value: value if value < 128 else 200)
    tinted = Image.merge(
        "RGB",
        (page.getchannel(0), page.getchannel(1), page.getchannel(2).point(lambda v: v if v < 128 else 160)),
    )
    corrected = run("deskew", tinted.rotate(2, expand=True, fillcolor=(200, 200, 160)))
    assert corrected.getpixel((0, 0)) == pytest.approx((200, 200, 160), abs=2)
