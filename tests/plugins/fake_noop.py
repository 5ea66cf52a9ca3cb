"""Test plugin: backend "noop" reads nothing and reports where and how it ran.

Its text is ``noop WIDTHxHEIGHT`` (or the ``text`` option); its notes carry the
worker pid, how many engines this process has created, the environment the
worker saw and the modules it has loaded, so tests can check the executor's promises.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.backends import LANGUAGES, Backend, BackendOptions, Recognition
from harness.hookspecs import hookimpl


class NoopOptions(BackendOptions):
    text: str | None = None


class NoopBackend(Backend):
    name = "noop"
    description = "Returns the image size as text (for tests)."
    Options = NoopOptions
    engines_created: ClassVar[int] = 0

    def __init__(self, options: BackendOptions | None = None, *, threads: int = 1) -> None:
        super().__init__(options, threads=threads)
        type(self).engines_created += 1

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {code: code for code in LANGUAGES}

    def recognize(self, image: Any, *, language: str) -> Recognition:
        text = self.options.text if self.options.text is not None else f"noop {image.width}x{image.height}"
        return Recognition(text=text, notes=worker_facts())


def worker_facts() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "engines_created": NoopBackend.engines_created,
        "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT"),
        "COMPlus_EnableDiagnostics": os.environ.get("COMPlus_EnableDiagnostics"),  # noqa: SIM112 (.NET's spelling)
        "OCR_HARNESS_TEST_MARK": os.environ.get("OCR_HARNESS_TEST_MARK"),
        "top_level_modules": sorted({name.partition(".")[0] for name in sys.modules}),
    }


@hookimpl
def register_backends(register):
    register(NoopBackend)
