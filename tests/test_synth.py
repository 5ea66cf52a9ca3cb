"""The synthetic generator: reproducible bytes, recorded and applied degradations, exact ground truth."""

from __future__ import annotations

import json
import shlex
import tomllib
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from conftest import missing_requirement
from PIL import Image

from harness.cli import main
from harness.datasets import load_dataset
from harness.errors import ConfigError
from harness.synth import SynthOptions, generate
from harness.synth.degrade import Degradation, degrade
from harness.synth.layout import PAGE_SIZES, mm

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "datasets" / "sample"
SMALL = ["--pages", "4", "--lines", "2", "--language", "en", "vi", "--page-size", "a6", "--dpi", "150"]


def synth(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Path:
    monkeypatch.chdir(cwd)
    assert main(["datasets", "synth", "out", *args]) == 0
    return cwd / "out"


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "small"
    generate(
        out, SynthOptions(pages=4, lines=2, seed=3, languages=("en", "vi"), page_size="a6", dpi=(150, 150))
    )
    return out


def test_same_seed_same_bytes_other_seed_other_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    first = files(synth(tmp_path / "a", monkeypatch, *SMALL, "--seed", "11"))
    second = files(synth(tmp_path / "b", monkeypatch, *SMALL, "--seed", "11"))
    other = files(synth(tmp_path / "c", monkeypatch, *SMALL, "--seed", "12"))

    assert len(first) == 6 * 3 + 1  # png, gt.txt, tags.json per sample, and dataset.toml
    assert first == second
    for name in ("page_en_0001.png", "page_en_0001.gt.txt", "page_vi_0004.png", "line_vi_0002.gt.txt"):
        assert first[name] != other[name], name


def test_every_sample_records_its_degradation_in_tags_and_png_dpi(small_set: Path) -> None:
    dataset = load_dataset(small_set)
    samples = {sample.id: sample for sample in dataset.samples}
    assert sorted(samples) == [
        "line_en_0001",
        "line_vi_0002",
        "page_en_0001",
        "page_en_0003",
        "page_vi_0002",
        "page_vi_0004",
    ]
    # mixed: the levels in turn
    assert [
        samples[f"page_{lang}_000{n}"].tags["degrade"]
        for lang, n in (("en", 1), ("vi", 2), ("en", 3), ("vi", 4))
    ] == ["none", "light", "medium", "heavy"]
    width_mm, height_mm = PAGE_SIZES["a6"]
    for sample in dataset.samples:
        tags = sample.tags
        assert tags["source"] == "synthetic"  # the dataset's own tag
        for key in ("dpi", "skew_deg", "blur_px", "noise_sigma", "lighting", "jpeg_quality", "bleed_through"):
            assert key in tags, (sample.id, key)
        with Image.open(sample.image) as image:
            assert round(image.info["dpi"][0]) == tags["dpi"] == 150
            assert image.mode == "L"
            if tags["kind"] == "page":
                assert image.size == (mm(width_mm, 150), mm(height_mm, 150))
        assert sample.language == sample.id.split("_")[1]
    heavy = samples["page_vi_0004"].tags
    assert 1.5 <= abs(heavy["skew_deg"]) <= 3.0 and heavy["blur_px"] >= 0.9 and heavy["noise_sigma"] >= 4.5
    assert heavy["jpeg_quality"] is not None and heavy["bleed_through"] >= 0.12
    none = samples["page_en_0001"].tags
    assert (none["skew_deg"], none["blur_px"], none["noise_sigma"], none["jpeg_quality"]) == (0, 0, 0, None)


def test_ground_truth_is_nfc_one_line_per_drawn_line_and_fonts_cover_vietnamese(small_set: Path) -> None:
    for truth in small_set.glob("*.gt.txt"):
        text = truth.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text)
        assert text.endswith("\n") and "\n\n" not in text and "  " not in text
    vietnamese = (small_set / "page_vi_0002.gt.txt").read_text(encoding="utf-8")
    assert any(char in vietnamese for char in "ơưạệộữđ")
    for tags in small_set.glob("*_vi_*.tags.json"):
        assert not json.loads(tags.read_text(encoding="utf-8"))["font"].startswith("Liberation")


def test_clean_page_is_black_text_on_white(small_set: Path) -> None:
    pixels = np.asarray(Image.open(small_set / "page_en_0001.png"))
    assert pixels.min() == 0 and np.median(pixels) == 255
    heavy = np.asarray(Image.open(small_set / "page_vi_0004.png"))
    assert np.median(heavy) < 240  # grey paper, noise, uneven light


# --- each degradation does what its tag says ----------------------------------------------


def params(**changes: float | int | None) -> Degradation:
    base = {
        "degrade": "medium",
        "dpi": 300,
        "skew_deg": 0.0,
        "blur_px": 0.0,
        "noise_sigma": 0.0,
        "speckles": 0.0,
        "lighting": 0.0,
        "jpeg_quality": None,
        "bleed_through": 0.0,
        "ink_fade": 0.0,
        "paper": 240,
    }
    return Degradation(**{**base, **changes})  # type: ignore[arg-type]


def render(ink: np.ndarray, back: np.ndarray | None = None, **changes: float | int | None) -> np.ndarray:
    rng = np.random.default_rng(0)
    result = degrade(rng, ink, np.zeros_like(ink) if back is None else back, params(**changes))
    return np.asarray(result, dtype=np.float64)


BLANK = np.zeros((200, 400), dtype=np.float32)


