"""The Dask executor: the same tasks and outcomes as ProcessExecutor, on a Dask cluster.

``DaskExecutor()`` starts a ``distributed.LocalCluster`` sized to the cores (one
worker process per core, one task at a time in each); ``DaskExecutor(scheduler=
"tcp://HOST:PORT")`` uses a running cluster. It keeps the Executor contract
(harness/executor.py): ``run`` never raises for what a task does, and failures
come back as outcomes.

- Engines: each Dask worker process keeps one :class:`~harness.worker.WorkerState`
  (plugins loaded by the same registry, one engine per backend spec, created on
  first use and reused), in a module-level registry. Its environment
  (``OMP_THREAD_LIMIT`` and the rest, as ProcessExecutor sets them) is applied
  before the first engine is created; engines get ``threads`` threads each. Tasks in
  one process run one at a time (engines are not thread-safe), so start workers
  with ``--nthreads 1``.
- Images: workers may not see the dataset's paths, so the image bytes travel with
  the task and are written to a temporary file on the worker; error messages name
  the original path. ``shared_storage=True`` sends only the path (a shared file
  system mounted at the same place everywhere).
- One task at a time per worker process: the executor picks an idle worker for
  each task (``workers`` is the number of worker processes).
- A worker that dies while running a task: the task is retried once on another
  worker process, then becomes an ``EngineCrashedError`` outcome; the run goes on.
  (A scheduler configured with ``distributed.scheduler.allowed-failures`` above 0,
  the default being 3, retries on its own first; a LocalCluster's allows none.)
- Timeouts are enforced from outside, as locally: when a task passes ``timeout``
  seconds its worker process is restarted through its nanny (an engine holding
  the GIL cannot be interrupted any other way) and the task is a
  ``JobTimeoutError`` outcome.

Needs the optional extra ``ocr-harness[dask]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.executor import Executor, default_threads, default_workers, process_env
from harness.worker import Outcome, Task, WorkerState, run_task

if TYPE_CHECKING:
    from harness.suite import Suite

#: A LocalCluster's settings (nannies hand them to their workers). It shares the cores with the
#: engines, so its housekeeping is slowed down: the statistical profiler (every thread each 10 ms),
#: the event loop's tick (20 ms), the system and memory monitors (0.5 s, 0.1 s) and work stealing
#: (tasks are placed by the executor) cost an idle 2-worker cluster 11% of a core, 1.6% slowed.
#: No retries by the scheduler: the executor's one retry is the only one.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}
#: Seconds to wait for a scheduler to answer, and for a cluster's first worker.
CONNECT_TIMEOUT = 10.0
WORKERS_TIMEOUT = 60.0


def _require_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "the Dask executor needs the 'distributed' package",
            fix="pip install 'ocr-harness[dask]'",
        ) from None
    return distributed


class DaskExecutor(Executor):
    """Tasks run on a Dask cluster (a LocalCluster, or ``scheduler``'s); see the module docstring."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        threads_per_worker: int | None = None,
        plugin_modules: tuple[str, ...] = (),
        env: Mapping[str, str] | None = None,
        scheduler: str | None = None,
        shared_storage: bool = False,
    ) -> None:
        _require_distributed()
        self.scheduler = scheduler
        self.workers = workers if workers is not None else default_workers()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        self.threads_per_worker = (
            threads_per_worker if threads_per_worker is not None else default_threads(self.workers)
        )
        self.plugin_modules = tuple(plugin_modules)
        self.shared_storage = shared_storage
        self.env = process_env(self.plugin_modules, self.threads_per_worker, env)
        self._cluster: Any = None
        self._client: Any = None
        self._start_lock = asyncio.Lock()
        self._free = asyncio.Condition()
        self._busy: set[str] = set()
        self._stuck: set[str] = set()  # a hung task that could not be stopped still runs there
        self._scheduler_retries = 0
        self._host_threads: dict[str, int] = {}
        self._cluster_facts: dict[str, Any] = {}
        self._quieted: int | None = None  # the distributed logger's level before a LocalCluster
        self._closed = False

    @classmethod
    def for_suite(cls, suite: Suite, workers: int, threads: int) -> DaskExecutor:
        """The executor a suite's ``[run]`` settings ask for."""
        return cls(
            workers=workers,
            threads_per_worker=threads,
            plugin_modules=suite.plugin_modules,
            scheduler=suite.run.scheduler,
            shared_storage=suite.run.shared_storage,
        )

    # --- life cycle ---------------------------------------------------------------

    async def __aenter__(self) -> DaskExecutor:
        await self.start()
        return self

    async def start(self) -> None:
        """Start the LocalCluster or connect to the scheduler (idempotent; ``run`` calls it)."""
        async with self._start_lock:
            if self._client is not None:
                return
            if self._closed:
                raise RuntimeError("this executor is closed")
            distributed = _require_distributed()
            import dask

            if self.scheduler is None:
                # The scheduler runs here: it logs a lost worker as an error, which the run reports as a
                # row already; and it makes no retries of its own, ours is the one retry.
                self._quieted = _quiet_logger("distributed")
                with dask.config.set(LOCAL_CLUSTER_CONFIG):
                    self._cluster = await distributed.LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        asynchronous=True,
                        dashboard_address=None,
                        env=dict(self.env),
                    )
                address = self._cluster.scheduler_address
            else:
                address = self.scheduler
            try:
                self._client = await distributed.Client(
                    address, asynchronous=True, timeout=CONNECT_TIMEOUT, set_as_default=False
                )
            except (OSError, TimeoutError) as error:
                await self._close_cluster()
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {address}: {error}",
                    fix="start it with 'dask scheduler', and workers with 'dask worker ADDRESS --nthreads 1'",
                ) from None
            await self._learn_cluster()

    async def _learn_cluster(self) -> None:
        workers = await self._live_workers()
        if not workers:
            with contextlib.suppress(Exception):
                await self._client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
            workers = await self._live_workers()
        if not workers:
            raise ConfigError(f"the Dask cluster at {self._client.scheduler.address} has no workers")
        hosts = Counter(worker.get("host", "") for worker in workers.values())
        if self.scheduler is not None:
            self.workers = len(workers)
            # Each engine gets its host's cores shared among the worker processes there.
            self._host_threads = dict(hosts)
            allowed = await self._client.run_on_scheduler(_allowed_failures)
            self._scheduler_retries = int(allowed or 0)
        self._cluster_facts = {
            "scheduler": self._client.scheduler.address,
            "cluster": "LocalCluster" if self.scheduler is None else "external",
            "dask_workers": len(workers),
            "hosts": len(hosts),
            "dask_threads": sum(worker.get("nthreads", 1) for worker in workers.values()),
            "retries_after_a_lost_worker": 1,
        }

    async def _live_workers(self) -> dict[str, Any]:
        identity = await self._client.scheduler.identity()
        return dict(identity.get("workers", {}))

    async def _take_worker(self, avoid: set[str]) -> str | None:
        """A worker process with no task of ours running: one task at a time in each.

        The executor picks workers itself rather than leaving it to the scheduler, so no task
        ever waits in a worker's queue, where that worker's death would count against it.
        None when the cluster has had no live worker at all for WORKERS_TIMEOUT seconds.
        """
        deadline = time.monotonic() + WORKERS_TIMEOUT
        while True:
            async with self._free:
                live = [address for address in await self._live_workers() if address not in self._stuck]
                # A retry goes elsewhere when there is an elsewhere (a restarted worker may keep its port).
                for address in [a for a in live if a not in avoid] or live:
                    if address not in self._busy:
                        self._busy.add(address)
                        return address
                if live:
                    deadline = time.monotonic() + WORKERS_TIMEOUT
                elif time.monotonic() > deadline:
                    return None
                with contextlib.suppress(TimeoutError):
                    # Woken when a task ends; every second anyway, to see restarted or new workers.
                    await asyncio.wait_for(self._free.wait(), 1.0)

    async def _give_back(self, address: str) -> None:
        async with self._free:
            self._busy.discard(address)
            self._free.notify()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._client is not None:
            with contextlib.suppress(Exception):  # releasing engines is best effort
                await self._client.run(_release_engines, self._state_key())
            with contextlib.suppress(Exception):
                await self._client.close()
        await self._close_cluster()

    async def _close_cluster(self) -> None:
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                await self._cluster.close()
            self._cluster = None
        if self._quieted is not None:
            logging.getLogger("distributed").setLevel(self._quieted)
            self._quieted = None

    def describe(self) -> dict[str, Any]:
        return {
            "executor": "dask",
            "workers": self.workers,
            "threads_per_worker": self.threads_per_worker,
            "start_method": "dask",
            "worker_env": dict(self.env),
            "shared_storage": self.shared_storage,
            **self._cluster_facts,
        }

    # --- running --------------------------------------------------------------------

    def _state_key(self) -> tuple[Any, ...]:
        return (self.plugin_modules, self.threads_per_worker, tuple(sorted(self.env.items())))

    async def run(self, task: Task, *, timeout: float | None = None) -> Outcome:
        if self._closed:
            raise RuntimeError("this executor is closed")
        await self.start()
        try:
            payload = None if self.shared_storage else await asyncio.to_thread(_read_bytes, task.image)
        except OSError as error:
            return _failure("ImageReadError", f"{task.image}: cannot be read ({error.strerror or error})")
        lost_on: set[str] = set()
        for _ in range(2):  # the first try, and one retry on another worker process
            address = await self._take_worker(lost_on)
            if address is None:
                return _failure(
                    "EngineCrashedError",
                    f"{_where(task)}: the Dask cluster has had no worker for {WORKERS_TIMEOUT:g} s",
                )
            try:
                outcome = await self._attempt(task, payload, timeout, address)
            finally:
                await self._give_back(address)
            if outcome is not None:
                return outcome
            lost_on.add(address)
        return _failure(
            "EngineCrashedError",
            f"{_where(task)}: the Dask worker process running backend {task.backend} died, and so did "
            "the one it was retried on; the task was lost and the run went on",
        )

    async def _attempt(
        self, task: Task, payload: bytes | None, timeout: float | None, address: str
    ) -> Outcome | None:
        """One try on the worker at ``address``: its outcome, or None when that worker died."""
        distributed = _require_distributed()
        future = self._client.submit(
            run_on_worker,
            task,
            payload,
            self._state_key(),
            self._host_threads,
            key=f"ocr-harness-{uuid.uuid4().hex}",
            pure=False,
            workers=[address],
            allow_other_workers=True,  # never stuck waiting for a worker that is gone
        )
        try:
            return await asyncio.wait_for(_result(future), timeout)
        except TimeoutError:
            await self._stop(future, address)
            return _failure(
                "JobTimeoutError",
                f"{_where(task)}: backend {task.backend} did not finish within the timeout of {timeout:g} s; "
                "its Dask worker process was restarted",
            )
        except distributed.KilledWorker:
            return None
        except asyncio.CancelledError:
            await self._stop(future, address)
            raise
        except Exception as error:  # the task could not be sent, or its result not returned
            return _failure(
                "EngineError", f"{_where(task)}: the Dask task failed: {type(error).__name__}: {error}"
            )

    async def _stop(self, future: Any, address: str) -> None:
        """Restart the worker process running ``future``: the only way to stop an engine call."""
        with contextlib.suppress(Exception):
            await self._client.cancel(future, force=True)
        try:
            await self._client.restart_workers([address], raise_for_error=True)
        except Exception:  # a worker without a nanny cannot be restarted: never give it a task again
            self._stuck.add(address)


