"""Reports from a run folder: samples and summary tables, Markdown, re-rendering."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from harness.errors import ReportError
from harness.metrics import NFC_WS
from harness.report import write_reports
from harness.report.markdown import NOT_COMPARABLE, summary_markdown, summary_table
from harness.report.tables import latest_rows, sample_row, samples_frame, summary_frame
from harness.store import ResultStore


def record(sample_id, ground_truth, text, *, backend="alpha", pipeline="none", status="ok", error_type=None,
           truncated=False, start=0.0, seconds=1.0, cold=False, key=None):  # fmt: skip
    ran = status != "skipped" and error_type not in ("GroundTruthError",)
    return {
        "key": key or f"{sample_id}-{backend}-{pipeline}",
        "status": status,
        "sample_id": sample_id,
        "dataset": "ds",
        "image": f"/data/{sample_id}.png",
        "page": 0,
        "language": "en",
        "tags": {"blur": 1.5},
        "backend": backend,
        "pipeline": pipeline,
        "ground_truth": ground_truth,
        "text": text if status == "ok" else None,
        "truncated": truncated,
        "error_type": error_type,
        "error_message": f"{sample_id}: {error_type}" if error_type else None,
        "timings": {"load": 0.1, "preprocess": 0.1, "recognize": seconds - 0.2}
        if ran and status == "ok"
        else {},
        "cpu_seconds": seconds if ran else 0.0,
        "peak_rss_mb": 100.0 if ran else 0.0,
        "worker_pid": 11 if ran else 0,
        "cold": cold,
        "started": start if ran else None,
        "finished": start + seconds if ran else None,
    }


def two_backends() -> list[dict]:
    return [
        # alpha: one long page with 1 error, one short page with 1 error
        record("long", "a" * 100, "a" * 99 + "b", start=0.0, cold=True),
        record("short", "x", "y", start=1.0),
        record("broken", "abcd", None, status="error", error_type="EngineCrashedError", start=2.0),
        record("blank", None, "some text", start=3.0),
        record("viet", "xin chào", None, status="skipped", error_type="UnsupportedLanguageError"),
        # beta: perfect and faster, but truncated on one page
        record("long", "a" * 100, "a" * 100, backend="beta", start=10.0, seconds=0.5, cold=True),
        record("short", "x", "x", backend="beta", start=10.5, seconds=0.5),
        record("broken", "abcd", "ab", backend="beta", start=11.0, seconds=0.5, truncated=True),
        record("blank", None, "", backend="beta", start=11.5, seconds=0.5),
    ]


def summary_of(records, policy="exclude"):
    samples = samples_frame(records, NFC_WS)
    return samples, summary_frame(samples, failure_policy=policy)


def test_micro_and_macro_cer_and_the_counts_of_each_group():
    samples, summary = summary_of(two_backends())
    alpha = summary.iloc[0]
    counts = ("backend", "jobs", "scored", "failed", "unscored", "skipped")
    assert tuple(alpha[name] for name in counts) == ("alpha", 4, 2, 1, 1, 1)
    assert alpha["micro_cer"] == pytest.approx(2 / 101)
    assert alpha["macro_cer"] == pytest.approx((0.01 + 1.0) / 2)
    assert alpha["micro_cer_low"] <= alpha["micro_cer"] <= alpha["micro_cer_high"]
    assert alpha["macro_cer_low"] <= alpha["macro_cer"] <= alpha["macro_cer_high"]
    assert json.loads(alpha["failures"]) == {"EngineCrashedError": 1}
    assert alpha["ref_chars"] == 101
    assert bool(alpha["comparable"]) is True
    beta = summary.iloc[1]
    assert beta["micro_cer"] == pytest.approx(2 / 105)
    assert bool(beta["comparable"]) is False
    statuses = dict(zip(samples["sample_id"] + "/" + samples["backend"], samples["status"], strict=False))
    assert statuses["blank/alpha"] == "unscored" and statuses["viet/alpha"] == "skipped"


def test_failures_count_as_cer_one_when_the_policy_says_so():
    _, excluded = summary_of(two_backends(), "exclude")
    _, counted = summary_of(two_backends(), "count_as_cer_1")
    assert counted.iloc[0]["micro_cer"] == pytest.approx((2 + 4) / (101 + 4))
    assert counted.iloc[0]["macro_cer"] == pytest.approx((0.01 + 1.0 + 1.0) / 3)
    assert counted.iloc[0]["failure_policy"] == "count_as_cer_1"
    assert excluded.iloc[0]["micro_cer"] < counted.iloc[0]["micro_cer"]


def test_speed_uses_the_groups_wall_time_and_separates_cold_jobs():
    _, summary = summary_of(two_backends())
    beta = summary.iloc[1]
    # 4 pages read between t=10 and t=12; the cold job's start-up was 0 beyond its page work.
    assert beta["pages"] == 4
    assert beta["wall_s"] == pytest.approx(2.0)
    assert beta["pages_per_s"] == pytest.approx(2.0)
    assert beta["cold_pages"] == 1 and beta["warm_pages"] == 3
    assert beta["latency_p50_s"] == pytest.approx(0.5)
    assert beta["recognize_max_s"] == pytest.approx(0.3)


def test_cold_start_up_is_taken_out_of_wall_time():
    records = [
        record("a", "abc", "abc", start=0.0, seconds=3.0, cold=True),  # 2 s of it spent starting the worker
        record("b", "abc", "abc", start=3.0, seconds=1.0),
    ]
    records[0]["timings"] = {"load": 0.1, "preprocess": 0.1, "engine_init": 1.5, "recognize": 0.8}
    _, summary = summary_of(records)
    row = summary.iloc[0]
    assert row["startup_s"] == pytest.approx(2.0)
    assert row["wall_s"] == pytest.approx(2.0)
    assert row["cold_latency_s"] == pytest.approx(2.5)


def test_a_retried_job_counts_once_with_its_last_result():
    first = record("a", "abc", None, status="error", error_type="JobTimeoutError", key="k")
    retry = record("a", "abc", "abc", key="k", start=5.0)
    rows = latest_rows(iter([first, record("b", "x", "x"), retry]), NFC_WS)
    assert rows == [sample_row(record("b", "x", "x"), NFC_WS), sample_row(retry, NFC_WS)]


def test_markdown_marks_the_best_states_denominators_and_never_compares_truncated_output():
    _, summary = summary_of(two_backends())
    info = {"suite": "demo", "normalisation": {"id": "nfc-ws@1"}, "failure_policy": "exclude", "workers": 2,
            "threads_per_worker": 1}  # fmt: skip
    text = summary_markdown(summary, info)
    table = summary_table(summary)
    alpha_line, beta_line = (line for line in table.splitlines() if line.startswith(("| alpha", "| beta")))
    assert NOT_COMPARABLE in beta_line  # truncated output: CER shown as not comparable
    # With one comparable CER there is nothing to beat: no bold, and the CI reads [low, high].
    assert "| 1.98% [1.00%, 100.00%] |" in alpha_line
    assert "**2.00**" in beta_line  # fastest pages/s
    assert "single timing round" in text
    assert "2 / 4" in alpha_line  # scored / jobs
    assert "nfc-ws@1" in text and "grapheme clusters" in text
    assert "EngineCrashedError 1" in text
    assert "skipped" in text and "Unscored: 2 jobs" in text
    assert "nan" not in text.lower() and "inf" not in text.lower().replace("information", "")


def test_best_is_bold_only_among_comparable_rows_and_ties_are_all_bold():
    records = [
        record("p", "abcd", "abcx", backend="one"),
        record("p", "abcd", "abcx", backend="two"),
        record("p", "abcd", "abxx", backend="three"),
    ]
    _, summary = summary_of(records)
    lines = summary_table(summary).splitlines()[2:]
    # CER (common), CER micro, CER unordered and CER macro: every group scored the same page
    assert lines[0].count("**25.00%**") == 4 and lines[1].count("**25.00%**") == 4
    assert "**" not in lines[2].split("|")[3]


# --- the run folder ---------------------------------------------------------------------------


def make_run(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True)
    with ResultStore(folder / "results.jsonl") as store:
        for item in records:
            store.append(item)
    info = {
        "suite": "demo",
        "normalisation": {"id": "nfc-ws@1", "name": "nfc-ws"},
        "failure_policy": "exclude",
        "pipelines": ["none"],
        "config": {"backends": [{"label": "beta"}, {"label": "alpha"}]},
    }
    (folder / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


def test_reports_are_rendered_from_the_run_folder_alone_and_hold_no_nan(tmp_path):
    run_dir = make_run(tmp_path / "run", two_backends())
    reports = write_reports(run_dir, log=io.StringIO())
    names = {path.name for path in reports.files}
    assert {"samples.csv", "summary.csv", "summary.md"} <= names
    with open(run_dir / "summary.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["backend"] for row in rows] == ["beta", "alpha"]  # the run's own order
    for path in (run_dir / "samples.csv", run_dir / "summary.csv"):
        content = path.read_text(encoding="utf-8").lower()
        assert "nan" not in content and "inf," not in content and "<na>" not in content
    with open(run_dir / "samples.csv", encoding="utf-8", newline="") as handle:
        samples = list(csv.DictReader(handle))
    assert samples[0]["tag.blur"] == "1.5"
    assert {row["ref_chars"] for row in samples} >= {"100", "1"}  # counts stay integers
    first = (run_dir / "summary.csv").read_text(encoding="utf-8")
    (run_dir / "summary.csv").unlink()
    write_reports(run_dir, log=io.StringIO())
    assert (run_dir / "summary.csv").read_text(encoding="utf-8") == first
    for value in rows[1].values():
        assert value.lower() not in ("nan", "inf", "-inf")
        if value and value.replace(".", "", 1).isdigit():
            assert math.isfinite(float(value))


def test_a_failing_html_writer_keeps_the_other_reports_and_is_an_error(tmp_path, monkeypatch):
    html = pytest.importorskip("harness.report.html")

    def broken(run_dir):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(html, "write_html_report", broken)
    run_dir = make_run(tmp_path / "run", two_backends())
    with pytest.raises(ReportError) as caught:
        write_reports(run_dir, log=io.StringIO())
    assert "report.html: not written: RuntimeError: template exploded" in str(caught.value)
    assert caught.value.exit_code != 0
    assert (run_dir / "summary.md").is_file() and (run_dir / "samples.csv").is_file()
    assert all(path.name != "report.html" for path in caught.value.reports.files)
