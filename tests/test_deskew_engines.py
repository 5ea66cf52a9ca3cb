"""deskew on grey paper, read by every engine: straightening must never cost accuracy.

The page is the one a user reported: a skewed synthetic page on grey paper (grey
178-218), where filling the rotated corners with pure white made Tesseract read
nothing at all.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest import missing_requirement

from harness.cli import main
from harness.plugins import get_registry
from harness.synth.generator import SynthOptions, generate

ENGINES = ["tesseract", "rapidocr", pytest.param("aspose", marks=pytest.mark.aspose)]


@pytest.fixture(scope="module")
def grey_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``datasets synth OUT --pages 4 --lines 4 --seed 3 --language en fr --degrade mixed --page-size a6``,
    page_fr_0004 alone in a dataset folder."""
    synth = tmp_path_factory.mktemp("synth")
    generate(synth, SynthOptions(pages=4, lines=4, seed=3, languages=("en", "fr"), page_size="a6"))
    folder = tmp_path_factory.mktemp("grey-page")
    for suffix in (".png", ".gt.txt"):
        shutil.copy(synth / f"page_fr_0004{suffix}", folder / f"page_fr_0004{suffix}")
    return folder


@pytest.mark.parametrize("engine", ENGINES)
def test_deskew_on_grey_paper_is_no_worse_than_no_deskew(
    engine: str, grey_page: Path, tmp_path: Path
) -> None:
    availability = get_registry().backend(engine).availability()
    if not availability.ok:
        missing_requirement(f"{engine} cannot run here: {availability.reason}")
    out = tmp_path / "runs"
    pipelines = ["--pipeline", "none", "--pipeline", "deskew", "--pipeline", "deskew|binarize(method=otsu)"]
    code = main(
        [
            "run",
            str(grey_page),
            "--backend",
            engine,
            *pipelines,
            "--jobs",
            "1",
            "--out",
            str(out),
            "--no-html",
        ]
    )
    assert code == 0
    with (out / "latest" / "samples.csv").open(encoding="utf-8") as handle:
        rows = {row["pipeline"]: row for row in csv.DictReader(handle)}
    assert {row["status"] for row in rows.values()} == {"ok"}
    plain, straightened = float(rows["none"]["cer"]), float(rows["deskew"]["cer"])
    assert straightened <= plain + 0.02, f"{engine}: deskew CER {straightened:.3f} vs none {plain:.3f}"
    assert rows["deskew"]["empty_output"] == "false"
    assert rows["deskew|binarize(method=otsu)"]["empty_output"] == "false"
    assert float(rows["deskew|binarize(method=otsu)"]["cer"]) < 0.9
