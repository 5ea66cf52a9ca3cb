"""How fast the engines and the preprocessing steps are, in this process, on real scans.

Engines are called directly (no runner, no workers), one thread each, so these
figures are the yardstick the harness's own throughput is measured against, and
their saved history (``make bench`` autosaves to .benchmarks/) shows when a
backend or a step got slower. Engine start-up is measured apart from reading.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.images import load_page
from harness.pipeline import apply_pipeline, build_pipeline
from harness.plugins import get_registry

LINE = "line_en_uw3_0033_010060.png"
PAGE = "page_en_oldbooks_a013.tiff"  # a 300-dpi book page of ~40 lines
BACKENDS = ("tesseract", "rapidocr")
PIPELINES = (
    "binarize(method=otsu)",
    "binarize(method=sauvola)",
    "downscale(max_side=1600)",
    "deskew",
    "grayscale",
)


@pytest.fixture(scope="module")
def registry():
    return get_registry()


def _engine_class(registry, name: str):
    backend_class = registry.backend(name)
    availability = backend_class.availability()
    if not availability.ok:
        pytest.skip(f"{name} cannot run here: {availability.reason}")
    return backend_class


@pytest.fixture(scope="module")
def engines(registry):
    """One engine per backend, created once (start-up has its own benchmark)."""
    created = {}
    yield lambda name: created.setdefault(name, _engine_class(registry, name)(threads=1))
    for engine in created.values():
        engine.close()


@pytest.mark.parametrize("image_name", [LINE, PAGE], ids=["line", "page"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_recognize(benchmark, engines, real_dev: Path, backend: str, image_name: str):
    engine = engines(backend)
    image = load_page(real_dev / image_name)
    benchmark.group = f"recognize {image_name.split('_')[0]}"
    recognition = benchmark.pedantic(
        lambda: engine.recognize(image, language="en"), rounds=3, iterations=1, warmup_rounds=1
    )
    assert recognition.text.strip(), f"{backend} read nothing from {image_name}"
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(pages_per_s=1 / seconds, chars=len(recognition.text), size=list(image.size))


@pytest.mark.parametrize("backend", BACKENDS)
def test_engine_start_up(benchmark, registry, real_dev: Path, backend: str):
    backend_class = _engine_class(registry, backend)
    image = load_page(real_dev / LINE)
    benchmark.group = "engine start-up (create + first line)"

    def start_and_read() -> None:
        engine = backend_class(threads=1)
        try:
            engine.recognize(image, language="en")
        finally:
            engine.close()

    benchmark.pedantic(start_and_read, rounds=2, iterations=1)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_preprocessing_step(benchmark, registry, real_dev: Path, pipeline: str):
    steps = build_pipeline(pipeline, registry.steps())
    page = load_page(real_dev / PAGE)
    benchmark.group = "preprocess page"
    result = benchmark.pedantic(
        lambda: apply_pipeline(page.copy(), steps), rounds=3, iterations=1, warmup_rounds=1
    )
    assert result.size[0] > 0
    benchmark.extra_info.update(size=list(page.size), pipeline=pipeline)
