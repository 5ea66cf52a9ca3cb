"""Fixtures for the benchmarks (run with `make bench` or `pytest benchmarks --benchmark-only`)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DEV = REPO_ROOT.parent / "shared" / "datasets" / "real-dev"
TEST_PLUGINS = REPO_ROOT / "tests" / "plugins"
#: Test helpers the benchmarks share (service_server: the service in a process of its own).
TEST_HELPERS = REPO_ROOT / "tests"

# The fake backends (noop, ...) live with the tests; spawned workers inherit sys.path.
for folder in (TEST_PLUGINS, TEST_HELPERS):
    if str(folder) not in sys.path:
        sys.path.append(str(folder))


@pytest.fixture(scope="session")
def real_dev() -> Path:
    """The real-dev scans with ground truth (kept beside the repository, not in it)."""
    if not (REAL_DEV / "MANIFEST.tsv").is_file():
        pytest.skip(f"real-dev dataset not found at {REAL_DEV} (CI keeps it beside the repository)")
    return REAL_DEV


@pytest.fixture
def english_lines(real_dev: Path, tmp_path: Path) -> list[Path]:
    """The real-dev English line scans, copied into ``tmp_path / "lines"`` (a folder of their own)."""
    folder = tmp_path / "lines"
    folder.mkdir()
    for image in sorted(real_dev.glob("line_en_*.png")):
        shutil.copy(image, folder)
    return sorted(folder.glob("*.png"))


# Benchmarks measure: they never reuse outcomes from, or fill, the user's result cache.
os.environ["OCR_HARNESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="ocr-harness-bench-cache-")
