"""The executors with real worker processes and the fake backends in tests/plugins/."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from harness.backends import BackendSpec
from harness.errors import EngineCrashedError, JobTimeoutError
from harness.executor import InlineExecutor, ProcessExecutor
from harness.worker import Outcome, Task

FAKES = ("fake_noop", "fake_slow", "fake_crash", "fake_hang")
PLUGINS_DIR = Path(__file__).parent / "plugins"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("images") / "white.png"
    Image.new("RGB", (40, 20), "white").save(path)
    return str(path)


def noop(image: str, text: str | None = None) -> Task:
    return Task(image, BackendSpec.of("noop", {"text": text} if text is not None else None))


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_many_tasks_on_two_workers_come_back_in_order(image: str) -> None:
    async with ProcessExecutor(workers=2, plugin_modules=FAKES) as executor:
        outcomes = await asyncio.gather(*(executor.run(noop(image, str(i))) for i in range(24)))
    assert [outcome.text for outcome in outcomes] == [str(i) for i in range(24)]
    pids = {outcome.worker_pid for outcome in outcomes}
    assert len(pids) == 2
    assert os.getpid() not in pids


async def test_each_worker_creates_its_engine_once_and_reuses_it(image: str) -> None:
    async with ProcessExecutor(workers=2, plugin_modules=FAKES) as executor:
        outcomes = await asyncio.gather(*(executor.run(noop(image)) for _ in range(12)))
    assert all(outcome.ok for outcome in outcomes)
    assert {outcome.notes["engines_created"] for outcome in outcomes} == {1}
    for pid in {outcome.worker_pid for outcome in outcomes}:
        cold = [outcome.cold for outcome in outcomes if outcome.worker_pid == pid]
        assert cold.count(True) == 1, cold


async def test_worker_environment_is_set_before_the_engine_loads(image: str) -> None:
    env = {"OCR_HARNESS_TEST_MARK": "seen"}
    async with ProcessExecutor(workers=2, threads_per_worker=3, plugin_modules=FAKES, env=env) as executor:
        outcome = await executor.run(noop(image))
        described = executor.describe()
    assert outcome.notes["OMP_THREAD_LIMIT"] == "3"
    assert outcome.notes["COMPlus_EnableDiagnostics"] == "0"
    assert outcome.notes["OCR_HARNESS_TEST_MARK"] == "seen"
    assert outcome.thread_settings == {"threads": 3}
    assert described["workers"] == 2
    assert described["threads_per_worker"] == 3
    assert described["start_method"] == "spawn"


@pytest.mark.parametrize("threads", [1, 3])
async def test_a_plugin_backend_sets_its_own_thread_variable_in_workers(image: str, threads: int) -> None:
    # What Tesseract does with OMP_THREAD_LIMIT, a third-party engine does through Backend.worker_env.
    variable = "FAKE_ENGINE_THREADS"
    async with ProcessExecutor(
        workers=1, threads_per_worker=threads, plugin_modules=("fake_thread_env",)
    ) as executor:
        outcome = await executor.run(Task(image, BackendSpec.of("thread-env")))
        described = executor.describe()
    assert outcome.ok, outcome.error_message
    assert outcome.worker_pid != os.getpid()
    assert outcome.text == str(threads)
    assert described["worker_env"][variable] == str(threads)
    assert variable not in os.environ  # set in the workers only


def test_default_threads_share_the_cores() -> None:
    cores = len(os.sched_getaffinity(0))
    executor = ProcessExecutor()
    assert executor.workers == cores
    assert executor.threads_per_worker == 1
    one = ProcessExecutor(workers=1)
    assert one.threads_per_worker == cores


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_workers_follow_the_cores_this_process_may_use(image: str) -> None:
    # In a container limited to one core of a bigger host, the API and `extract` start one worker.
    code = textwrap.dedent(
        f"""
        import asyncio, os
        os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
        from harness.api import Extractor
        from harness.executor import ProcessExecutor

        async def main():
            async with Extractor(backend="noop", plugins=("fake_noop",)) as extractor:
                texts = await extractor.extract_many([{image!r}] * 3)
                pids = extractor.worker_pids()
                print(ProcessExecutor().workers, extractor.describe()["workers"], len(pids))
                print(texts)

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(PLUGINS_DIR)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1 1 1", str(["noop 40x20"] * 3)]


@pytest.mark.parametrize(
    ("how", "expected"),
    [("exit", "exited with code 3"), ("kill", "killed by SIGKILL"), ("abort", "killed by SIGABRT")],
)
async def test_a_dying_worker_fails_only_its_own_task(image: str, how: str, expected: str) -> None:
    crash = Task(image, BackendSpec.of("crash", {"how": how}))
    async with ProcessExecutor(workers=2, plugin_modules=FAKES) as executor:
        outcomes = await asyncio.gather(
            executor.run(noop(image, "before")),
            executor.run(crash),
            *(executor.run(noop(image, str(i))) for i in range(6)),
        )
        after = await executor.run(noop(image, "after"))
    crashed = outcomes[1]
    assert crashed.error_type == "EngineCrashedError"
    assert image in (crashed.error_message or "")
    assert expected in (crashed.error_message or "")
    assert [outcome.text for outcome in outcomes[:1] + outcomes[2:]] == ["before"] + [
        str(i) for i in range(6)
    ]
    assert after.text == "after"
    with pytest.raises(EngineCrashedError, match=expected):
        crashed.raise_error()


