"""Pipeline specs and suite names: what is accepted is unambiguous, what is not is refused at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from harness.errors import ConfigError, UnknownStepError
from harness.images import load_page
from harness.pipeline import MAX_PIPELINES, apply_pipeline, build_pipeline, expand_grid, parse_pipeline
from harness.plugins import get_registry
from harness.suite import suite_from_args


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("binarize(method=otsu,method=sauvola)", "given twice"),
        ("grayscale(,,)", "cannot read parameter"),
        ("binarize(method=otsu,)", "cannot read parameter"),
        ("binarize(method=)", "cannot read parameter"),
        ("downscale(max_megapixels=inf)", "not a finite number"),
        ("downscale(max_side=nan)", "not a finite number"),
    ],
)
def test_ambiguous_or_broken_specs_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(UnknownStepError, match=fragment):
        parse_pipeline(text)


def test_one_pipeline_has_one_text_and_so_one_job_key() -> None:
    assert str(parse_pipeline("binarize(method=sauvola,window=3.0)")) == str(
        parse_pipeline("binarize(window=3,method=sauvola)")
    )
    assert str(parse_pipeline("downscale(max_megapixels=2.50)")) == "downscale(max_megapixels=2.5)"
    assert expand_grid({"binarize.window": [3.0]}) == expand_grid({"binarize.window": [3]})


def test_an_upscale_past_the_pixel_limit_is_refused_before_it_allocates(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.new("L", (100, 100), 255).save(path)
    steps = build_pipeline("downscale(max_side=20000,allow_upscale=true)", get_registry().steps())
    with pytest.raises(UnknownStepError, match="400,000,000 pixels, more than the limit of 10,000,000"):
        apply_pipeline(load_page(path, max_pixels=10_000_000), steps)
    small_steps = build_pipeline("downscale(max_side=300,allow_upscale=true)", get_registry().steps())
    assert apply_pipeline(load_page(path, max_pixels=10_000_000), small_steps).size == (300, 300)


def test_a_million_pipeline_grid_is_refused_with_its_count() -> None:
    grid = {f"binarize.p{axis}": list(range(10)) for axis in range(6)}
    with pytest.raises(ConfigError) as caught:
        expand_grid(grid)
    assert "10 x 10 x 10 x 10 x 10 x 10 = 1,000,000 pipelines" in str(caught.value)
    assert f"{MAX_PIPELINES:,}" in str(caught.value)


def test_a_grid_at_the_cap_validates(tmp_path: Path) -> None:
    Image.new("L", (40, 20), 255).save(tmp_path / "a.png")
    windows = list(range(3, 3 + 2 * 100, 2))
    pipelines = [
        f"binarize(method=sauvola,window={w},k={(k + 1) / 1000})" for w in windows for k in range(100)
    ]
    assert len(pipelines) == MAX_PIPELINES
    suite = suite_from_args([str(tmp_path)], get_registry(), pipelines=[*pipelines, pipelines[0]])
    assert len(suite.pipelines) == MAX_PIPELINES  # the duplicate is dropped


@pytest.mark.parametrize("name", ["ok\n", "ok\nthen", "../up", "a b", ".hidden", ""])
def test_suite_names_are_checked_as_a_whole(tmp_path: Path, name: str) -> None:
    Image.new("L", (40, 20), 255).save(tmp_path / "a.png")
    with pytest.raises(ConfigError, match="used in folder names"):
        suite_from_args([str(tmp_path)], get_registry(), name=name or " ")
