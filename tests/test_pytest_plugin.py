from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

LINES = ("line_en_uw3_0033_010060", "line_en_jebb1896_0136_18", "line_en_campbell1881_0063_28")


@pytest.fixture
def scans(pytester: pytest.Pytester, real_dev: Path) -> Path:
    """Three real-dev line scans in a folder dataset inside the pytester project."""
    folder = pytester.path / "scans"
    folder.mkdir()
    for stem in LINES:
        for path in real_dev.glob(f"{stem}.*"):
            shutil.copy(path, folder / path.name)
    return folder


def test_user_tests_pass_under_the_threshold_and_fail_over_it(pytester: pytest.Pytester, scans: Path):
    pytester.makepyfile(
        test_ocr=f"""
        SCANS = {str(scans)!r}

        def test_cer_is_low_enough(ocr_harness_run):
            result = ocr_harness_run(SCANS, backend="tesseract", jobs=1)
            assert result.cer() < 0.5, result.describe()
            assert result.failed() == 0
            assert (result.path / "report.html").is_file()

        def test_cer_is_not_perfect(ocr_harness_run):
            result = ocr_harness_run(SCANS, backend="tesseract", jobs=1)  # the same run, reused
            result.assert_check(max_cer="0.01%")
        """
    )
    runs = pytester.path / "runs"
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", f"--ocr-harness-output={runs}")
    outcome.assert_outcomes(passed=1, failed=1)
    output = outcome.stdout.str()
    assert "OCR checks failed" in output and "tesseract · none: max_cer: CER" in output
    assert "> max 0.01%" in output
    # Both tests used one run: identical calls in a session share it.
    assert len([p for p in runs.iterdir() if p.is_dir() and not p.is_symlink()]) == 1


def test_result_helpers_read_the_run_folder(pytester: pytest.Pytester, scans: Path):
    pytester.makepyfile(
        test_helpers=f"""
        import pandas as pd
        import pytest

        def test_helpers(ocr_harness_run):
            result = ocr_harness_run({str(scans)!r}, backend="tesseract", jobs=1)
            summary = pd.read_csv(result.path / "summary.csv")
            assert result.cer("tesseract", "none") == pytest.approx(summary["micro_cer"][0])
            assert result.wer() == pytest.approx(summary["micro_wer"][0])
            assert result.pages_per_s() > 0
            assert len(result.samples) == 3
            with pytest.raises(LookupError, match="groups of this run"):
                result.cer("rapidocr")
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q").assert_outcomes(passed=1)


def test_loading_the_plugin_stays_light():
    # pytest imports the plugin in every test run of every project that installs ocr-harness.
    code = (
        "import sys, harness.pytest_plugin; "
        "heavy = ('pandas', 'numpy', 'PIL', 'onnxruntime', 'tesserocr', 'rapidocr', 'harness.runner'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
