"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DEV = REPO_ROOT.parent / "shared" / "datasets" / "real-dev"


def missing_requirement(reason: str) -> NoReturn:
    """Skip a test whose engine, browser or data is not here; in CI, where all must be, fail it."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must have this: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_dev() -> Path:
    """The real-dev scans with ground truth (kept beside the repository, not in it)."""
    if not (REAL_DEV / "MANIFEST.tsv").is_file():
        missing_requirement(f"real-dev dataset not found at {REAL_DEV} (CI keeps it beside the repository)")
    return REAL_DEV


@pytest.fixture(scope="session")
def preprocessing_runs(real_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two real Tesseract runs over four real-dev lines that differ only by a preprocessing step.

    Run A reads the scans as they are; run B downscales them first. Each run folder
    has its report.html, written by the runner.
    """
    import shutil

    from harness.cli import main

    base = tmp_path_factory.mktemp("preprocessing-runs")
    scans = base / "scans"
    scans.mkdir()
    for stem in ("line_en_uw3_0033_010060", "line_en_uw3_0317_010133", "line_en_jebb1896_0136_18",
                 "line_en_campbell1881_0063_28"):  # fmt: skip
        for path in real_dev.glob(f"{stem}.*"):
            shutil.copy(path, scans / path.name)
    folders = []
    for name, pipeline in (("plain", "none"), ("downscaled", "downscale(max_side=500)")):
        out = base / name
        code = main(["run", str(scans), "--backend", "tesseract", "--pipeline", pipeline, "--jobs", "1",
                     "--out", str(out), "--name", name])  # fmt: skip
        assert code == 0, f"ocr-harness run failed for pipeline {pipeline}"
        folders.append((out / "latest").resolve())
    return folders[0], folders[1]


# Runs in tests never read or fill the user's result cache: one folder for the session (fixtures
# and subprocesses inherit it), and a fresh one for each test, so a test never reuses another's outcomes.
os.environ["OCR_HARNESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="ocr-harness-test-cache-")


@pytest.fixture(autouse=True)
def _fresh_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_HARNESS_CACHE_DIR", str(tmp_path_factory.mktemp("result-cache")))
