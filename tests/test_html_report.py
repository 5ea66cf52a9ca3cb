from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import missing_requirement
from fixtures_runs import job, write_run

from harness.report.breakdowns import breakdowns, plan_bins
from harness.report.charts import Point, pareto_front
from harness.report.html import write_html_report
from harness.run_folder import load_run

XSS = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"


def _line_images(real_dev: Path, count: int) -> list[tuple[str, Path, str]]:
    items = []
    for gt in sorted(real_dev.glob("line_en_uw3_*.gt.txt"))[:count]:
        stem = gt.name.removesuffix(".gt.txt")
        image = next(p for p in real_dev.glob(f"{stem}.*") if p.suffix in (".png", ".tif", ".tiff", ".jpg"))
        items.append((stem, image, " ".join(gt.read_text(encoding="utf-8").split())))
    return items


@pytest.fixture
def report_run(tmp_path: Path, real_dev: Path) -> Path:
    jobs = []
    for index, (stem, image, truth) in enumerate(_line_images(real_dev, 3)):
        noisy = truth.replace("e", "c", 2)
        for backend, pipeline, text, seconds in (
            ("tesseract", "none", noisy, 1.0 + index * 0.1),
            ("tesseract", "binarize(method=otsu)", truth, 1.3),
            ("rapidocr", "none", noisy.replace("m", "rn"), 3.0),
        ):
            jobs.append(job(stem, truth, text, backend=backend, pipeline=pipeline, image=str(image),
                            tags={"blur": index % 2}, seconds=seconds))  # fmt: skip
    bebel = real_dev / "page_de_bebel1879_0146.tif"  # a 3068x4660 page: the thumbnail must shrink it
    jobs.append(
        job("bebel", "Die Frau und der Sozialismus", "Dic Frau und der Socialismus", image=str(bebel))
    )
    jobs.append(job("evil", XSS, XSS.replace("alert(1)", "alert(3)")))
    broken = "/data/broken.png: the file is empty (0 bytes)"
    jobs.append(
        job("broken", "x", None, backend="rapidocr", error_type="ImageReadError", error_message=broken)
    )
    cannot = "backend 'rapidocr' cannot read Greek ('el')"
    jobs.append(job("greek", "κελαινοῖς", None, backend="rapidocr", skipped=True, error_type="LanguageError",
                    error_message=cannot))  # fmt: skip
    jobs.append(job("trunc", "a long text that was cut", "a long", backend="aspose", truncated=True))
    return write_run(tmp_path / "run", jobs, dataset_paths={"real-dev": str(real_dev)})


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(html)
    return collector.tags


def test_report_is_self_contained_and_escapes_untrusted_text(report_run: Path):
    path = write_html_report(report_run)
    assert path == report_run / "report.html"
    html = path.read_text(encoding="utf-8")
    tags = _tags(html)
    # Offline: no script, stylesheet or image comes from anywhere but the file itself.
    assert not [
        a
        for t, a in tags
        if t in ("script", "img", "link") and re.match(r"(https?:)?//", a.get("src") or a.get("href") or "")
    ]
    assert [t for t, _ in tags].count("script") == 1  # ours, inline
    # Images are thumbnails beside the report, in the run folder: it opens offline as it is.
    sources = [a.get("src") or "" for t, a in tags if t == "img"]
    assert sources and all(src.startswith("thumbnails/") and (report_run / src).is_file() for src in sources)
    # Ground truth and OCR output are text, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not any(t == "img" and a.get("onerror") for t, a in tags)
    # Failed jobs are listed with their errors, jobs not run apart: they are not failures.
    assert ">Failed (1)</a>" in html and ">Not run (1)</a>" in html
    failures = html[html.index('id="failures"') : html.index('id="not-run"')]
    assert "/data/broken.png: the file is empty (0 bytes)" in failures and "Greek" not in failures
    not_run = html[html.index('id="not-run"') : html.index('id="run"')]
    assert "backend &#39;rapidocr&#39; cannot read Greek" in not_run and "greek" in not_run
    # Truncated output is marked not comparable.
    assert "not comparable" in html
    assert "aspose · none" in html


