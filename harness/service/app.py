"""The ASGI app: POST /v1/extract, GET /v1/search, POST /v1/index, GET /healthz (and /openapi.json).

Uploads go to a private temporary folder under names the service makes up; a
request's own file name is only echoed back, never used as a path. Every error
answer is JSON ``{"error": "..."}`` naming the cause.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from harness.errors import (
    ConfigError,
    EngineError,
    ImageReadError,
    InputError,
    JobTimeoutError,
    OcrHarnessError,
)
from harness.service import FORMATS, ServiceConfig
from harness.service.guards import BodyLimit, PageQueue, QueueGate, TokenGuard, describe_unknown, sniff

if TYPE_CHECKING:
    from harness.document import Document

#: What each format is answered as.
MEDIA_TYPES = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "hocr": "application/xhtml+xml",
    "alto": "application/xml",
    "page": "application/xml",
    "pdf": "application/pdf",
}
_HEAD_BYTES = 2048


class ServiceError(Exception):
    """An answer other than 200: status, message and headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def create_app(config: ServiceConfig, extractor: Any = None) -> Any:
    """The ASGI app for ``config``; ``extractor`` is the shared Extractor (made from ``config`` if None)."""
    if extractor is None:
        extractor = config.make_extractor()
    state = _State(config, extractor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="ocr-harness",
        summary="Text from scanned images and PDFs, and a full-text search over what was read.",
        lifespan=lifespan,
    )
    _add_error_handlers(app)
    _add_routes(app, state)
    guarded: Any = BodyLimit(QueueGate(app, state.queue), config.max_upload_bytes)
    if config.token:
        guarded = TokenGuard(guarded, config.token)
    return guarded


class _State:
    """What every request shares: the Extractor, the index, the queue and the upload folder."""

    def __init__(self, config: ServiceConfig, extractor: Any) -> None:
        from harness.defaults import usable_cpus

        self.config = config
        self.extractor = extractor
        self.index: Any = None
        self.queue = PageQueue(config.max_pending_pages, extractor.concurrency or usable_cpus())
        self.uploads = ""

    async def start(self) -> None:
        self.uploads = tempfile.mkdtemp(prefix="ocr-harness-uploads-")
        if self.config.db:
            from harness.index import Index

            self.index = await Index.open(self.config.db)

    async def stop(self) -> None:
        await self.extractor.close()
        if self.index is not None:
            await self.index.close()
        shutil.rmtree(self.uploads, ignore_errors=True)

    @asynccontextmanager
    async def saved(self, upload: UploadFile) -> AsyncIterator[str]:
        """The upload copied to a file of the service's own naming, checked to be an image or a PDF."""
        path = os.path.join(self.uploads, f"upload-{uuid.uuid4().hex}")
        try:
            head = await asyncio.to_thread(_copy_upload, upload, path)
            if sniff(head) is None:
                raise ServiceError(415, f"{_display_name(upload)}: {describe_unknown(head)}")
            yield path
        finally:
            await asyncio.to_thread(_remove, path)

    @asynccontextmanager
    async def admitted(self, path: str, name: str, overrides: dict[str, Any]) -> AsyncIterator[None]:
        """A place in the queue for this file's pages, or 503 with Retry-After when it is full."""
        try:
            pages = await self.extractor.count_pages(path, **overrides)
        except ImageReadError as error:
            raise ServiceError(422, _public(str(error), path, name)) from None
        if pages > self.queue.limit:
            raise ServiceError(
                413, f"{name}: has {pages} pages; this service reads at most {self.queue.limit} per request"
            )
        if not self.queue.admit(pages):
            raise ServiceError(
                503,
                self.queue.busy_message(),
                {"Retry-After": str(self.queue.retry_after())},
            )
        started = time.monotonic()
        finished = False
        try:
            async with asyncio.timeout(self.config.request_timeout):
                yield
            finished = True
        except TimeoutError:
            raise ServiceError(
                504, f"{name}: not read within the request timeout of {self.config.request_timeout:g} s"
            ) from None
        finally:
            self.queue.release(pages, time.monotonic() - started if finished else None)


