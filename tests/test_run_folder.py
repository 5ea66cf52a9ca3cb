"""The run-folder contract: one module names its files, writes run.json and reads every folder.

``tests/data/run-v0`` was written by ocr-harness before run.json had a version:
folders users already have must still read, re-report and compare.
"""

from __future__ import annotations

import ast
import io
import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.compare import compare_runs
from harness.errors import InputError
from harness.report import write_reports
from harness.run_folder import (
    FORMAT_VERSION,
    RESULTS_FILE,
    RUN_FILE,
    SAMPLES_FILE,
    SUMMARY_FILE,
    RunInfo,
    load_run,
    read_run_info,
    write_run_info,
)

ROOT = Path(__file__).resolve().parents[1]
V0 = ROOT / "tests" / "data" / "run-v0"


@pytest.fixture
def v0(tmp_path: Path) -> Path:
    folder = tmp_path / "v0"
    shutil.copytree(V0, folder, ignore=shutil.ignore_patterns("README.md"))
    return folder


def test_a_folder_from_before_run_json_had_a_version_reads(v0: Path) -> None:
    info = read_run_info(v0)
    assert info.format_version == 0
    assert info.suite == "v0"
    assert info.backends["noop"].name == "noop"
    assert info.datasets["sample"].samples == 2
    assert info.normalisation_id == "nfc-ws@1"
    assert info.backend_labels == ["noop"]
    assert info.config.backends[0].resolved_options == {"text": None}
    assert info.config.run["jobs"] == 1
    assert info.pipelines == ["none"]
    run = load_run(v0)
    assert len(run.samples) == 2 and run.groups() == [("noop", "none")]


def test_an_old_folder_re_reports_to_the_same_figures(v0: Path) -> None:
    before = load_run(v0).summary
    (v0 / SUMMARY_FILE).unlink()
    reports = write_reports(v0, html=False, log=io.StringIO())
    assert {path.name for path in reports.files} == {SAMPLES_FILE, SUMMARY_FILE, "summary.md"}
    after = load_run(v0).summary
    for column in ("jobs", "scored", "micro_cer", "micro_wer", "ref_chars"):
        assert after[column].tolist() == before[column].tolist(), column
    assert after["micro_cer"].iloc[0] == pytest.approx(56 / 61)


def test_an_old_folder_compares_and_checks(v0: Path, tmp_path: Path, capsys) -> None:
    comparison = compare_runs(load_run(v0), load_run(V0))
    (group,) = comparison.groups
    assert group.pairs == 2 and group.cer is not None and group.cer.diff == 0
    assert main(["check", str(v0), "--max-cer", "95%"]) == 0
    assert main(["check", str(v0), "--max-cer", "50%"]) == 1
    assert "CER 91.80%" in capsys.readouterr().out


def test_a_folder_from_a_newer_version_is_refused_by_name(v0: Path, capsys) -> None:
    data = json.loads((v0 / RUN_FILE).read_text(encoding="utf-8"))
    data["format_version"] = FORMAT_VERSION + 1
    (v0 / RUN_FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="newer ocr-harness") as error:
        read_run_info(v0)
    assert str(v0 / RUN_FILE) in str(error.value)
    assert main(["report", str(v0)]) != 0
    err = capsys.readouterr().err
    assert "newer ocr-harness" in err and "Traceback" not in err
    assert main(["compare", str(v0), str(V0)]) != 0
    assert "newer ocr-harness" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"format_version": "x"}', "version"),
    ],
)
def test_a_broken_run_json_is_one_clear_error(v0: Path, content: str, message: str) -> None:
    (v0 / RUN_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_run_info(v0)


def test_run_json_round_trips_with_its_version_and_unknown_keys(tmp_path: Path) -> None:
    info = RunInfo.of(json.loads((V0 / RUN_FILE).read_text(encoding="utf-8")))
    info.format_version = FORMAT_VERSION
    info.extra_fact = {"kept": True}  # type: ignore[attr-defined]
    write_run_info(tmp_path, info)
    written = json.loads((tmp_path / RUN_FILE).read_text(encoding="utf-8"))
    assert written["format_version"] == FORMAT_VERSION
    assert written["extra_fact"] == {"kept": True}
    again = read_run_info(tmp_path)
    assert again.model_dump() == info.model_dump()
    assert not list(tmp_path.glob(".*"))  # no partial file left behind


def test_a_run_writes_the_current_version(tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(ROOT / "datasets" / "sample", tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    code = main(["--plugin", "fake_noop", "run", "ds", "--backend", "noop", "--serial", "--no-html"])
    assert code == 0
    latest = (tmp_path / "reports" / "latest").resolve()
    written = json.loads((latest / RUN_FILE).read_text(encoding="utf-8"))
    assert written["format_version"] == FORMAT_VERSION
    assert read_run_info(latest).backends["noop"].executor is not None
    assert (latest / RESULTS_FILE).is_file()


FILE_NAMES = {
    "results.jsonl",
    "run.json",
    "samples.csv",
    "summary.csv",
    "summary.md",
    "report.html",
    "latest",
}


def test_file_names_are_spelled_only_in_the_run_folder_module() -> None:
    """Docstrings and messages may name the files; code must use the constants."""
    offenders = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        if path.name == "run_folder.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in FILE_NAMES and id(node) not in docstrings:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not offenders, "run-folder file names outside harness/run_folder.py:\n" + "\n".join(offenders)
