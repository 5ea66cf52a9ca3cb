"""The async API with real engines in real worker processes, on real scanned lines."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

import harness
from harness.api import Extractor
from harness.errors import (
    ConfigError,
    EngineNotInstalledError,
    ImageReadError,
    JobTimeoutError,
    UnknownBackendError,
    UnknownStepError,
    UnsupportedLanguageError,
)

PLUGINS_DIR = Path(__file__).parent / "plugins"
FAKES = ("fake_noop", "fake_hang", "fake_unavailable")

# Three real-dev lines (UW-III, English) and a word each that every engine here reads.
LINES = {
    "line_en_uw3_0033_010060.png": "heating",
    "line_en_uw3_0317_010133.png": "summit",
    "line_en_uw3_0377_010044.png": "scarp",
}

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def lines(real_dev: Path) -> list[Path]:
    return [real_dev / name for name in LINES]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def extractor():
    """One RapidOCR extractor with two workers, shared by this module's tests."""
    async with Extractor(concurrency=2) as shared:
        yield shared


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, real_dev: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    good = (real_dev / "line_en_uw3_0033_010060.png").read_bytes()
    files = {
        "missing": folder / "missing.png",
        "empty": folder / "empty.png",
        "truncated": folder / "truncated.png",
        "text": folder / "notes.png",
    }
    files["empty"].write_bytes(b"")
    files["truncated"].write_bytes(good[: len(good) // 2])
    files["text"].write_text("this is a text file, not a scan\n")
    return files


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 100 megapixels of blank bilevel image: a few kilobytes on disk, over Pillow's limit.
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("1", (10_000, 10_000), 1).save(path)
    return path


@pytest.fixture(scope="module")
def two_page_tiff(tmp_path_factory: pytest.TempPathFactory, lines: list[Path]) -> Path:
    path = tmp_path_factory.mktemp("tiff") / "two-pages.tif"
    first, second = (Image.open(line).convert("L") for line in lines[:2])
    first.save(path, save_all=True, append_images=[second], compression="tiff_lzw")
    return path


async def test_concurrent_calls_keep_the_loop_responsive_and_use_both_workers(lines: list[Path]) -> None:
    tick = 0.05
    ticks: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(tick)

    async with Extractor(concurrency=2) as fresh:  # cold: worker start-up and engine creation included
        ticking = asyncio.create_task(ticker())
        try:
            results = await asyncio.gather(*(fresh.extract_outcomes(line) for line in lines + lines[:1]))
        finally:
            done.set()
            await ticking
    gaps = [later - earlier for earlier, later in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) > 10
    # A loop blocked on a worker would miss ticks for whole seconds (one OCR call).
    assert max(gaps) < tick * 10, f"the event loop stalled for {max(gaps):.2f} s"
    outcomes = [pages[0] for pages in results]
    assert all(outcome.ok for outcome in outcomes), [outcome.error_message for outcome in outcomes]
    for outcome, word in zip(outcomes, list(LINES.values()) * 2, strict=False):
        assert word in (outcome.text or "")
    assert len({outcome.worker_pid for outcome in outcomes}) == 2
    assert os.getpid() not in {outcome.worker_pid for outcome in outcomes}


async def test_extract_text_reads_a_real_line(extractor: Extractor, lines: list[Path]) -> None:
    text = await extractor.extract_text(lines[0])
    assert "heating" in text and "\f" not in text


async def test_engines_are_created_once_per_worker(extractor: Extractor, lines: list[Path]) -> None:
    results = await asyncio.gather(*(extractor.extract_outcomes(line) for line in lines + lines[:1]))
    outcomes = [pages[0] for pages in results]
    for pid in {outcome.worker_pid for outcome in outcomes}:
        colds = [outcome.cold for outcome in outcomes if outcome.worker_pid == pid]
        assert colds.count(True) <= 1
    assert len(extractor.worker_pids()) <= 2


async def test_a_multi_page_tiff_gives_one_text_per_page(extractor: Extractor, two_page_tiff: Path) -> None:
    pages = await extractor.extract_pages(two_page_tiff)
    assert len(pages) == 2
    assert "heating" in pages[0] and "summit" in pages[1]
    text = await extractor.extract_text(two_page_tiff)
    assert text.split("\f") == pages


async def test_extract_many_returns_texts_and_errors_in_input_order(
    extractor: Extractor, lines: list[Path], bad_files: dict[str, Path]
) -> None:
    paths = [lines[0], bad_files["missing"], lines[1], bad_files["text"], bad_files["truncated"], lines[2]]
    results = await extractor.extract_many(paths)
    assert len(results) == len(paths)
    assert "heating" in results[0] and "summit" in results[2] and "scarp" in results[5]  # type: ignore[operator]
    for index in (1, 3, 4):
        error = results[index]
        assert isinstance(error, ImageReadError)
        assert str(paths[index]) in str(error)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("missing", "no such file"),
        ("empty", "empty"),
        ("truncated", "damaged or truncated"),
        ("text", "not an image"),
    ],
)
async def test_a_bad_file_raises_an_error_naming_it(
    extractor: Extractor, bad_files: dict[str, Path], kind: str, expected: str
) -> None:
    with pytest.raises(ImageReadError) as caught:
        await extractor.extract_text(bad_files[kind])
    assert str(bad_files[kind]) in str(caught.value)
    assert expected in str(caught.value)


