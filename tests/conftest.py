"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DEV = REPO_ROOT.parent / "shared" / "datasets" / "real-dev"


@pytest.fixture(scope="session")
def real_dev() -> Path:
    """The real-dev scans with ground truth (kept beside the repository, not in it)."""
    if not (REAL_DEV / "MANIFEST.tsv").is_file():
        pytest.skip(f"real-dev dataset not found at {REAL_DEV} (CI keeps it beside the repository)")
    return REAL_DEV
