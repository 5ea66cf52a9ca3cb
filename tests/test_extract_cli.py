"""``ocr-harness extract``: text or JSON out, every bad file reported, the others still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from harness.cli import main


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    files = {
        "small": tmp_path / "small.png",
        "wide": tmp_path / "wide.png",
        "two_pages": tmp_path / "two-pages.tif",
        "text": tmp_path / "notes.png",
        "missing": tmp_path / "missing.png",
    }
    Image.new("L", (30, 10), 255).save(files["small"])
    Image.new("RGB", (60, 10), "white").save(files["wide"])
    Image.new("L", (20, 20), 255).save(
        files["two_pages"], save_all=True, append_images=[Image.new("L", (40, 20), 255)]
    )
    files["text"].write_text("not an image\n")
    return files


def extract(*args: str | Path) -> list[str]:
    return ["--plugin", "fake_noop", "--plugin", "fake_hang", "extract", "--backend", "noop", *map(str, args)]


def test_one_file_prints_its_text_alone(
    pictures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(extract(pictures["small"])) == 0
    assert capsys.readouterr().out == "noop 30x10\n"


def test_several_files_get_a_header_each_and_pages_a_form_feed(
    pictures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(extract(pictures["small"], pictures["two_pages"])) == 0
    out = capsys.readouterr().out
    assert out == (
        f"==> {pictures['small']} <==\nnoop 30x10\n\n"
        f"==> {pictures['two_pages']} <==\nnoop 20x20\fnoop 40x20\n"
    )


def test_bad_files_are_reported_and_the_others_still_read(
    pictures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        extract("--json", pictures["missing"], pictures["small"], pictures["text"], pictures["two_pages"])
    )
    captured = capsys.readouterr()
    assert code == 3  # InputError
    document = json.loads(captured.out)
    assert [entry["file"] for entry in document] == [
        str(pictures[name]) for name in ("missing", "small", "text", "two_pages")
    ]
    assert [[page["text"] for page in entry["pages"]] for entry in document] == [
        [],
        ["noop 30x10"],
        [],
        ["noop 20x20", "noop 40x20"],
    ]
    assert document[3]["text"] == "noop 20x20\fnoop 40x20" and document[3]["truncated"] is False
    assert [(page["width"], page["height"]) for page in document[3]["pages"]] == [(20, 20), (40, 20)]
    assert document[0]["error"]["type"] == "ImageReadError"
    assert "no such file" in document[0]["error"]["message"]
    assert document[2]["error"]["type"] == "ImageReadError"
    assert document[1]["error"] is None and document[3]["error"] is None
    assert main(extract(pictures["missing"], pictures["small"], pictures["text"], pictures["two_pages"])) == 3
    assert capsys.readouterr().out == (
        f"==> {pictures['small']} <==\nnoop 30x10\n\n"
        f"==> {pictures['two_pages']} <==\nnoop 20x20\fnoop 40x20\n"
    )
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2
    assert str(pictures["missing"]) in errors[0] and str(pictures["text"]) in errors[1]


def test_backend_options_and_the_highest_exit_code(
    pictures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(extract("--option", "text=hello", pictures["small"])) == 0
    assert capsys.readouterr().out == "hello\n"
    # The same BACKEND.KEY=VALUE form `run` takes; values read as in pipeline notation.
    assert main(extract("--option", "noop.text='42'", pictures["small"])) == 0
    assert capsys.readouterr().out == "42\n"
    args = extract("--timeout", "1", pictures["missing"], pictures["small"])
    args[args.index("noop")] = "hang"
    code = main(args)
    captured = capsys.readouterr()
    assert code == 4  # JobTimeoutError (4) outranks ImageReadError (3)
    assert captured.out == "" and "timeout of 1 s" in captured.err
    assert str(pictures["small"]) in captured.err and str(pictures["missing"]) in captured.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--backend", "no-such-engine"], "unknown backend 'no-such-engine'"),
        (["--language", "xx"], "cannot read"),
        (["--preprocess", "no_such_step"], "unknown preprocessing step 'no_such_step'"),
        (["--option", "colour=blue"], "bad option for backend 'noop'"),
        (["--option", "novalue"], "cannot read backend option 'novalue'"),
    ],
)
def test_configuration_errors_stop_before_any_file_is_read(
    pictures: dict[str, Path], capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main([*extract(pictures["small"]), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert expected in captured.err


def test_max_image_pixels_is_the_decompression_bomb_limit(
    pictures: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(extract("--max-image-pixels", "100", pictures["small"])) == 3
    assert "larger than the limit of 100 pixels" in capsys.readouterr().err
    assert main(extract("--max-image-pixels", "300", pictures["small"])) == 0


def test_real_rapidocr_json(real_dev: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = real_dev / "line_en_uw3_0317_010133.png"
    assert main(["extract", "--json", "--jobs", "1", str(line)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document[0]["file"] == str(line) and document[0]["error"] is None
    assert "summit" in document[0]["pages"][0]["text"]
