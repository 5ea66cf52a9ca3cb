"""What the index costs: indexing against a plain engine loop, and re-indexing unchanged files.

(a) ``Index.add`` over real-dev lines with Tesseract (hashing, extraction on the
    Extractor's workers, one SQLite transaction per file, FTS5 triggers) against the
    plain ``multiprocessing.Pool`` loop (benchmarks/plain_loop.py) on the same
    worker count: the ratio of their throughputs. Both include starting workers.
(b) Re-indexing the same files unchanged: the whole ``ocr-harness index`` command in
    a fresh process (start-up, configuration check, walking, hashing, comparing).

Figures land in each benchmark's extra_info and are printed (``-s`` shows them).
"""

from __future__ import annotations

import asyncio
import io
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

from plain_loop import read_all, require_backend

from harness.api import Extractor
from harness.cli import main
from harness.index import Index

WORKERS = 2
ROUNDS = 3
BACKEND = "tesseract"


def _index_round(folder: Path, db: Path) -> None:
    async def index() -> None:
        async with (
            await Index.open(db) as index,
            Extractor(backend=BACKEND, concurrency=WORKERS) as extractor,
        ):
            report = await index.add([folder], extractor)
        assert not report.failed and len(report.read) > 0

    db.unlink(missing_ok=True)
    asyncio.run(index())


def test_indexing_against_a_plain_engine_loop(benchmark, english_lines, tmp_path):
    require_backend(BACKEND)
    images = english_lines
    plain_seconds: list[float] = []

    def plain_round() -> None:  # the untimed set-up of each round: the yardstick, timed here
        start = time.perf_counter()
        assert len(read_all(BACKEND, images, workers=WORKERS, threads=1)) == len(images)
        plain_seconds.append(time.perf_counter() - start)

    benchmark.pedantic(
        lambda: _index_round(tmp_path / "lines", tmp_path / "index.sqlite"),
        setup=plain_round,
        rounds=ROUNDS,
        iterations=1,
    )
    harness = benchmark.stats.stats.median
    plain = statistics.median(plain_seconds)
    ratio = plain / harness
    benchmark.extra_info.update(
        backend=BACKEND, pages=len(images), workers=WORKERS, index_s=harness, plain_s=plain, ratio=ratio
    )
    print(
        f"\nindex {BACKEND}: {len(images)} lines on {WORKERS} workers: index {harness:.2f} s, "
        f"plain loop {plain:.2f} s, throughput ratio index/plain {ratio:.2f}"
    )


def test_reindexing_unchanged_files(benchmark, english_lines, tmp_path):
    require_backend(BACKEND)
    images = english_lines
    db = str(tmp_path / "index.sqlite")
    command = ["index", str(tmp_path / "lines"), "--db", db, "--backend", BACKEND, "--jobs", str(WORKERS)]
    with redirect_stderr(io.StringIO()):
        assert main(command) == 0

    def reindex() -> None:  # a fresh process, as a user runs it: start-up and imports included
        run = subprocess.run(
            [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())", *command],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert f"0 read, {len(images)} unchanged" in run.stderr

    benchmark.pedantic(reindex, rounds=ROUNDS, iterations=1)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(files=len(images), seconds=seconds, ms_per_file=1000 * seconds / len(images))
    print(
        f"\nre-index of {len(images)} unchanged files: {seconds:.3f} s "
        f"({1000 * seconds / len(images):.1f} ms/file)"
    )
