"""Running a suite: plan the jobs, run them through an executor, store every result as it ends.

A job is one sample x backend x pipeline, planned with a stable key
(:mod:`harness.plan`).

Backends run one after another, and the pipelines of a backend one after
another, so engines never compete for cores and each backend x pipeline group
has clean wall-clock figures. Within a group, jobs run concurrently on the
executor's workers; each engine gets its share of the cores
(``threads_per_worker``). A failed job (engine error, crash, timeout, broken
image) is a row with its error, never a failed run. Jobs that cannot run are
rows too, written before the run starts: samples whose files are broken
(``error``) and samples in a language the backend cannot read (``skipped``).

Jobs the result cache holds are rows without running (harness/result_cache.py). The
executor is an interface (:class:`harness.executor.Executor`; local or Dask).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness.errors import UnsupportedLanguageError
from harness.plan import Job, plan_jobs, skip_warning
from harness.result_cache import JobCache, JobThumbnails
from harness.resume import continue_run, done_jobs, hold_run_folder
from harness.run_folder import (
    BackendInfo,
    DatasetInfo,
    RunInfo,
    SuiteRecord,
    new_run_dir,
    open_store,
    point_latest,
    write_run_info,
)
from harness.store import ResultStore
from harness.wording import plural
from harness.worker import Outcome, Task

if TYPE_CHECKING:
    from harness.executor import Executor
    from harness.progress import Progress
    from harness.suite import BackendEntry, RunConfig, Suite

ExecutorFactory = Callable[["BackendEntry", int, int], "Executor"]
"""Makes the executor for one backend: ``(backend, workers, threads_per_worker) -> Executor``."""


@dataclass
class RunOutcome:
    """What a finished (or interrupted) run leaves behind."""

    run_dir: Path
    jobs: int
    counts: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False


# --- records -------------------------------------------------------------------------


def make_record(
    job: Job, outcome: Outcome | None, *, started: float | None, finished: float | None
) -> dict[str, Any]:
    """The results.jsonl record of a job (see docs/run-folder.md)."""
    sample = job.sample
    if outcome is None:
        outcome = Outcome(
            error_type=job.problem_type or (UnsupportedLanguageError.__name__ if job.skip_reason else None),
            error_message=sample.problem if job.problem_type else job.skip_reason,
        )
    status = "skipped" if job.skip_reason and not job.problem_type else ("ok" if outcome.ok else "error")
    return {
        "key": job.key,
        "status": status,
        "sample_id": sample.id,
        "dataset": sample.dataset,
        "image": str(sample.image),
        "page": sample.page,
        "language": job.language,
        "tags": dict(sample.tags),
        "backend": job.backend.label,
        "backend_name": job.backend.name,
        "backend_version": job.backend.version,
        "backend_options": job.backend.spec.options_dict,
        "pipeline": job.pipeline,
        "ground_truth": sample.ground_truth,
        **outcome.to_dict(),
        "started": started,
        "finished": finished,
        "cached": False,  # True for an outcome reused from the result cache (with measured_in)
    }


# --- running ---------------------------------------------------------------------------


def default_executor_factory(suite: Suite) -> ExecutorFactory:
    """Worker processes (or, with ``serial``, this process) for each backend in turn."""

    def make(backend: BackendEntry, workers: int, threads: int) -> Executor:
        from harness.executor import InlineExecutor, ProcessExecutor

        if suite.run.executor == "dask":
            from harness.dask_executor import DaskExecutor

            return DaskExecutor.for_suite(suite, workers, threads)
        if suite.run.serial:
            return InlineExecutor(plugin_modules=suite.plugin_modules, threads_per_worker=threads)
        return ProcessExecutor(
            workers=workers, plugin_modules=suite.plugin_modules, threads_per_worker=threads
        )

    return make


def worker_plan(suite: Suite) -> tuple[int, int]:
    """(workers, threads per worker): one worker per usable core unless ``jobs`` says otherwise."""
    from harness.executor import default_threads, default_workers

    if suite.run.serial:
        return 1, default_threads(1)
    workers = suite.run.jobs or default_workers()
    return workers, default_threads(workers)


async def execute(
    suite: Suite,
    jobs: list[Job],
    store: ResultStore,
    *,
    executor_factory: ExecutorFactory | None = None,
    progress: Progress | None = None,
    run_facts: dict[str, Any] | None = None,
) -> Counter[str]:
    """Run the runnable jobs, group by group, storing each record as its job ends.

    Each backend's workers are warmed up (engine created, every language its jobs
    need loaded) before its first group is timed. With ``suite.run.rounds`` > 1 the
    groups run again round after round in the same order (A B A B), on the same
    warm workers; later rounds' records carry ``round``. ``run_facts`` (if given)
    collects per-backend executor descriptions, thread settings and load times for
    run.json. Returns record counts by status.
    """
    factory = executor_factory or default_executor_factory(suite)
    workers, threads = worker_plan(suite)
    counts: Counter[str] = Counter()
    facts = run_facts if run_facts is not None else {}
    rounds = suite.run.rounds
    thumbnails = JobThumbnails(suite.plugin_modules)
    executors: dict[str, Executor] = {}
    # Timed rounds always measure afresh: the cache serves single-round runs only (it still learns).
    with JobCache.open(suite, store.path.parent.name) as cache:
        try:
            for round_number in range(1, rounds + 1):
                for backend in suite.backends:
                    backend_jobs = [job for job in jobs if job.backend is backend and job.runnable]
                    if rounds == 1:
                        backend_jobs = cache.reuse(
                            backend_jobs, make_record, thumbnails, store, counts, progress
                        )
                    if not backend_jobs:
                        continue
                    backend_facts = facts.setdefault(backend.label, {})
                    executor = executors.get(backend.label)
                    if executor is None:
                        # A Dask executor connects in __aenter__.
                        executor = await factory(backend, workers, threads).__aenter__()
                        executors[backend.label] = executor
                        backend_facts["executor"] = executor.describe()
                        await _warm_up(executor, backend, backend_jobs, suite.run.timeout, backend_facts)
                    for pipeline in suite.pipelines:
                        group = [job for job in backend_jobs if job.pipeline == pipeline]
                        if not group:
                            continue
                        if progress is not None:
                            where = f" · round {round_number}/{rounds}" if rounds > 1 else ""
                            progress.start_group(f"{backend.label} · {pipeline}{where}")
                        await _run_group(executor, group, store, progress, suite.run, counts,
                                         backend_facts, cache, thumbnails, round_number)  # fmt: skip
                    if round_number == rounds:  # its last group: free its workers for the next backend
                        await executors.pop(backend.label).close()
        finally:
            for executor in executors.values():
                await executor.close()
    return counts


async def _warm_up(
    executor: Executor,
    backend: BackendEntry,
    jobs: list[Job],
    timeout: float,
    backend_facts: dict[str, Any],
) -> None:
    """Load the engine and each language on every worker; record the load times (start-up, untimed)."""
    loads: dict[str, Any] = {"engine_init_s": None, "languages_s": {}, "errors": []}
    for language in sorted({job.language for job in jobs}):
        task = Task(image="", backend=backend.spec, language=language, warm_up=True)
        outcomes = await executor.warm_up(task, timeout=timeout)
        for outcome in outcomes:
            if not outcome.ok:
                loads["errors"].append(f"{language}: {outcome.error_type}: {outcome.error_message}")
                continue
            if "engine_init" in outcome.timings:
                loads["engine_init_s"] = max(loads["engine_init_s"] or 0.0, outcome.timings["engine_init"])
            seconds = outcome.timings.get("warm_up", 0.0)
            loads["languages_s"][language] = max(loads["languages_s"].get(language, 0.0), seconds)
            if outcome.thread_settings and "thread_settings" not in backend_facts:
                backend_facts["thread_settings"] = outcome.thread_settings
    backend_facts["load"] = loads


async def _run_group(
    executor: Executor,
    jobs: list[Job],
    store: ResultStore,
    progress: Progress | None,
    settings: RunConfig,
    counts: Counter[str],
    backend_facts: dict[str, Any],
    cache: JobCache,
    thumbnails: JobThumbnails,
    round_number: int = 1,
) -> None:
    pending = iter(jobs)  # shared by the consumers: each takes the next job when it is free

    async def consume() -> None:
        for job in pending:
            task, names = thumbnails.task(job, job.task(max_pixels=settings.max_image_pixels))
            started = time.time()
            outcome = await executor.run(task, timeout=settings.timeout)
            record = {**make_record(job, outcome, started=started, finished=time.time()), "thumbnails": names}
            thumbnails.keep(outcome.thumbnails, names)  # stored apart, never in a record
            if round_number > 1:
                record["round"] = round_number
            else:
                counts[record["status"]] += 1
                cache.remember(job, record, outcome.to_dict())
            store.append(record)
            if outcome.thread_settings and "thread_settings" not in backend_facts:
                backend_facts["thread_settings"] = outcome.thread_settings
            if progress is not None:
                progress.job_done(failed=not outcome.ok)

    await asyncio.gather(*(consume() for _ in range(max(1, min(executor.workers, len(jobs))))))


# --- the whole run ---------------------------------------------------------------------


def run_info(suite: Suite, workers: int, threads: int) -> RunInfo:
    """run.json as written when the run starts (``finished`` and engine facts added at the end)."""
    from harness.environment import environment, harness_info

    backends: dict[str, BackendInfo] = {}
    for backend in suite.backends:
        try:
            fingerprint = backend.backend_class.fingerprint(
                backend.backend_class.Options(**backend.spec.options_dict)
            )
        except Exception as error:  # a fingerprint is a record, never a reason to stop
            fingerprint = {"error": f"{type(error).__name__}: {error}"}
        backends[backend.label] = BackendInfo(
            name=backend.name,
            version=backend.version,
            options=backend.spec.options_dict,
            fingerprint=fingerprint,
        )
    return RunInfo(
        suite=suite.name,
        executor=suite.run.executor,
        scheduler=suite.run.scheduler,
        started=_utc_now(),
        harness=harness_info(),
        normalisation=suite.profile.settings(),
        failure_policy=suite.failure_policy,
        workers=workers,
        threads_per_worker=threads,
        timeout_s=suite.run.timeout,
        rounds=suite.run.rounds,
        backends=backends,
        datasets={
            entry.dataset.name: DatasetInfo(
                path=str(entry.path),
                format=entry.dataset.format,
                fingerprint=entry.fingerprint,
                samples=len(entry.dataset.samples),
                metadata=entry.dataset.metadata,
            )
            for entry in suite.datasets
        },
        pipelines=list(suite.pipelines),
        config=SuiteRecord.model_validate(suite.resolved_config()),
        environment=environment(),
    )


def run_suite(
    suite: Suite,
    *,
    run_dir: Path | None = None,
    resume: Path | None = None,
    executor_factory: ExecutorFactory | None = None,
    log: TextIO | None = None,
    live: bool | None = None,
) -> RunOutcome:
    """Plan and run a suite into its run folder; returns where it wrote. Ctrl-C keeps every finished job.

    The run ends at the store (results.jsonl and run.json): writing the reports
    is the caller's step, :func:`harness.report.write_reports`. ``resume``
    continues an earlier run folder: jobs already stored as ``ok`` are not run
    again (failed ones are retried; reports keep each job's last record), and
    only with the suite that started it. The folder is locked while the run
    writes it (:mod:`harness.resume`).
    """
    log = log if log is not None else sys.stderr
    jobs = plan_jobs(suite)
    if resume is not None:
        run_dir = resume
    elif run_dir is None:
        run_dir = new_run_dir(Path(suite.run.output), suite.name)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    with hold_run_folder(run_dir):  # one writer at a time: no job runs twice, no two runs mix
        return _run_locked(suite, jobs, run_dir, resume, executor_factory, log, live)


def _run_locked(
    suite: Suite,
    jobs: list[Job],
    run_dir: Path,
    resume: Path | None,
    executor_factory: ExecutorFactory | None,
    log: TextIO,
    live: bool | None,
) -> RunOutcome:
    workers, threads = worker_plan(suite)
    info = run_info(suite, workers, threads)
    if resume is not None:
        continue_run(resume, info)  # the same suite only; keeps when the run first started
        done = done_jobs(resume)  # read under the lock: what another process stored is seen
        jobs = [job for job in jobs if (job.sample.dataset, job.sample.id, job.key) not in done]
    write_run_info(run_dir, info)
    warning = skip_warning(jobs)
    if warning:
        print(warning, file=log)
    runnable = [job for job in jobs if job.runnable]
    print(_plan_line(suite, jobs, runnable, workers, threads, run_dir), file=log)

    outcome = RunOutcome(run_dir=run_dir, jobs=len(jobs))
    facts: dict[str, Any] = {}
    with open_store(run_dir) as store:
        _store_unrunnable(jobs, store, outcome)
        outcome.interrupted = _run_with_progress(
            suite, jobs, runnable, store, executor_factory, log, live, outcome, facts
        )
    info.finished = _utc_now()
    info.interrupted = outcome.interrupted
    for label, backend_facts in facts.items():
        info.backends[label].thread_settings = backend_facts.get("thread_settings")
        info.backends[label].executor = backend_facts.get("executor")
        info.backends[label].load = backend_facts.get("load")
    write_run_info(run_dir, info)
    if resume is None:
        point_latest(run_dir)
    return outcome


def _store_unrunnable(jobs: list[Job], store: ResultStore, outcome: RunOutcome) -> None:
    """Broken samples and unreadable languages: rows without OCR."""
    for job in jobs:
        if not job.runnable:
            record = make_record(job, None, started=None, finished=None)
            store.append(record)
            outcome.counts[record["status"]] += 1


def _run_with_progress(
    suite: Suite,
    jobs: list[Job],
    runnable: list[Job],
    store: ResultStore,
    executor_factory: ExecutorFactory | None,
    log: TextIO,
    live: bool | None,
    outcome: RunOutcome,
    facts: dict[str, Any],
) -> bool:
    """Run the jobs with a progress display; True if interrupted (Ctrl-C)."""
    from harness.progress import Progress

    progress = Progress(len(runnable) * suite.run.rounds, stream=log, live=live)
    try:
        outcome.counts.update(
            asyncio.run(
                execute(
                    suite, jobs, store, executor_factory=executor_factory, progress=progress, run_facts=facts
                )
            )
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        return True
    finally:
        progress.close()
    return False


def _plan_line(
    suite: Suite, jobs: list[Job], runnable: list[Job], workers: int, threads: int, run_dir: Path
) -> str:
    samples = sum(len(entry.dataset.samples) for entry in suite.datasets)
    how = "in this process" if suite.run.serial else f"on {workers} worker{'s' if workers != 1 else ''}"
    how += " (Dask)" if suite.run.executor == "dask" else ""
    return (
        f"{suite.name}: {plural(len(runnable), 'job')} to run ({plural(samples, 'sample')} x "
        f"{plural(len(suite.backends), 'backend')} x {plural(len(suite.pipelines), 'pipeline')}, "
        f"{len(jobs) - len(runnable)} not run) {how}, "
        f"{threads} thread{'s' if threads != 1 else ''} each"
        + (f", timed {suite.run.rounds} rounds" if suite.run.rounds > 1 else "")
        + f"; writing {run_dir}"
    )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
