"""Documents in: scanned PDFs as pages, huge scans shrunk on load (extract and API), never in run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from harness.cli import main
from harness.errors import ImageReadError
from harness.images import DEFAULT_PIXEL_BUDGET, count_pages, load_page

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FAKES = ["--plugin", "fake_noop"]


def text_page(text: str, size: tuple[int, int] = (1240, 400), font_size: int = 48) -> Image.Image:
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).text((60, 60), text, font=ImageFont.truetype(DEJAVU, font_size), fill=0)
    return image


@pytest.fixture
def scanned_pdf(tmp_path: Path) -> Path:
    """Two pages saved as a PDF at 150 dpi: 1240x400 pixels is 8.27x2.67 inches."""
    path = tmp_path / "scan.pdf"
    first, second = text_page("The first page"), text_page("Second page here")
    first.save(path, save_all=True, append_images=[second], resolution=150)
    return path


def test_a_pdf_page_is_rendered_at_300_dpi_by_default_with_its_resolution(scanned_pdf: Path) -> None:
    assert count_pages(scanned_pdf) == 2
    page = load_page(scanned_pdf, 1)
    assert page.size == (2480, 800)  # 8.27 x 2.67 inches at 300 dpi
    assert page.info["dpi"] == (300, 300) and page.info["dpi_source"] == "rendered"
    assert load_page(scanned_pdf, 0, pdf_dpi=150).size == (1240, 400)
    with pytest.raises(ImageReadError, match="has 2 page"):
        load_page(scanned_pdf, 2)


def test_a_pdf_page_over_the_budget_is_rendered_small_not_shrunk_after(scanned_pdf: Path) -> None:
    page = load_page(scanned_pdf, 0, pixel_budget=500_000)
    assert page.width * page.height <= 500_000 and page.info["downscaled_from"] == (2480, 800)
    assert page.info["dpi"][0] == pytest.approx(300 * page.width / 2480)


def test_a_broken_or_locked_pdf_is_an_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj garbage\n")
    with pytest.raises(ImageReadError, match="broken.pdf: not a PDF that can be read"):
        count_pages(broken)


def test_pdf_pages_are_dataset_samples_like_tiff_pages(scanned_pdf: Path) -> None:
    from harness.datasets import load_dataset

    scanned_pdf.with_name("scan.gt.txt").write_text("The first page\fSecond page here\n", encoding="utf-8")
    samples = load_dataset(scanned_pdf.parent).samples
    assert [(s.id, s.page, s.ground_truth) for s in samples] == [
        ("scan#p1", 0, "The first page"),
        ("scan#p2", 1, "Second page here\n"),
    ]


def test_extract_reads_a_pdf_with_tesseract(scanned_pdf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ocr_harness_plugins.backends.tesseract import TesseractBackend

    if not TesseractBackend.availability().ok:
        from conftest import missing_requirement

        missing_requirement("Tesseract is not available here")
    assert main(["extract", "--backend", "tesseract", "--jobs", "1", "--json", str(scanned_pdf)]) == 0
    entry = json.loads(capsys.readouterr().out)[0]
    assert [page["text"] for page in entry["pages"]] == ["The first page", "Second page here"]
    assert entry["pages"][0]["resolution"] == 300 and entry["pages"][0]["resolution_source"] == "rendered"


@pytest.fixture
def huge_tiff(tmp_path: Path) -> Path:
    """12000x16000 pixels (192 megapixels), LZW: the tutorial's scan. A few megabytes on disk."""
    path = tmp_path / "huge.tif"
    image = Image.new("L", (12_000, 16_000), 255)
    ImageDraw.Draw(image).text((600, 600), "Huge scan", font=ImageFont.truetype(DEJAVU, 400), fill=0)
    image.save(path, compression="tiff_lzw", dpi=(1200, 1200))
    return path


def test_a_192_megapixel_tiff_is_read_by_default_and_says_it_was_downscaled(
    huge_tiff: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*FAKES, "extract", "--backend", "noop", "--jobs", "1", "--json", str(huge_tiff)]) == 0
    captured = capsys.readouterr()
    page = json.loads(captured.out)[0]["pages"][0]
    assert page["downscaled_from"] == [12_000, 16_000]
    assert page["width"] * page["height"] <= DEFAULT_PIXEL_BUDGET and page["width"] / page[
        "height"
    ] == pytest.approx(0.75, abs=0.001)
    assert page["resolution"] == pytest.approx(1200 * page["width"] / 12_000, abs=0.01)
    assert "12000x16000 pixels, downscaled to" in captured.err and str(huge_tiff) in captured.err
    # Turned off, the decompression-bomb guard stands and says what to do.
    assert main([*FAKES, "extract", "--backend", "noop", "--no-auto-downscale", str(huge_tiff)]) == 3
    assert "larger than the limit" in capsys.readouterr().err


def test_load_page_shrinks_to_the_budget_keeping_the_resolution_true(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    text_page("JPEG", size=(4000, 3000), font_size=300).convert("RGB").save(path, dpi=(600, 600))
    page = load_page(path, pixel_budget=1_000_000)
    assert page.width * page.height <= 1_000_000 and page.info["downscaled_from"] == (4000, 3000)
    assert page.info["dpi"][0] == pytest.approx(600 * page.width / 4000)
    assert load_page(path).size == (4000, 3000) and "downscaled_from" not in load_page(path).info


def test_in_a_run_an_oversized_page_is_a_row_that_suggests_downscale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # 10000x10000 bilevel: tiny on disk, over Pillow's limit of about 89 megapixels.
    Image.new("1", (10_000, 10_000), 1).save(data / "big.png")
    (data / "big.gt.txt").write_text("nothing\n", encoding="utf-8")
    out = tmp_path / "run"
    main([*FAKES, "run", str(data), "--backend", "noop", "--out", str(out)])
    capsys.readouterr()
    rows = [json.loads(line) for line in (out / "latest" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["status"] == "error" and rows[0]["downscaled_from"] is None
    assert "larger than the limit" in rows[0]["error_message"]
    assert "downscale(" in rows[0]["error_message"]
