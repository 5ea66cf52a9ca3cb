from __future__ import annotations

import random
from pathlib import Path

import pytest
from fixtures_runs import job, write_run

from harness.cli import main
from harness.compare import Selector, compare_runs, pair_groups
from harness.errors import ConfigError
from harness.run_folder import load_run

TRUTHS = [
    "the modern lily will fall",
    "all files fill the tall hall",
    "a fine line of lime and 11 limes",
    "return all the small bells",
    "little lambs eat ivy all day",
    "internal learning all lessons",
    "the final bill was filled in full",
    "nine lines in one column",
]


def _noisy(text: str, seed: int, rate: float) -> str:
    rng = random.Random(seed)
    return "".join(ch for ch in text if rng.random() > rate)


def _two_runs(tmp_path: Path) -> tuple[Path, Path]:
    """Run A misreads l as 1 on every page; run B (another pipeline) reads that right but rn as m."""
    jobs_a, jobs_b = [], []
    for index, truth in enumerate(TRUTHS * 2):
        sample = f"s{index:02d}"
        a_text = _noisy(truth.replace("l", "1"), index, 0.02)
        b_text = _noisy(truth.replace("rn", "m"), index + 100, 0.02)
        jobs_a.append(job(sample, truth, a_text, pipeline="none", seconds=1.0))
        jobs_b.append(job(sample, truth, b_text, pipeline="binarize(method=otsu)", seconds=1.25))
    return write_run(tmp_path / "a", jobs_a), write_run(tmp_path / "b", jobs_b)


def test_preprocessing_change_is_significant_with_its_interval(tmp_path: Path):
    run_a, run_b = _two_runs(tmp_path)
    comparison = compare_runs(load_run(run_a), load_run(run_b))
    assert len(comparison.groups) == 1
    group = comparison.groups[0]
    # Paired despite the different pipelines: the only group on each side, same backend.
    assert group.group_a == ("tesseract", "none")
    assert group.group_b == ("tesseract", "binarize(method=otsu)")
    assert group.pairs == 16
    assert group.cer is not None and group.cer.significant
    assert group.cer.diff < 0 and group.cer.low < group.cer.diff < group.cer.high < 0
    assert group.cer.diff == pytest.approx(group.cer_b - group.cer_a)
    assert group.verdict == "B is more accurate"
    assert group.throughput_ratio == pytest.approx(0.8)
    fixed = {(c.ref, c.hyp): c.delta for c in group.fixed}
    introduced = {(c.ref, c.hyp): c.delta for c in group.introduced}
    assert fixed[("l", "1")] < 0
    assert introduced[("rn", "m")] > 0
    assert group.better and all(change.diff < 0 for change in group.better)
    assert [c.diff for c in group.better] == sorted(c.diff for c in group.better)


def test_a_run_against_itself_shows_no_significant_difference(tmp_path: Path):
    run_a, _ = _two_runs(tmp_path)
    comparison = compare_runs(load_run(run_a), load_run(run_a))
    group = comparison.groups[0]
    assert group.cer is not None and not group.cer.significant
    assert (group.cer.diff, group.cer.low, group.cer.high) == (0.0, 0.0, 0.0)
    assert group.worse == [] and group.better == [] and group.fixed == [] and group.introduced == []
    assert group.verdict == "no significant CER difference"


def test_failed_and_truncated_pages_are_left_out_and_said(tmp_path: Path):
    run_a = write_run(tmp_path / "a", [
        job("p1", "hello world", "hello world"),
        job("p2", "good morning", "good moming"),
        job("p3", "fine", "fine"),
        job("p4", "only in a", "only in a"),
    ])  # fmt: skip
    run_b = write_run(tmp_path / "b", [
        job("p1", "hello world", "hello wor1d"),
        job("p2", "good morning", None, error_type="EngineError", error_message="boom"),
        job("p3", "fine", "fi", truncated=True),
    ])  # fmt: skip
    group = compare_runs(load_run(run_a), load_run(run_b)).groups[0]
    assert (group.pairs, group.failed, group.not_comparable, group.only_a) == (1, 1, 1, 1)
    assert not group.cer.significant  # one pair is no evidence


