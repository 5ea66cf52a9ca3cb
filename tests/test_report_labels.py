"""Labels that tell groups apart without cutting them, and one chart per tag that tells something."""

from __future__ import annotations

import re
from pathlib import Path

from fixtures_runs import job, write_run

from harness.report.breakdowns import breakdowns, shared_information
from harness.report.grid import short_labels
from harness.report.html import write_html_report
from harness.run_folder import load_run

GRID = [f"downscale(max_side={m})|binarize(method={b})" for m in (1000, 1600) for b in ("none", "sauvola")]


def test_short_labels_name_what_varies_and_stay_distinct() -> None:
    groups = [(backend, pipeline) for backend in ("tesseract", "rapidocr") for pipeline in GRID]
    labels = short_labels(groups)
    assert labels[("tesseract", GRID[1])] == "tesseract · max_side=1000, method=sauvola"
    assert len(set(labels.values())) == len(groups)
    one_engine = short_labels([("tesseract", "none"), ("tesseract", "binarize(method=otsu)")])
    assert one_engine == {
        ("tesseract", "none"): "none",
        ("tesseract", "binarize(method=otsu)"): "method=otsu",
    }
    # Two steps with a parameter of the same name: the step says which.
    twins = short_labels([("t", "a(size=1)|b(size=2)"), ("t", "a(size=3)|b(size=4)")])
    assert twins[("t", "a(size=1)|b(size=2)")] == "a.size=1, b.size=2"


def _grid_run(folder: Path) -> Path:
    truth = "the quick brown fox jumps over the lazy dog"
    jobs = []
    for backend in ("tesseract", "rapidocr"):
        for index, pipeline in enumerate(GRID):
            for sample in range(4):
                text = truth.replace("quick", "qu1ck") if (index + sample) % 3 == 0 else truth
                jobs.append(job(f"s{sample}", truth, text, backend=backend, pipeline=pipeline,
                                tags={"blur": sample % 2, "noise": "heavy" if sample % 2 else "none",
                                      "dpi": 150 if sample < 2 else 300}))  # fmt: skip
    return write_run(folder, jobs)


def test_charts_use_short_labels_with_the_full_pipeline_on_hover_and_in_a_key(tmp_path: Path) -> None:
    html = write_html_report(_grid_run(tmp_path / "run")).read_text(encoding="utf-8")
    charts = html[html.index('<section id="charts">') : html.index('<section id="errors">')]
    assert "…" not in charts  # nothing cut
    legend_texts = re.findall(r"<text [^>]*>([^<]*)<title>([^<]*)</title>", charts)
    pairs = {(text.removeprefix("★ "), title) for text, title in legend_texts}
    assert ("tesseract · max_side=1600, method=sauvola", "tesseract · " + GRID[3]) in pairs
    key = charts[charts.index('id="key-table"') :]
    assert key.count("<tr>") == 1 + 8 and f"<code>{GRID[3]}</code>" in key


def test_tags_that_split_the_pages_alike_get_one_chart(tmp_path: Path) -> None:
    run = load_run(_grid_run(tmp_path / "run"))
    scored = run.samples[run.samples["status"] == "ok"]
    groups = [(group, f"{group[0]} · {group[1]}", "#000") for group in run.groups()]
    charts = {b.name: b for b in breakdowns(scored, groups)}
    # noise is heavy exactly where blur is 1: one chart, the other named under it.
    assert ("blur" in charts) != ("noise" in charts)
    kept = charts.get("blur") or charts["noise"]
    assert kept.alike == (("noise",) if kept.name == "blur" else ("blur",))
    assert "dpi" in charts and charts["dpi"].alike == ()
    html = write_html_report(run.path).read_text(encoding="utf-8")
    assert f"CER by {kept.name} (≈ {kept.alike[0]})" in html
    assert shared_information(list("aabb"), list("xyxy")) == 0.0
    assert shared_information(list("aabb"), list("yyxx")) == 1.0


def test_confusions_are_summed_by_kind_before_the_top_list(tmp_path: Path) -> None:
    from harness.report.confusion_view import confusion_kind

    assert confusion_kind("a", "A") == "case"
    assert confusion_kind("é", "e") == "diacritics" and confusion_kind("ü", "u") == "diacritics"
    assert confusion_kind("l", "1") == "digits" and confusion_kind("O", "0") == "digits"
    assert confusion_kind("rn", "m") == "letters" and confusion_kind("e", "") == "letters"
    assert confusion_kind(",", ".") == "punctuation & symbols" and confusion_kind(" ", "") == "whitespace"
    assert confusion_kind("…", "…") == "garbled stretches"
    truth = "Élan vital, 1887: The Quick fox."
    run = write_run(
        tmp_path / "run", [job("a", truth, "Elan vita1. l887: the Quick fox"), job("b", truth, truth)]
    )
    html = write_html_report(run).read_text(encoding="utf-8")
    card = html[html.index('id="confusions"') : html.index('id="samples"')]
    kinds = dict(re.findall(r'<tr><td>([a-z &;]+)</td><td class="n">(\d+)</td>', card))
    assert kinds == {"digits": "2", "case": "1", "diacritics": "1", "punctuation &amp; symbols": "2"}
    assert card.index("confusion-kinds") < card.index('class="confusions"')  # kinds come first
    assert re.search(r"The \d+ most frequent of \d+ distinct confusions, 100% of all", card)


def test_compare_does_not_credit_an_empty_output_with_fixing_confusions(tmp_path: Path) -> None:
    from harness.compare import compare_runs
    from harness.compare.render import group_notes

    truth = "the quick brown fox jumps over the lazy dog near the old mill"
    garbled = "thc qxjck brwn fx jmps ovr th lzy dg nr th ld mll"
    a = write_run(tmp_path / "a", [job("p1", truth, garbled), job("p2", truth, truth.replace("fox", "f0x"))])
    b = write_run(tmp_path / "b", [job("p1", truth, ""), job("p2", truth, truth)])
    (group,) = compare_runs(load_run(a), load_run(b)).groups
    assert group.empty_output == 1
    # p1's garbling is not "fixed" by reading nothing; p2's o→0 really is.
    assert [(c.ref, c.hyp, c.delta) for c in group.fixed] == [("o", "0", -1)]
    assert group.introduced == []
    assert group.cer_b is not None and group.cer_a is not None and group.cer_b > group.cer_a  # still counted
    assert "1 page with an empty output on one side" in " ".join(group_notes(group))
