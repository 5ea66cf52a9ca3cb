"""I/O errors are one line naming the path and the cause, with a non-zero exit; finished rows are kept.

Full and read-only disks are real: small tmpfs mounts (the tests run as root in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO_ROOT, missing_requirement
from PIL import Image

OUTPUT_ERROR = 5
CLI = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "tests" / "plugins")}
    return subprocess.run(
        [*CLI, "--plugin", "fake_noop", *map(str, args)], capture_output=True, text=True, env=env, timeout=600
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ocr-harness: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for index in range(40):
        Image.new("L", (40 + index, 20), 255).save(data / f"p{index:02d}.png")
        (data / f"p{index:02d}.gt.txt").write_text("x" * 2000, encoding="utf-8")
    return data


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[callable]:
    mounted: list[Path] = []

    def make(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
        )
        if result.returncode != 0:
            missing_requirement(f"cannot mount a tmpfs here (needs root): {result.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def _records(run_dir: Path) -> list[dict]:
    from harness.store import read_results

    return read_results(run_dir / "results.jsonl")  # a line torn by the full disk is skipped


def test_out_that_is_a_file(dataset: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way", encoding="utf-8")
    result = _cli("run", dataset, "--backend", "noop", "--serial", "--out", blocker)
    assert result.returncode == OUTPUT_ERROR
    _one_line_error(result, str(blocker), "is a file, not a folder")


def test_read_only_out(dataset: Path, mount) -> None:
    read_only = mount("ro", "ro,size=64k")
    result = _cli("run", dataset, "--backend", "noop", "--serial", "--out", read_only / "reports")
    assert result.returncode == OUTPUT_ERROR
    _one_line_error(result, str(read_only / "reports"), "Read-only file system")


def test_a_disk_full_during_jobs_keeps_finished_rows_and_resume_completes(dataset: Path, mount) -> None:
    small = mount("small", "size=150k")
    result = _cli("run", dataset, "--backend", "noop", "--jobs", "2", "--out", small)
    assert result.returncode == OUTPUT_ERROR
    _one_line_error(result, "results.jsonl", "No space left on device")
    (run_dir,) = [path for path in small.iterdir() if path.is_dir() and not path.is_symlink()]
    kept = _records(run_dir)
    assert 0 < len(kept) < 40
    subprocess.run(["mount", "-o", "remount,size=20m", str(small)], check=True)
    result = _cli("run", dataset, "--backend", "noop", "--jobs", "2", "--resume", run_dir)
    assert result.returncode == 0, result.stderr
    records = _records(run_dir)
    assert sorted(record["sample_id"] for record in records) == [f"p{index:02d}" for index in range(40)]
    assert (run_dir / "report.html").is_file()


def test_a_disk_full_while_reports_are_written(dataset: Path, mount) -> None:
    disk = mount("disk", "size=2m")
    assert _cli("run", dataset, "--backend", "noop", "--serial", "--out", disk, "--no-html").returncode == 0
    run_dir = (disk / "latest").resolve()
    for name in ("samples.csv", "summary.csv", "summary.md"):
        (run_dir / name).unlink()
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * max(0, free - 4096))
    result = _cli("report", run_dir)
    assert result.returncode == OUTPUT_ERROR
    _one_line_error(result, "No space left on device", "cannot be written")
    assert not [path.name for path in run_dir.iterdir() if path.name.endswith((".tmp", ".partial"))]