@pytest.mark.parametrize("hold_gil", [True, False])
async def test_a_hung_task_times_out_and_its_worker_is_replaced(image: str, hold_gil: bool) -> None:
    hang = Task(image, BackendSpec.of("hang", {"hold_gil": hold_gil}))
    async with ProcessExecutor(workers=1, plugin_modules=FAKES) as executor:
        first = await executor.run(noop(image, "first"))
        timed_out = await executor.run(hang, timeout=1.5)
        after = await executor.run(noop(image, "after"))
    assert timed_out.error_type == "JobTimeoutError"
    assert image in (timed_out.error_message or "") and "1.5 s" in (timed_out.error_message or "")
    assert timed_out.worker_pid == first.worker_pid
    assert not is_running(first.worker_pid)
    assert after.text == "after" and after.worker_pid != first.worker_pid
    assert after.cold
    with pytest.raises(JobTimeoutError):
        timed_out.raise_error()


async def test_a_timeout_leaves_the_other_workers_tasks_alone(image: str) -> None:
    slow = Task(image, BackendSpec.of("slow", {"seconds": 0.5}))
    hang = Task(image, BackendSpec.of("hang"))
    async with ProcessExecutor(workers=2, plugin_modules=FAKES) as executor:
        outcomes = await asyncio.gather(
            executor.run(hang, timeout=1.0), *(executor.run(slow) for _ in range(4))
        )
    assert outcomes[0].error_type == "JobTimeoutError"
    assert [outcome.text for outcome in outcomes[1:]] == ["slow 40x20"] * 4


async def test_errors_in_inputs_are_outcomes_not_exceptions(image: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    async with ProcessExecutor(workers=1, plugin_modules=FAKES) as executor:
        outcome = await executor.run(noop(str(missing)))
        unknown = await executor.run(Task(image, BackendSpec.of("no-such-backend")))
    assert outcome.error_type == "ImageReadError"
    assert str(missing) in (outcome.error_message or "")
    assert unknown.error_type == "UnknownBackendError"


async def test_close_stops_every_worker(image: str) -> None:
    executor = ProcessExecutor(workers=2, plugin_modules=FAKES)
    await asyncio.gather(*(executor.run(noop(image)) for _ in range(4)))
    pids = executor.worker_pids()
    assert len(pids) == 2 and all(is_running(pid) for pid in pids)
    await executor.close()
    assert not any(is_running(pid) for pid in pids)
    assert executor.worker_pids() == []
    with pytest.raises(RuntimeError, match="closed"):
        await executor.run(noop(image))


async def test_a_cancelled_task_keeps_its_worker_until_it_ends(image: str) -> None:
    slow = Task(image, BackendSpec.of("slow", {"seconds": 1.0}))
    async with ProcessExecutor(workers=1, plugin_modules=FAKES) as executor:
        running = asyncio.ensure_future(executor.run(slow))
        await asyncio.sleep(0.5)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        after = await executor.run(noop(image, "after"))
        assert executor.worker_pids() == [after.worker_pid]
    assert after.text == "after"


async def test_inline_executor_runs_in_this_process(image: str) -> None:
    executor = InlineExecutor(plugin_modules=FAKES)
    async with executor:
        outcomes = await asyncio.gather(*(executor.run(noop(image, str(i))) for i in range(3)))
    assert [outcome.text for outcome in outcomes] == ["0", "1", "2"]
    assert {outcome.worker_pid for outcome in outcomes} == {os.getpid()}
    assert isinstance(outcomes[0], Outcome)


def test_a_script_without_a_main_guard_is_not_rerun_in_workers(image: str, tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio
            from harness.executor import ProcessExecutor
            from harness.backends import BackendSpec
            from harness.worker import Task

            print("script ran")

            async def main():
                async with ProcessExecutor(workers=2, plugin_modules=("fake_noop",)) as executor:
                    tasks = [Task({image!r}, BackendSpec.of("noop")) for _ in range(4)]
                    outcomes = await asyncio.gather(*(executor.run(task) for task in tasks))
                print([outcome.text for outcome in outcomes])

            asyncio.run(main())
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(PLUGINS_DIR)}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["script ran", str(["noop 40x20"] * 4)]
    assert result.stderr == ""


async def test_a_worker_killed_while_idle_is_replaced_for_the_next_task(image: str) -> None:
    async with ProcessExecutor(workers=1, plugin_modules=FAKES) as executor:
        first = await executor.run(noop(image))
        os.kill(first.worker_pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        after = await executor.run(noop(image, "after"))
    assert after.text == "after" and after.worker_pid != first.worker_pid


def test_a_killed_parent_leaves_no_worker_behind(image: str, tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio
            from harness.executor import ProcessExecutor
            from harness.backends import BackendSpec
            from harness.worker import Task

            async def main():
                executor = ProcessExecutor(workers=1, plugin_modules=("fake_hang",))
                running = asyncio.ensure_future(executor.run(Task({image!r}, BackendSpec.of("hang"))))
                while not executor.worker_pids():
                    await asyncio.sleep(0.05)
                print(executor.worker_pids()[0], flush=True)
                await running

            asyncio.run(main())
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(PLUGINS_DIR)}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        worker_pid = int(parent.stdout.readline())  # type: ignore[union-attr]
        time.sleep(1.0)  # the worker is now spinning in C, holding its GIL
        assert is_running(worker_pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while is_running(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(worker_pid)