def test_thumbnails_are_downscaled_jpegs_kept_by_content_and_reused(report_run: Path):
    from PIL import Image

    from harness.thumbnails import ThumbnailStore

    html = write_html_report(report_run).read_text(encoding="utf-8")
    sources = [a["src"] for t, a in _tags(html) if t == "img"]
    assert len(sources) == 4  # three lines and the page: the other samples have no image
    for source in sources:
        with Image.open(report_run / source) as image:
            assert image.format == "JPEG" and image.width <= 1000 and image.height <= 1200
    # The 600-dpi page shrank to a thumbnail.
    assert max((report_run / source).stat().st_size for source in sources) < 300_000
    # Made once, into the store by content hash: a second report makes none.
    store = ThumbnailStore()
    stamps = {path.name: path.stat().st_mtime_ns for path in store.folder.iterdir()}
    assert {Path(source).name for source in sources} <= set(stamps)
    write_html_report(report_run)
    assert {path.name: path.stat().st_mtime_ns for path in store.folder.iterdir()} == stamps


def test_confusions_and_classes_are_reported(report_run: Path):
    html = write_html_report(report_run).read_text(encoding="utf-8")
    confusions = html[html.index('id="confusions"') : html.index('id="samples"')]
    # "e" read as "c" twice per line in tesseract · none; rapidocr reads "m" as "rn" on top.
    assert re.search(r"e<span class=\"arrow\">→</span>c</td><td class=\"n\">\d+", confusions)
    assert 'm<span class="arrow">→</span>rn' in confusions
    assert "letters with diacritics" not in html[html.index('id="class-table"') : html.index("Most frequent")]


def test_pareto_front():
    fast_bad = Point("fast", throughput=5.0, error=0.10)
    slow_good = Point("slow", throughput=0.5, error=0.01)
    dominated = Point("dominated", throughput=0.4, error=0.05)
    truncated = Point("truncated", throughput=9.0, error=0.0, comparable=False)
    front = pareto_front([fast_bad, slow_good, dominated, truncated])
    assert [p.label for p in front] == ["slow", "fast"]


# --- "CER by <tag>" charts ------------------------------------------------------------------

SENTENCE = "the quick brown fox jumps over the lazy dog"


def _tagged_run(folder: Path) -> Path:
    """Sixteen pages whose errors grow with blur, read by two groups; one tag of each kind."""
    blur = [0.0] * 5 + [0.12, 0.2, 0.31, 0.38, 0.45, 0.61, 0.7, 0.83, 0.9, 1.12, 1.37]
    jobs = []
    for index, amount in enumerate(blur):
        text = SENTENCE[: len(SENTENCE) - round(amount * 20)]  # deletions grow with the blur
        tags = {
            "blur_px": amount,
            "degrade": "none" if amount == 0 else "light" if amount < 0.5 else "heavy",
            "source": "synthetic",  # one value: tells nothing
            "scan_id": f"scan-{index:03d}",  # a word per page: an id, not a property
            "dpi": 150 if index % 2 else 300,  # two values, eight pages each: a bar per value
            "scanner": "<i>flatbed</i>" if index % 3 else "feeder & co",  # labels are text, not markup
        }
        if index % 4 == 0:
            tags["columns"] = 1  # only on some pages, and always 1: tells nothing
        for pipeline in ("none", "binarize(method=otsu)"):
            if pipeline != "none" and index == 15:
                jobs.append(job(f"p{index}", SENTENCE, None, pipeline=pipeline, tags=tags,
                                error_type="ImageReadError", error_message="cannot read"))  # fmt: skip
                continue
            jobs.append(job(f"p{index}", SENTENCE, text, pipeline=pipeline, tags=tags))
    return write_run(folder, jobs)


@pytest.mark.parametrize(
    "values",
    [
        ["1.0"] * 6,  # one value
        ["a6", "a6", "a6"],  # one value
        [f"id-{i}" for i in range(8)],  # a different word on every page
        ["0.5"],
    ],
)
def test_tags_that_tell_nothing_get_no_chart(values):
    assert plan_bins(values) is None


def test_continuous_tags_are_cut_into_round_ranges_with_a_bar_for_a_shared_value():
    values = ["0.0"] * 10 + [f"{0.05 * i:.2f}" for i in range(1, 31)]  # 0.05 .. 1.5, and many zeros
    bins = plan_bins(values)
    assert bins is not None and bins.kind == "ranges"
    assert bins.labels[0] == "0" and 3 <= len(bins.labels) <= 5
    for label in bins.labels[1:]:
        low, high = (float(x) for x in label.split("–"))
        members = [float(v) for v, bar in bins.of_value.items() if bar == label]
        assert members and all(low <= m <= high for m in members), label
        assert len(f"{low:g}") <= 4 and len(f"{high:g}") <= 4  # round numbers: 0.5, not 0.4871
    assert {bins.of_value[v] for v in values if v == "0.0"} == {"0"}
    # Quantile ranges: no bar stands on a handful of pages while another has most of them.
    sizes = [sum(bins.of_value[v] == label for v in values) for label in bins.labels[1:]]
    assert max(sizes) <= 2 * min(sizes)


