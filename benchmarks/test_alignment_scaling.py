"""Scoring and the diff view scale near-linearly: 1 M characters vs 100 k (target: at most 20x).

Texts are corpus prose with OCR-like noise (tests/test_editops.py makes them): a
book of a few passages repeated (the hardest case for anchoring) and running text.
The ratio of the medians is printed and kept in extra_info.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_editops import book, ocr_like, running_text  # noqa: E402

from harness.align import align  # noqa: E402
from harness.metrics import score  # noqa: E402

SIZES = (100_000, 1_000_000)
ROUNDS = 3


def _median_seconds(function, *args) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.mark.parametrize("make_text", [book, running_text], ids=["repeated-passages", "running-text"])
@pytest.mark.parametrize("what", [score, align], ids=["score", "diff-view"])
def test_one_million_characters_take_at_most_twenty_times_one_hundred_thousand(benchmark, make_text, what):
    pairs = {}
    for size in SIZES:
        reference = make_text(size, 1)
        pairs[size] = (reference, ocr_like(reference, random.Random(2), 0.05))
    small = _median_seconds(what, *pairs[SIZES[0]])
    large = benchmark.pedantic(lambda: what(*pairs[SIZES[1]]), rounds=ROUNDS, iterations=1) or None
    del large
    large_s = benchmark.stats.stats.median
    ratio = large_s / small
    benchmark.extra_info.update({"seconds_100k": small, "seconds_1m": large_s, "ratio": ratio})
    print(
        f"\n{what.__name__} {make_text.__name__}: 100k {small:.2f} s, 1M {large_s:.2f} s, ratio {ratio:.1f}x"
    )
    assert ratio <= 20
