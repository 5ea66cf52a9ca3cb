"""A generated corpus of 30+ kinds of bad input through `datasets check`, `run` and `extract`.

Each kind must give a clear error naming its file (a problem in `check`, a row
in `run`, a line on stderr in `extract`), the good samples must still be read,
nothing may hang or print a traceback, and nothing from outside the dataset
(the secrets links point at) may appear in any output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import missing_requirement
from hostile_corpus import GOOD, SECRET_TEXT, SECRET_WORD, UNDECODABLE_NAME, Kind, make_corpus

from harness.hashing import file_sha256
from harness.thumbnails import thumbnail_name

CLI = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]


def _thumbnail_src(path: Path) -> str:
    """How report.html refers to an image's thumbnail (beside it, named by content)."""
    return f"thumbnails/{thumbnail_name(file_sha256(path), 0)}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Kind]]:
    from harness.plugins import get_registry

    backend_class = get_registry().backend("tesseract")
    if not backend_class.availability().ok:
        missing_requirement(f"tesseract is not usable here: {backend_class.availability().reason}")
    base = tmp_path_factory.mktemp("hostile")
    kinds = make_corpus(base / "data", base / "outside")
    return base, kinds


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A child process: a FIFO or /dev/zero that hung it would fail the test instead of the suite.
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=600
    )


def _shown(name: str) -> str:
    """A file name as outputs show it (undecodable bytes escaped)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def test_the_corpus_has_at_least_30_kinds(corpus: tuple[Path, list[Kind]]) -> None:
    _, kinds = corpus
    assert len({kind.name for kind in kinds}) >= 30


def test_datasets_check_names_every_bad_file(corpus: tuple[Path, list[Kind]]) -> None:
    base, kinds = corpus
    result = _cli("datasets", "check", "data", "--json", cwd=base)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    for kind in (kind for kind in kinds if kind.check):
        named = [p for p in errors if Path(p["file"]).name == _shown(kind.file)]
        assert named, f"{kind.name}: no error names {kind.file}"
        assert any(kind.fragment.lower() in p["message"].lower() for p in named), (kind.name, named)
    for stem in GOOD:
        assert not [p for p in report["problems"] if Path(p["file"]).stem == stem]
    assert SECRET_TEXT not in result.stdout


def test_run_gives_each_bad_file_a_row_and_reads_the_rest(corpus: tuple[Path, list[Kind]]) -> None:
    base, kinds = corpus
    out = base / "reports"
    result = _cli("run", "data", "--backend", "tesseract", "--jobs", "2", "--out", str(out), cwd=base)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    run_dir = (out / "latest").resolve()
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    by_image: dict[str, list[dict]] = {}
    for record in records:
        by_image.setdefault(Path(record["image"]).name, []).append(record)
    for kind in kinds:
        rows = by_image.get(_shown(kind.image or kind.file), [])
        failed = [row for row in rows if row["status"] == "error"]
        assert failed, f"{kind.name}: no failed row for {kind.image or kind.file}"
        assert any(
            _shown(kind.file) in row["error_message"]
            and kind.fragment.lower() in row["error_message"].lower()
            for row in failed
        ), (kind.name, [row["error_message"] for row in failed])
    for stem, text in GOOD.items():
        (row,) = by_image[f"{stem}.png"]
        assert row["status"] == "ok" and text in row["text"]
    # Readable pages of a file with one bad page are read; an animated WebP is one page.
    pages = {row["page"]: row["status"] for row in by_image["corrupt_page2.tif"]}
    assert pages == {0: "ok", 1: "error", 2: "ok"}
    pages = {row["page"]: row["status"] for row in by_image["bomb_page2.tif"]}
    assert pages == {0: "ok", 1: "error", 2: "ok"}
    assert [row["page"] for row in by_image["animated.webp"]] == [0]
    assert not [row for row in records if row["error_type"] == "EngineError" and "wide" not in row["image"]]
    # Nothing from outside the dataset reaches any output.
    assert (run_dir / "report.html").is_file()
    secret_thumbnail = _thumbnail_src(base / "outside" / "secret.png")
    for path in run_dir.iterdir():
        if path.is_file():
            content = path.read_text(encoding="utf-8")
            assert SECRET_TEXT not in content and SECRET_WORD not in content, path.name
            assert secret_thumbnail not in content, path.name


# Pages past the default limit but under extract's own guard are shrunk as they load, with a note.
SHRUNK_BY_EXTRACT = {"bomb.png", "bomb_page2.tif"}


def test_extract_reports_each_bad_file_and_reads_the_others(corpus: tuple[Path, list[Kind]]) -> None:
    base, kinds = corpus
    undecodable = os.fsdecode(UNDECODABLE_NAME)
    files = [kind.file for kind in kinds if kind.extract] + [f"{stem}.png" for stem in GOOD]
    files += ["animated.webp", undecodable]
    result = _cli(
        "extract", "--backend", "tesseract", "--json", *[f"data/{name}" for name in files], cwd=base
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    document = {Path(entry["file"]).name: entry for entry in json.loads(result.stdout)}
    for kind in kinds:
        if not kind.extract or kind.file == "leak.png":  # a file named on the command line is read
            continue
        entry = document[_shown(kind.file)]
        if kind.file in SHRUNK_BY_EXTRACT:
            assert entry["error"] is None and f"data/{kind.file} page" in result.stderr, kind.name
            continue
        # A file that cannot be read at all has its error; one with a bad page keeps its other pages.
        errors = [entry["error"]] if entry["error"] else [page["error"] for page in entry["pages"]]
        errors = [error for error in errors if error]
        assert errors, kind.name
        assert any(
            kind.fragment.lower() in error["message"].lower() or kind.file in error["message"]
            for error in errors
        ), (kind.name, errors)
    for stem, text in GOOD.items():
        assert text in document[f"{stem}.png"]["pages"][0]["text"]
    assert "Hello" in document[_shown(undecodable)]["pages"][0]["text"]  # read, and named in valid UTF-8
    assert len(document["animated.webp"]["pages"]) == 1  # one page, as in run
    corrupt = document["corrupt_page2.tif"]["pages"]
    assert document["corrupt_page2.tif"]["error"] is None
    assert [bool(page["text"]) for page in corrupt] == [True, False, True]  # the readable pages are kept
    assert [page["error"] is not None for page in corrupt] == [False, True, False]
    assert "page 2 of 3" in corrupt[1]["error"]["message"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("ocr-harness: error:")]
    assert len(errors) >= len([kind for kind in kinds if kind.extract]) - 2 - len(SHRUNK_BY_EXTRACT)
