"""Resume is safe: SIGKILL at any moment loses nothing, two resumes never run a job twice,
and a resume with another suite is refused saying what differs.

The runs are real `ocr-harness run` processes with real worker processes (the
echo backend reads the text drawn in each image, slowly enough to be killed midway).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from echo_backend import make_echo_dataset

from harness.store import read_results

REPO = Path(__file__).resolve().parents[1]
SAMPLES = 30
BUSY = 6  # RunFolderBusyError's exit code
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests" / "plugins"), str(REPO)])}


def _command(dataset: Path, out: Path, *extra: str, backend: str = "echo", delay: float = 0.1) -> list[str]:
    cli = "import sys; from harness.cli import main; sys.exit(main())"
    options = ["--option", f"echo.delay={delay}"] if backend == "echo" else []
    return [
        sys.executable, "-c", cli, "--plugin", "echo_backend", "--plugin", "fake_noop", "run", str(dataset),
        "--backend", backend, *options, "--jobs", "2", "--out", str(out), "--no-html", "--name", "trial",
        *extra,
    ]  # fmt: skip


def _start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, env=ENV, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # the run and its workers, as the OOM killer would
    process.communicate(timeout=60)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _wait_for_rows(results: Path, rows: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120  # a bound on a broken test, not a speed requirement
    while _lines(results) < rows:
        assert process.poll() is None, (
            f"the run ended first: {process.stderr.read() if process.stderr else ''}"
        )
        assert time.monotonic() < deadline, "no rows appeared"
        time.sleep(0.02)


def _assert_complete_once(run_dir: Path) -> None:
    records = read_results(run_dir / "results.jsonl")
    ok = Counter(record["sample_id"] for record in records if record["status"] == "ok")
    assert sorted(ok) == [f"line_{n:02d}" for n in range(SAMPLES)]
    assert set(ok.values()) == {1}, f"jobs run twice: {[s for s, n in ok.items() if n > 1]}"
    assert all(record["text"] == record["ground_truth"] for record in records)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_echo_dataset(
        tmp_path / "ds", {f"line_{n:02d}": (f"text {n}", f"text {n}") for n in range(SAMPLES)}
    )


def _killed_run(dataset: Path, out: Path, rows: int, delay: float = 0.1) -> Path:
    process = _start(_command(dataset, out, delay=delay))
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("trial-*/results.jsonl")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        (results,) = out.glob("trial-*/results.jsonl")
        _wait_for_rows(results, rows, process)
    finally:
        _kill(process)
    return results.parent


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(dataset: Path, tmp_path: Path) -> None:
    rng = random.Random(11)
    for trial in range(4):
        out = tmp_path / f"trial{trial}"
        run_dir = _killed_run(dataset, out, rows=rng.randint(1, SAMPLES // 2))
        # Kill the resume too, at a random moment, before letting one finish.
        resume = _start(_command(dataset, out, "--resume", str(run_dir)))
        time.sleep(rng.uniform(0.0, 1.5))
        _kill(resume)
        finished = subprocess.run(
            _command(dataset, out, "--resume", str(run_dir)),
            env=ENV,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert finished.returncode == 0, finished.stderr
        _assert_complete_once(run_dir)


@pytest.mark.slow
def test_a_second_concurrent_resume_is_refused_naming_the_first(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_dir = _killed_run(dataset, out, rows=4, delay=0.3)
    first = _start(_command(dataset, out, "--resume", str(run_dir), delay=0.3))
    try:
        _wait_for_rows(run_dir / "results.jsonl", _lines(run_dir / "results.jsonl") + 2, first)
        second = subprocess.run(
            _command(dataset, out, "--resume", str(run_dir), delay=0.3),
            env=ENV,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert second.returncode == BUSY, second.stderr
        assert f"pid {first.pid}" in second.stderr and "another ocr-harness process" in second.stderr
        assert "Traceback" not in second.stderr
        _, stderr = first.communicate(timeout=600)
        assert first.returncode == 0, stderr
    finally:
        _kill(first)
    _assert_complete_once(run_dir)


def test_a_resume_with_another_suite_is_refused_saying_what_differs(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        _command(dataset, out, delay=0), env=ENV, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    run_dir = (out / "latest").resolve()
    before = (run_dir / "results.jsonl").read_bytes(), (run_dir / "run.json").read_bytes()

    other_backend = subprocess.run(
        _command(dataset, out, "--resume", str(run_dir), backend="noop"),
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert other_backend.returncode == 2
    assert 'backends: the folder has ["echo"], this run ["noop"]' in other_backend.stderr

    other = make_echo_dataset(tmp_path / "ds-other", {"line_00": ("changed", "changed")})
    other_dataset = subprocess.run(
        _command(other, out, "--resume", str(run_dir)), env=ENV, capture_output=True, text=True
    )
    assert other_dataset.returncode == 2
    assert 'datasets: the folder has ["ds"], this run ["ds-other"]' in other_dataset.stderr

    changed = dataset / "line_00.gt.txt"
    changed.write_text("edited after the run", encoding="utf-8")
    same_name = subprocess.run(
        _command(dataset, out, "--resume", str(run_dir)), env=ENV, capture_output=True, text=True
    )
    assert same_name.returncode == 2
    assert "dataset 'ds' fingerprint: the folder has" in same_name.stderr
    # Nothing was run, mixed in or rewritten.
    assert ((run_dir / "results.jsonl").read_bytes(), (run_dir / "run.json").read_bytes()) == before
    assert json.loads(before[1])["backends"].keys() == {"echo"}
