"""Running a suite: plan the jobs, run them through an executor, store every result as it ends.

A job is one sample x backend x pipeline, with a stable key (a hash of the image
bytes, page, pipeline, backend name, version and options, and language), so the
same job has the same key in every run.

Backends run one after another, and the pipelines of a backend one after
another, so engines never compete for cores and each backend x pipeline group
has clean wall-clock figures. Within a group, jobs run concurrently on the
executor's workers; each engine gets its share of the cores
(``threads_per_worker``). A failed job (engine error, crash, timeout, broken
image) is a row with its error, never a failed run. Jobs that cannot run are
rows too, written before the run starts: samples whose files are broken
(``error``) and samples in a language the backend cannot read (``skipped``).

The executor is an interface (:class:`harness.executor.Executor`): pass
``executor_factory`` to run the same jobs elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness.errors import (
    GroundTruthError,
    ImageReadError,
    InputError,
    UnsupportedLanguageError,
)
from harness.hashing import file_sha256
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
from harness.worker import Outcome, Task

if TYPE_CHECKING:
    from harness.datasets import Sample
    from harness.executor import Executor
    from harness.progress import Progress
    from harness.suite import BackendEntry, RunConfig, Suite

ExecutorFactory = Callable[["BackendEntry", int, int], "Executor"]
"""Makes the executor for one backend: ``(backend, workers, threads_per_worker) -> Executor``."""


@dataclass(frozen=True)
class Job:
    """One planned job. ``skip_reason`` or ``problem`` set: it is recorded without running."""

    key: str
    sample: Sample
    backend: BackendEntry
    pipeline: str
    language: str
    skip_reason: str | None = None
    problem_type: str | None = None

    @property
    def runnable(self) -> bool:
        return self.skip_reason is None and self.problem_type is None

    def task(self, *, max_pixels: int | None = None) -> Task:
        return Task(
            image=str(self.sample.image),
            backend=self.backend.spec,
            pipeline=self.pipeline,
            page=self.sample.page,
            language=self.language,
            max_pixels=max_pixels,
        )


@dataclass
class RunOutcome:
    """What a finished (or interrupted) run leaves behind."""

    run_dir: Path
    jobs: int
    counts: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False


# --- planning ----------------------------------------------------------------------


def job_key(image_digest: str, page: int, pipeline: str, backend: BackendEntry, language: str) -> str:
    """The stable key of a job: equal inputs give equal keys, in any run."""
    payload = json.dumps(
        {
            "image": image_digest,
            "page": page,
            "pipeline": pipeline,
            "backend": backend.name,
            "version": backend.version,
            "options": backend.resolved_options,
            "language": language,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def plan_jobs(suite: Suite) -> list[Job]:
    """Every job of the suite, backend by backend, pipeline by pipeline, sample by sample."""
    digests: dict[Path, str] = {}
    jobs = []
    for backend in suite.backends:
        languages = set(backend.backend_class.languages())
        for pipeline in suite.pipelines:
            for entry in suite.datasets:
                for sample in entry.dataset.samples:
                    if sample.image not in digests:
                        digests[sample.image] = _image_digest(sample.image)
                    language = backend.language or sample.language
                    key = job_key(digests[sample.image], sample.page, pipeline, backend, language)
                    jobs.append(
                        Job(
                            key=key,
                            sample=sample,
                            backend=backend,
                            pipeline=pipeline,
                            language=language,
                            skip_reason=None if language in languages else _cannot_read(backend, language),
                            problem_type=_problem_type(sample),
                        )
                    )
    return jobs


def _image_digest(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError:
        return f"unreadable:{path}"


def _cannot_read(backend: BackendEntry, language: str) -> str:
    from harness.backends import LANGUAGES

    what = (
        f"{LANGUAGES[language]} ({language!r})" if language in LANGUAGES else f"unknown language {language!r}"
    )
    return f"backend {backend.name!r} cannot read {what}"


def _problem_type(sample: Sample) -> str | None:
    """The error class a broken sample's row gets (its files are never handed to an engine)."""
    if not sample.problem:
        return None
    if getattr(sample, "problem_type", None):
        return str(sample.problem_type)
    problem_file = getattr(sample, "problem_file", None)
    if problem_file is not None and Path(problem_file) == Path(sample.image):
        return ImageReadError.__name__
    if problem_file is not None:
        return GroundTruthError.__name__
    return InputError.__name__


def skip_warning(jobs: Iterable[Job]) -> str | None:
    """One line announcing the skipped jobs and why, or None."""
    reasons = Counter(job.skip_reason for job in jobs if job.skip_reason and job.problem_type is None)
    if not reasons:
        return None
    total = sum(reasons.values())
    details = "; ".join(
        f"{reason} ({count} job{'s' if count != 1 else ''})" for reason, count in reasons.items()
    )
    return f"warning: {total} job{'s' if total != 1 else ''} will be skipped, not run: {details}"


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
    }


# --- running ---------------------------------------------------------------------------


def default_executor_factory(suite: Suite) -> ExecutorFactory:
    """Worker processes (or, with ``serial``, this process) for each backend in turn."""

    def make(backend: BackendEntry, workers: int, threads: int) -> Executor:
        from harness.executor import InlineExecutor, ProcessExecutor

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

    ``run_facts`` (if given) collects per-backend executor descriptions and the
    engines' thread settings for run.json. Returns record counts by status.
    """
    factory = executor_factory or default_executor_factory(suite)
    workers, threads = worker_plan(suite)
    counts: Counter[str] = Counter()
    facts = run_facts if run_facts is not None else {}
    for backend in suite.backends:
        backend_jobs = [job for job in jobs if job.backend is backend and job.runnable]
        if not backend_jobs:
            continue
        executor = factory(backend, workers, threads)
        backend_facts = facts.setdefault(backend.label, {})
        backend_facts["executor"] = executor.describe()
        async with executor:
            for pipeline in suite.pipelines:
                group = [job for job in backend_jobs if job.pipeline == pipeline]
                if not group:
                    continue
                if progress is not None:
                    progress.start_group(f"{backend.label} · {pipeline}")
                await _run_group(executor, group, store, progress, suite.run, counts, backend_facts)
    return counts


async def _run_group(
    executor: Executor,
    jobs: list[Job],
    store: ResultStore,
    progress: Progress | None,
    settings: RunConfig,
    counts: Counter[str],
    backend_facts: dict[str, Any],
) -> None:
    pending = iter(jobs)  # shared by the consumers: each takes the next job when it is free

    async def consume() -> None:
        for job in pending:
            started = time.time()
            task = job.task(max_pixels=settings.max_image_pixels)
            outcome = await executor.run(task, timeout=settings.timeout)
            record = make_record(job, outcome, started=started, finished=time.time())
            store.append(record)
            counts[record["status"]] += 1
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
        started=_utc_now(),
        harness=harness_info(),
        normalisation=suite.profile.settings(),
        failure_policy=suite.failure_policy,
        workers=workers,
        threads_per_worker=threads,
        timeout_s=suite.run.timeout,
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

    progress = Progress(len(runnable), stream=log, live=live)
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
    return (
        f"{suite.name}: {len(runnable)} jobs to run ({samples} samples x {len(suite.backends)} backends x "
        f"{len(suite.pipelines)} pipelines, {len(jobs) - len(runnable)} not run) {how}, "
        f"{threads} thread{'s' if threads != 1 else ''} each; writing {run_dir}"
    )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
