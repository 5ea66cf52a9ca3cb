"""Side-by-side diffs: every edit on both sides under one number, at character and word level."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import probe
from fixtures_runs import job, write_run

from harness.align import align
from harness.report.diffs import side_by_side, word_diff
from harness.report.html import write_html_report


def _texts(view) -> tuple[str, str]:
    return "".join(p.text for p in view.reference), "".join(p.text for p in view.output)


def test_both_sides_keep_their_text_and_every_edit_is_on_both_sides() -> None:
    truth, output = "the quick brown\nfox jumps", "the qu1ck brovvn\nfox jumps over"
    views = side_by_side(align(truth, output))
    for view in views.values():
        assert _texts(view) == (truth, output)
        links_ref = [p.link for p in view.reference if p.link is not None]
        links_out = [p.link for p in view.output if p.link is not None]
        assert links_ref == links_out == list(range(1, view.edits + 1))
    words = views["words"]
    assert [(p.text, p.kind) for p in words.output if p.link] == [("qu1ck brovvn", "sub"), ("over", "ins")]
    assert [(p.text, p.kind) for p in words.reference if p.link] == [("quick brown", "sub"), ("", "gap")]
    assert views["chars"].edits == 3  # i→1, w→vv, " over"


def test_word_diff_of_a_missing_word_and_empty_output() -> None:
    view = word_diff("one two three", "one three")
    assert [(p.text, p.kind) for p in view.reference if p.link] == [("two", "del")]
    assert [(p.text, p.kind) for p in view.output if p.link] == [("", "gap")]
    empty = word_diff("all of it", "")
    assert empty.edits == 1 and empty.reference[0].kind == "del" and empty.output[0].kind == "gap"
    assert word_diff("same words", "same words").edits == 0


@pytest.mark.browser
def test_hovering_one_half_of_an_edit_highlights_the_other(tmp_path: Path) -> None:
    truth = "Die Frau und der Sozialismus"
    run = write_run(
        tmp_path / "run", [job("a", truth, "Dic Frau und der Socialismus"), job("b", truth, truth)]
    )
    report = write_html_report(run)
    script = """
      var result = {};
      ['chars', 'words'].forEach(function (level) {
        var pair = document.querySelector('.pair.' + level);
        var sides = pair.querySelectorAll('.side');
        var edit = sides[1].querySelector('[data-l]');
        edit.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
        var lit = Array.prototype.map.call(pair.querySelectorAll('.hl'),
                                           function (e) { return e.textContent; });
        edit.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));
        result[level] = {lit: lit, after: pair.querySelectorAll('.hl').length,
                         shown: getComputedStyle(pair).display !== 'none'};
      });
      var select = document.getElementById('diff-level');
      select.value = 'words';
      select.dispatchEvent(new Event('change'));
      result.wordsShown = getComputedStyle(document.querySelector('.pair.words')).display !== 'none';
      result.charsHidden = getComputedStyle(document.querySelector('.pair.chars')).display === 'none';
      return result;
    """
    result, console = probe(report, script, width=1400, work=tmp_path / "browser")
    assert result["chars"] == {"lit": ["e", "c"], "after": 0, "shown": True}
    assert result["words"] == {"lit": ["Die", "Dic"], "after": 0, "shown": False}
    assert result["wordsShown"] and result["charsHidden"]
    assert console == []
