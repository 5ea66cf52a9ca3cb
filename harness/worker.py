"""What runs inside a worker process: one task in, one outcome out.

Workers receive paths and small specs, never pixels. Each worker keeps one engine
instance per backend spec, created on first use and reused. Every failure
becomes an Outcome with its error class and message: errors are data.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from harness.backends import BackendSpec
from harness.errors import EngineError, OcrHarnessError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

#: The first message a worker sends, once its environment is set and it can take tasks.
READY = "ready"
#: Part of every result-cache key: bump it when run_task changes what an outcome holds
#: (loading, preprocessing or recognition), so no outcome of the old logic is reused.
WORKER_LOGIC_VERSION = 2


@dataclass(frozen=True)
class Task:
    """One job: read page ``page`` of ``image`` with ``backend`` after ``pipeline``."""

    image: str
    backend: BackendSpec
    pipeline: str = "none"
    page: int = 0
    language: str = "en"
    max_pixels: int | None = None
    #: thumbnails to make for reports while the image is loaded: "original", "preprocessed"
    thumbnails: tuple[str, ...] = ()
    #: only create the engine and load ``language`` (no image is read): start-up, timed apart
    warm_up: bool = False
    #: shrink a larger page to this many pixels as it is loaded (extract and the API; never in run)
    pixel_budget: int | None = None
    #: resolution PDF pages are rendered at
    pdf_dpi: float = 300


@dataclass
class Outcome:
    """What a task produced. Exactly one of ``text`` and ``error_type`` is set."""

    text: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    notes: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
    #: seconds per stage: load, preprocess, recognize; on a cold job also engine_init and/or
    #: warm_up (loading the job's language), which are start-up and never recognition
    timings: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker_pid: int = 0
    cold: bool = False
    #: size of the image the engine read (after the pipeline): the frame of every box
    image_size: tuple[int, int] | None = None
    #: that image's resolution in dpi, and where it came from: "image" (its tag), "rendered" (PDF)
    resolution: float | None = None
    resolution_source: str | None = None
    #: the page's size in its file when it was shrunk on load to the pixel budget
    downscaled_from: tuple[int, int] | None = None
    thread_settings: dict[str, Any] = field(default_factory=dict)
    #: indices of the pipeline's steps that left the image as they got it, pixel for pixel
    unchanged_steps: list[int] = field(default_factory=list)
    #: JPEG bytes of the thumbnails the task asked for (the runner stores them; never in a record)
    thumbnails: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_type is None

    def to_dict(self) -> dict[str, Any]:
        """Everything but the thumbnails' bytes (the runner stores those apart).

        A shallow copy: ``dataclasses.asdict`` would copy every line and word of a page
        (half a million calls for 24 dense pages), and records are only ever serialised.
        """
        return {item.name: getattr(self, item.name) for item in fields(self) if item.name != "thumbnails"}

    def raise_error(self) -> None:
        """Re-raise a failed outcome as the harness exception it came from."""
        if self.ok:
            return
        from harness import errors

        cls = getattr(errors, self.error_type or "", None)
        if isinstance(cls, type) and issubclass(cls, OcrHarnessError):
            raise cls(self.error_message or "")
        raise EngineError(f"{self.error_type}: {self.error_message}")


@dataclass
class WorkerState:
    """Per-process state: the registry and engines, built once."""

    plugin_modules: tuple[str, ...] = ()
    threads: int = 1
    engines: dict[BackendSpec, Any] = field(default_factory=dict)
    #: (backend, language) pairs whose models this process has loaded
    warm: set[tuple[BackendSpec, str]] = field(default_factory=set)

    def engine(self, spec: BackendSpec) -> tuple[Any, bool]:
        """The engine for ``spec``, and whether it was created just now (a cold start)."""
        if spec in self.engines:
            return self.engines[spec], False
        from harness.plugins import get_registry

        backend_class = get_registry(self.plugin_modules).backend(spec.name)
        options = backend_class.Options(**spec.options_dict)
        engine = backend_class(options, threads=self.threads)
        self.engines[spec] = engine
        return engine, True

    def close(self) -> None:
        for engine in self.engines.values():
            with contextlib.suppress(Exception):  # closing is best effort at shutdown
                engine.close()
        self.engines.clear()
        self.warm.clear()

    def warm_up(self, spec: BackendSpec, language: str, engine: Any) -> float | None:
        """Load ``language`` into ``engine`` unless done before; the seconds it took, or None."""
        if (spec, language) in self.warm:
            return None
        start = time.perf_counter()
        engine.warm_up(language)
        self.warm.add((spec, language))
        return time.perf_counter() - start


def run_task(task: Task, state: WorkerState) -> Outcome:
    """Run one task to an Outcome; never raises for errors in the task's inputs or engine."""
    from harness.images import load_page
    from harness.pipeline import apply_pipeline, build_pipeline
    from harness.plugins import get_registry

    outcome = Outcome(worker_pid=os.getpid())
    cpu_start = time.process_time()
    if task.warm_up:
        return _warm_up(task, state, outcome, cpu_start)
    stage = "load"
    try:
        start = time.perf_counter()
        image = load_page(
            task.image,
            task.page,
            max_pixels=task.max_pixels,
            pixel_budget=task.pixel_budget,
            pdf_dpi=task.pdf_dpi,
        )
        outcome.timings["load"] = time.perf_counter() - start
        loaded_width = image.width
        loaded_dpi = _horizontal_dpi(image.info.get("dpi"))
        outcome.resolution_source = image.info.get("dpi_source", "image") if loaded_dpi else None
        outcome.downscaled_from = image.info.get("downscaled_from")
        _thumbnail(task, outcome, "original", image)

        stage = "preprocess"
        start = time.perf_counter()
        steps = build_pipeline(task.pipeline, get_registry(state.plugin_modules).steps())
        image = apply_pipeline(image, steps, unchanged=outcome.unchanged_steps)
        outcome.timings["preprocess"] = time.perf_counter() - start
        outcome.image_size = image.size
        if loaded_dpi:
            # Tenths of a dpi: PNG stores pixels per metre, so its 300 dpi reads back as 299.9994.
            outcome.resolution = round(loaded_dpi * image.width / loaded_width, 1)
        _thumbnail(task, outcome, "preprocessed", image)

        stage = "engine_init"
        start = time.perf_counter()
        engine, outcome.cold = state.engine(task.backend)
        if outcome.cold:
            outcome.timings["engine_init"] = time.perf_counter() - start
        outcome.thread_settings = engine.thread_settings()
        engine.engine_language(task.language)
        stage = "warm_up"
        loading = state.warm_up(task.backend, task.language, engine)
        if loading is not None:  # the first page in this language here: loading is start-up
            outcome.timings["warm_up"] = loading
            outcome.cold = True

        stage = "recognize"
        start = time.perf_counter()
        recognition = engine.recognize(image, language=task.language)
        outcome.timings["recognize"] = time.perf_counter() - start
        outcome.text = recognition.text
        outcome.lines = [asdict(line) for line in recognition.lines]
        outcome.truncated = recognition.truncated
        outcome.notes = dict(recognition.notes)
    except OcrHarnessError as error:
        outcome.error_type = type(error).__name__
        message = str(error)
        # Every row's error names its file, also when an engine's message does not.
        outcome.error_message = message if task.image in message else f"{task.image}: {message}"
    except Exception as error:  # an engine's own exception: data for this row, not a crash
        outcome.error_type = EngineError.__name__
        outcome.error_message = f"{task.image}: {stage} failed: {type(error).__name__}: {error}"
    outcome.cpu_seconds = time.process_time() - cpu_start
    outcome.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return outcome


