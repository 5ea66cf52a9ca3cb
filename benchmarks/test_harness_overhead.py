"""What the harness costs: per-job overhead, and throughput against a plain engine loop.

(a) A no-op backend through the whole runner (planning, worker processes, the
    durable store): jobs per second, i.e. the harness's own cost per job.
(b) Real engines on real-dev line images, harness vs. a plain
    ``multiprocessing.Pool`` loop (benchmarks/plain_loop.py) with the same worker
    count and threads: the ratio of their throughputs (target: at least 0.9).
    Both sides include starting workers and creating engines. Rounds alternate
    (plain loop in the untimed set-up, then the harness) so drift hits both.

Figures land in each benchmark's extra_info and are printed (``-s`` shows them).
"""

from __future__ import annotations

import io
import shutil
import statistics
import time
from pathlib import Path

import pytest
from plain_loop import read_all, require_backend

from harness.plugins import get_registry
from harness.runner import run_suite
from harness.suite import suite_from_args

WORKERS = 2
ROUNDS = 3
NOOP_JOBS = 200
#: English UW-III and commentary lines from real-dev: both engines read English.
LINES = (
    "line_en_uw3_0033_010060", "line_en_uw3_0317_010133", "line_en_uw3_0377_010044",
    "line_en_uw3_0575_010019", "line_en_uw3_0633_010014", "line_en_uw3_0705_010051",
    "line_en_uw3_0709_010002", "line_en_uw3_0830_010130", "line_en_jebb1896_0136_18",
    "line_en_campbell1881_0083_53",
)  # fmt: skip


def _harness_round(suite, folder: Path) -> None:
    folder.mkdir(parents=True)
    outcome = run_suite(suite, run_dir=folder, log=io.StringIO(), live=False)
    assert outcome.counts["ok"] == outcome.jobs, outcome.counts


def test_per_job_overhead_with_a_noop_backend(benchmark, tmp_path, monkeypatch):
    from PIL import Image

    dataset = tmp_path / "noop"
    dataset.mkdir()
    for number in range(NOOP_JOBS):
        Image.new("L", (32, 16), 255).save(dataset / f"blank_{number:03d}.png")
        (dataset / f"blank_{number:03d}.gt.txt").write_text("noop 32x16", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    registry = get_registry(("fake_noop",))
    suite = suite_from_args(["noop"], registry, backends=["noop"], run={"jobs": WORKERS, "cache": False})
    rounds = iter(range(ROUNDS + 1))
    benchmark.pedantic(
        lambda: _harness_round(suite, tmp_path / f"run-{next(rounds)}"), rounds=ROUNDS, iterations=1
    )
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(
        jobs=NOOP_JOBS, workers=WORKERS, jobs_per_s=NOOP_JOBS / seconds, ms_per_job=1000 * seconds / NOOP_JOBS
    )
    print(
        f"\nno-op backend: {NOOP_JOBS} jobs on {WORKERS} workers in {seconds:.2f} s: "
        f"{NOOP_JOBS / seconds:.0f} jobs/s, {1000 * seconds / NOOP_JOBS:.1f} ms per job, start-up included"
    )


@pytest.mark.parametrize("backend", ["rapidocr", "tesseract"])
def test_harness_throughput_against_a_plain_engine_loop(benchmark, backend, real_dev, tmp_path, monkeypatch):
    require_backend(backend)
    registry = get_registry()
    dataset = tmp_path / "lines"
    dataset.mkdir()
    for stem in LINES:
        shutil.copy(real_dev / f"{stem}.png", dataset)
        shutil.copy(real_dev / f"{stem}.gt.txt", dataset)
    images = sorted(dataset.glob("*.png"))
    monkeypatch.chdir(tmp_path)
    suite = suite_from_args(["lines"], registry, backends=[backend], run={"jobs": WORKERS, "cache": False})

    plain_seconds: list[float] = []

    def plain_round() -> None:  # benchmark.pedantic's untimed set-up: the yardstick, timed here
        start = time.perf_counter()
        texts = read_all(backend, images, workers=WORKERS, threads=1)
        plain_seconds.append(time.perf_counter() - start)
        assert len(texts) == len(images)

    rounds = iter(range(ROUNDS + 1))
    benchmark.pedantic(
        lambda: _harness_round(suite, tmp_path / f"run-{next(rounds)}"),
        setup=plain_round,
        rounds=ROUNDS,
        iterations=1,
    )
    harness = benchmark.stats.stats.median
    plain = statistics.median(plain_seconds)
    ratio = plain / harness  # throughput ratio: harness pages/s over plain-loop pages/s
    benchmark.extra_info.update(
        backend=backend,
        pages=len(images),
        workers=WORKERS,
        harness_s=harness,
        plain_s=plain,
        harness_pages_per_s=len(images) / harness,
        plain_pages_per_s=len(images) / plain,
        ratio_harness_to_plain=ratio,
    )
    pages = len(images)
    print(
        f"\n{backend}: {pages} lines on {WORKERS} workers: "
        f"harness {harness:.2f} s ({pages / harness:.2f} pages/s), "
        f"plain loop {plain:.2f} s ({pages / plain:.2f} pages/s), ratio harness/plain {ratio:.2f}"
    )
