from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fixtures_runs import job, write_run

from harness.report.charts import Point, pareto_front
from harness.report.html import write_html_report

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
    return write_run(tmp_path / "run", jobs)


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
    assert all((a.get("src") or "").startswith("data:image/") for t, a in tags if t == "img")
    # Ground truth and OCR output are text, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not any(t == "img" and a.get("onerror") for t, a in tags)
    # Failed jobs are listed with their errors; truncated output is marked not comparable.
    failures = html[html.index('id="failures"') : html.index('id="run"')]
    assert "/data/broken.png: the file is empty (0 bytes)" in failures
    assert "backend &#39;rapidocr&#39; cannot read Greek" in failures and "skipped, not run" in failures
    assert "not comparable" in html
    assert "aspose · none" in html


def test_thumbnails_are_downscaled(report_run: Path):
    from PIL import Image

    html = write_html_report(report_run).read_text(encoding="utf-8")
    sources = [a["src"] for t, a in _tags(html) if t == "img"]
    assert len(sources) == 4  # three lines and the page: the other samples have no image
    for source in sources:
        header, data = source.split(",", 1)
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.width <= 1000
    assert max(len(source) for source in sources) < 300_000  # the 600-dpi page shrank to a thumbnail


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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]  # fmt: skip
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package chromium)")
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
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package chromium)")
def test_real_run_report_in_chromium(preprocessing_runs: tuple[Path, Path], tmp_path: Path):
    plain, _ = preprocessing_runs
    report = plain / "report.html"  # written by the runner at the end of the run
    assert report.is_file()
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    assert dom.count('<img src="data:image/') == 4  # every scan embedded, nothing fetched
    assert dom.count("<svg") >= 2
    assert "line_en_campbell1881_0063_28" in dom
    # Tesseract's English model does not read the Greek word: the diff strikes out Greek letters.
    assert re.search(r"<del>[^<]*[α-ωἀ-ῷ][^<]*</del>", dom)
