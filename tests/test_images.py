"""Opening images: every bad file is an ImageReadError naming the file and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from harness.errors import ImageReadError
from harness.images import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, count_pages, load_page


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "page.png"
    image = Image.new("L", (200, 100), 255)
    image.paste(0, (20, 40, 180, 60))
    image.save(path, dpi=(300, 300))
    return path


def test_a_real_line_loads_as_rgb_with_its_resolution(real_dev: Path) -> None:
    image = load_page(real_dev / "line_en_uw3_0033_010060.png")  # RGBA in the file
    assert image.mode == "RGB" and image.size == (956, 44)
    assert round(image.info["dpi"][0]) == 100


def test_a_bilevel_tiff_page_loads_as_grey(real_dev: Path) -> None:
    image = load_page(real_dev / "page_en_oldbooks_a013.tiff")
    assert image.mode == "L"
    assert set(image.getextrema()) <= {0, 255}


def test_transparency_is_flattened_onto_white(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(path)
    assert load_page(path).getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_grey_is_scaled_to_eight_bits_keeping_its_tones(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    image = Image.new("I;16", (4, 1))
    for x, value in enumerate([0, 1000, 30000, 65535]):
        image.putpixel((x, 0), value)
    image.save(path)
    loaded = load_page(path)
    assert loaded.mode == "L"
    assert [loaded.getpixel((x, 0)) for x in range(4)] == [0, 4, 117, 255]


def test_pages_of_a_multi_page_tiff(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    Image.new("L", (10, 10), 255).save(path, save_all=True, append_images=[Image.new("L", (20, 10), 0)])
    assert count_pages(path) == 2
    assert load_page(path, 1).size == (20, 10)
    with pytest.raises(ImageReadError, match="has 2 page\\(s\\), there is no page 3"):
        load_page(path, 2)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda path: None, "no such file"),
        (lambda path: path.mkdir(), "is a folder"),
        (lambda path: path.write_bytes(b""), "the file is empty"),
        (lambda path: path.write_text("hello, I am text\n"), "not an image Pillow can read"),
    ],
)
def test_unusable_files_name_the_file_and_the_problem(tmp_path: Path, make, expected: str) -> None:
    path = tmp_path / "scan.png"
    make(path)
    with pytest.raises(ImageReadError, match=expected) as caught:
        load_page(path)
    assert str(path) in str(caught.value)


def test_a_truncated_png_is_damaged(tmp_path: Path, real_dev: Path) -> None:
    data = (real_dev / "line_en_uw3_0317_010133.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    assert count_pages(path) == 1  # the header is fine; the pixels are not
    with pytest.raises(ImageReadError, match="damaged or truncated") as caught:
        load_page(path)
    assert str(path) in str(caught.value)


def test_the_decompression_bomb_limit_and_its_overrides(
    tmp_path: Path, png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ImageReadError, match="larger than the limit of 9,999 pixels") as caught:
        load_page(png, max_pixels=9_999)
    assert "--max-image-pixels" in str(caught.value)
    # Pillow warns (not raises) between one and two times its limit; we refuse those too.
    with pytest.raises(ImageReadError, match="larger than the limit"):
        load_page(png, max_pixels=15_000)
    assert load_page(png, max_pixels=20_000).size == (200, 100)
    monkeypatch.setenv(MAX_PIXELS_ENV, "100")
    with pytest.raises(ImageReadError, match="limit of 100 pixels"):
        count_pages(png)
    assert load_page(png, max_pixels=20_000).size == (200, 100)  # an explicit limit beats the variable
    assert Image.MAX_IMAGE_PIXELS == DEFAULT_MAX_PIXELS  # Pillow's global is left as it was


def _tiff(path: Path, pages: list[Image.Image]) -> Path:
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="group4" if pages[0].mode == "1"
                  else "tiff_lzw")  # fmt: skip
    return path


def test_every_tiff_page_meets_the_pixel_limit(tmp_path: Path) -> None:
    small = Image.new("1", (100, 50), 1)
    path = _tiff(tmp_path / "three.tif", [small, Image.new("1", (400, 300), 1), small])
    with pytest.raises(ImageReadError) as caught:
        count_pages(path, max_pixels=100_000)
    assert "page 2 of 3 (400x300 = 120,000 pixels) is larger than the limit of 100,000" in str(caught.value)
    assert count_pages(path, max_pixels=100_000, check_size=False) == 3
    assert load_page(path, 0, max_pixels=100_000).size == (100, 50)  # the other pages still load
    with pytest.raises(ImageReadError, match="page 2 of 3"):
        load_page(path, 1, max_pixels=100_000)


def test_a_raised_limit_reaches_the_decoder(tmp_path: Path) -> None:
    # Over Pillow's own default limit: Pillow checks again when a TIFF page is decoded.
    big = Image.new("1", (9_600, 9_400), 1)
    path = _tiff(tmp_path / "big.tif", [Image.new("1", (10, 10), 1), big])
    del big
    with pytest.raises(ImageReadError, match="larger than the limit"):
        load_page(path, 1)
    assert load_page(path, 1, max_pixels=100_000_000).size == (9_600, 9_400)
    assert Image.MAX_IMAGE_PIXELS == DEFAULT_MAX_PIXELS  # Pillow's own guard is back afterwards


def test_a_fifo_or_device_is_refused_without_hanging(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.png"
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "FIFO"), (zero, "character device")):
        with pytest.raises(ImageReadError, match=kind):
            load_page(path)


def test_animation_frames_are_not_pages(tmp_path: Path) -> None:
    path = tmp_path / "animated.webp"
    frames = [Image.new("L", (20, 20), shade) for shade in (0, 128, 255)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert count_pages(path) == 1
