"""Documents out of ``extract`` and the API: formats, per-file options, truncated results, real engines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import missing_requirement
from ocr_harness_plugins.datasets.groundtruth import read_ground_truth
from PIL import Image
from test_backends import cer

from harness.api import Extractor
from harness.cli import main
from harness.errors import ConfigError, ImageReadError

FAKES = ("fake_noop", "fake_truncating")
PLUGIN_ARGS = ["--plugin", "fake_noop", "--plugin", "fake_truncating"]


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    files = {"a": tmp_path / "a.png", "b": tmp_path / "b.png"}
    Image.new("L", (30, 10), 255).save(files["a"])
    Image.new("L", (40, 20), 255).save(files["b"], dpi=(300, 300))
    return files


async def test_extract_many_takes_options_per_file(pictures: dict[str, Path], tmp_path: Path) -> None:
    async with Extractor(backend="noop", plugins=FAKES, concurrency=1) as extractor:
        results = await extractor.extract_many(
            [
                pictures["a"],
                (pictures["b"], {"backend_options": {"text": "bonjour"}, "language": "fr"}),
                (pictures["a"], {"preprocess": "downscale(max_side=15)"}),
                tmp_path / "missing.png",
            ]
        )
        documents = await extractor.extract_documents([(pictures["b"], {"language": "de"})])
        assert results[:3] == ["noop 30x10", "bonjour", "noop 15x5"]
        assert isinstance(results[3], ImageReadError)
        assert documents[0].language == "de" and documents[0].pages[0].resolution == 300
        # A bad option for one file is a configuration error for the call, before any OCR.
        with pytest.raises(ConfigError, match="bad option"):
            await extractor.extract_many([(pictures["a"], {"backend_options": {"colour": "blue"}})])
        with pytest.raises(TypeError, match="path or"):
            await extractor.extract_many([(pictures["a"], "fr")])  # type: ignore[list-item]


async def test_a_truncating_backend_warns_once_per_extractor_and_flags_results(
    pictures: dict[str, Path],
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with Extractor(backend="truncating", plugins=FAKES, concurrency=1) as extractor:
            document = await extractor.extract_document(pictures["a"])
            await extractor.extract_many([pictures["a"], pictures["b"]])
    assert document.truncated and document.pages[0].truncated and document.text == "cut sho"
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert messages == ["evaluation mode: texts are cut short"]


def test_extract_json_says_truncated_and_warns_on_stderr(
    pictures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*PLUGIN_ARGS, "extract", "--backend", "truncating", "--json", str(pictures["a"])]) == 0
    captured = capsys.readouterr()
    entry = json.loads(captured.out)[0]
    assert entry["truncated"] is True and entry["pages"][0]["truncated"] is True
    assert "warning: truncating: evaluation mode: texts are cut short" in captured.err


def test_extract_with_a_manifest_reads_options_per_file(
    pictures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "files.csv"
    manifest.write_text(
        'file,language,options\na.png,fr,"{""text"": ""salut""}"\nb.png,,\n', encoding="utf-8"
    )
    assert main([*PLUGIN_ARGS, "extract", "--backend", "noop", "--json", "--manifest", str(manifest)]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["text"], e["language"]) for e in entries] == [("salut", "fr"), ("noop 40x20", "en")]
    manifest.write_text("image\na.png\n", encoding="utf-8")
    assert main([*PLUGIN_ARGS, "extract", "--backend", "noop", "--manifest", str(manifest)]) == 2
    assert "needs a 'file' column" in capsys.readouterr().err


def test_xml_formats_of_several_files_go_to_a_folder(
    pictures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        *PLUGIN_ARGS,
        "extract",
        "--backend",
        "noop",
        "--format",
        "alto",
        str(pictures["a"]),
        str(pictures["b"]),
    ]
    assert main(args) == 1
    assert "name a folder with --output" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main([*args, "--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.alto.xml", "b.alto.xml"]
    assert read_ground_truth(out / "b.alto.xml") == "noop 40x20\n"


def page_with_truth(real_dev: Path) -> tuple[Path, str]:
    page = real_dev / "page_en_oldbooks_a013.tiff"
    return page, (real_dev / "page_en_oldbooks_a013.gt.txt").read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_format_of_a_real_page_holds_its_text(real_dev: Path, tmp_path: Path) -> None:
    """Tesseract on a clean real page: hOCR, ALTO, PAGE and the PDF's text layer read back under 5% CER."""
    if shutil.which("pdftotext") is None:
        missing_requirement("poppler's pdftotext is not installed (Debian: poppler-utils)")
    page, truth = page_with_truth(real_dev)
    out = {}
    for format in ("json", "hocr", "alto", "page", "pdf"):
        out[format] = tmp_path / f"page.{format}"
        code = main(
            [
                "extract",
                "--backend",
                "tesseract",
                "--jobs",
                "1",
                "--format",
                format,
                "--output",
                str(out[format]),
                str(page),
            ]
        )
        assert code == 0, format
    document = json.loads(out["json"].read_text())[0]
    texts = {
        "json": document["text"],
        "alto": read_ground_truth(out["alto"].rename(tmp_path / "page.alto.xml")),
        "page": read_ground_truth(out["page"].rename(tmp_path / "page.page.xml")),
        "hocr": subprocess.run(
            [str(Path(sys.executable).with_name("hocr-lines")), str(out["hocr"])],
            capture_output=True, text=True, check=True,
        ).stdout,
        "pdf": subprocess.run(
            ["pdftotext", str(out["pdf"]), "-"], capture_output=True, text=True, check=True
        ).stdout,
    }  # fmt: skip
    errors = {format: cer(truth, text) for format, text in texts.items()}
    assert all(error < 0.05 for error in errors.values()), errors