async def _result(future: Any) -> Outcome:
    outcome: Outcome = await future
    return outcome


def _quiet_logger(name: str) -> int:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    return level


def _allowed_failures(dask_scheduler: Any) -> int:
    return int(getattr(dask_scheduler, "allowed_failures", 0))


def _read_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def _where(task: Task) -> str:
    return f"{task.image} (page {task.page + 1})" if task.page else task.image


def _failure(error_type: str, message: str) -> Outcome:
    return Outcome(error_type=error_type, error_message=message)


# --- inside a Dask worker process ---------------------------------------------------------

_states: dict[tuple[Any, ...], WorkerState] = {}
#: Engines are not thread-safe: a worker with several threads runs our tasks one at a time.
_task_lock = threading.Lock()
_scratch: list[str] = []


def run_on_worker(
    task: Task, payload: bytes | None, state_key: tuple[Any, ...], host_threads: Mapping[str, int]
) -> Outcome:
    """Run one task in this Dask worker process, with its engines kept between tasks."""
    with _task_lock:
        state = _states.get(state_key)
        if state is None:
            plugin_modules, threads, env = state_key
            os.environ.update(dict(env))  # before any engine is imported, as in a local worker
            threads = _threads_here(threads, host_threads)
            state = _states[state_key] = WorkerState(plugin_modules=plugin_modules, threads=threads)
        if payload is None:
            return run_task(task, state)
        local = _scratch_file(task.image, payload)
        try:
            outcome = run_task(replace(task, image=str(local)), state)
        finally:
            with contextlib.suppress(OSError):
                local.unlink()
        if outcome.error_message:
            outcome.error_message = outcome.error_message.replace(str(local), task.image)
        return outcome


def _threads_here(threads: int, host_threads: Mapping[str, int]) -> int:
    """On a cluster, this host's cores shared among the tasks it runs at once; locally, as planned."""
    if not host_threads:
        return threads
    from harness.defaults import usable_cpus

    try:
        from distributed import get_worker

        host = get_worker().address.split("://")[-1].rsplit(":", 1)[0]
    except Exception:  # not inside a Dask worker (a test calling this directly)
        return threads
    return max(1, usable_cpus() // max(1, host_threads.get(host, 1)))


def _scratch_file(original: str, payload: bytes) -> Path:
    if not _scratch:
        _scratch.append(tempfile.mkdtemp(prefix="ocr-harness-images-"))
    # The original name (and so its extension) is kept: some formats are told apart by it.
    return _write(Path(_scratch[0]) / f"{uuid.uuid4().hex[:8]}-{Path(original).name}", payload)


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def _release_engines(state_key: tuple[Any, ...]) -> None:
    state = _states.pop(tuple(state_key), None) if isinstance(state_key, (tuple, list)) else None
    if state is not None:
        with _task_lock:
            state.close()
