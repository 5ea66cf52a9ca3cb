from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fixtures_runs import job, write_run

from harness.cli import main
from harness.errors import ConfigError
from harness.thresholds import parse_quantity

TRUTHS = [f"line {i}: the quick brown fox jumps over the lazy dog" for i in range(12)]


def _run(folder: Path, *, errors_every: int = 0, seconds: float = 1.0, backend: str = "tesseract",
         config: dict | None = None, truncated: bool = False) -> Path:  # fmt: skip
    jobs = []
    for index, truth in enumerate(TRUTHS):
        text = truth
        if errors_every and index % errors_every == 0:
            text = truth.replace("quick brown", "qu1ck brovvn")
        jobs.append(job(f"s{index}", truth, text, backend=backend, seconds=seconds, truncated=truncated))
    return write_run(folder, jobs, config=config)


def _check(*args: str) -> int:
    return main(["check", *map(str, args)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.05", 0.05), ("5%", 0.05), ("0.5pp", 0.005), (" 10 % ", 0.10), (0.2, 0.2), (1, 1.0), ("1e-3", 0.001)],
)
def test_quantities_and_their_units(text, expected):
    assert parse_quantity(text, key="k") == pytest.approx(expected)


@pytest.mark.parametrize("text", ["abc", "5 percent", "-1%", True, "nan"])
def test_bad_quantities_name_the_key(text):
    with pytest.raises(ConfigError, match="max_cer"):
        parse_quantity(text, key="max_cer")


def test_threshold_crossed_exits_1_naming_the_check_and_numbers(tmp_path, capsys):
    run = _run(tmp_path / "run", errors_every=2)
    assert _check(run, "--max-cer", "1%", "--min-pages-per-s", "0.5") == 1
    out = capsys.readouterr().out
    assert "FAIL  tesseract · none  max_cer: CER 2.93% [1.46%, 4.40%]" in out and "> max 1.00%" in out
    assert "PASS  tesseract · none  min_pages_per_s: 1 pages/s ≥ min 0.5" in out
    assert "check FAILED: 1 of 2 checks failed" in out
    assert _check(run, "--max-cer", "5%", "--max-wer", "0.5") == 0
    assert "check passed" in capsys.readouterr().out


def test_junit_xml_has_one_testcase_per_check(tmp_path, capsys):
    run = _run(tmp_path / "run", errors_every=2)
    report = tmp_path / "out" / "junit.xml"
    assert (
        _check(run, "--max-cer", "1%", "--max-wer", "50%", "--min-pages-per-s", "5", "--junit", report) == 1
    )
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["max_cer", "max_wer", "min_pages_per_s"]
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    failures = {case.get("name"): case.find("failure") for case in cases}
    assert failures["max_wer"] is None
    assert "CER 2.93%" in failures["max_cer"].get("message")
    assert cases[0].get("classname") == "tesseract.none"


def test_truncated_output_fails_accuracy_checks_clearly(tmp_path, capsys):
    run = _run(tmp_path / "run", truncated=True, backend="aspose")
    assert _check(run, "--max-cer", "50%", "--min-pages-per-s", "0.1") == 1
    out = capsys.readouterr().out
    assert "FAIL  aspose · none  max_cer: CER cannot be checked: not comparable" in out
    assert "PASS  aspose · none  min_pages_per_s" in out


def test_regression_against_a_baseline_run_needs_significance(tmp_path, capsys):
    baseline = _run(tmp_path / "base")
    worse = _run(tmp_path / "worse", errors_every=1, seconds=1.25)  # every page worse: significant
    assert _check(worse, "--baseline", baseline, "--max-cer-increase", "0.5pp", "--max-slowdown", "10%") == 1
    out = capsys.readouterr().out
    assert (
        "FAIL  tesseract · none  max_cer_increase: CER rose +5.86pp [+5.83pp, +5.88pp] over 12 paired pages"
        in out
    )
    assert "and significant" in out
    assert "FAIL  tesseract · none  max_slowdown: 0.8 pages/s vs baseline 1: 0.80x (20.0% slower)" in out
    # One bad page in twelve: larger than allowed, but the paired interval includes zero.
    one_bad = tmp_path / "one-bad"
    write_run(one_bad, [job(f"s{i}", t, t.replace("quick brown", "qu1ck brovvn") if i == 0 else t)
                        for i, t in enumerate(TRUTHS)])  # fmt: skip
    assert _check(one_bad, "--baseline", baseline, "--max-cer-increase", "0.1pp") == 0
    assert "not significant (the interval includes 0)" in capsys.readouterr().out
    # The same run is no regression and no slowdown.
    assert _check(baseline, "--baseline", baseline, "--max-cer-increase", "0pp", "--max-slowdown", "0%") == 0


def test_baseline_summary_csv_compares_point_estimates_and_says_so(tmp_path, capsys):
    baseline = _run(tmp_path / "base")
    worse = _run(tmp_path / "worse", errors_every=2)
    assert _check(worse, "--baseline", baseline / "summary.csv", "--max-cer-increase", "1pp") == 1
    out = capsys.readouterr().out
    assert "CER 0.00% → 2.93% (+2.93pp) vs baseline, allowed +1.00pp" in out
    assert "point estimates only" in out


def test_thresholds_from_the_suite_per_backend_and_check_table(tmp_path, capsys):
    config = {
        "backends": [{"name": "tesseract", "label": None, "thresholds": {"max_cer": 0.01, "max_wer": None}}],
        "check": {"max_wer": "50%", "max_failed": 0},
    }
    run = _run(tmp_path / "run", errors_every=2, config=config)
    assert _check(run) == 1
    out = capsys.readouterr().out
    assert "FAIL  tesseract · none  max_cer" in out  # the backend's own threshold
    assert "PASS  tesseract · none  max_wer" in out  # from [check]
    assert "PASS  tesseract · none  max_failed: 0 failed job(s)" in out
    # The command line wins over the suite.
    assert _check(run, "--max-cer", "3%") == 0


def test_no_thresholds_is_a_usage_error_not_a_pass(tmp_path, capsys):
    run = _run(tmp_path / "run")
    assert _check(run) == 2
    assert "no thresholds to check" in capsys.readouterr().err
    assert _check(tmp_path / "missing", "--max-cer", "1%") == 3
    assert "not a run folder" in capsys.readouterr().err
    assert _check(run, "--max-cer", "lots") == 2


def test_backend_filter(tmp_path, capsys):
    run = _run(tmp_path / "run", errors_every=2)
    assert _check(run, "--max-cer", "1%", "--backend", "tesseract") == 1
    assert _check(run, "--max-cer", "1%", "--backend", "rapidocr") == 2
    assert "no backend 'rapidocr'" in capsys.readouterr().err


@pytest.mark.slow
def test_gate_on_real_runs(preprocessing_runs, tmp_path, capsys):
    plain, downscaled = preprocessing_runs
    assert _check(plain, "--max-cer", "50%", "--max-failed", "0") == 0
    assert _check(plain, "--max-cer", "0.1%") == 1
    assert "FAIL  tesseract · none  max_cer" in capsys.readouterr().out
    # A real run is no regression against itself.
    assert _check(plain, "--baseline", plain, "--max-cer-increase", "0pp", "--junit", tmp_path / "j.xml") == 0
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite").get("failures") == "0"


def test_baseline_checks_without_a_baseline_are_skipped_visibly(tmp_path, capsys):
    run = _run(tmp_path / "run", config={"check": {"max_cer": 0.5, "max_cer_increase": "0.5pp"}})
    assert _check(run) == 0
    out = capsys.readouterr().out
    assert "SKIP  tesseract · none  max_cer_increase: no baseline given" in out
    assert "1 skipped" in out
    report = tmp_path / "junit.xml"
    _check(run, "--junit", report)
    assert ET.parse(report).getroot().find("testsuite/testcase[@name='max_cer_increase']/skipped") is not None


def test_suite_check_table_is_validated_before_any_ocr(tmp_path, real_dev):
    import shutil

    from harness.plugins import get_registry
    from harness.suite import load_suite

    scans = tmp_path / "scans"
    scans.mkdir()
    for path in real_dev.glob("line_en_uw3_0033_010060.*"):
        shutil.copy(path, scans / path.name)
    suite_file = tmp_path / "suite.toml"
    suite_file.write_text(
        '[[datasets]]\npath = "scans"\n[[backends]]\nname = "tesseract"\n'
        '[check]\nmax_cer = "five"\nmax_cre = 0.1\nmax_slowdown = "10%"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_suite(suite_file, get_registry())
    assert "check.max_cer: cannot read 'five' as a number" in str(error.value)
    assert "check.max_cre: unknown key (did you mean 'max_cer'?)" in str(error.value)


def test_errors_never_exit_1_which_means_a_threshold_failed(tmp_path, capsys, monkeypatch):
    run = _run(tmp_path / "run", errors_every=2)
    assert _check(tmp_path / "missing", "--max-cer", "1%") == 3  # an unreadable run folder
    assert _check(run, "--max-cer", "lots") == 2  # a usage error
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert _check(run, "--max-cer", "5%", "--junit", blocker / "junit.xml") == 5  # cannot be written
    assert "junit.xml" in capsys.readouterr().err

    import harness.check

    def crash(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(harness.check, "run_checks", crash)
    assert _check(run, "--max-cer", "5%") == 70  # a crash is not "a check failed"
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: a bug" in err and "Traceback" not in err