def test_noise_sigma_is_the_pixel_noise() -> None:
    for sigma in (2.0, 8.0):
        pixels = render(BLANK, noise_sigma=sigma)
        # Neighbouring-pixel differences cancel the smooth paper texture, leaving the noise.
        measured = np.diff(pixels, axis=1).std() / np.sqrt(2)
        assert sigma * 0.8 < measured < sigma * 1.2


def test_skew_tilts_a_horizontal_rule() -> None:
    ink = BLANK.copy()
    ink[100:103, 20:380] = 1.0
    pixels = render(ink, skew_deg=2.0)
    left_row = int(np.argmin(pixels[:, 60]))
    right_row = int(np.argmin(pixels[:, 340]))
    # anticlockwise: the right end rises by tan(2 degrees) * 280 pixels, about 10
    assert 7 <= left_row - right_row <= 13


def test_bleed_through_shows_the_back_mirrored_and_faint() -> None:
    back = BLANK.copy()
    back[50:150, 20:120] = 1.0  # on the back's left: seen through the paper on the right
    pixels = render(BLANK, back, bleed_through=0.2)
    right, left = pixels[60:140, 290:370].mean(), pixels[60:140, 30:110].mean()
    assert 0.1 * 240 < left - right < 0.25 * 240


def test_lighting_darkens_part_of_the_page_by_its_depth() -> None:
    pixels = render(BLANK, lighting=0.3)
    blocks = [pixels[r : r + 40, c : c + 40].mean() for r in (0, 160) for c in (0, 360)]
    assert 0.15 < 1 - min(blocks) / max(blocks) < 0.35


def test_blur_and_jpeg_soften_and_change_edges() -> None:
    ink = BLANK.copy()
    ink[:, 200:] = 1.0
    sharp = render(ink)
    blurred = render(ink, blur_px=1.5)
    assert np.abs(np.diff(blurred[100])).max() < 0.6 * np.abs(np.diff(sharp[100])).max()
    stripes = BLANK.copy()
    stripes[50:150, 51:349:5] = 1.0  # fine detail that JPEG blocks smear
    compressed = render(stripes, jpeg_quality=20)
    assert np.abs(compressed - render(stripes))[50:150, 51:349].mean() > 4


# --- errors ------------------------------------------------------------------------------------


def test_missing_font_names_the_debian_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_HARNESS_FONTS_DIR", str(tmp_path / "nofonts"))
    with pytest.raises(ConfigError) as error:
        generate(tmp_path / "out", SynthOptions(pages=1))
    assert "fonts-dejavu-core" in str(error.value) and "apt-get install" in str(error.value)


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="never overwrites"):
        generate(tmp_path, SynthOptions(pages=1))
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_bad_options_fail_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "synth", str(tmp_path / "x"), "--dpi", "600-150"]) == 2
    assert "DPI range" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# --- the bundled sample and a real engine -----------------------------------------------------------


def test_bundled_sample_is_what_its_recorded_command_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tomllib.loads((SAMPLE / "dataset.toml").read_text(encoding="utf-8"))
    argv = shlex.split(settings["generator"]["command"])
    assert argv[:3] == ["ocr-harness", "datasets", "synth"] and argv[3] == "datasets/sample"
    monkeypatch.chdir(tmp_path)
    assert main(argv[1:]) == 0
    fresh = tmp_path / "datasets" / "sample"
    committed = {path.name for path in SAMPLE.iterdir()}
    assert {path.name for path in fresh.iterdir()} == committed
    for name in committed:
        if name.endswith(".png"):
            # Pixels, not bytes: another zlib may compress the same pixels differently.
            old, new = (np.asarray(Image.open(folder / name), dtype=np.int16) for folder in (SAMPLE, fresh))
            assert old.shape == new.shape and np.abs(old - new).mean() < 0.5, name
        else:
            assert (fresh / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    assert sum(path.stat().st_size for path in SAMPLE.iterdir()) < 3_000_000


@pytest.mark.slow
def test_tesseract_reads_clean_pages_well_and_heavy_pages_worse(tmp_path: Path) -> None:
    from harness.images import load_page
    from harness.metrics import cer
    from harness.plugins import get_registry

    backend_class = get_registry().backend("tesseract")
    if not backend_class.availability().ok:
        missing_requirement(f"tesseract is not usable here: {backend_class.availability().reason}")
    engine = backend_class()
    rates = {}
    try:
        for level in ("none", "heavy"):
            out = tmp_path / level
            generate(out, SynthOptions(pages=2, seed=5, degrade=level, page_size="a6", dpi=(200, 200)))
            samples = load_dataset(out).samples
            rates[level] = [
                cer(s.ground_truth, engine.recognize(load_page(s.image), language=s.language).text)
                for s in samples
            ]
    finally:
        engine.close()
    assert max(rates["none"]) < 0.03, rates
    assert np.mean(rates["heavy"]) > np.mean(rates["none"]) + 0.02, rates


def test_cli_choices_match_the_generator() -> None:
    # The CLI module may import only the standard library, so it repeats these lists.
    from harness.cli import datasets_cmd
    from harness.synth import corpus, degrade, layout

    assert datasets_cmd.SYNTH_LANGUAGES == corpus.LANGUAGES
    assert datasets_cmd.DEGRADE_CHOICES == degrade.CHOICES
    assert tuple(layout.PAGE_SIZES) == datasets_cmd.PAGE_SIZES
