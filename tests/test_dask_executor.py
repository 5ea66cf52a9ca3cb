"""The Dask executor on real Dask clusters: a LocalCluster with worker processes, and a scheduler and
two workers started with the ``dask`` command line, over TCP."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from harness.backends import BackendSpec
from harness.cli import main
from harness.store import read_results
from harness.worker import Task

pytest.importorskip("distributed", reason="the Dask extra is not installed: pip install 'ocr-harness[dask]'")

from harness.dask_executor import DaskExecutor, run_on_worker  # noqa: E402

FAKES = ("fake_noop", "fake_crash", "fake_hang", "fake_flaky")
PLUGINS_DIR = Path(__file__).parent / "plugins"
REPO = Path(__file__).resolve().parents[1]
LINES = ("line_en_uw3_0033_010060", "line_en_uw3_0317_010133", "line_en_jebb1896_0136_18")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("images") / "white.png"
    Image.new("RGB", (40, 20), "white").save(path)
    return str(path)


def noop(image: str, text: str = "") -> Task:
    return Task(image, BackendSpec.of("noop", {"text": text} if text else None))


async def test_a_local_cluster_runs_tasks_in_worker_processes_with_one_engine_each(image: str) -> None:
    async with DaskExecutor(workers=2, threads_per_worker=1, plugin_modules=FAKES) as executor:
        outcomes = await asyncio.gather(*(executor.run(noop(image)) for _ in range(12)))
        facts = executor.describe()
    assert all(outcome.ok for outcome in outcomes), [outcome.error_message for outcome in outcomes]
    pids = {outcome.worker_pid for outcome in outcomes}
    assert os.getpid() not in pids
    assert len(pids) == 2
    # One engine per worker process, created on its first task and reused after.
    assert {outcome.notes["engines_created"] for outcome in outcomes} == {1}
    assert sum(outcome.cold for outcome in outcomes) == 2
    # The worker environment is set as ProcessExecutor sets it, before the engine exists.
    assert {outcome.notes["OMP_THREAD_LIMIT"] for outcome in outcomes} == {"1"}
    assert facts["executor"] == "dask" and facts["cluster"] == "LocalCluster"
    assert facts["dask_workers"] == 2 and facts["scheduler"].startswith("tcp://")


async def test_a_lost_worker_is_retried_once_then_becomes_an_error_and_the_rest_goes_on(
    image: str, tmp_path: Path
) -> None:
    flaky = Task(image, BackendSpec.of("flaky", {"marker": str(tmp_path / "crashed-once")}))
    async with DaskExecutor(workers=2, threads_per_worker=1, plugin_modules=FAKES) as executor:
        crashed, retried, after = await asyncio.gather(
            executor.run(Task(image, BackendSpec.of("crash"))),
            executor.run(flaky),
            executor.run(noop(image, "still here")),
        )
    assert crashed.error_type == "EngineCrashedError"
    assert image in (crashed.error_message or "") and "retried on" in (crashed.error_message or "")
    # The flaky engine killed its first worker; the one retry, on a fresh process, succeeded.
    assert (tmp_path / "crashed-once").exists()
    assert retried.ok and retried.text == "second try"
    assert after.ok and after.text == "still here"


async def test_a_task_past_its_timeout_restarts_its_worker_even_holding_the_gil(image: str) -> None:
    async with DaskExecutor(workers=2, threads_per_worker=1, plugin_modules=FAKES) as executor:
        hung = await executor.run(Task(image, BackendSpec.of("hang")), timeout=2)
        afterwards = await asyncio.gather(*(executor.run(noop(image, str(n))) for n in range(4)))
    assert hung.error_type == "JobTimeoutError" and "2 s" in (hung.error_message or "")
    assert [outcome.text for outcome in afterwards] == ["0", "1", "2", "3"]


async def test_image_bytes_travel_with_the_task_unless_storage_is_shared(image: str, tmp_path: Path) -> None:
    gone = tmp_path / "only-here.png"
    shutil.copy(image, gone)
    # The worker function reads the bytes it is given, never the path: the path may not exist there.
    outcome = run_on_worker(
        noop("/nowhere/on/this/worker.png", "bytes"), gone.read_bytes(), ((*FAKES,), 1, ()), {}
    )
    assert outcome.ok and outcome.text == "bytes"
    broken = run_on_worker(noop("/data/scan-7.png"), b"not an image", ((*FAKES,), 1, ()), {})
    assert broken.error_type == "ImageReadError"
    assert (
        "/data/scan-7.png" in (broken.error_message or "")
        and "ocr-harness-images" not in broken.error_message
    )
    async with DaskExecutor(workers=1, plugin_modules=FAKES, shared_storage=True) as executor:
        missing = await executor.run(noop(str(tmp_path / "absent.png")))
    # With shared storage the worker opens the path itself, and says so when it is not there.
    assert missing.error_type == "ImageReadError" and "absent.png" in (missing.error_message or "")


# --- a cluster started from the command line, and a whole suite through it ------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, as a user starts them."""
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS_DIR), os.environ.get("PYTHONPATH", "")])}
    logs = [open(tmp_path / f"dask-{name}.log", "w") for name in ("scheduler", "worker-1", "worker-2")]  # noqa: SIM115
    commands = [
        [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        *[
            [
                str(dask),
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--local-directory",
                str(tmp_path / f"worker-{n}"),
            ]  # fmt: skip
            for n in (1, 2)
        ],
    ]
    processes = []
    try:
        for command, log in zip(commands, logs, strict=True):
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
            if command[1] == "scheduler":
                _wait_for_port(port, processes[0])
        # As a user would, wait until both workers have joined before running on the cluster.
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError("dask scheduler exited while starting")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("dask scheduler did not open its port")


def _tesseract_lines(real_dev: Path, folder: Path) -> Path:
    pytest.importorskip("tesserocr")
    folder.mkdir()
    for stem in LINES:
        for path in real_dev.glob(f"{stem}.*"):
            shutil.copy(path, folder / path.name)
    return folder


def test_a_suite_runs_through_a_cli_started_scheduler_and_two_workers_like_a_local_run(
    dask_cluster: str, real_dev: Path, tmp_path: Path
) -> None:
    scans = _tesseract_lines(real_dev, tmp_path / "scans")
    runs = {}
    for name, flags in (("local", []), ("cluster", ["--scheduler", dask_cluster])):
        code = main(
            [
                "--plugin",
                "fake_noop",
                "run",
                str(scans),
                "--backend",
                "tesseract",
                "--backend",
                "noop",
                "--out",
                str(tmp_path / name),
                "--name",
                name,
                "--no-html",
                "--no-cache",
                *flags,
            ]  # fmt: skip
        )
        assert code == 0
        runs[name] = (tmp_path / name / "latest").resolve()
    texts = {
        name: {(r["backend"], r["sample_id"]): r["text"] for r in read_results(folder / "results.jsonl")}
        for name, folder in runs.items()
    }
    assert len(texts["cluster"]) == 2 * len(LINES)
    assert texts["cluster"] == texts["local"]
    assert all(text for (backend, _), text in texts["cluster"].items() if backend == "tesseract")
    records = read_results(runs["cluster"] / "results.jsonl")
    assert {record["worker_pid"] for record in records}.isdisjoint({os.getpid()})
    info = json.loads((runs["cluster"] / "run.json").read_text(encoding="utf-8"))
    assert info["executor"] == "dask" and info["scheduler"] == dask_cluster
    executor = info["backends"]["tesseract"]["executor"]
    assert executor["executor"] == "dask" and executor["cluster"] == "external"
    assert executor["dask_workers"] == 2 and executor["dask_threads"] == 2
    assert json.loads((runs["local"] / "run.json").read_text(encoding="utf-8"))["executor"] == "local"


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path: Path, image: str, capsys) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(image, folder / "a.png")
    (folder / "a.gt.txt").write_text("x", encoding="utf-8")
    port = _free_port()
    code = main(["--plugin", "fake_noop", "run", str(folder), "--backend", "noop", "--out",
                 str(tmp_path / "o"), "--scheduler", f"tcp://127.0.0.1:{port}", "--no-html"])  # fmt: skip
    error = capsys.readouterr().err
    assert code == 2
    assert f"127.0.0.1:{port}" in error and "Traceback" not in error


