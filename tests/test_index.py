"""The full-text index: real SQLite (FTS5), real Tesseract on real scans."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from harness.api import Extractor
from harness.cli import main
from harness.errors import ConfigError
from harness.index import Index
from tests.conftest import missing_requirement

#: Real-dev lines, each with a word no other of them has.
LINES = {
    "line_en_jebb1896_0136_18": "angry",  # that he is under the spell of some angry
    "line_en_uw3_0033_010060": "heating",  # duction heating time. Using the as-rolled steel, induc-
    "line_en_uw3_0317_010133": "summit",  # vised to convene a ``CPR summit.''
}


@pytest.fixture(scope="module")
def tesseract_ok() -> None:
    from harness.plugins import get_registry

    availability = get_registry().backend("tesseract").availability()
    if not availability.ok:
        missing_requirement(f"tesseract is not usable here: {availability.reason}")


@pytest.fixture
def scans(real_dev: Path, tmp_path: Path, tesseract_ok: None) -> Path:
    folder = tmp_path / "scans"
    (folder / "more").mkdir(parents=True)
    for number, stem in enumerate(LINES):
        target = folder / ("more" if number == 2 else "") / f"{stem}.png"
        shutil.copy(real_dev / f"{stem}.png", target)
    (folder / "notes.tif").write_text("not an image at all\n")
    (folder / ".hidden.png").write_bytes(b"skipped: hidden")
    (folder / "readme.txt").write_text("skipped: not an image suffix")
    return folder


async def test_the_file_holding_a_word_ranks_first_with_its_line_box(scans: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    async with await Index.open(db) as index, Extractor(backend="tesseract", concurrency=2) as extractor:
        report = await index.add([scans], extractor)
        assert len(report.read) == 3
        assert [error.path for error in report.failed] == [str(scans / "notes.tif")]
        for stem, word in LINES.items():
            hits = await index.search(word)
            assert hits, f"no hit for {word!r}"
            best = hits[0]
            assert Path(best.path).name == f"{stem}.png"
            assert Path(best.path).is_absolute()
            assert best.page == 1
            marked = [best.snippet[start:end].lower() for start, end in best.highlights]
            assert marked == [word]
            assert best.line is not None and word in best.line.text.lower()
            left, top, right, bottom = best.line.box or (0, 0, 0, 0)
            assert right > left and bottom > top
            assert 0 < (best.line.confidence or 0) <= 1


async def test_fts5_syntax_phrases_prefixes_and_boolean_operators(scans: Path, tmp_path: Path) -> None:
    async with await Index.open(tmp_path / "i.sqlite") as index, Extractor(backend="tesseract") as extractor:
        await index.add([scans], extractor)
        name = lambda hits: sorted(Path(hit.path).stem for hit in hits)  # noqa: E731
        assert name(await index.search('"spell of some"')) == ["line_en_jebb1896_0136_18"]
        assert name(await index.search('"some spell"')) == []
        assert name(await index.search("heat*")) == ["line_en_uw3_0033_010060"]
        assert name(await index.search("angry OR summit")) == [
            "line_en_jebb1896_0136_18",
            "line_en_uw3_0317_010133",
        ]
        assert name(await index.search("angry NOT spell")) == []
        assert len(await index.search("angry OR summit OR heating", limit=2)) == 2
        with pytest.raises(ConfigError, match="cannot search for"):
            await index.search('"unbalanced')
        with pytest.raises(ConfigError, match="empty"):
            await index.search("  ")


async def test_reindexing_unchanged_files_extracts_nothing(scans: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    async with await Index.open(db) as index, Extractor(backend="tesseract") as extractor:
        await index.add([scans], extractor)
    async with await Index.open(db) as index, Extractor(backend="tesseract") as extractor:
        report = await index.add([scans], extractor)
        # No worker process was ever started: nothing was read again.
        assert extractor.worker_pids() == []
        assert extractor._executor is None
    assert report.read == [] and report.failed == [] and report.pruned == []
    assert len(report.unchanged) == 4  # three scans and the recorded error


async def test_changed_files_are_read_again_and_removed_ones_pruned(
    scans: Path, tmp_path: Path, real_dev: Path
) -> None:
    db = tmp_path / "index.sqlite"
    changed = scans / "line_en_jebb1896_0136_18.png"
    removed = scans / "more" / "line_en_uw3_0317_010133.png"
    async with await Index.open(db) as index, Extractor(backend="tesseract") as extractor:
        await index.add([scans], extractor)
        # Same name, other content: "scene between Hector and Andromachè:"
        shutil.copy(real_dev / "line_en_jebb1896_0177_40.png", changed)
        removed.unlink()
        report = await index.add([scans], extractor)
        assert report.read == [str(changed)]
        assert report.pruned == [str(removed)]
        assert await index.search("angry") == []
        assert await index.search("summit") == []
        assert [hit.path for hit in await index.search("hector")] == [str(changed)]
        assert (await index.stats())["files"] == 3
    # The FTS tables hold exactly the rows their content tables hold.
    with sqlite3.connect(db) as connection:
        for table in ("pages", "lines"):
            connection.execute(f"INSERT INTO {table}_fts ({table}_fts) VALUES ('integrity-check')")


async def test_an_interrupted_index_keeps_every_file_that_finished(scans: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    finished: list[str] = []

    async def interrupted() -> None:
        async with await Index.open(db) as index, Extractor(backend="tesseract", concurrency=1) as extractor:
            task = asyncio.current_task()

            def done(path: str, error: object) -> None:
                finished.append(path)
                assert task is not None
                task.cancel()  # as Ctrl-C does: the first file is in, the others are not

            await index.add([scans], extractor, on_file_done=done)

    with pytest.raises(asyncio.CancelledError):
        await interrupted()
    assert len(finished) == 1
    async with await Index.open(db) as index, Extractor(backend="tesseract") as extractor:
        assert (await index.stats())["files"] == 1
        report = await index.add([scans], extractor)
    assert report.unchanged == finished
    assert len(report.read) + len(report.failed) == 3


def test_cli_index_errors_and_search(scans: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.sqlite")
    # One file could not be read: recorded, listed, and the exit code says so.
    assert main(["index", str(scans), "--db", db, "--backend", "tesseract", "--jobs", "2"]) == 3
    err = capsys.readouterr().err
    assert "3 read, 0 unchanged, 1 failed" in err and "notes.tif" in err
    assert main(["index", str(scans), "--db", db, "--backend", "tesseract"]) == 0
    assert "0 read, 4 unchanged" in capsys.readouterr().err
    assert main(["index", "--errors", "--db", db]) == 0
    listed = capsys.readouterr().out.strip().splitlines()
    assert len(listed) == 1 and listed[0].startswith(f"{scans / 'notes.tif'}\tImageReadError\t")
    assert "not an image" in listed[0]

    assert main(["search", db, "summit", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [Path(hit["path"]).name for hit in hits] == ["line_en_uw3_0317_010133.png"]
    assert hits[0]["page"] == 1 and len(hits[0]["line"]["box"]) == 4
    assert main(["search", db, "angry"]) == 0
    out = capsys.readouterr().out
    assert str(scans / "line_en_jebb1896_0136_18.png") in out and "[angry]" in out and "box " in out
    assert main(["search", db, "zebra"]) == 1
    assert "nothing" in capsys.readouterr().err


def test_search_needs_an_existing_index_and_never_creates_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.sqlite"
    assert main(["search", str(missing), "word"]) == 2
    assert "no such index" in capsys.readouterr().err
    assert not missing.exists()
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text)")
    assert main(["search", str(other), "word"]) == 2
    assert "not an ocr-harness index" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "nowhere"), "--db", str(tmp_path / "x.sqlite")]) == 3
    assert "nowhere: no such file or folder" in capsys.readouterr().err


async def test_pdf_pages_are_indexed_with_their_numbers(
    real_dev: Path, tmp_path: Path, tesseract_ok: None
) -> None:
    from PIL import Image

    pages = [Image.open(real_dev / f"{stem}.png").convert("L") for stem in LINES]
    scan = tmp_path / "bundle.pdf"
    pages[0].save(scan, save_all=True, append_images=pages[1:], resolution=300)
    async with await Index.open(tmp_path / "i.sqlite") as index, Extractor(backend="tesseract") as extractor:
        report = await index.add([tmp_path], extractor)
        assert report.read == [str(scan)]
        for number, word in enumerate(LINES.values(), start=1):
            [hit] = await index.search(word)
            assert (hit.path, hit.page) == (str(scan), number)


async def test_a_link_out_of_the_folder_and_a_fifo_are_recorded_not_read(
    real_dev: Path, tmp_path: Path, tesseract_ok: None
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "elsewhere.png").symlink_to(real_dev / f"{next(iter(LINES))}.png")
    os.mkfifo(folder / "pipe.png")  # opening it to hash it would wait forever
    async with await Index.open(tmp_path / "i.sqlite") as index, Extractor(backend="tesseract") as extractor:
        report = await index.add([folder], extractor)
        assert extractor.worker_pids() == []
        link, pipe = await index.errors()
    assert report.read == [] and len(report.failed) == 2
    assert link.path == str(folder / "elsewhere.png") and link.error_type == "InputError"
    assert "outside the files and folders being indexed" in link.message
    assert pipe.path == str(folder / "pipe.png") and "not a regular file" in pipe.message
