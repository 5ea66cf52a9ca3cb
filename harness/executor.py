"""Executors: where tasks run. Every caller (runner, API, CLI) uses this interface.

Contract
--------
``await executor.warm_up(task)`` runs a warm-up task (engine created, language
loaded, nothing read) once on every worker, so jobs timed after it are warm.
``await executor.run(task, timeout=...)`` waits for a free worker, runs one
:class:`~harness.worker.Task` there and returns its :class:`~harness.worker.Outcome`.
It never raises for anything the task, its image or its engine does: failures
come back as outcomes with ``error_type`` set (``Outcome.raise_error()`` turns
one into the matching exception). Results come back per call, so callers keep
their own order (``asyncio.gather`` keeps input order). ``run`` may be called
concurrently from many coroutines; at most ``workers`` tasks run at once.
Cancelling a ``run`` returns at once; its worker finishes the task (or hits
its timeout) before taking another. ``describe()`` gives the facts recorded
in run.json. Use an executor as ``async with ProcessExecutor(...) as ex:`` or
call ``await ex.close()``; ``run`` after ``close`` raises RuntimeError. An
executor belongs to the event loop it is first used on.

ProcessExecutor
    Up to ``workers`` worker processes started with the ``spawn`` method (an
    engine that was created in, or even imported into, a process breaks in its
    forked children), lazily on first need. A worker imports only
    harness.worker, sets its environment (what every registered backend's
    ``Backend.worker_env(threads)`` asks for, then ``env``) before any engine import,
    and keeps one engine per BackendSpec, created on its first task and reused.
    Unlike other ``spawn`` children, workers do not re-import the parent's
    ``__main__``: they never need it, and a script without an
    ``if __name__ == "__main__":`` guard would otherwise run again in each worker.

    Timeouts are enforced from outside, because an engine such as Aspose holds
    the GIL for a whole call: when a task passes ``timeout`` seconds (counted
    from when the worker took it, so a cold task's engine creation counts) the
    parent SIGKILLs the worker and returns ``JobTimeoutError``. A worker that
    dies (segfault, ``os._exit``, a signal, a .NET abort, the OOM killer) gives
    ``EngineCrashedError`` naming the image and the exit code or signal. Either
    way the dead worker is replaced lazily and every other task goes on. On
    Linux the kernel kills the workers if the parent process dies, even
    mid-call.

InlineExecutor
    Serial and in this process (one thread off the event loop), for debugging
    with ``--jobs 1``: no timeouts, and an engine crash takes the process down.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import os
import signal
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import spawn
from multiprocessing.connection import wait as wait_for_ready
from typing import Any, TypeVar

from harness.defaults import usable_cpus
from harness.errors import EngineCrashedError, EngineError, JobTimeoutError, OcrHarnessError
from harness.worker import READY, Outcome, Task, WorkerState, run_task, serve

T = TypeVar("T")

START_METHOD = "spawn"
WORKER_NAME = "ocr-harness-worker"
#: Processes that never re-import the caller's ``__main__``: ours, and a LocalCluster's Dask workers.
NO_MAIN_PROCESSES = (WORKER_NAME, "Dask Worker process")
#: How long a new worker may take to start Python and import harness.worker.
STARTUP_TIMEOUT = 120.0
#: How long ``close()`` lets a worker release its engines before killing it.
CLOSE_GRACE = 10.0


def default_workers() -> int:
    """One worker per core this process may run on (affinity-aware: a container's share, not the host's)."""
    return usable_cpus()


def default_threads(workers: int) -> int:
    """Each worker's fair share of the usable cores, at least one."""
    return max(1, usable_cpus() // workers)


def process_env(
    plugin_modules: tuple[str, ...], threads: int, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A worker process's environment, set before any engine is imported (local or Dask):
    what the backends declare for ``threads`` threads, then ``env``."""
    return {**_backends_worker_env(plugin_modules, threads), **(env or {})}


class Executor(ABC):
    """Runs tasks and returns outcomes; see the module docstring for the contract."""

    workers: int

    @abstractmethod
    async def run(self, task: Task, *, timeout: float | None = None) -> Outcome:
        """Run ``task`` on a free worker (waiting for one) and return its outcome."""

    @abstractmethod
    async def close(self) -> None:
        """Stop the workers, releasing their engines; idempotent."""

    async def warm_up(self, task: Task, *, timeout: float | None = None) -> list[Outcome]:
        """Run a warm-up ``task`` (``Task.warm_up``) on every worker, before any job is timed.

        ``workers`` copies at once: each takes a worker of its own, since none ends
        before all have started. A worker started later (to replace a dead one) is
        not warmed; its first job in a language times the load apart and is cold.
        """
        return list(await asyncio.gather(*(self.run(task, timeout=timeout) for _ in range(self.workers))))

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Workers, threads per worker, start method and environment: recorded in run.json."""

    async def __aenter__(self) -> Executor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing.context.SpawnProcess
    conn: Any  # multiprocessing.connection.Connection
    pid: int
    ready: bool = False  # it has said READY: its environment is set and it takes tasks

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()

    def exit_description(self) -> str:
        code = self.process.exitcode
        if code is None:
            return "stopped without an exit code"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (out of memory, or killed from outside)" if -code == signal.SIGKILL else ""
            return f"was killed by {name}{hint}"
        return f"exited with code {code}"


class _WorkerDied(Exception):
    """The worker's pipe closed before it answered: the process is gone."""


def _install_main_skipping() -> None:
    """Make spawn skip re-importing ``__main__`` in our workers (and only there).

    multiprocessing decides in ``spawn.get_preparation_data`` whether a child
    re-runs the parent's main script; workers find everything by module name.
    """
    original = spawn.get_preparation_data
    if getattr(original, "ocr_harness", False):
        return

    def get_preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        if name.startswith(NO_MAIN_PROCESSES):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data.ocr_harness = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = get_preparation_data


_install_main_skipping()


_live_executors: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


@atexit.register
def _kill_leftover_workers() -> None:
    # An executor nobody closed (a loop run without asyncio.run) must not leave workers behind.
    for executor in list(_live_executors):
        executor.kill_workers()


class ProcessExecutor(Executor):
    """Tasks run in up to ``workers`` spawned worker processes; see the module docstring."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        plugin_modules: tuple[str, ...] = (),
        threads_per_worker: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workers = workers if workers is not None else default_workers()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        self.threads_per_worker = (
            threads_per_worker if threads_per_worker is not None else default_threads(self.workers)
        )
        self.plugin_modules = tuple(plugin_modules)
        self.env = process_env(self.plugin_modules, self.threads_per_worker, env)
        self._context: Any = multiprocessing.get_context(START_METHOD)
        self._slots = asyncio.Semaphore(self.workers)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()  # every live worker, idle or busy (guarded by _lock)
        self._lock = threading.Lock()
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._closed = False
        _live_executors.add(self)

    def describe(self) -> dict[str, Any]:
        return {
            "executor": "process",
            "workers": self.workers,
            "threads_per_worker": self.threads_per_worker,
            "start_method": START_METHOD,
            "worker_env": dict(self.env),
        }

    async def run(self, task: Task, *, timeout: float | None = None) -> Outcome:
        if self._closed:
            raise RuntimeError("this executor is closed")
        await self._slots.acquire()
        try:
            if self._closed:
                raise RuntimeError("this executor is closed")
            worker = self._idle_worker() or self._launch()
        except _WorkerDied as error:
            self._slots.release()
            return _failure(0, EngineCrashedError, f"{_where(task)}: {error}")
        except BaseException:
            self._slots.release()
            raise
        job = _in_thread(self._run_blocking, worker, task, timeout)
        self._in_flight.add(job)
        job.add_done_callback(self._job_done)
        # shield: a cancelled caller stops waiting, but the worker stays busy until the task ends.
        outcome, _ = await asyncio.shield(job)
        return outcome

    def _job_done(self, job: asyncio.Future[tuple[Outcome, _Worker | None]]) -> None:
        self._in_flight.discard(job)
        self._slots.release()
        worker = None if job.cancelled() or job.exception() else job.result()[1]
        if worker is None:
            return
        if self._closed:
            _in_thread(self._stop_worker, worker)
        else:
            self._idle.append(worker)

    def _idle_worker(self) -> _Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            # It died while idle (the OOM killer, a kill from outside): not the next task's fault.
            _in_thread(self._discard, worker)
        return None

    def _launch(self) -> _Worker:
        """Start a worker process. On the event loop's thread (it takes milliseconds): on Linux the
        kernel kills a worker when the thread that started it ends, and this one lives as long as
        the loop, so a parent that is killed never leaves a worker spinning inside an engine."""
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve,
            args=(child_end, self.plugin_modules, self.threads_per_worker, self.env, os.getpid()),
            name=WORKER_NAME,
            daemon=True,
        )
        try:
            with self._lock:
                process.start()
                worker = _Worker(process, parent_end, process.pid or 0)
                self._all.add(worker)
        except OSError as error:
            parent_end.close()
            raise _WorkerDied(f"could not start a worker process: {error}") from None
        finally:
            child_end.close()
        return worker

    def _run_blocking(
        self, worker: _Worker, task: Task, timeout: float | None
    ) -> tuple[Outcome, _Worker | None]:
        """Runs in a helper thread: the whole life of one task. Returns the worker if still usable."""
        try:
            if not worker.ready:
                self._wait_until_ready(worker)
            try:
                worker.conn.send(task)
            except OSError:  # it died just before the task reached it
                self._discard(worker)
                return _failure(worker.pid, EngineCrashedError, self._death_message(task, worker)), None
            ready = wait_for_ready([worker.conn, worker.process.sentinel], timeout)
            if not ready:
                self._discard(worker)
                return _failure(worker.pid, JobTimeoutError, _timeout_message(task, timeout)), None
            if worker.conn in ready:
                try:
                    return worker.conn.recv(), worker
                except (EOFError, OSError):
                    pass
            self._discard(worker)
            return _failure(worker.pid, EngineCrashedError, self._death_message(task, worker)), None
        except _WorkerDied as error:
            return _failure(worker.pid, EngineCrashedError, f"{_where(task)}: {error}"), None
        except Exception as error:  # e.g. a task that cannot be pickled: this task fails, nothing else
            self._discard(worker)
            message = f"{_where(task)}: could not run the task: {type(error).__name__}: {error}"
            return _failure(0, EngineError, message), None

    def _wait_until_ready(self, worker: _Worker) -> None:
        ready = wait_for_ready([worker.conn, worker.process.sentinel], STARTUP_TIMEOUT)
        if worker.conn in ready:
            try:
                if worker.conn.recv() == (READY, worker.pid):
                    worker.ready = True
                    return
            except (EOFError, OSError):
                pass
        self._discard(worker)
        if not ready:
            raise _WorkerDied(f"a new worker process did not start within {STARTUP_TIMEOUT:g} s")
        raise _WorkerDied(
            f"a new worker process (pid {worker.pid}) {worker.exit_description()} while starting"
        )

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def _death_message(self, task: Task, worker: _Worker) -> str:
        if self._closed:
            return f"{_where(task)}: the executor was closed while the task ran"
        return (
            f"{_where(task)}: the worker process (pid {worker.pid}) running backend {task.backend} "
            f"{worker.exit_description()}; the task was lost and the worker replaced"
        )

    def _stop_worker(self, worker: _Worker) -> None:
        """Ask a worker to release its engines and exit; kill it if it does not within CLOSE_GRACE."""
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        worker.process.join(CLOSE_GRACE)
        self._discard(worker)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        idle, self._idle = self._idle, []
        with self._lock:
            busy = [worker for worker in self._all if worker not in idle]
        for worker in busy:  # tasks still running now are abandoned: their callers were cancelled
            if worker.process.is_alive():
                worker.process.kill()
        await asyncio.gather(*(_in_thread(self._stop_worker, worker) for worker in idle))
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        self.kill_workers()
        _live_executors.discard(self)

    def kill_workers(self) -> None:
        """Kill every worker now (synchronous; for interpreter exit)."""
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            with contextlib.suppress(Exception):  # interpreter shutdown: best effort
                worker.kill()

    def worker_pids(self) -> list[int]:
        """Pids of the live worker processes."""
        with self._lock:
            return sorted(worker.pid for worker in self._all)


class InlineExecutor(Executor):
    """Serial, in this process, on one thread off the event loop; no timeouts (for --jobs 1)."""

    def __init__(
        self, *, plugin_modules: tuple[str, ...] = (), threads_per_worker: int | None = None
    ) -> None:
        self.workers = 1
        self.threads_per_worker = threads_per_worker if threads_per_worker is not None else default_workers()
        self._state = WorkerState(plugin_modules=tuple(plugin_modules), threads=self.threads_per_worker)
        # One thread: engines are created and used on the same thread, one task at a time.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr-harness-inline")
        self._closed = False

    def describe(self) -> dict[str, Any]:
        return {
            "executor": "inline",
            "workers": 1,
            "threads_per_worker": self.threads_per_worker,
            "start_method": None,
            "worker_env": {},
        }

    async def run(self, task: Task, *, timeout: float | None = None) -> Outcome:
        if self._closed:
            raise RuntimeError("this executor is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, run_task, task, self._state)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._state.close)
        self._thread.shutdown(wait=False)


def _backends_worker_env(plugin_modules: tuple[str, ...], threads: int) -> dict[str, str]:
    from harness.plugins import get_registry

    return get_registry(plugin_modules).worker_env(threads)


def _in_thread(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Run a blocking function on a daemon thread: one that waits on a hung worker never blocks exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: Any, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def target() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = function(*args)
        except BaseException as caught:
            error = caught
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=target, name="ocr-harness-job", daemon=True).start()
    return future


def _where(task: Task) -> str:
    return f"{task.image} (page {task.page + 1})" if task.page else task.image


def _timeout_message(task: Task, timeout: float | None) -> str:
    return (
        f"{_where(task)}: backend {task.backend} did not finish within the timeout of {timeout:g} s; "
        "its worker was stopped"
    )


def _failure(pid: int, error: type[OcrHarnessError], message: str) -> Outcome:
    return Outcome(error_type=error.__name__, error_message=message, worker_pid=pid)