def test_executor_dask_runs_a_suite_on_a_local_cluster_and_records_it(tmp_path: Path, image: str) -> None:
    from echo_backend import make_echo_dataset

    dataset = make_echo_dataset(
        tmp_path / "lines", {"line_en_a": ("hello", "hello"), "line_en_b": ("bye", "by")}
    )
    out = tmp_path / "out"
    code = main(["--plugin", "echo_backend", "run", str(dataset), "--backend", "echo", "--out", str(out),
                 "--executor", "dask", "--jobs", "2", "--no-html"])  # fmt: skip
    assert code == 0
    run_dir = (out / "latest").resolve()
    texts = {r["sample_id"]: r["text"] for r in read_results(run_dir / "results.jsonl")}
    assert texts == {"line_en_a": "hello", "line_en_b": "bye"}
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert info["executor"] == "dask" and info["scheduler"] is None
    executor = info["backends"]["echo"]["executor"]
    assert executor["cluster"] == "LocalCluster" and executor["dask_workers"] == 2
    assert executor["shared_storage"] is False


def test_a_scheduler_without_the_dask_executor_is_a_config_error(tmp_path: Path, capsys) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        '[[datasets]]\npath = "d"\n[[backends]]\nname = "noop"\n[run]\nscheduler = "tcp://127.0.0.1:1"\n',
        encoding="utf-8",
    )
    (tmp_path / "d").mkdir()
    code = main(["--plugin", "fake_noop", "run", str(suite)])
    assert code == 2
    assert 'run.scheduler: a scheduler is used only with executor = "dask"' in capsys.readouterr().err
