"""The async Python API: read text from image files with any registered backend.

    text = await harness.extract_text("scan.tif")
    texts = await harness.extract_many(["a.png", ("b.png", {"language": "fr"})])  # text or error, per file
    document = await harness.extract_document("scan.pdf")    # pages, lines, words, boxes, confidences

The module-level functions share one :class:`Extractor` per event loop (and per
plugin list and concurrency): engines live in worker processes, are created
once and reused across calls, and the workers stop when the loop ends
(``asyncio.run`` closes them cleanly; an interpreter exit kills any left over).
Use an ``Extractor`` directly to choose the number of workers, or to keep one
configuration across many calls::

    async with Extractor(backend="tesseract", language="fr", preprocess="grayscale") as extractor:
        text = await extractor.extract_text("page.png")

Huge scans are shrunk to ``pixel_budget`` pixels as they are loaded (default
harness.images.DEFAULT_PIXEL_BUDGET, 40 megapixels; ``auto_downscale=False``
turns it off), and the page's ``downscaled_from`` says so. PDF pages are
rendered at ``pdf_dpi`` (default 300). A backend with a caveat for every result
(Aspose in evaluation mode: texts cut short) is warned about with a UserWarning,
once per Extractor, and its results have ``truncated`` set.

Configuration errors (unknown backend, backend not available here, unsupported
language, bad preprocessing pipeline, bad backend option) raise at once, before
any OCR. Problems with one file (missing, empty, truncated, not an image, too
many pixels, an engine that fails or crashes on it, a timeout) raise that file's
error from ``extract_text``, and are that file's item in ``extract_many``.
"""

from __future__ import annotations

import asyncio
import json
import os
import warnings
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.defaults import DEFAULT_BACKEND
from harness.errors import (
    ConfigError,
    OcrHarnessError,
)
from harness.extract_settings import (
    LOADING_KEYS,
    ExtractSettings,
    validate_plugins,
    validate_settings,
    with_loading,
)

if TYPE_CHECKING:  # at run time they load pydantic: imported where used, so `import harness` stays light
    from harness.document import Document
    from harness.worker import Outcome

#: Pages of one file are joined with a form feed, as Tesseract separates pages.
PAGE_SEPARATOR = "\f"

PathLike = str | os.PathLike[str]
#: One file of ``extract_many``: its path, or its path with options for it alone (the same keywords
#: as the call's: language, preprocess, backend, backend_options, ...).
FileItem = PathLike | tuple[PathLike, Mapping[str, Any]]

