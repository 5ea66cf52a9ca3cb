"""Test plugin: backend "crash" kills its own worker process, as a segfaulting engine would.

``how="exit"`` calls ``os._exit(3)``; ``how="kill"`` sends itself SIGKILL (as the
out-of-memory killer does); ``how="abort"`` aborts (SIGABRT, as .NET does).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any, Literal

from harness.backends import LANGUAGES, Backend, BackendOptions, Recognition
from harness.hookspecs import hookimpl


class CrashOptions(BackendOptions):
    how: Literal["exit", "kill", "abort"] = "exit"


class CrashBackend(Backend):
    name = "crash"
    description = "Kills its worker process (for tests)."
    Options = CrashOptions

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {code: code for code in LANGUAGES}

    def recognize(self, image: Any, *, language: str) -> Recognition:
        if self.options.how == "exit":
            os._exit(3)
        if self.options.how == "abort":
            os.abort()
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable: the process was killed")


@hookimpl
def register_backends(register):
    register(CrashBackend)
