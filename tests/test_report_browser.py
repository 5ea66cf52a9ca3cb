"""report.html in a real browser at a wide and a narrow window: nothing sticks out of its card,
nothing is logged to the console, and the grid, labels and diffs are on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import probe, screenshot
from fixtures_runs import job, write_run

from harness.report.html import write_html_report

GRID = [
    f"downscale(max_side={side})|binarize(method={method})"
    for side in (1000, 1600, 2400)
    for method in ("none", "otsu", "sauvola")
]
TRUTHS = [
    "Die Frau und der Sozialismus, von August Bebel. Vierzigste Auflage, Stuttgart 1903.",
    "The quick brown fox jumps over the lazy dog; 1234567890 — “quotes” and ‘apostrophes’.",
    "Élan vital: a word that never ends " + "supercalifragilisticexpialidocious" * 3,
    "line with\ttabs and  double  spaces",
]

# Every element that must hold its content (a table or a diff in it may scroll; nothing may stick out).
OVERFLOW = """
  var boxes = document.querySelectorAll('figure, .card, details.sample, .pair .side, section, dl.facts');
  var out = [];
  boxes.forEach(function (box) {
    box.querySelectorAll('details').forEach(function (d) { d.open = true; });
  });
  boxes.forEach(function (box) {
    if (box.scrollWidth > box.clientWidth + 1) {
      out.push((box.id || box.className || box.tagName) + ' ' + box.scrollWidth + '>' + box.clientWidth);
    }
  });
  var page = document.documentElement;
  return {overflowing: out, pageWidth: page.scrollWidth, window: window.innerWidth,
          grid: document.querySelectorAll('#grid table.heatmap td.cell').length,
          cut: Array.prototype.filter.call(document.querySelectorAll('#charts svg text'),
                                           function (t) { return t.textContent.indexOf('…') >= 0; }).length};
"""


@pytest.fixture(scope="module")
def grid_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    jobs = []
    for backend in ("tesseract", "rapidocr"):
        for index, pipeline in enumerate(GRID):
            for sample, truth in enumerate(TRUTHS):
                text = truth if (index + sample) % 4 else truth.replace("e", "c").replace(" ", "", 2)
                if backend == "rapidocr" and sample == 3:
                    text = "lme wlth tabs"
                tags = {
                    "blur": sample % 2,
                    "noise": "heavy" if sample % 2 else "none",
                    "dpi": 150 + 50 * sample,
                    "scanner": ["flatbed", "feeder", "phone", "flatbed"][sample],
                }
                seconds = 0.5 + index * 0.1 + (backend == "rapidocr")
                jobs.append(job(f"sample_{sample}", truth, text, backend=backend, pipeline=pipeline,
                                tags=tags,
                                seconds=seconds))  # fmt: skip
    grid = {"downscale.max_side": [1000, 1600, 2400], "binarize.method": ["none", "otsu", "sauvola"]}
    folder = write_run(tmp_path_factory.mktemp("browser") / "run", jobs, config={"grid": grid})
    return write_html_report(folder)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 800])
def test_report_fits_its_cards_at_wide_and_narrow_windows(
    grid_report: Path, tmp_path: Path, width: int
) -> None:
    result, console = probe(grid_report, OVERFLOW, width=width, work=tmp_path)
    assert console == []
    assert result["overflowing"] == []
    assert result["pageWidth"] <= result["window"]  # no sideways scrolling of the page itself
    assert result["grid"] == 2 * 2 * 9  # CER and pages/s for each engine, a cell per pipeline
    assert result["cut"] == 0  # chart labels and legends whole
    shot = screenshot(grid_report, tmp_path / f"report-{width}.png", width=width, height=1600, work=tmp_path)
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width == width
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 100  # drawn, not blank


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 800])
def test_history_page_fits_at_wide_and_narrow_windows(tmp_path: Path, width: int) -> None:
    import json

    from harness.cli import main

    reports = tmp_path / "reports"
    for day, errors in enumerate((3, 1, 0), start=1):
        jobs = [
            job(
                f"s{i}",
                truth,
                truth.replace("e", "c") if i < errors else truth,
                backend=backend,
                pipeline=pipeline,
            )
            for i, truth in enumerate(TRUTHS)
            for backend in ("tesseract", "rapidocr")
            for pipeline in GRID[:4]
        ]
        folder = write_run(reports / f"grid-202611{day:02d}T000000Z", jobs, suite="grid")
        info = json.loads((folder / "run.json").read_text())
        info["started"] = f"2026-11-{day:02d}T00:00:00+00:00"
        info["backends"]["tesseract"]["version"] = "5.3" if day < 3 else "5.4"
        (folder / "run.json").write_text(json.dumps(info))
    assert main(["history", str(reports)]) == 0
    script = OVERFLOW.replace(
        "grid: document", "points: document.querySelectorAll('circle.point').length, grid: document"
    )
    result, console = probe(reports / "history-grid.html", script, width=width, work=tmp_path / "browser")
    assert console == [] and result["overflowing"] == [] and result["pageWidth"] <= result["window"]
    assert result["points"] == 3 * 8 * 2  # three runs of eight groups, in the CER and pages/s charts
