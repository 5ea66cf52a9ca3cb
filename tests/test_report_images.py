"""report.html shows only images of accepted samples, found inside their dataset's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from harness.cli import main
from harness.hashing import file_sha256
from harness.thumbnails import thumbnail_name

pytest.importorskip("harness.report.html")


def _shown(path: Path) -> str:
    """How report.html refers to an image's thumbnail (beside it, named by content)."""
    return f"thumbnails/{thumbnail_name(file_sha256(path), 0)}"


def _page(path: Path, shade: int) -> Path:
    Image.new("L", (60, 30), shade).save(path)
    return path


def _img_sources(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('src="')[1:]]


def test_a_refused_image_is_never_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    secret = _page(tmp_path / "elsewhere.png", 7)
    _page(data / "inside.png", 200)
    rows = [
        {"image": "inside.png", "ground_truth": "noop 60x30"},
        {"image": "../elsewhere.png", "ground_truth": "noop 60x30"},
    ]
    (data / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "reports"
    code = main(["--plugin", "fake_noop", "run", str(data / "rows.jsonl"), "--backend", "noop", "--serial",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    html = (out / "latest" / "report.html").read_text(encoding="utf-8")
    sources = _img_sources(html)
    assert _shown(data / "inside.png") in sources
    assert _shown(secret) not in html
    assert "outside the dataset folder" in html  # the row says why


def test_report_never_follows_paths_out_of_the_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Someone else's run folder: results.jsonl names an absolute path and a path climbing out.
    data = tmp_path / "data"
    data.mkdir()
    _page(data / "inside.png", 200)
    (data / "inside.gt.txt").write_text("noop 60x30", encoding="utf-8")
    out = tmp_path / "reports"
    assert main(["--plugin", "fake_noop", "run", str(data), "--backend", "noop", "--serial",
                 "--out", str(out)]) == 0  # fmt: skip
    run_dir = (out / "latest").resolve()
    secret = _page(tmp_path / "secret.png", 9)
    (tmp_path / "data-twin").mkdir()
    sibling = _page(tmp_path / "data-twin" / "x.png", 11)  # a folder whose name starts like the dataset's
    record = json.loads((run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
    forged = []
    for index, image in enumerate((str(secret), "../secret.png", str(sibling))):
        forged.append({**record, "sample_id": f"forged{index}", "image": image, "key": f"k{index}"})
    with open(run_dir / "results.jsonl", "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(row) + "\n" for row in forged))
    assert main(["report", str(run_dir)]) == 0
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert _shown(data / "inside.png") in html
    for image in (secret, sibling):
        assert _shown(image) not in html
    assert html.count("image not found inside the dataset folder") == 3
