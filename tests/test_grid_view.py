"""report.html's grid view: a heatmap cell per pipeline and engine, no-op steps named, twins grouped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from harness.cli import main
from harness.pipeline import parse_pipeline
from harness.report.grid import effective_pipeline, unchanged_steps


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grid")
    scans = root / "scans"
    scans.mkdir()
    for index, size in enumerate(((300, 200), (320, 180), (280, 210))):
        image = Image.new("L", size, 235)
        image.paste(40, (20, 20, 120, 60))  # something for binarisation to change
        image.save(scans / f"s{index}.png")
        (scans / f"s{index}.gt.txt").write_text(f"noop {size[0]}x{size[1]}\n", encoding="utf-8")
    suite = root / "grid.toml"
    suite.write_text(
        f"""
name = "tiny-grid"
[[datasets]]
path = "{scans}"
[[backends]]
name = "noop"
[[backends]]
name = "noop"
label = "fixed"
options = {{ text = "noop 300x200" }}
[grid]
"downscale.max_side" = [100, 400, 800]
"binarize.method" = ["none", "otsu"]
[run]
serial = true
""",
        encoding="utf-8",
    )
    assert main(["run", str(suite), "--plugin", "fake_noop", "--out", str(root / "reports")]) == 0
    return (root / "reports" / "latest").resolve()


def _section(html: str) -> str:
    start = html.index('<section id="grid">')
    return html[start : html.index("</section>", start)]


def test_grid_section_has_a_cell_per_pipeline_and_engine(grid_run: Path) -> None:
    html = (grid_run / "report.html").read_text(encoding="utf-8")
    assert '<a href="#grid">Grid</a>' in html
    grid = _section(html)
    for backend in ("noop", "fixed"):
        for measure in ("cer", "speed"):
            table = grid[grid.index(f'data-backend="{backend}" data-measure="{measure}"') :]
            table = table[: table.index("</table>")]
            pipelines = re.findall(r'data-pipeline="([^"]+)"', table)
            assert len(pipelines) == 6 and len(set(pipelines)) == 6
    # Rows and columns are the grid's parameters, in the suite's order.
    assert "<code>downscale.max_side</code>" in grid and "<code>binarize.method</code>" in grid
    # Hovering a cell names its pipeline, then CER, interval and n.
    assert 'title="downscale(max_side=100)|binarize(method=otsu)&#10;CER' in grid
    assert "n=3" in grid


def test_steps_that_changed_nothing_are_named_and_their_pipelines_grouped(grid_run: Path) -> None:
    grid = _section((grid_run / "report.html").read_text(encoding="utf-8"))
    # Every scan is under 400 pixels: max_side=400 and 800 leave it as it is, so do binarize(method=none).
    assert "downscale(max_side=400) and downscale(max_side=800) changed no image" in grid
    assert "binarize(method=none) changed no image" in grid
    assert "downscale(max_side=100) changed" not in grid and "downscale(max_side=100) and" not in grid
    listed = grid[grid.index("Pipelines that gave the engine the same images") :]
    assert (
        "<code>downscale(max_side=400)|binarize(method=otsu)</code> = "
        "<code>downscale(max_side=800)|binarize(method=otsu)</code>"
    ) in listed
    assert listed.count("<li>") == 4  # two sets of twins for each of the two engines


def test_best_cell_is_marked_once_per_engine_on_the_same_samples(grid_run: Path) -> None:
    grid = _section((grid_run / "report.html").read_text(encoding="utf-8"))
    for backend in ("noop", "fixed"):
        table = grid[grid.index(f'data-backend="{backend}" data-measure="cer"') :]
        table = table[: table.index("</table>")]
        assert 1 <= table.count("best-cell") <= 6 and "★" in table


def test_unchanged_steps_hold_only_when_every_job_agrees() -> None:
    records = [
        {"status": "ok", "backend": "a", "pipeline": "x|y", "unchanged_steps": [0, 1]},
        {"status": "ok", "backend": "a", "pipeline": "x|y", "unchanged_steps": [1]},
        {"status": "error", "backend": "a", "pipeline": "x|y", "unchanged_steps": []},
        {"status": "ok", "backend": "b", "pipeline": "x|y"},  # an older run folder: nothing known
    ]
    assert unchanged_steps(records) == {("a", "x|y"): {1}}
    spec = parse_pipeline("downscale(max_side=1600)|binarize(method=otsu)")
    assert effective_pipeline(spec, {0}) == "binarize(method=otsu)"
    assert effective_pipeline(spec, {0, 1}) == "none"


def test_a_pipeline_this_version_cannot_read_keeps_its_full_label() -> None:
    from harness.report.grid import short_labels

    groups = [("t", "a((b"), ("t", "binarize(method=otsu)")]
    labels = short_labels(groups)
    assert labels == {("t", "a((b"): "t · a((b", ("t", "binarize(method=otsu)"): "t · binarize(method=otsu)"}
