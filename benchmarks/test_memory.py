"""Memory flat in dataset size: a whole run's peak over 2,000 no-op samples vs 200 (target: <= 1.3x).

Each run is a fresh process (``ocr-harness run`` in-process in a child Python, report.html
included, no result cache), and its own peak resident memory is read with getrusage;
the workers' peaks are reported beside it. Records stream from results.jsonl into
rows, alignments are summed and not kept, and the bootstrap resamples in bounded chunks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SIZES = (200, 2000)
PROBE = """
import json, resource, sys
from harness.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _dataset(folder: Path, count: int) -> Path:
    from PIL import Image

    folder.mkdir()
    image = Image.new("L", (32, 16), 255)
    for number in range(count):
        image.save(folder / f"blank_{number:04d}.png")
        (folder / f"blank_{number:04d}.gt.txt").write_text(f"noop 32x16 {number}", encoding="utf-8")
    return folder


def _peak(dataset: Path, out: Path) -> dict[str, float]:
    plugins = Path(__file__).resolve().parents[1] / "tests" / "plugins"
    path = os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    args = ["--plugin", "fake_noop", "run", str(dataset), "--backend", "noop", "--jobs", "2",
            "--out", str(out), "--no-cache"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, check=True
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["code"] == 0
    return measured


def test_peak_memory_of_a_run_is_flat_in_the_number_of_samples(benchmark, tmp_path):
    peaks = {}
    for size in SIZES:
        dataset = _dataset(tmp_path / f"d{size}", size)
        if size == SIZES[-1]:
            peaks[size] = benchmark.pedantic(
                lambda d=dataset: _peak(d, tmp_path / "out"), rounds=1, iterations=1
            )
        else:
            peaks[size] = _peak(dataset, tmp_path / "out")
    ratio = peaks[SIZES[1]]["peak_mb"] / peaks[SIZES[0]]["peak_mb"]
    benchmark.extra_info.update({f"peak_mb_{size}": peaks[size]["peak_mb"] for size in SIZES}, ratio=ratio)
    print(
        f"\npeak memory of the run's process: {SIZES[0]} samples {peaks[SIZES[0]]['peak_mb']:.0f} MB, "
        f"{SIZES[1]} samples {peaks[SIZES[1]]['peak_mb']:.0f} MB, ratio {ratio:.2f} "
        f"(workers' peaks {peaks[SIZES[0]]['workers_peak_mb']:.0f} and "
        f"{peaks[SIZES[1]]['workers_peak_mb']:.0f} MB)"
    )
    assert ratio <= 1.3


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "--benchmark-only", "-s"])
