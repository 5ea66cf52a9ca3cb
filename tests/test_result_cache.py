"""The result cache: reused outcomes across runs, keyed by everything that decides them, in real SQLite."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from echo_backend import make_echo_dataset

from harness.cli import main
from harness.plugins import get_registry
from harness.report import write_reports
from harness.result_cache import CACHE_DIR_ENV, DATABASE, ResultCache
from harness.runner import run_suite
from harness.store import read_results
from harness.suite import suite_from_args

PLUGINS = ("echo_backend",)
TEXTS = {
    "line_en_a": ("hello world", "hello world"),
    "line_en_b": ("good bye", "good buy"),
    "line_en_c": ("third line", "third line"),
    "line_en_raise": ("RAISE", "raise"),
}


@pytest.fixture
def dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return make_echo_dataset(tmp_path / "lines", TEXTS)


def run(pipelines=("none",), **settings):
    suite = suite_from_args(
        ["lines"],
        get_registry(PLUGINS),
        backends=["echo"],
        pipelines=list(pipelines),
        run={"jobs": 2, **settings},
    )
    outcome = run_suite(suite, log=io.StringIO(), live=False)
    write_reports(outcome.run_dir, html=False, log=io.StringIO())
    return outcome.run_dir, {
        (r["sample_id"], r["pipeline"]): r for r in read_results(outcome.run_dir / "results.jsonl")
    }


def samples_csv(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "samples.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_an_unchanged_rerun_reuses_every_outcome_and_keeps_the_measuring_runs_timings(dataset: Path) -> None:
    first_dir, first = run()
    second_dir, second = run()
    ok = [key for key, record in first.items() if record["status"] == "ok"]
    assert len(ok) == 3
    for key in ok:
        assert not first[key]["cached"]
        assert second[key]["cached"] is True
        assert second[key]["status"] == "ok"  # status keeps its meaning
        assert second[key]["text"] == first[key]["text"]
        assert second[key]["timings"] == first[key]["timings"]
        assert (second[key]["started"], second[key]["finished"]) == (
            first[key]["started"],
            first[key]["finished"],
        )
        assert second[key]["measured_in"] == first_dir.name
    # A failure is never cached: it runs again.
    assert second[("line_en_raise", "none")]["cached"] is False
    assert second[("line_en_raise", "none")]["status"] == "error"
    rows = {row["sample_id"]: row for row in samples_csv(second_dir)}
    assert rows["line_en_a"]["cached"] == "true" and rows["line_en_a"]["measured_in"] == first_dir.name
    assert rows["line_en_raise"]["cached"] == "false"
    assert {row["cached"] for row in samples_csv(first_dir)} == {"false"}
    summary = (second_dir / "summary.md").read_text(encoding="utf-8")
    assert "result cache" in summary and "Cached: 3 jobs" in summary


def test_speed_figures_built_only_from_cached_rows_name_the_run_that_measured_them(dataset: Path) -> None:
    (dataset / "line_en_raise.png").unlink()
    (dataset / "line_en_raise.gt.txt").unlink()
    first_dir, _ = run()
    second_dir, _ = run()
    write_reports(second_dir, log=io.StringIO())
    assert f"measured in run {first_dir.name}" in (second_dir / "report.html").read_text(encoding="utf-8")
    with open(second_dir / "summary.csv", encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["speed_from_cache"] == first_dir.name
    assert row["cached"] == "3"
    assert float(row["pages_per_s"]) > 0
    assert f"measured in run {first_dir.name}" in (second_dir / "summary.md").read_text(encoding="utf-8")


def test_changing_one_pipeline_of_a_grid_runs_only_that_pipelines_jobs(dataset: Path) -> None:
    run(pipelines=("none", "grayscale"))
    _, records = run(pipelines=("none", "downscale(max_side=500)"))
    fresh = {key for key, record in records.items() if not record["cached"] and record["status"] == "ok"}
    reused = {key for key, record in records.items() if record["cached"]}
    assert {pipeline for _, pipeline in fresh} == {"downscale(max_side=500)"}
    assert {pipeline for _, pipeline in reused} == {"none"}


def test_no_cache_neither_reads_nor_writes_and_refresh_overwrites(dataset: Path) -> None:
    run(cache=False)
    with ResultCache() as cache:
        assert cache.info().entries == 0
    first_dir, _ = run()
    _, bypassed = run(cache=False)
    assert not any(record["cached"] for record in bypassed.values())
    refresh_dir, refreshed = run(refresh=True)
    assert not any(record["cached"] for record in refreshed.values())
    _, after = run()
    measured = {record["measured_in"] for record in after.values() if record["cached"]}
    assert measured == {refresh_dir.name} != {first_dir.name}


def test_other_options_are_other_jobs(dataset: Path) -> None:
    run()
    suite = suite_from_args(
        ["lines"], get_registry(PLUGINS), backends=["echo"], options=["echo.delay=0.001"], run={"jobs": 2}
    )
    outcome = run_suite(suite, log=io.StringIO(), live=False)
    assert not any(record["cached"] for record in read_results(outcome.run_dir / "results.jsonl"))


def test_the_cache_folder_moves_with_the_variable_and_cache_info_and_prune_show_and_trim_it(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = tmp_path / "elsewhere"
    monkeypatch.setenv(CACHE_DIR_ENV, str(moved))
    run()
    database = moved / DATABASE
    assert database.is_file()
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT COUNT(*) FROM outcomes").fetchone() == (3,)
    assert main(["cache", "info"]) == 0
    shown = capsys.readouterr().out
    assert str(database) in shown and "outcomes:  3" in shown and "echo: 3" in shown
    assert main(["cache", "prune", "--older-than", "1"]) == 0
    assert "removed 0 outcomes; 3 left" in capsys.readouterr().out
    assert main(["cache", "prune", "--max-size", "0"]) == 0
    assert "removed 3 outcomes; 0 left" in capsys.readouterr().out
    assert main(["cache", "prune"]) == 2
    assert "--older-than" in capsys.readouterr().err


def test_an_unusable_cache_folder_is_one_clear_error(
    dataset: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker / "cache"))
    code = main(["--plugin", "echo_backend", "run", "lines", "--backend", "echo", "--no-html"])
    error = capsys.readouterr().err
    assert code != 0
    assert "result cache" in error and "--no-cache" in error and "Traceback" not in error
    assert (
        main(["--plugin", "echo_backend", "run", "lines", "--backend", "echo", "--no-html", "--no-cache"])
        == 0
    )
    assert not os.path.exists(blocker / "cache")


def test_a_damaged_entry_is_a_miss_and_is_replaced(dataset: Path) -> None:
    run()
    with ResultCache() as cache:
        cache._db.execute("UPDATE outcomes SET outcome = '{broken'")
    _, records = run()
    assert not any(record["cached"] for record in records.values())
    _, again = run()
    assert sum(record["cached"] for record in again.values()) == 3
    assert json.loads(json.dumps(again[("line_en_a", "none")]))["text"] == "hello world"


def test_a_reused_outcome_is_scored_against_todays_ground_truth_and_normalisation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = make_echo_dataset(tmp_path / "lines", {"line_en_case": ("Hello World", "hello world")})

    def run_once(**metrics: str) -> dict[str, str]:
        suite = suite_from_args(["lines"], get_registry(PLUGINS), backends=["echo"], metrics=metrics)
        run_dir = run_suite(suite, log=io.StringIO(), live=False).run_dir
        write_reports(run_dir, html=False, log=io.StringIO())
        (row,) = samples_csv(run_dir)
        return row

    first = run_once()
    assert (first["cached"], first["char_errors"]) == ("false", "2")  # H and W
    casefolded = run_once(normalisation="casefold")
    assert (casefolded["cached"], casefolded["char_errors"], casefolded["cer"]) == ("true", "0", "0.0")
    (folder / "line_en_case.gt.txt").write_text("Hello Word", encoding="utf-8")
    corrected = run_once()
    assert (corrected["cached"], corrected["char_errors"], corrected["insertions"]) == ("true", "1", "1")