async def test_a_decompression_bomb_is_refused_unless_the_limit_is_raised(
    extractor: Extractor, bomb: Path
) -> None:
    with pytest.raises(ImageReadError, match="larger than the limit") as caught:
        await extractor.extract_text(bomb, auto_downscale=False)
    assert str(bomb) in str(caught.value) and "max-image-pixels" in str(caught.value)
    # Raising the limit reaches the worker (noop: reading a blank 100-megapixel page is not the point).
    async with Extractor(
        backend="noop", plugins=FAKES, concurrency=1, max_pixels=100_000_000, auto_downscale=False
    ) as raised:
        assert await raised.extract_text(bomb) == "noop 10000x10000"
        # By default the API reads it, shrunk to the pixel budget as it is loaded.
        document = await raised.extract_document(bomb, auto_downscale=True)
    page = document.pages[0]
    assert page.downscaled_from == (10_000, 10_000) and (page.width, page.height) == (6324, 6324)


async def test_max_pixels_applies_to_real_engines_too(extractor: Extractor, lines: list[Path]) -> None:
    with pytest.raises(ImageReadError, match="larger than the limit of 1,000 pixels"):
        await extractor.extract_text(lines[0], max_pixels=1000)


async def test_configuration_errors_raise_before_any_ocr(lines: list[Path]) -> None:
    with pytest.raises(UnsupportedLanguageError, match="'vi'"):
        Extractor(language="vi")
    with pytest.raises(UnknownStepError, match="no_such_step"):
        Extractor(preprocess="no_such_step(size=3)")
    with pytest.raises(UnknownBackendError, match="no-such-engine"):
        Extractor(backend="no-such-engine")
    with pytest.raises(ConfigError, match="use_cls"):
        Extractor(backend_options={"use_cls": "perhaps"})
    with pytest.raises(ConfigError, match="colour"):
        Extractor(backend_options={"colour": "blue"})
    with pytest.raises(EngineNotInstalledError) as caught:
        Extractor(backend="unavailable", plugins=FAKES)
    assert "fake engine library is not installed" in str(caught.value)
    assert caught.value.fix == "pip install fake-engine"
    # Per-call overrides are checked before the file is even looked at.
    async with Extractor() as extractor:
        with pytest.raises(UnsupportedLanguageError):
            await extractor.extract_text("/no/such/file.png", language="el")
        with pytest.raises(UnknownStepError):
            await extractor.extract_many([lines[0]], preprocess="sharpen_everything")
        assert extractor.worker_pids() == []


async def test_module_functions_fail_fast_on_configuration() -> None:
    with pytest.raises(UnsupportedLanguageError):
        await harness.extract_text("/no/such/file.png", language="xx")
    with pytest.raises(UnknownStepError):
        await harness.extract_many(["/no/such/file.png"], preprocess="no_such_step")
    with pytest.raises(UnknownBackendError):
        await harness.extract_pages("/no/such/file.png", backend="no-such-engine")


async def test_a_page_past_its_timeout_is_a_timeout_error(tmp_path: Path) -> None:
    image = tmp_path / "page.png"
    Image.new("L", (30, 10), 255).save(image)
    async with Extractor(backend="hang", plugins=FAKES, concurrency=1, timeout=1.0) as extractor:
        with pytest.raises(JobTimeoutError) as caught:
            await extractor.extract_text(image)
        assert str(image) in str(caught.value)
        assert await extractor.extract_text(image, backend="noop") == "noop 30x10"


async def test_tesseract_reads_the_same_lines(lines: list[Path]) -> None:
    async with Extractor(backend="tesseract", concurrency=2) as extractor:
        texts = await asyncio.gather(*(extractor.extract_text(line) for line in lines))
    for text, word in zip(texts, LINES.values(), strict=True):
        assert word in text


async def test_module_functions_share_workers_and_close_them_at_loop_end(lines: list[Path]) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, json, multiprocessing
        import harness

        async def main():
            paths = {[str(p) for p in lines[:2]]!r}
            texts = await asyncio.gather(*(harness.extract_text(path) for path in paths))
            first = sorted(child.pid for child in multiprocessing.active_children())
            again = await harness.extract_text({str(lines[2])!r})
            many = await harness.extract_many([{str(lines[0])!r}, "/no/such/file.png"])
            second = sorted(child.pid for child in multiprocessing.active_children())
            return {{"texts": texts, "again": again, "first": first, "second": second,
                     "many": [item if isinstance(item, str) else type(item).__name__ for item in many]}}

        result = asyncio.run(main())
        result["after"] = [child.pid for child in multiprocessing.active_children()]
        print(json.dumps(result))
        """
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "dev", "-c", script, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, stderr.decode()
    # -X dev reports unclosed resources, never-awaited coroutines and callbacks that block the loop.
    assert stderr.decode() == ""
    result = json.loads(stdout)
    assert "heating" in result["texts"][0] and "summit" in result["texts"][1] and "scarp" in result["again"]
    assert "heating" in result["many"][0] and result["many"][1] == "ImageReadError"
    assert 1 <= len(result["first"]) <= 2
    assert result["second"] == result["first"]  # the same workers, engines reused
    assert result["after"] == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in result["first"])
