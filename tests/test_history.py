"""``ocr-harness history``: every run of a suite over time, as a self-contained page and a table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fixtures_runs import job, write_run
from PIL import Image

from harness.cli import main

TRUTHS = [f"line {i}: the quick brown fox" for i in range(4)]


def _grid_run(reports: Path, name: str, *, started: str, errors: int, version: str = "5.3") -> Path:
    jobs = []
    for pipeline in ("none", "binarize(method=otsu)"):
        for index, truth in enumerate(TRUTHS):
            text = truth.replace("quick", "qu1ck") if index < errors else truth
            jobs.append(job(f"s{index}", truth, text, pipeline=pipeline))
    folder = write_run(reports / name, jobs, suite="grid")
    info = json.loads((folder / "run.json").read_text())
    info["started"] = started
    info["backends"]["tesseract"]["version"] = version
    (folder / "run.json").write_text(json.dumps(info))
    return folder


def _series_points(page: str, figure_title: str, group: str) -> int:
    figure = page.split(f"<h3>{figure_title}</h3>", 1)[1].split("</figure>", 1)[0]
    series = figure.split(f'<g class="series" data-group="{group}">', 1)[1].split("</g>", 1)[0]
    return series.count('<circle class="point"')


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    # Written out of order: history orders runs by when they started, not by folder name.
    _grid_run(reports, "grid-20261101T000000Z", started="2026-11-03T00:00:00+00:00", errors=0, version="5.4")
    _grid_run(reports, "grid-20261102T000000Z", started="2026-11-01T00:00:00+00:00", errors=3)
    _grid_run(reports, "grid-20261103T000000Z", started="2026-11-02T00:00:00+00:00", errors=1)
    write_run(reports / "other-20261101T000000Z", [job("a", "text", "text")], suite="other")
    broken = reports / "grid-20261104T000000Z"
    broken.mkdir()
    (broken / "results.jsonl").write_text("")  # an interrupted run that was never reported
    (reports / "latest").symlink_to("grid-20261101T000000Z")
    return reports


def test_history_of_three_runs_has_three_points_per_group_and_marks_the_engine_change(
    reports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(reports), "--suite", "grid"]) == 0
    page = (reports / "history-grid.html").read_text(encoding="utf-8")
    for group in ("tesseract · none", "tesseract · binarize(method=otsu)"):
        assert _series_points(page, "tesseract: CER", group) == 3
        assert _series_points(page, "tesseract: pages/s", group) == 3
    # Oldest first: 3 errors, then 1, then 0 (the folder names say otherwise).
    runs = re.findall(r'<td class="mono">(grid-[^<]+)</td>', page)
    assert runs == ["grid-20261102T000000Z", "grid-20261103T000000Z", "grid-20261101T000000Z"]
    assert "tesseract version: 5.3 → 5.4" in page and "Δ1" in page
    assert "grid-20261104T000000Z" in page and "samples.csv is missing" in page
    assert "other" not in re.sub(r"<[^>]+>", "", page).split()  # another suite's runs stay out
    # Self-contained: no script, nothing fetched.
    assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)
    out = capsys.readouterr().out
    assert "grid: 3 runs" in out and "Δ1 before grid-20261101T000000Z: tesseract version: 5.3 → 5.4" in out
    assert "wrote " in out and "history-grid.html" in out


def test_history_without_a_suite_writes_one_page_per_suite(reports: Path) -> None:
    assert main(["history", str(reports)]) == 0
    assert sorted(path.name for path in reports.glob("history-*.html")) == [
        "history-grid.html",
        "history-other.html",
    ]


def test_output_needs_a_single_suite(
    reports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(reports), "--output", str(tmp_path / "h.html")]) == 2
    assert "choose one with --suite NAME" in capsys.readouterr().err
    assert main(["history", str(reports), "--suite", "grid", "--output", str(tmp_path / "h.html")]) == 0
    assert (tmp_path / "h.html").is_file() and not (reports / "history-grid.html").exists()


def test_unknown_suite_and_missing_folder_are_one_clear_line(
    reports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(reports), "--suite", "gird"]) == 2
    assert "no runs of that suite" in (err := capsys.readouterr().err) and "did you mean 'grid'" in err
    assert main(["history", str(tmp_path / "nowhere")]) == 3
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_history_reads_real_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    for index, width in enumerate((30, 40)):
        Image.new("L", (width, 10), 255).save(scans / f"s{index}.png")
        (scans / f"s{index}.gt.txt").write_text(f"noop {width}x10\n", encoding="utf-8")
    out = tmp_path / "reports"
    base = ["run", str(scans), "--plugin", "fake_noop", "--backend", "noop", "--serial", "--no-html"]
    for text in ("noop 30x10", None, "wrong"):
        option = ["--option", f"text={text}"] if text else []
        assert main([*base, *option, "--name", "tiny", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["history", str(out)]) == 0
    page = (out / "history-tiny.html").read_text(encoding="utf-8")
    assert _series_points(page, "noop: CER", "noop · none") == 3
    changes = page.split('<section id="runs">', 1)[1]
    assert changes.count("<li>noop options:") == 2  # two changes of options, both named


def test_sparkline_scales_between_lowest_and_highest() -> None:
    from harness.report.history_page import sparkline

    assert sparkline([0.1, None, 0.3, 0.2]) == "▁ █▅"
    assert sparkline([0.5, 0.5]) == "▁▁"


def test_an_engine_change_is_marked_only_on_that_engines_charts(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    for day, version in enumerate(("5.3", "5.3", "5.4"), start=1):
        jobs = [
            job(f"s{i}", t, t, backend=b) for i, t in enumerate(TRUTHS) for b in ("tesseract", "rapidocr")
        ]
        folder = write_run(reports / f"two-202611{day:02d}T000000Z", jobs, suite="two")
        info = json.loads((folder / "run.json").read_text())
        info["started"] = f"2026-11-{day:02d}T00:00:00+00:00"
        info["backends"]["tesseract"]["version"] = version
        (folder / "run.json").write_text(json.dumps(info))
    assert main(["history", str(reports)]) == 0
    page = (reports / "history-two.html").read_text(encoding="utf-8")

    def marks(title: str) -> int:
        return page.split(f"<h3>{title}</h3>", 1)[1].split("</figure>", 1)[0].count('<g class="change">')

    assert marks("tesseract: CER") == 1 and marks("rapidocr: CER") == 0
