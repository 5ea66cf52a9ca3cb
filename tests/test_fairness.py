"""Fair comparisons: common samples, empty outputs, warm workers and timed rounds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from echo_backend import make_echo_dataset
from PIL import Image

from harness.executor import InlineExecutor
from harness.metrics import NFC_WS, score
from harness.plugins import get_registry
from harness.report.tables import later_rounds_frame, samples_frame, summary_frame
from harness.runner import run_suite
from harness.store import read_results
from harness.suite import suite_from_args
from harness.worker import BackendSpec, Task

PLUGINS = ("echo_backend",)
LONG_EN = "twenty characters ok"  # 20 characters
LONG_FR = "une longue phrase en français, " * 6


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_group(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["backend"]: row for row in rows}


@pytest.fixture
def skipping_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two groups: ``all`` reads every sample, misreading 8 characters of each; ``english`` reads
    only English (skipping the long French page) and misreads 4."""
    make_echo_dataset(
        tmp_path / "mixed",
        {
            "line_en_a": (LONG_EN, LONG_EN),
            "line_en_b": (LONG_EN, LONG_EN),
            "page_fr_c": (LONG_FR, LONG_FR),
            "page_en_blank": ("", "text that was never read"),
        },
        settings="language_from_stem = true\n",
    )
    suite_file = tmp_path / "suite.toml"
    suite_file.write_text(
        """
name = "skipping"
datasets = [{ path = "mixed" }]
backends = [
  { name = "echo", label = "all", options = { misread = 8 } },
  { name = "echo_en", label = "english", options = { misread = 4 } },
]
run = { jobs = 1 }
""",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    from harness.cli import main

    assert main(["--plugin", *PLUGINS, "run", str(suite_file), "--out", "runs", "--no-html"]) == 0
    return (tmp_path / "runs" / "latest").resolve()


def test_common_samples_are_those_every_group_scored(skipping_run: Path) -> None:
    samples = read_csv(skipping_run / "samples.csv")
    summary = by_group(read_csv(skipping_run / "summary.csv"))
    scored: dict[str, set[str]] = {}
    for row in samples:
        if row["status"] == "ok":
            scored.setdefault(row["backend"], set()).add(row["sample_id"])
    common = scored["all"] & scored["english"]
    assert common == {"line_en_a", "line_en_b", "page_en_blank"}
    for name, row in summary.items():
        mine = [r for r in samples if r["backend"] == name and r["sample_id"] in common]
        errors = sum(int(r["char_errors"]) for r in mine)
        reference = sum(int(r["ref_chars"]) for r in mine)
        word_errors = sum(int(r["word_errors"]) for r in mine)
        words = sum(int(r["ref_words"]) for r in mine)
        assert int(row["common_samples"]) == len(common)
        assert float(row["cer_common"]) == pytest.approx(errors / reference, abs=1e-12)
        assert float(row["wer_common"]) == pytest.approx(word_errors / words, abs=1e-12)
    # Over all its own pages "all" looks better (its perfect French page); on the pages
    # both read, "english" is.
    assert float(summary["all"]["micro_cer"]) < float(summary["english"]["micro_cer"])
    assert float(summary["english"]["cer_common"]) < float(summary["all"]["cer_common"])


def test_an_empty_output_is_flagged_per_sample_and_counted_per_group(skipping_run: Path) -> None:
    samples = read_csv(skipping_run / "samples.csv")
    flagged = {(row["backend"], row["sample_id"]) for row in samples if row["empty_output"] == "true"}
    assert flagged == {("all", "page_en_blank"), ("english", "page_en_blank")}
    assert {row["empty_outputs"] for row in read_csv(skipping_run / "summary.csv")} == {"1"}


def test_bow_wer_in_samples_csv_matches_an_independent_count(skipping_run: Path) -> None:
    from collections import Counter

    for row in read_csv(skipping_run / "samples.csv"):
        if row["status"] != "ok":
            continue
        ref, out = Counter(row["ground_truth"].split()), Counter(row["text"].split())
        errors = max(sum((ref - out).values()), sum((out - ref).values()))
        words = sum(ref.values())
        expected = errors / words if words else (0.0 if errors == 0 else 1.0)
        assert float(row["bow_wer"]) == pytest.approx(expected, abs=1e-9)
        assert float(row["cer_unordered"]) <= float(row["cer"]) + 1e-12


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_a_real_engine_reading_a_blank_page_gives_an_empty_output(engine: str) -> None:
    from conftest import missing_requirement

    backend_class = get_registry().backend(engine)
    if not backend_class.availability().ok:
        missing_requirement(f"{engine} cannot run here")
    backend = backend_class(threads=1)
    try:
        text = backend.recognize(Image.new("L", (800, 600), 255), language="en").text
    finally:
        backend.close()
    counts = score("a page that should have had text on it", text)
    assert counts.empty_output and counts.cer == 1.0


# --- warm workers ---------------------------------------------------------------------


def test_workers_load_each_language_before_any_job_is_timed(tmp_path: Path) -> None:
    make_echo_dataset(
        tmp_path / "langs",
        {f"line_{lang}_{n}": ("same text", "same text") for lang in ("en", "fr", "de") for n in range(2)},
        settings="language_from_stem = true\n",
    )
    registry = get_registry(PLUGINS)
    suite = suite_from_args(
        [str(tmp_path / "langs")],
        registry,
        backends=["echo"],
        options=["echo.language_load=0.4"],
        run={"jobs": 2, "output": str(tmp_path / "runs")},
    )
    outcome = run_suite(suite, log=io.StringIO(), live=False)
    records = list(read_results(outcome.run_dir / "results.jsonl"))
    assert len(records) == 6
    assert not any(record["cold"] for record in records)
    # The load happened in the warm-up, so no job's recognition holds it.
    assert all(record["timings"]["recognize"] < 0.4 for record in records)
    info = json.loads((outcome.run_dir / "run.json").read_text(encoding="utf-8"))
    load = info["backends"]["echo"]["load"]
    assert set(load["languages_s"]) == {"en", "fr", "de"}
    assert all(seconds >= 0.4 for seconds in load["languages_s"].values())
    assert load["errors"] == []


async def test_a_job_meeting_a_new_language_unwarmed_is_cold_and_its_load_is_apart(tmp_path: Path) -> None:
    from echo_backend import make_echo_image

    image = make_echo_image(tmp_path / "a.png", "hello")
    spec = BackendSpec.of("echo", {"language_load": 0.3})
    async with InlineExecutor(plugin_modules=PLUGINS) as executor:
        first = await executor.run(Task(image=str(image), backend=spec, language="en"))
        second = await executor.run(Task(image=str(image), backend=spec, language="en"))
        french = await executor.run(Task(image=str(image), backend=spec, language="fr"))
    assert first.cold and first.timings["warm_up"] >= 0.3 and first.timings["recognize"] < 0.3
    assert not second.cold and "warm_up" not in second.timings
    assert french.cold and french.timings["warm_up"] >= 0.3


# --- timed rounds ------------------------------------------------------------------------


def test_rounds_interleave_groups_and_give_a_speed_spread(tmp_path: Path) -> None:
    make_echo_dataset(tmp_path / "d", {f"line_en_{n}": ("same text", "same text") for n in range(4)})
    from harness.cli import main

    code = main(["--plugin", *PLUGINS, "run", str(tmp_path / "d"), "--backend", "echo", "--pipeline", "none",
                 "--pipeline", "suffix(text=x)", "--rounds", "3", "--jobs", "1",
                 "--out", str(tmp_path / "runs"), "--no-html"])  # fmt: skip
    assert code == 0
    run_dir = (tmp_path / "runs" / "latest").resolve()
    records = list(read_results(run_dir / "results.jsonl"))
    order = [(record.get("round", 1), record["pipeline"]) for record in records]
    assert order == [(r, p) for r in (1, 2, 3) for p in ("none", "suffix(text=x)") for _ in range(4)]
    assert len(read_csv(run_dir / "samples.csv")) == 8  # accuracy from round 1 only
    for row in read_csv(run_dir / "summary.csv"):
        assert row["rounds"] == "3"
        low, mid, high = (float(row[k]) for k in ("pages_per_s_min", "pages_per_s", "pages_per_s_max"))
        assert low <= mid <= high
        assert row["changed_outputs"] == "0"


def test_later_round_outputs_that_differ_are_counted() -> None:
    base = {"dataset": "d", "page": 0, "backend": "b", "pipeline": "none", "language": "en",
            "ground_truth": "abc", "status": "ok", "timings": {"load": 0.1, "recognize": 0.1}}  # fmt: skip
    records = [
        {**base, "sample_id": "s1", "key": "k1", "text": "abc", "started": 0.0, "finished": 1.0},
        {**base, "sample_id": "s1", "key": "k1", "text": "abd", "started": 2.0, "finished": 2.5, "round": 2},
    ]
    samples = samples_frame(records, NFC_WS)
    summary = summary_frame(samples, later_rounds=later_rounds_frame(records, NFC_WS))
    [row] = summary.to_dict("records")
    assert row["rounds"] == 2 and row["changed_outputs"] == 1
    assert row["micro_cer"] == 0.0  # round 1's text is the one scored
    assert (row["pages_per_s_min"], row["pages_per_s_max"]) == (pytest.approx(1.0), pytest.approx(2.0))


def test_summary_md_marks_the_best_on_common_samples_and_says_the_sets_differ(skipping_run: Path) -> None:
    text = (skipping_run / "summary.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("| backend"))
    assert "different samples" in lines[header - 2]  # one sentence above the table
    headings = [cell.strip() for cell in lines[header].strip("|").split("|")]
    rows = {
        cells[0]: dict(zip(headings, cells, strict=True))
        for line in lines[header + 2 :]
        if line.startswith("|")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert rows["english"]["CER (common)"].startswith("**")
    assert not rows["all"]["CER (common)"].startswith("**")
    # Own-sample figures are not ranked when the sets differ: "all" is lower there, unmarked.
    assert "**" not in rows["all"]["CER micro [95% CI]"]
    assert rows["all"]["empty"] == "1"
    assert "Empty output" in text and "all · none 1" in text


def test_report_html_ranks_on_common_samples_and_calls_out_empty_outputs(skipping_run: Path) -> None:
    import re

    from harness.report.html import write_html_report

    html = write_html_report(skipping_run).read_text(encoding="utf-8")
    table = html[html.index('id="summary-table"') : html.index("</table>")]
    rows = {
        re.search(r"<td>([^<]+)</td>", row).group(1): row  # type: ignore[union-attr]
        for row in table.split("<tr>")[2:]
    }
    best_common = re.compile(r'class="n best" data-key="cer_common"')
    assert best_common.search(rows["english"]) and not best_common.search(rows["all"])
    assert not re.search(r'class="n best" data-key="micro_cer"', rows["all"])
    assert 'data-key="cer_unordered"' in rows["all"] and 'data-key="bow_wer"' in rows["all"]
    assert "different samples" in html and 'class="note empty-outputs"' in html
    assert "reading order" in html


# --- pairing and configuration drift -------------------------------------------------------


def echo_run(tmp_path: Path, name: str, pipelines: list[str], options: list[str] = ()) -> Path:
    from harness.cli import main

    data = tmp_path / "data"
    if not data.exists():
        make_echo_dataset(data, {f"line_en_{n}": ("same text", "same text") for n in range(3)})
    args = ["--plugin", *PLUGINS, "run", str(data), "--backend", "echo", "--name", name, "--jobs", "1"]
    for pipeline in pipelines:
        args += ["--pipeline", pipeline]
    for option in options:
        args += ["--option", option]
    assert main([*args, "--out", str(tmp_path / name), "--no-html"]) == 0
    return (tmp_path / name / "latest").resolve()


def test_compare_with_nothing_paired_exits_non_zero_listing_both_sides(tmp_path: Path, capsys) -> None:
    from harness.cli import main

    first = echo_run(tmp_path, "first", ["none", "suffix(text=x)"])
    second = echo_run(tmp_path, "second", ["suffix(text=y)"])
    capsys.readouterr()
    assert main(["--plugin", *PLUGINS, "compare", str(first), str(second)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "echo · none" in err and "echo · suffix(text=x)" in err and "echo · suffix(text=y)" in err
    assert "--a" in err and "--b" in err
    # As the message says: --a and --b pick a group from each run.
    code = main(["--plugin", *PLUGINS, "compare", str(first), str(second), "--a", "pipeline=suffix(text=x)",
                 "--b", "pipeline=suffix(text=y)"])  # fmt: skip
    assert code == 0


def test_compare_lists_each_configuration_difference(tmp_path: Path, capsys) -> None:
    from harness.cli import main

    first = echo_run(tmp_path, "first", ["none"])
    second = echo_run(tmp_path, "second", ["none"], ["echo.misread=2"])
    capsys.readouterr()
    assert main(["--plugin", *PLUGINS, "compare", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert "configuration differs: options.misread: 0 -> 2" in out