class Extractor:
    """Reads image files with one backend configuration, on its own worker processes.

    ``concurrency`` is the number of worker processes (default: one per core);
    they start when first needed. ``timeout`` is per page, in seconds.
    ``max_pixels`` is the decompression-bomb limit (default: Pillow's, or
    AUTO_DOWNSCALE_MAX_PIXELS while ``auto_downscale`` is on).
    ``auto_downscale`` shrinks pages over ``pixel_budget`` pixels as they are loaded.
    ``pdf_dpi`` is the resolution PDF pages are rendered at.
    ``backend_options`` are the backend's options (see ``ocr-harness plugins``).
    Every ``extract_*`` method takes the same keywords as overrides for one call:
    ``backend``, ``language``, ``preprocess``, ``backend_options``, ``timeout``,
    ``max_pixels``, ``auto_downscale``, ``pixel_budget``, ``pdf_dpi``.
    """

    def __init__(
        self,
        backend: str = DEFAULT_BACKEND,
        language: str = "en",
        preprocess: str | None = None,
        concurrency: int | None = None,
        timeout: float | None = None,
        max_pixels: int | None = None,
        plugins: Sequence[str] = (),
        backend_options: Mapping[str, Any] | None = None,
        auto_downscale: bool = True,
        pixel_budget: int | None = None,
        pdf_dpi: float = 300,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, not {concurrency}")
        self.plugins = tuple(plugins)
        self.concurrency = concurrency
        self._defaults: dict[str, Any] = {
            "backend": backend,
            "language": language,
            "preprocess": preprocess,
            "backend_options": dict(backend_options or {}),
            "timeout": timeout,
            "max_pixels": max_pixels,
            "auto_downscale": auto_downscale,
            "pixel_budget": pixel_budget,
            "pdf_dpi": pdf_dpi,
        }
        self._validated: dict[str, ExtractSettings] = {}
        self._warned: set[str] = set()
        self._executor: Any = None  # a ProcessExecutor, created on first use
        self._closed = False
        validate_plugins(self.plugins)
        self._settings({})  # fail fast: a bad configuration raises here, before any OCR

    async def __aenter__(self) -> Extractor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the worker processes; idempotent."""
        self._closed = True
        if self._executor is not None:
            await self._executor.close()

    def describe(self) -> dict[str, Any]:
        """The executor's facts (workers, threads per worker, start method)."""
        return self._get_executor().describe()

    def worker_pids(self) -> list[int]:
        """Pids of the live worker processes."""
        return [] if self._executor is None else self._executor.worker_pids()

    def configuration(self, **overrides: Any) -> dict[str, Any]:
        """The resolved configuration a call with these overrides runs: what to record beside its text."""
        from harness.plugins import get_registry

        settings = self._settings(overrides)
        return {
            "backend": settings.backend.name,
            "backend_version": get_registry(self.plugins).backend(settings.backend.name).version(),
            "backend_options": settings.backend.options_dict,
            "language": settings.language,
            "preprocess": settings.pipeline,
            "pixel_budget": settings.pixel_budget,
            "pdf_dpi": settings.pdf_dpi,
        }

    def page_loading(self, **overrides: Any) -> dict[str, Any]:
        """How a call with these overrides loads pages: the keywords of harness.images.load_page."""
        settings = self._settings(overrides)
        return {
            "max_pixels": settings.max_pixels,
            "pixel_budget": settings.pixel_budget,
            "pdf_dpi": settings.pdf_dpi,
        }

    async def count_pages(self, path: PathLike, **overrides: Any) -> int:
        """How many pages ``path`` has, under this configuration's pixel limit (else ImageReadError)."""
        settings = await self._settings_off_loop(overrides)
        return await asyncio.to_thread(_count_pages, os.fspath(path), settings.max_pixels)

    async def extract_text(self, path: PathLike, **overrides: Any) -> str:
        """The text of every page of ``path``, pages joined with a form feed ("\\f")."""
        return PAGE_SEPARATOR.join(await self.extract_pages(path, **overrides))

    async def extract_pages(self, path: PathLike, **overrides: Any) -> list[str]:
        """One text per page of ``path`` (a multi-page TIFF has several)."""
        texts = []
        for outcome in await self.extract_outcomes(path, **overrides):
            _raise_for(outcome, path)
            texts.append(outcome.text or "")
        return texts

    async def extract_document(self, path: PathLike, **overrides: Any) -> Document:
        """Every page of ``path`` with its lines, words, boxes, confidences, notes and ``truncated``.

        A page that fails raises its error, naming the file.
        """
        settings = await self._settings_off_loop(overrides)
        return self._document(path, settings, await self._outcomes(path, settings))

    async def extract_many(self, items: Iterable[FileItem], **overrides: Any) -> list[str | OcrHarnessError]:
        """Each file's text, or the error for that file, in input order; one bad file sinks nothing.

        An item is a path, or ``(path, {"language": "fr", ...})`` with options for that file alone.
        """
        documents = await self.extract_documents(items, **overrides)
        return [item if isinstance(item, OcrHarnessError) else item.text for item in documents]

    async def extract_documents(
        self, items: Iterable[FileItem], *, keep_failed_pages: bool = False, **overrides: Any
    ) -> list[Document | OcrHarnessError]:
        """Each file's Document, or the error for that file, in input order (items as in extract_many).

        With ``keep_failed_pages``, a file with some unreadable pages is still a Document: those pages
        carry their ``error`` and no text, and the readable ones are kept (``extract`` does this).
        """
        requests = [_file_item(item) for item in items]
        # Configuration errors raise for the whole call, before any OCR.
        settings = [await self._settings_off_loop({**overrides, **options}) for _, options in requests]
        return list(
            await asyncio.gather(
                *(
                    self._document_or_error(path, one, keep_failed_pages)
                    for (path, _), one in zip(requests, settings, strict=True)
                )
            )
        )

    async def extract_outcomes(self, path: PathLike, **overrides: Any) -> list[Outcome]:
        """Every page's full Outcome: text, lines with boxes and confidences, timings, worker pid.

        Failed pages are outcomes with ``error_type`` set (nothing is raised for
        them); a file that cannot be opened at all raises ImageReadError.
        """
        return await self._outcomes(path, await self._settings_off_loop(overrides))

    async def _document_or_error(
        self, path: PathLike, settings: ExtractSettings, keep_failed_pages: bool = False
    ) -> Document | OcrHarnessError:
        try:
            outcomes = await self._outcomes(path, settings)
            if keep_failed_pages and any(outcome.ok for outcome in outcomes):
                return self._document(path, settings, outcomes, keep_failed_pages=True)
            return self._document(path, settings, outcomes)
        except OcrHarnessError as error:
            return error

    def _document(
        self,
        path: PathLike,
        settings: ExtractSettings,
        outcomes: list[Outcome],
        *,
        keep_failed_pages: bool = False,
    ) -> Document:
        from harness.document import Document

        errors: dict[int, OcrHarnessError] = {}
        for number, outcome in enumerate(outcomes, start=1):
            if not outcome.ok:
                errors[number] = page_error(outcome, path)
        if errors and not keep_failed_pages:
            raise next(iter(errors.values()))
        return Document.from_outcomes(
            os.fspath(path), settings.backend.name, settings.language, settings.pipeline, outcomes, errors
        )

    async def _outcomes(self, path: PathLike, settings: ExtractSettings) -> list[Outcome]:
        if self._closed:
            raise RuntimeError("this Extractor is closed")
        from harness.worker import Task

        image = os.fspath(path)
        self._warn_once(settings.caveat)
        pages = await asyncio.to_thread(_count_pages, image, settings.max_pixels)
        executor = self._get_executor()
        tasks = [
            Task(
                image=image,
                backend=settings.backend,
                pipeline=settings.pipeline,
                page=page,
                language=settings.language,
                max_pixels=settings.max_pixels,
                pixel_budget=settings.pixel_budget,
                pdf_dpi=settings.pdf_dpi,
            )
            for page in range(pages)
        ]
        outcomes = list(
            await asyncio.gather(*(executor.run(task, timeout=settings.timeout) for task in tasks))
        )
        if any(outcome.truncated for outcome in outcomes):
            self._warn_once(
                f"backend {settings.backend.name!r} cut texts short (results are flagged truncated)"
            )
        return outcomes

    def caveat(self, **overrides: Any) -> str | None:
        """What holds for every result of this configuration (Aspose's evaluation mode), or None."""
        return self._settings(overrides).caveat

    def _warn_once(self, caveat: str | None) -> None:
        if caveat and not self._warned:
            self._warned.add(caveat)
            warnings.warn(caveat, UserWarning, stacklevel=4)

    def _get_executor(self) -> Any:
        if self._executor is None:
            from harness.executor import ProcessExecutor

            self._executor = ProcessExecutor(workers=self.concurrency, plugin_modules=self.plugins)
        return self._executor

    async def _settings_off_loop(self, overrides: Mapping[str, Any]) -> ExtractSettings:
        # A first check may import plugins or probe an engine in a child process: not on the loop.
        return await asyncio.to_thread(self._settings, overrides)

    def _settings(self, overrides: Mapping[str, Any]) -> ExtractSettings:
        unknown = set(overrides) - set(self._defaults)
        if unknown:
            raise TypeError(
                f"unexpected keyword argument(s) {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(sorted(self._defaults))}"
            )
        merged = {**self._defaults, **{k: v for k, v in overrides.items() if v is not None}}
        key = json.dumps(merged, sort_keys=True, default=str)
        if key not in self._validated:
            loading = {name: merged.pop(name) for name in LOADING_KEYS}
            settings = validate_settings(self.plugins, **merged)
            self._validated[key] = with_loading(settings, self.plugins, **loading)
        return self._validated[key]


def _file_item(item: FileItem) -> tuple[PathLike, dict[str, Any]]:
    if isinstance(item, tuple):
        if len(item) != 2 or not isinstance(item[1], Mapping):
            raise TypeError(f"a file item is a path or (path, options dict), not {item!r}")
        return item[0], dict(item[1])
    return item, {}


def _count_pages(image: str, max_pixels: int | None) -> int:
    from harness.images import count_pages

    # Each page meets the pixel limit when it is loaded: one bad page fails alone, as in a run.
    return count_pages(image, max_pixels=max_pixels, check_size=False)


def _raise_for(outcome: Outcome, path: PathLike) -> None:
    """Raise a failed outcome as its harness exception, making sure the message names the file."""
    if not outcome.ok:
        raise page_error(outcome, path)


def page_error(outcome: Outcome, path: PathLike) -> OcrHarnessError:
    """A failed outcome as its harness exception, its message naming the file."""
    image = os.fspath(path)
    if image not in (outcome.error_message or ""):
        outcome.error_message = f"{image}: {outcome.error_message}"
    try:
        outcome.raise_error()
    except OcrHarnessError as error:
        return error
    raise AssertionError("a failed outcome always raises")


# --- module-level functions over a shared Extractor per event loop -------------

_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Extractor]] = (
    weakref.WeakKeyDictionary()
)
_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIterator[None]] = (
    weakref.WeakKeyDictionary()
)