def test_pairing_groups():
    pairs, left_a, left_b = pair_groups(
        [("t", "none"), ("r", "none"), ("x", "none")], [("t", "otsu"), ("r", "otsu"), ("t", "none")]
    )
    assert (("t", "none"), ("t", "none")) in pairs
    assert (("r", "none"), ("r", "otsu")) in pairs
    assert left_a == [("x", "none")] and left_b == [("t", "otsu")]
    # Two single-group runs are compared whatever differs between them.
    assert pair_groups([("t", "none")], [("r", "otsu")]) == ([(("t", "none"), ("r", "otsu"))], [], [])


def test_two_pipelines_within_one_run(tmp_path: Path):
    run_a, run_b = _two_runs(tmp_path)
    both = load_run(run_a)
    combined = write_run(
        tmp_path / "both",
        [job(f"s{i:02d}", t, _noisy(t.replace("l", "1"), i, 0.02)) for i, t in enumerate(TRUTHS)]
        + [job(f"s{i:02d}", t, t, pipeline="binarize(method=otsu)") for i, t in enumerate(TRUTHS)],
    )
    both = load_run(combined)
    comparison = compare_runs(
        both, both, selector_a=Selector.parse(["pipeline=none"]),
        selector_b=Selector.parse(["pipeline=binarize( method=otsu )"]),  # canonicalised
    )  # fmt: skip
    group = comparison.groups[0]
    assert group.label == "tesseract · none → tesseract · binarize(method=otsu)"
    assert group.cer.significant and group.cer_b == 0.0
    with pytest.raises(ConfigError, match="no rows"):
        compare_runs(both, both, selector_a=Selector.parse(["backend=nothing"]))
    with pytest.raises(ConfigError, match="selector"):
        Selector.parse(["colour=red"])


def test_cli_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    run_a, run_b = _two_runs(tmp_path)
    assert main(["compare", str(run_a), str(run_b)]) == 0
    table = capsys.readouterr().out
    assert "ΔCER" in table and "yes, B better" in table and "confusions fixed" in table
    assert main(["compare", str(run_a), str(run_b), "--format", "md"]) == 0
    markdown = capsys.readouterr().out
    assert "| group | pages |" in markdown and "**" in markdown  # the significant difference in bold
    out = tmp_path / "compare.html"
    assert main(["compare", str(run_a), str(run_b), str(run_a), "--format", "html", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="comparison">') == 2  # each run against the first
    assert "<del" in html and "<ins" in html
    assert main(["compare", str(run_a)]) == 2
    assert "two run folders" in capsys.readouterr().err


def test_html_escapes_outputs(tmp_path: Path):
    run_a = write_run(
        tmp_path / "a", [job("x", "<b>bold</b> text", "<b>bold</b> text"), job("y", "ok", "ok")]
    )
    run_b = write_run(
        tmp_path / "b", [job("x", "<b>bold</b> text", "<script>alert(1)</script>"), job("y", "ok", "ok")]
    )
    from harness.compare.render import render

    html = render([compare_runs(load_run(run_a), load_run(run_b))], "html")
    assert html.count("<script") == 1  # the page's own; the OCR output's is text
    assert "&lt;b&gt;bold&lt;/b&gt; text" in html and "<b>bold" not in html


@pytest.mark.slow
def test_real_runs_differing_by_a_preprocessing_step(preprocessing_runs: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]):  # fmt: skip
    plain, downscaled = preprocessing_runs
    comparison = compare_runs(load_run(plain), load_run(downscaled))
    [group] = comparison.groups
    assert group.label == "tesseract · none → tesseract · downscale(max_side=500)"
    assert group.pairs == 4
    assert group.cer_a != group.cer_b  # Tesseract reads the smaller images differently
    assert group.cer.low <= group.cer.diff <= group.cer.high
    assert group.cer.diff == pytest.approx(group.cer_b - group.cer_a)
    assert group.throughput_ratio is not None and group.throughput_ratio > 0
    assert group.worse or group.better
    assert group.fixed or group.introduced
    # Against itself, a real run shows no difference at all.
    same = compare_runs(load_run(plain), load_run(plain)).groups[0]
    assert not same.cer.significant and same.cer.diff == 0.0
    out = tmp_path / "compare.html"
    assert main(["compare", str(plain), str(downscaled), "--format", "html", "--out", str(out)]) == 0
    assert "downscale(max_side=500)" in out.read_text(encoding="utf-8")