def _add_routes(app: FastAPI, state: _State) -> None:
    @app.post("/v1/extract", summary="Read the text of one image or PDF (every page)")
    async def extract(
        file: Annotated[UploadFile, File(description="an image or a PDF; its type is read from its content")],
        language: Annotated[str | None, Form(description="ISO 639-1 code")] = None,
        backend: Annotated[str | None, Form(description="OCR backend")] = None,
        preprocess: Annotated[str | None, Form(description='e.g. "grayscale|binarize"')] = None,
        format: Annotated[str, Form(description=f"one of {', '.join(FORMATS)}")] = "json",
        page: Annotated[int | None, Form(ge=1, description="with format=page: which page (from 1)")] = None,
    ) -> Response:
        if format not in FORMATS:
            raise ServiceError(400, f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
        overrides = await _overrides(state, language=language, backend=backend, preprocess=preprocess)
        name = _display_name(file)
        async with state.saved(file) as path, state.admitted(path, name, overrides):
            try:
                document = await state.extractor.extract_document(path, **overrides)
            except OcrHarnessError as error:
                raise _http_error(error, path, name) from None
            data = await asyncio.to_thread(_render, state, document, format, page, name, overrides)
        return Response(data, media_type=MEDIA_TYPES[format], headers=_disposition(name, format))

    @app.get("/v1/search", summary="Search the index (FTS5 query syntax, ranked by bm25)")
    async def search(
        q: Annotated[str, Query(description='words, "a phrase", prefix*, OR, NOT, NEAR(a b)')],
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        index = _index_of(state)
        try:
            hits = await index.search(q, limit)
        except ConfigError as error:
            raise ServiceError(400, str(error)) from None
        return {"query": q, "hits": [hit.to_dict() for hit in hits]}

    @app.post("/v1/index", summary="Read uploaded images into the index")
    async def add_to_index(
        file: Annotated[list[UploadFile], File(description="one or more images")],
    ) -> dict[str, Any]:
        from harness.index import UPLOAD_PREFIX

        index = _index_of(state)
        results = []
        for upload in file:
            name = _display_name(upload)
            async with state.saved(upload) as path, state.admitted(path, name, {}):
                status, error = await index.add_file(f"{UPLOAD_PREFIX}{name}", path, state.extractor)
            results.append(
                {
                    "filename": name,
                    "source": f"{UPLOAD_PREFIX}{name}",
                    "status": status,
                    "error": _public(error.message, path, name) if error else None,
                }
            )
        return {"files": results}

    @app.get("/healthz", summary="Whether the service is up, and how busy")
    async def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "backend": state.config.backend,
            "workers": state.queue.workers,
            "pending_pages": state.queue.pending,
            "max_pending_pages": state.queue.limit,
            "index": state.index is not None,
        }


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status, headers=error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'][1:]) or 'request'}: {item['msg']}"
            for item in error.errors()
        )
        return JSONResponse({"error": f"bad request: {problems}"}, status_code=422)


async def _overrides(state: _State, **given: str | None) -> dict[str, Any]:
    overrides = {key: value for key, value in given.items() if value}
    try:
        await asyncio.to_thread(state.extractor.configuration, **overrides)
    except ConfigError as error:
        raise ServiceError(400, str(error)) from None
    return overrides


def _render(
    state: _State, document: Document, format: str, page: int | None, name: str, overrides: dict[str, Any]
) -> bytes:
    """``document`` in ``format``, naming the upload (never the service's own file) inside it."""
    from harness.writers import write

    public = replace(document, source=name)
    if format == "page":
        if page is None and len(document.pages) > 1:
            raise ServiceError(
                400, f"{name}: has {len(document.pages)} pages and a PAGE-XML file holds one: send page=N"
            )
        if page is not None and page > len(document.pages):
            raise ServiceError(400, f"{name}: has {len(document.pages)} page(s), there is no page {page}")
        return write(public, "page", page=page or 1)
    if format == "pdf":
        # The text layer goes on the very images the engine read, loaded as they were for OCR.
        from harness.images import load_page

        loading = state.extractor.page_loading(**overrides)
        images = [load_page(document.source, index, **loading) for index in range(len(document.pages))]
        return write(public, "pdf", images=images)
    return write(public, format)


def _disposition(name: str, format: str) -> dict[str, str]:
    from harness.writers import suffix

    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    ascii_stem = "".join(char if char.isalnum() or char in "-_." else "_" for char in stem)[:100] or "upload"
    return {"Content-Disposition": f'inline; filename="{ascii_stem}{suffix(format)}"'}


def _index_of(state: _State) -> Any:
    if state.index is None:
        raise HTTPException(404, "this service has no index: start it with --db FILE")
    return state.index


def _http_error(error: OcrHarnessError, path: str, name: str) -> ServiceError:
    message = _public(str(error), path, name)
    if isinstance(error, JobTimeoutError):
        return ServiceError(504, message)
    if isinstance(error, InputError):
        return ServiceError(422, message)
    if isinstance(error, EngineError):
        return ServiceError(502, message)
    return ServiceError(400, message)


def _public(message: str, path: str, name: str) -> str:
    """A message with the service's own file path replaced by the upload's name."""
    return message.replace(path, name)


def _display_name(upload: UploadFile) -> str:
    """The client's file name, for messages only: no folders, no control characters."""
    raw = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(char for char in raw if char.isprintable())[:200]
    return cleaned or "upload"


def _copy_upload(upload: UploadFile, path: str) -> bytes:
    upload.file.seek(0)
    with open(path, "xb") as out:
        shutil.copyfileobj(upload.file, out)
    with open(path, "rb") as copied:
        return copied.read(_HEAD_BYTES)


def _remove(path: str) -> None:
    with suppress(FileNotFoundError):
        os.remove(path)
