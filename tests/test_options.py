"""``--option [BACKEND.]KEY=VALUE``: one notation for run and extract, values read as pipelines read them."""

from __future__ import annotations

from harness.options import parse_option_flags, parse_value
from harness.pipeline import parse_pipeline


def test_values_are_typed_as_written() -> None:
    assert [parse_value(text) for text in ("true", "False", "-3", "2.5e1", "0.5")] == [
        True,
        False,
        -3,
        25.0,
        0.5,
    ]
    # Text stays text: a leading zero means characters (Aspose's allowed_symbols), quotes force text.
    assert parse_value("0123456789") == "0123456789"
    assert parse_value("'7'") == "7"
    assert parse_value("/scans/a.lic") == "/scans/a.lic"


def test_options_and_pipeline_parameters_read_values_the_same_way() -> None:
    options, problems = parse_option_flags(["step.a=3", "step.b=true", "step.c=otsu"], ["step"])
    assert not problems
    assert dict(parse_pipeline("step(a=3,b=true,c=otsu)").steps[0].params) == options["step"]


def test_the_backend_may_be_left_out_only_with_one_backend() -> None:
    assert parse_option_flags(["psm=7"], ["tesseract"]) == ({"tesseract": {"psm": 7}}, [])
    assert parse_option_flags(["tesseract.psm=7"], ["tesseract"]) == ({"tesseract": {"psm": 7}}, [])
    options, problems = parse_option_flags(["psm=7", "rapidocr.use_cls=true"], ["tesseract", "rapidocr"])
    assert options == {"tesseract": {}, "rapidocr": {"use_cls": True}}
    assert problems == [
        "--option 'psm=7': this command runs 2 backends (tesseract, rapidocr): write it as "
        "BACKEND.KEY=VALUE, or KEY=VALUE with one backend (e.g. tesseract.psm=6)"
    ]


def test_every_bad_item_is_named() -> None:
    _, problems = parse_option_flags(["novalue", "=3", "aspose.x=1"], ["tesseract"])
    assert [problem.split(":")[0] for problem in problems] == [
        "cannot read backend option 'novalue'",
        "cannot read backend option '=3'",
        "--option 'aspose.x=1'",
    ]
