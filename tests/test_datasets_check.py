"""``ocr-harness datasets check`` and ``info``: every problem at once, each with its file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from harness.cli import main
from harness.datasets import dataset_fingerprint, load_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "datasets" / "sample"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def png(path: Path, size: tuple[int, int] = (60, 30)) -> Path:
    Image.new("L", size, 255).save(path)
    return path


@pytest.fixture
def broken_folder(tmp_path: Path) -> Path:
    """A folder holding one sample of each kind of bad input, and one good sample."""
    root = tmp_path / "broken"
    root.mkdir()
    png(root / "good.png")
    (root / "good.gt.txt").write_text("fine\n", encoding="utf-8")
    # truncated: a real PNG cut in half
    data = png(root / "truncated.png", (200, 200)).read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) // 2])
    (root / "truncated.gt.txt").write_text("x\n", encoding="utf-8")
    (root / "notimage.png").write_text("this is text, not a PNG", encoding="utf-8")
    (root / "notimage.gt.txt").write_text("x\n", encoding="utf-8")
    (root / "empty.png").write_bytes(b"")
    (root / "empty.gt.txt").write_text("x\n", encoding="utf-8")
    png(root / "latin1.png")
    (root / "latin1.gt.txt").write_bytes(b"caf\xe9 au lait\n")
    png(root / "blank.png")
    (root / "blank.gt.txt").write_text("  \n", encoding="utf-8")
    png(root / "nogt.png")
    png(root / "twin.png")
    png(root / "twin.jpg")  # same stem: the same sample id twice
    (root / "twin.gt.txt").write_text("twin\n", encoding="utf-8")
    png(root / "huge.png", (400, 300))
    (root / "huge.gt.txt").write_text("big\n", encoding="utf-8")
    png(root / "badtags.png")
    (root / "badtags.gt.txt").write_text("x\n", encoding="utf-8")
    (root / "badtags.tags.json").write_text("{broken", encoding="utf-8")
    return root


def test_check_lists_every_problem_with_its_file_and_fails(
    broken_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(
        capsys, "datasets", "check", str(broken_folder), "--max-image-pixels", "100000", "--json"
    )

    assert code == 1
    report = json.loads(out)
    found = {(p["severity"], Path(p["file"]).name): p["message"] for p in report["problems"]}
    expected = {
        ("error", "truncated.png"): "damaged or truncated",
        ("error", "notimage.png"): "not an image",
        ("error", "empty.png"): "empty",
        ("error", "latin1.gt.txt"): "byte 0xe9 at offset 3",
        ("warning", "blank.gt.txt"): "ground truth is empty",
        ("warning", "nogt.png"): "no ground truth",
        ("error", "twin.png"): "duplicate sample id 'twin'",
        ("error", "huge.png"): "larger than the limit of 100,000 pixels",
        ("error", "badtags.tags.json"): "not valid UTF-8 JSON",
    }
    for (severity, name), fragment in expected.items():
        assert (severity, name) in found, f"no {severity} reported for {name}: {sorted(found)}"
        assert fragment in found[(severity, name)]
        assert name in found[(severity, name)]  # the message names the file too
    assert not any(name.startswith("good") for _, name in found)
    assert report["errors"] == 7 and report["warnings"] == 2 and report["ok"] is False


def test_check_human_output_names_each_file_and_the_verdict(
    broken_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "datasets", "check", str(broken_folder))
    assert code == 1
    for name in (
        "truncated.png",
        "notimage.png",
        "empty.png",
        "latin1.gt.txt",
        "twin.png",
        "badtags.tags.json",
    ):
        assert any(line.startswith("error: ") and name in line for line in out.splitlines()), name
    assert out.splitlines()[-1].startswith("FAILED: broken (folder, 11 samples): 6 errors, 2 warnings")


def test_check_manifest_missing_image_and_outside_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "set"
    root.mkdir()
    png(tmp_path / "outside.png")
    png(root / "ok.png")
    (root / "rows.jsonl").write_text(
        '{"image": "ok.png", "ground_truth": "ok"}\n'
        '{"image": "gone.png", "ground_truth": "x"}\n'
        '{"image": "../outside.png", "ground_truth": "x"}\n',
        encoding="utf-8",
    )
    code, out = run_cli(capsys, "datasets", "check", str(root / "rows.jsonl"), "--json")
    problems = json.loads(out)["problems"]
    assert code == 1
    assert [(Path(p["file"]).name, p["severity"]) for p in problems] == [
        ("gone.png", "error"),
        ("outside.png", "error"),
    ]
    assert "no such file" in problems[0]["message"]
    assert (
        "outside the dataset folder" in problems[1]["message"]
        and "rows.jsonl line 3" in problems[1]["message"]
    )

    allowed, _ = run_cli(
        capsys, "datasets", "check", str(root / "rows.jsonl"), "--allow-outside-root", "--json"
    )
    assert allowed == 1  # gone.png is still missing


def test_warnings_pass_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png(tmp_path / "nogt.png")
    assert run_cli(capsys, "datasets", "check", str(tmp_path))[0] == 0
    assert run_cli(capsys, "datasets", "check", str(tmp_path), "--strict")[0] == 1


def test_check_of_a_missing_dataset_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["datasets", "check", str(tmp_path / "nowhere")])
    assert code == 3
    assert "nowhere: no such file or folder" in capsys.readouterr().err


def test_bundled_sample_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "datasets", "check", str(SAMPLE), "--strict", "--json")
    assert code == 0, out
    assert json.loads(out)["problems"] == []


def test_info_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "datasets", "info", str(SAMPLE), "--json")
    facts = json.loads(out)
    assert code == 0
    dataset = load_dataset(SAMPLE)
    assert facts["samples"] == len(dataset.samples) == 15
    assert facts["languages"] == {"en": 5, "fr": 5, "vi": 5}
    assert facts["with_ground_truth"] == 15
    assert 150 <= facts["dpi"]["min"] <= facts["dpi"]["median"] <= facts["dpi"]["max"] <= 200
    assert facts["dpi"]["missing"] == 0
    assert "ư" in facts["non_ascii_characters"] and "é" in facts["non_ascii_characters"]
    assert facts["fingerprint"] == dataset_fingerprint(dataset)
    assert facts["metadata"]["generator"]["command"].startswith("ocr-harness datasets synth datasets/sample")

    code, text = run_cli(capsys, "datasets", "info", str(SAMPLE))
    assert code == 0
    assert f"sha256:{facts['fingerprint']}" in text and "en 5, fr 5, vi 5" in text


def test_info_counts_real_dev_pages_dpi_and_languages_from_stems(
    real_dev: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "datasets", "info", str(real_dev), "--language-from-stem", "--json")
    facts = json.loads(out)
    assert code == 0
    assert facts["samples"] == 61
    assert facts["languages"] == {"de": 18, "en": 29, "fr": 14}
    assert facts["dpi"]["min"] == 1 and facts["dpi"]["max"] == 600  # the bogus 1-dpi tags show up
    assert facts["image_height"]["max"] == 4660
