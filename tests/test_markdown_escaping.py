"""summary.md and compare.md render labels, names and file names as text in GitHub's Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_runs import job, write_run

from harness.compare import compare_runs
from harness.compare.render import to_markdown
from harness.report.markdown import code_span, escape_markdown, summary_markdown
from harness.run_folder import load_run

cmarkgfm = pytest.importorskip("cmarkgfm")

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "**bold** _em_ ~~gone~~",
    "[click](http://evil.example)",
    "![pixel](http://evil.example/p.png)",
    "`code` and ``more``",
    "a|b",
    "&lt;entity&gt;",
    "$x^2$",
    "www.evil.example and https://evil.example",
    "line\nbreak # heading",
    "back\\slash\\",
]


def _html(markdown: str) -> str:
    from cmarkgfm.cmark import Options

    # UNSAFE: keep raw HTML as a careless renderer would; escaping must not rely on a sanitiser.
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def _text_of(html: str) -> str:
    from html.parser import HTMLParser

    parts: list[str] = []
    parser = HTMLParser()
    parser.handle_data = parts.append  # type: ignore[method-assign]
    parser.feed(html)
    return "".join(parts)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_text_renders_as_itself(payload: str) -> None:
    html = _html(f"| {escape_markdown(payload)} |\n|---|\n| x |\n\n- {escape_markdown(payload)}")
    for tag in ("<img", "<a ", "<strong", "<em", "<del", "<code", "<h1"):
        assert tag not in html, (payload, html)
    assert html.count("<th>") == 1  # the "|" did not split the cell
    assert " ".join(payload.splitlines()) in _text_of(html)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_spans_hold_any_text(payload: str) -> None:
    html = _html(f"- {code_span(payload)}")
    assert html.count("<code>") == 1 and "<img" not in html and "<a " not in html
    assert " ".join(payload.splitlines()) in _text_of(html)


def test_summary_and_compare_markdown_show_hostile_labels_as_text(tmp_path: Path) -> None:
    backend, pipeline, sample = PAYLOADS[0], PAYLOADS[3], "`evil` <b>id</b>"

    def jobs(text: str) -> list:
        return [
            job(sample, "the text", text, backend=backend, pipeline=pipeline),
            job("plain", "more text", "more text", backend=backend, pipeline=pipeline),
        ]

    run_a = load_run(write_run(tmp_path / "a", jobs("the txet"), suite="**suite** <i>x</i>"))
    run_b = load_run(write_run(tmp_path / "b", jobs("the text")))
    summary = summary_markdown(run_a.summary, run_a.info)
    comparison = to_markdown(compare_runs(run_a, run_b))
    for markdown in (summary, comparison):
        html = _html(markdown)
        for tag in ("<img", "<a ", "<i>", "<b>", "<strong>suite", "<strong>bold"):
            assert tag not in html, (tag, html)
        assert backend in _text_of(html)
    assert "**suite** <i>x</i>" in _text_of(_html(summary))
    assert "`evil` <b>id</b>" in _text_of(_html(comparison))