def test_negative_and_skewed_values_get_readable_ranges():
    skew = plan_bins([f"{x:.2f}" for x in (-2.98, -0.89, -0.74, -0.34, -0.24, -0.16, 0.41, 1.22, 1.81, 2.53)])
    assert skew is not None and skew.labels[0].startswith("−3 – ")  # a real minus sign, spaced dash
    sizes = plan_bins([str(10**i) for i in range(8)])
    assert sizes is not None and len(sizes.labels) >= 2  # not a single linear bar from 0 to 10 million


def test_severity_words_in_order_few_numbers_as_values_many_words_pooled():
    severity = plan_bins(["heavy", "none", "light", "medium", "none", "heavy"])
    assert severity is not None and severity.kind == "severity"
    assert severity.labels == ("none", "light", "medium", "heavy")
    dpi = plan_bins(["300", "150", "300.0", "150", "200", "200"])
    assert dpi is not None and dpi.kind == "values" and dpi.labels == ("150", "200", "300")
    assert dpi.of_value["300.0"] == "300"
    jpeg = plan_bins(["null"] * 6 + ["20", "20", "40", "40"])  # null: the step was not applied
    assert jpeg is not None and jpeg.labels == ("20", "40", "null")
    fonts = plan_bins([f"font {i % 14}" for i in range(42)])
    assert fonts is not None and len(fonts.labels) == 10 and fonts.labels[-1] == "other (5 values)"


def test_breakdowns_count_pages_and_order_by_what_they_tell(tmp_path: Path):
    run = load_run(_tagged_run(tmp_path / "run"))
    scored = run.samples[run.samples["status"] == "ok"]
    groups = [
        (("tesseract", "none"), "plain", "#111"),
        (("tesseract", "binarize(method=otsu)"), "otsu", "#222"),
    ]
    charts = breakdowns(scored, groups)
    names = [chart.name for chart in charts]
    assert names[0] == "degrade"  # severity first
    assert set(names) == {"degrade", "blur_px", "dpi", "scanner"}  # not source, scan_id or columns
    blur = charts[names.index("blur_px")]
    assert blur.kind == "ranges" and blur.labels[0] == "0" and len(blur.labels) <= 5
    assert blur.pages[0] == 5 and sum(blur.pages) == 16
    plain, otsu = blur.series
    assert plain.values[0] == 0.0  # unblurred pages are read perfectly
    assert plain.values[-1] is not None and plain.values[-1] > plain.values[1] > 0  # worse with more blur
    assert plain.pages == blur.pages
    assert otsu.pages[-1] == blur.pages[-1] - 1  # its failed job is not scored
    # dpi changes nothing here, blur a lot: blur comes before dpi.
    assert names.index("blur_px") < names.index("dpi")


def test_several_datasets_come_first(tmp_path: Path):
    jobs = [
        job(f"{dataset}{i}", SENTENCE, SENTENCE[: 30 + i] if dataset == "old" else SENTENCE, dataset=dataset,
            tags={"degrade": "none" if i % 2 else "heavy"})
        for dataset in ("old", "new")
        for i in range(4)
    ]  # fmt: skip
    run = load_run(write_run(tmp_path / "run", jobs))
    charts = breakdowns(run.samples, [(("tesseract", "none"), "t", "#111")])
    assert [chart.name for chart in charts] == ["dataset", "degrade"]
    assert charts[0].labels == ("new", "old") and charts[0].pages == (4, 4)
    assert charts[0].series[0].values[0] == 0.0 and charts[0].series[0].values[1] > 0


