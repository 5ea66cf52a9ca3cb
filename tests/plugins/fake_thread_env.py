"""Test plugin: backend "thread-env", a third-party engine with its own thread variable and runtime.

Its ``worker_env`` asks for ``FAKE_ENGINE_THREADS`` as Tesseract asks for
``OMP_THREAD_LIMIT``; the engine reads the variable once, when it is created (as a
native library reads it when it loads), and returns what it saw as its text.
When ``FAKE_ENGINE_RUNTIME`` names a folder, the engine needs a runtime file there,
which ``provision()`` (``ocr-harness doctor --fix thread-env``) writes, as Aspose's does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.backends import LANGUAGES, Availability, Backend, BackendOptions, Recognition
from harness.hookspecs import hookimpl

THREAD_VARIABLE = "FAKE_ENGINE_THREADS"
RUNTIME_VARIABLE = "FAKE_ENGINE_RUNTIME"


def _runtime_file() -> Path | None:
    folder = os.environ.get(RUNTIME_VARIABLE)
    return Path(folder, "runtime.bin") if folder else None


class ThreadEnvBackend(Backend):
    name = "thread-env"
    description = "Returns the thread variable its worker had when the engine was created (for tests)."

    @classmethod
    def worker_env(cls, threads: int) -> Mapping[str, str]:
        return {THREAD_VARIABLE: str(threads)}

    @classmethod
    def availability(cls) -> Availability:
        runtime = _runtime_file()
        if runtime is None or runtime.is_file():
            return Availability(ok=True)
        return Availability(False, f"its runtime {runtime} is missing", "ocr-harness doctor --fix thread-env")

    @classmethod
    def provision(cls) -> str:
        runtime = _runtime_file()
        if runtime is None:
            return "nothing to provision"
        if runtime.is_file():
            return f"already provisioned: {runtime}"
        runtime.parent.mkdir(parents=True, exist_ok=True)
        runtime.write_bytes(b"runtime")
        return f"fetched the runtime into {runtime}"

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {code: code for code in LANGUAGES}

    def __init__(self, options: BackendOptions | None = None, *, threads: int = 1) -> None:
        super().__init__(options, threads=threads)
        self.seen_at_load = os.environ.get(THREAD_VARIABLE, "unset")

    def recognize(self, image: Any, *, language: str) -> Recognition:
        return Recognition(text=self.seen_at_load, notes={"pid": os.getpid()})


@hookimpl
def register_backends(register):
    register(ThreadEnvBackend)
