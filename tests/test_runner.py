"""The runner: failures are rows, config errors come first, killed runs keep their jobs."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from echo_backend import make_echo_dataset
from test_metrics import plain_levenshtein

from harness import executor as executor_module
from harness.cli import main
from harness.metrics import NFC_WS, graphemes
from harness.plugins import get_registry
from harness.progress import Progress
from harness.report import write_reports
from harness.runner import plan_jobs, run_suite
from harness.store import read_results
from harness.suite import suite_from_args

PLUGINS = ("echo_backend",)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def registry():
    return get_registry(PLUGINS)


def by_sample(records):
    return {record["sample_id"]: record for record in records}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_failed_jobs_are_rows_and_every_other_job_completes(tmp_path, registry, monkeypatch):
    dataset = make_echo_dataset(
        tmp_path / "mixed",
        {
            "line_en_ok": ("hello world", "hello world"),
            "line_en_typo": ("good bye", "good buy"),
            "line_en_nogt": ("no ground truth here", None),
            "line_en_crash": ("CRASH", "crash"),
            "line_en_hang": ("HANG", "hang"),
            "line_en_raise": ("RAISE", "raise"),
            "line_vi_skip": ("xin chào", "xin chào"),
            "line_en_badgt": ("fine", "placeholder"),
        },
        settings="language_from_stem = true\n",
    )
    (dataset / "line_en_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    (dataset / "line_en_corrupt.gt.txt").write_text("corrupt", encoding="utf-8")
    (dataset / "line_en_badgt.gt.txt").write_bytes(b"caf\xe9\n")  # Latin-1, not UTF-8
    monkeypatch.chdir(tmp_path)
    suite = suite_from_args(["mixed"], registry, backends=["echo"], run={"jobs": 2, "timeout": 3})
    outcome = run_suite(suite, log=io.StringIO(), live=False)
    write_reports(outcome.run_dir, log=io.StringIO())

    records = by_sample(read_results(outcome.run_dir / "results.jsonl"))
    assert len(records) == 9
    expected = {
        "line_en_ok": ("ok", None),
        "line_en_typo": ("ok", None),
        "line_en_nogt": ("ok", None),
        "line_en_crash": ("error", "EngineCrashedError"),
        "line_en_hang": ("error", "JobTimeoutError"),
        "line_en_raise": ("error", "EngineError"),
        "line_en_corrupt": ("error", "ImageReadError"),
        "line_en_badgt": ("error", "GroundTruthError"),
        "line_vi_skip": ("skipped", "UnsupportedLanguageError"),
    }
    assert {sample: (r["status"], r["error_type"]) for sample, r in records.items()} == expected
    assert "line_en_corrupt.png" in records["line_en_corrupt"]["error_message"]
    assert "line_en_badgt.gt.txt" in records["line_en_badgt"]["error_message"]
    assert records["line_en_badgt"]["started"] is None  # a broken sample never reaches an engine
    assert records["line_vi_skip"]["started"] is None
    assert "Vietnamese" in records["line_vi_skip"]["error_message"]
    assert outcome.counts == {"ok": 3, "error": 5, "skipped": 1}

    samples = by_sample(read_csv(outcome.run_dir / "samples.csv"))
    assert samples["line_en_ok"]["cer"] == "0.0"
    assert float(samples["line_en_typo"]["cer"]) == pytest.approx(2 / 8)
    assert samples["line_en_nogt"]["status"] == "unscored"
    assert samples["line_en_nogt"]["cer"] == ""
    (summary,) = read_csv(outcome.run_dir / "summary.csv")
    counts = ("jobs", "scored", "failed", "unscored", "skipped")
    assert tuple(summary[name] for name in counts) == ("8", "2", "5", "1", "1")
    assert json.loads(summary["failures"]) == dict.fromkeys(
        ("EngineCrashedError", "EngineError", "GroundTruthError", "ImageReadError", "JobTimeoutError"), 1
    )
    assert float(summary["micro_cer"]) == pytest.approx(2 / (11 + 8))
    for name in ("results.jsonl", "samples.csv", "summary.csv", "summary.md", "run.json"):
        assert (outcome.run_dir / name).is_file(), name
    assert (tmp_path / "reports" / "latest").resolve() == outcome.run_dir.resolve()
    assert multiprocessing.active_children() == []


def test_pipelines_run_in_the_worker_and_groups_follow_the_plan(tmp_path, registry, monkeypatch):
    make_echo_dataset(tmp_path / "ds", {"a": ("abc", "abc!"), "b": ("xyz", "xyz!")})
    monkeypatch.chdir(tmp_path)
    suite = suite_from_args(
        ["ds"], registry, backends=["echo"], pipelines=["none", "suffix(text=!)"], run={"jobs": 2}
    )
    outcome = run_suite(suite, log=io.StringIO(), live=False)
    write_reports(outcome.run_dir, log=io.StringIO())
    summary = read_csv(outcome.run_dir / "summary.csv")
    assert [(row["pipeline"], float(row["micro_cer"])) for row in summary] == [
        ("none", pytest.approx(2 / 8)),
        ("suffix(text=!)", 0.0),
    ]
    records = read_results(outcome.run_dir / "results.jsonl")
    assert [record["pipeline"] for record in records] == ["none", "none", "suffix(text=!)", "suffix(text=!)"]
    run_info = json.loads((outcome.run_dir / "run.json").read_text(encoding="utf-8"))
    assert run_info["backends"]["echo"]["thread_settings"] == {"threads": run_info["threads_per_worker"]}
    assert run_info["backends"]["echo"]["executor"]["workers"] == 2
    assert run_info["finished"] and run_info["interrupted"] is False


def test_serial_runs_in_this_process(tmp_path, registry, monkeypatch):
    make_echo_dataset(tmp_path / "ds", {"a": ("abc", "abc")})
    monkeypatch.chdir(tmp_path)
    suite = suite_from_args(["ds"], registry, backends=["echo"], run={"serial": True})
    outcome = run_suite(suite, log=io.StringIO(), live=False)
    (record,) = read_results(outcome.run_dir / "results.jsonl")
    assert record["worker_pid"] == os.getpid()
    assert record["status"] == "ok"


def test_job_keys_are_stable_and_change_with_what_was_run(tmp_path, registry, monkeypatch):
    make_echo_dataset(tmp_path / "ds", {"a": ("abc", "abc"), "b": ("abd", "abd")})
    monkeypatch.chdir(tmp_path)
    first = [job.key for job in plan_jobs(suite_from_args(["ds"], registry, backends=["echo"]))]
    again = [job.key for job in plan_jobs(suite_from_args(["ds"], registry, backends=["echo"]))]
    options = plan_jobs(suite_from_args(["ds"], registry, backends=["echo"], options=["echo.truncate_to=9"]))
    pipeline = plan_jobs(suite_from_args(["ds"], registry, backends=["echo"], pipelines=["suffix"]))
    assert first == again and len(set(first)) == 2
    assert not set(first) & {job.key for job in options}
    assert not set(first) & {job.key for job in pipeline}


# --- configuration errors stop everything before OCR --------------------------------------


def test_a_config_error_stops_the_run_before_any_worker_starts(tmp_path, monkeypatch, capsys):
    make_echo_dataset(tmp_path / "ds", {"a": ("abc", "abc")})
    suite = tmp_path / "suite.toml"
    suite.write_text(
        textwrap.dedent(
            """
            [[datasets]]
            path = "ds"

            [[backends]]
            name = "echo"
            options = { truncate = 3 }

            [[backends]]
            name = "echo"
            label = "fine"
            """
        ),
        encoding="utf-8",
    )
    started = []
    monkeypatch.setattr(executor_module.ProcessExecutor, "__init__", lambda self, **kw: started.append(kw))
    monkeypatch.setattr(executor_module.InlineExecutor, "__init__", lambda self, **kw: started.append(kw))
    out = tmp_path / "out"
    code = main(["--plugin", "echo_backend", "run", str(suite), "--out", str(out)])
    assert code == 2
    error = capsys.readouterr().err
    assert "backends[0].options.truncate: unknown key (did you mean 'truncate_to'?)" in error
    assert started == []
    assert multiprocessing.active_children() == []
    assert not out.exists()


def test_suite_files_do_not_mix_with_ad_hoc_flags(tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text("", encoding="utf-8")
    assert main(["run", str(suite), "--backend", "echo"]) == 2
    assert "--backend cannot be combined" in capsys.readouterr().err


# --- a killed run keeps every finished job ------------------------------------------------------


def _run_command(dataset: Path, out: Path, *extra: str) -> list[str]:
    cli = "import sys; from harness.cli import main; sys.exit(main())"
    return [
        sys.executable, "-c", cli, "--plugin", "echo_backend", "run", str(dataset), "--backend", "echo",
        "--option", "echo.delay=0.2", "--jobs", "2", "--out", str(out), "--no-html", *extra,
    ]  # fmt: skip


def _count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_sigkill_midway_keeps_every_finished_job_and_resume_completes_the_rest(tmp_path):
    items = {f"line_{n:02d}": (f"text {n}", f"text {n}") for n in range(40)}
    dataset = make_echo_dataset(tmp_path / "ds", items)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests" / "plugins"), str(REPO)])}
    process = subprocess.Popen(
        _run_command(dataset, out), env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        results = None
        while time.monotonic() < deadline:
            found = list(out.glob("*/results.jsonl"))
            if found and _count_lines(found[0]) >= 6:
                results = found[0]
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        assert results is not None, "no results appeared"
        os.killpg(
            process.pid, signal.SIGKILL
        )  # the run and its workers, as the OOM killer or a power cut would
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    lines_on_disk = _count_lines(results)
    records = read_results(results)
    assert 6 <= len(records) < 40
    assert len(records) >= lines_on_disk  # every complete line is a record
    assert all(record["status"] == "ok" and record["text"] == record["ground_truth"] for record in records)
    assert len({record["key"] for record in records}) == len(records)
    run_dir = results.parent
    assert not (run_dir / "samples.csv").exists()  # killed before reporting

    finished = subprocess.run(
        _run_command(dataset, out, "--resume", str(run_dir)),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    resumed = read_results(results)
    assert len({record["sample_id"] for record in resumed}) == 40
    assert len(resumed) == 40  # nothing already done was run again
    (summary,) = read_csv(run_dir / "summary.csv")
    assert (summary["scored"], summary["micro_cer"]) == ("40", "0.0")


@pytest.mark.slow
def test_ctrl_c_stops_the_run_and_still_reports_the_finished_jobs(tmp_path):
    dataset = make_echo_dataset(tmp_path / "ds", {f"line_{n:02d}": ("same", "same") for n in range(40)})
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests" / "plugins"), str(REPO)])}
    process = subprocess.Popen(
        _run_command(dataset, out), env=env, start_new_session=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline and max(map(_count_lines, out.glob("*/results.jsonl")), default=0) < 4
        ):
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the whole group
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    run_dir = (out / "latest").resolve()
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert info["interrupted"] is True and info["finished"]
    (summary,) = read_csv(run_dir / "summary.csv")
    stored = len(read_results(run_dir / "results.jsonl"))
    assert 4 <= stored < 40
    assert int(summary["scored"]) == stored
    assert "| echo | none |" in stdout  # the terminal still ends with the summary table


def test_truncated_output_is_flagged_and_never_compared(tmp_path, registry, monkeypatch, capsys):
    make_echo_dataset(tmp_path / "ds", {"a": ("a long line of text", "a long line of text")})
    monkeypatch.chdir(tmp_path)
    options = ["--backend", "echo", "--option", "echo.truncate_to=6", "--jobs", "1", "--no-html"]
    code = main(["--plugin", "echo_backend", "run", "ds", *options])
    assert code == 0
    run_dir = (tmp_path / "reports" / "latest").resolve()
    (row,) = read_csv(run_dir / "samples.csv")
    assert (row["truncated"], row["comparable"], row["text"]) == ("true", "false", "a long")
    (summary,) = read_csv(run_dir / "summary.csv")
    assert summary["comparable"] == "false"
    assert "n/c (truncated)" in capsys.readouterr().out
    assert "n/c (truncated)" in (run_dir / "summary.md").read_text(encoding="utf-8")


# --- progress ----------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_logs_plain_lines_when_not_a_terminal():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(4, stream=stream, live=False, log_interval=10, clock=clock)
    progress.start_group("echo · none")
    clock.now = 1.0
    progress.job_done()
    assert stream.getvalue() == ""  # not yet time for a line
    clock.now = 11.0
    progress.job_done(failed=True)
    clock.now = 12.0
    progress.job_done()
    progress.job_done()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[") and "2/4 jobs" in lines[0] and "errors 1" in lines[0]
    assert "4/4 jobs" in lines[-1] and "ETA done" in lines[-1]
    assert "\r" not in stream.getvalue()


def test_progress_redraws_one_line_on_a_terminal():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(2, stream=stream, live=True, clock=clock)
    clock.now = 2.0
    progress.job_done()
    clock.now = 4.0
    progress.job_done()
    progress.close()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") >= 2
    assert "ETA 0:02" in text.split("\r")[1] and "0.50 pages/s" in text


# --- a real engine, end to end ---------------------------------------------------------------------

REAL_LINES = (
    "line_en_uw3_0377_010044",
    "line_en_uw3_0705_010051",
    "line_en_jebb1896_0177_40",
)


@pytest.mark.slow
def test_rapidocr_on_real_lines_writes_every_file_and_scores_like_a_plain_levenshtein(
    tmp_path, real_dev, monkeypatch
):
    dataset = tmp_path / "real-lines"
    dataset.mkdir()
    for stem in REAL_LINES:
        shutil.copy(real_dev / f"{stem}.png", dataset)
        shutil.copy(real_dev / f"{stem}.gt.txt", dataset)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "real-lines", "--backend", "rapidocr", "--jobs", "2", "--name", "e2e"])
    assert code == 0
    run_dir = (tmp_path / "reports" / "latest").resolve()
    assert run_dir.name.startswith("e2e-")
    for name in ("results.jsonl", "samples.csv", "summary.csv", "summary.md", "run.json"):
        assert (run_dir / name).stat().st_size > 0, name

    rows = read_csv(run_dir / "samples.csv")
    assert len(rows) == len(REAL_LINES) and {row["status"] for row in rows} == {"ok"}
    records = {record["sample_id"]: record for record in read_results(run_dir / "results.jsonl")}
    for row in rows:
        record = records[row["sample_id"]]
        reference, hypothesis = NFC_WS(record["ground_truth"]), NFC_WS(record["text"])
        distance = plain_levenshtein(graphemes(reference), graphemes(hypothesis))
        assert int(row["char_errors"]) == distance
        assert float(row["cer"]) == pytest.approx(distance / len(graphemes(reference)))
        assert row["ground_truth"] == reference
    (summary,) = read_csv(run_dir / "summary.csv")
    assert float(summary["micro_cer"]) < 0.2  # clean printed lines: the engine really read them
    assert float(summary["micro_cer_low"]) <= float(summary["micro_cer"]) <= float(summary["micro_cer_high"])
    assert float(summary["pages_per_s"]) > 0

    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert info["normalisation"]["id"] == "nfc-ws@1"
    assert info["backends"]["rapidocr"]["version"] not in ("unknown", "not installed")
    assert info["backends"]["rapidocr"]["fingerprint"]
    assert info["environment"]["cpu_model"]
    assert info["datasets"]["real-lines"]["fingerprint"]
    markdown = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "| rapidocr | none |" in markdown and "nfc-ws@1" in markdown