def test_report_shows_binned_tags_with_counts(tmp_path: Path):
    html = write_html_report(_tagged_run(tmp_path / "run")).read_text(encoding="utf-8")
    assert 'id="chart-by-blur_px"' in html and 'id="chart-by-degrade"' in html
    assert 'id="chart-by-source"' not in html and 'id="chart-by-scan_id"' not in html
    assert 'id="chart-by-columns"' not in html
    start = html.index('id="chart-by-blur_px"')
    chart = html[start : html.index("</figure>", start)]
    assert re.findall(r'class="category"[^>]*>([^<]+)<', chart) == ["0", "0.1–0.4", "0.4–0.8", "0.8–1.4"]
    assert re.findall(r">n=(\d+)<", chart) == ["5", "4", "3", "4"]
    assert "tesseract · binarize(method=otsu) | 0: 0.00% over 5 pages" in chart
    assert ">Failed (1)</a>" in html and "Not run" not in html
    scanner = html[html.index('id="chart-by-scanner"') :]
    assert "&lt;i&gt;flatbed&lt;/i&gt;" in scanner and "feeder &amp; co" in scanner
    assert "<i>flatbed</i>" not in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        missing_requirement("headless Chromium is not installed (Debian package chromium)")
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]  # fmt: skip
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.browser
def test_report_in_chromium_sorts_draws_and_escapes(report_run: Path, tmp_path: Path):
    report = write_html_report(report_run)
    # The hash sorts the summary table on load through the same code as a click on the header.
    dom = _chromium(tmp_path, "--dump-dom", f"{report.as_uri()}#sort=micro_cer:desc").stdout
    table = dom[dom.index('id="summary-table"') : dom.index("</table>", dom.index('id="summary-table"'))]
    assert 'data-key="micro_cer" aria-sort="descending"' in table or re.search(
        r'<th[^>]*aria-sort="descending"[^>]*data-key="micro_cer"|<th[^>]*data-key="micro_cer"[^>]*aria-sort="descending"',
        table,
    )
    cer_cells = [
        float(v) for v in re.findall(r'<td class="n[^"]*" data-key="micro_cer" data-sort="([^"]+)"', table)
    ]
    assert len(cer_cells) == 4 and cer_cells == sorted(cer_cells, reverse=True)
    ascending = _chromium(tmp_path, "--dump-dom", f"{report.as_uri()}#sort=pages_per_s:asc").stdout
    table = ascending[ascending.index('id="summary-table"') :]
    speeds = [float(v) for v in re.findall(r'data-key="pages_per_s" data-sort="([^"]+)"', table)][:4]
    assert speeds == sorted(speeds)
    # Charts are inline SVG: the Pareto scatter with its front, CER by tag, latency boxes.
    assert dom.count("<svg") >= 3
    assert 'class="pareto"' in dom and 'class="bar"' in dom and 'class="box"' in dom
    # The aligned diff colours deletions, insertions and substitutions.
    assert re.search(r'<div class="diff">[^<]*(<(del|ins|span class="sub")[^>]*>)', dom)
    assert '<span class="sub"' in dom
    # The hostile ground truth is text in the DOM after scripts ran: no new element was created.
    assert dom.count("<script") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "onerror=" not in dom.replace("onerror=alert(2)&gt;", "")
    shot = tmp_path / "report.png"
    _chromium(tmp_path, "--window-size=1400,2000", f"--screenshot={shot}", report.as_uri())
    from PIL import Image

    with Image.open(shot) as image:
        # Not a blank page: the dark header and coloured charts put many distinct colours on screen.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 200


@pytest.mark.browser
@pytest.mark.slow
def test_real_run_report_in_chromium(preprocessing_runs: tuple[Path, Path], tmp_path: Path):
    plain, downscaled = preprocessing_runs
    report = plain / "report.html"  # written by the runner at the end of the run
    assert report.is_file()
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    # Every scan shown from thumbnails/ beside the report (made by the workers), nothing fetched.
    sources = re.findall(r'<img src="([^"]+)"', dom)
    assert len(sources) == 4
    assert all(src.startswith("thumbnails/") and (plain / src).is_file() for src in sources)
    assert 'class="read"' not in dom  # no preprocessing: the engine read the scan as shown
    # With a pipeline, each output also shows what the engine read: the downscaled image.
    other = _chromium(tmp_path, "--dump-dom", (downscaled / "report.html").as_uri()).stdout
    read = re.findall(r'<figure class="read"><img src="([^"]+)" width="(\d+)"', other)
    assert len(read) == 4
    for src, width in read:
        assert (downscaled / src).is_file() and src not in sources
        assert int(width) <= 500  # downscale(max_side=500): the image as the engine got it
    assert dom.count("<svg") >= 2
    assert "line_en_campbell1881_0063_28" in dom
    # Tesseract's English model does not read the Greek word: the diff strikes out Greek letters.
    assert re.search(r"<del>[^<]*[α-ωἀ-ῷ][^<]*</del>", dom)