async def _shared_extractor(
    plugins: Sequence[str], concurrency: int | None, overrides: Mapping[str, Any]
) -> Extractor:
    """The loop's Extractor for these plugins and concurrency; calls pass their settings as overrides."""
    loop = asyncio.get_running_loop()
    extractors = _shared.get(loop)
    if extractors is None:
        extractors = _shared[loop] = {}
        # An async generator the loop finalises at its end (asyncio.run calls
        # shutdown_asyncgens), which is the loop's only end-of-life hook.
        closer = _close_at_loop_end(loop, extractors)
        _closers[loop] = closer
        await closer.__anext__()
    key = (tuple(plugins), concurrency)
    if key not in extractors:
        # Created with this call's backend so that only the configuration in use is validated,
        # on a thread: the first validation imports the plugins.
        extractor = await asyncio.to_thread(
            Extractor,
            backend=overrides["backend"],
            language=overrides["language"],
            preprocess=overrides["preprocess"],
            backend_options=overrides["backend_options"],
            plugins=tuple(plugins),
            concurrency=concurrency,
        )
        extractors.setdefault(key, extractor)
    return extractors[key]


async def _close_at_loop_end(
    loop: asyncio.AbstractEventLoop, extractors: dict[tuple[Any, ...], Extractor]
) -> AsyncIterator[None]:
    try:
        yield
    finally:
        _shared.pop(loop, None)
        _closers.pop(loop, None)
        for extractor in list(extractors.values()):
            await extractor.close()


