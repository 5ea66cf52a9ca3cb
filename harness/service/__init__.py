"""The HTTP service: extraction and search over one shared Extractor (``ocr-harness serve``).

A thin layer: the Extractor and its worker pool do the OCR, harness.index the
search. This package adds HTTP: uploads, limits, tokens and error answers. Its
dependencies are the ``serve`` extra (FastAPI, uvicorn, python-multipart), imported
only when the service starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.defaults import DEFAULT_BACKEND

#: Formats POST /v1/extract answers in; the first is the default.
FORMATS = ("json", "text", "hocr", "alto", "page", "pdf")


@dataclass(frozen=True)
class ServiceConfig:
    """What ``ocr-harness serve`` was started with; every limit has a safe default."""

    backend: str = DEFAULT_BACKEND
    language: str = "en"
    preprocess: str | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    #: worker processes of the shared Extractor (None: one per core)
    workers: int | None = None
    #: the index file for /v1/search and /v1/index (None: those answer 404)
    db: str | None = None
    #: API token every request must carry (None: no token, allowed on loopback addresses only)
    token: str | None = None
    #: largest request body, in bytes (413 beyond)
    max_upload_bytes: int = 100 * 1024 * 1024
    #: pages accepted but not yet read, over all requests (503 with Retry-After beyond)
    max_pending_pages: int = 32
    #: seconds a request may take (504 beyond); also each page's timeout in the workers
    request_timeout: float = 300.0
    max_pixels: int | None = None

    def make_extractor(self) -> Any:
        """The shared Extractor this configuration describes (raises ConfigError for a bad one)."""
        from harness.api import Extractor

        return Extractor(
            backend=self.backend,
            language=self.language,
            preprocess=self.preprocess,
            concurrency=self.workers,
            timeout=self.request_timeout,
            max_pixels=self.max_pixels,
            plugins=self.plugins,
            backend_options=self.backend_options,
        )