def _thumbnail(task: Task, outcome: Outcome, kind: str, image: Any) -> None:
    """Make a thumbnail the task asked for; timed apart, so the stages' timings stay the engine's."""
    if kind not in task.thumbnails:
        return
    from harness.thumbnails import encode_thumbnail

    start = time.perf_counter()
    with contextlib.suppress(Exception):  # a thumbnail is never a reason for a job to fail
        outcome.thumbnails[kind] = encode_thumbnail(image)
    outcome.timings["thumbnail"] = outcome.timings.get("thumbnail", 0.0) + time.perf_counter() - start


def _warm_up(task: Task, state: WorkerState, outcome: Outcome, cpu_start: float) -> Outcome:
    """Create the engine and load the task's language; the outcome holds the times, no text."""
    stage = "engine_init"
    try:
        start = time.perf_counter()
        engine, outcome.cold = state.engine(task.backend)
        if outcome.cold:
            outcome.timings["engine_init"] = time.perf_counter() - start
        outcome.thread_settings = engine.thread_settings()
        engine.engine_language(task.language)
        stage = "warm_up"
        loading = state.warm_up(task.backend, task.language, engine)
        outcome.timings["warm_up"] = loading or 0.0
        outcome.text = ""
    except OcrHarnessError as error:
        outcome.error_type = type(error).__name__
        outcome.error_message = str(error)
    except Exception as error:  # recorded; the jobs themselves will meet the same fault
        outcome.error_type = EngineError.__name__
        outcome.error_message = f"{task.backend}: {stage} failed: {type(error).__name__}: {error}"
    outcome.cpu_seconds = time.process_time() - cpu_start
    outcome.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return outcome


def _horizontal_dpi(dpi: Any) -> float | None:
    """An image's horizontal resolution, or None when it has no plausible one."""
    from harness.images import MIN_PLAUSIBLE_DPI

    try:
        value = float(dpi[0] if isinstance(dpi, tuple) else dpi)
    except (TypeError, ValueError):
        return None
    return value if value >= MIN_PLAUSIBLE_DPI else None


def serve(
    conn: Connection, plugin_modules: tuple[str, ...], threads: int, env: Mapping[str, str], parent_pid: int
) -> None:
    """A worker process's main loop (the target harness.executor starts with ``spawn``).

    Sets ``env`` before any engine is imported, says READY, then answers each Task
    received on ``conn`` with an Outcome until it receives None or the parent goes away.
    """
    _exit_with_parent(parent_pid)
    os.environ.update(env)
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Processes an engine starts must not hold our end of the pipe open after we die.
    os.set_inheritable(conn.fileno(), False)
    state = WorkerState(plugin_modules=tuple(plugin_modules), threads=threads)
    try:
        conn.send((READY, os.getpid()))
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return
            if task is None:
                return
            outcome = run_task(task, state)
            try:
                conn.send(outcome)
            except (BrokenPipeError, OSError):
                return
            except Exception as error:  # an engine put something unpicklable in notes or lines
                conn.send(
                    Outcome(
                        error_type=EngineError.__name__,
                        error_message=f"{task.image}: the result could not be sent back ({error})",
                        worker_pid=os.getpid(),
                    )
                )
    finally:
        state.close()


def _exit_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux).

    Checking from inside would not do: an engine call may hold the GIL for minutes
    (Aspose), and a hung one forever, stalling any watchdog thread.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before we asked
        os._exit(1)