def _overrides(
    backend: str | None,
    language: str,
    preprocess: str | None,
    backend_options: Mapping[str, Any] | None,
    timeout: float | None,
    max_pixels: int | None,
) -> dict[str, Any]:
    return {
        "backend": backend or DEFAULT_BACKEND,
        "language": language,
        "preprocess": preprocess or "none",
        "backend_options": dict(backend_options or {}),
        "timeout": timeout,
        "max_pixels": max_pixels,
    }


async def extract_text(
    path: PathLike,
    *,
    backend: str | None = None,
    language: str = "en",
    preprocess: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    max_pixels: int | None = None,
    plugins: Sequence[str] = (),
) -> str:
    """The text of ``path`` (pages joined with "\\f"); ``backend=None`` means ``DEFAULT_BACKEND``."""
    overrides = _overrides(backend, language, preprocess, backend_options, timeout, max_pixels)
    extractor = await _shared_extractor(plugins, None, overrides)
    return await extractor.extract_text(path, **overrides)


async def extract_pages(
    path: PathLike,
    *,
    backend: str | None = None,
    language: str = "en",
    preprocess: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    max_pixels: int | None = None,
    plugins: Sequence[str] = (),
) -> list[str]:
    """One text per page of ``path``."""
    overrides = _overrides(backend, language, preprocess, backend_options, timeout, max_pixels)
    extractor = await _shared_extractor(plugins, None, overrides)
    return await extractor.extract_pages(path, **overrides)


async def extract_document(
    path: PathLike,
    *,
    backend: str | None = None,
    language: str = "en",
    preprocess: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    max_pixels: int | None = None,
    plugins: Sequence[str] = (),
) -> Document:
    """The Document of ``path``: pages, lines, words, boxes, confidences, notes, ``truncated``."""
    overrides = _overrides(backend, language, preprocess, backend_options, timeout, max_pixels)
    extractor = await _shared_extractor(plugins, None, overrides)
    return await extractor.extract_document(path, **overrides)


async def extract_many(
    paths: Iterable[FileItem],
    *,
    backend: str | None = None,
    language: str = "en",
    preprocess: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    max_pixels: int | None = None,
    plugins: Sequence[str] = (),
    concurrency: int | None = None,
) -> list[str | OcrHarnessError]:
    """Each file's text or its error, in input order. ``concurrency``: worker processes (default: cores).

    An item is a path, or ``(path, {"language": "fr", "preprocess": "grayscale", ...})`` with
    options for that file alone.
    """
    overrides = _overrides(backend, language, preprocess, backend_options, timeout, max_pixels)
    extractor = await _shared_extractor(plugins, concurrency, overrides)
    return await extractor.extract_many(paths, **overrides)
