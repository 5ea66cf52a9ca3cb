"""Test plugin: backend "flaky" kills its worker process the first time only.

The first call creates the file ``marker`` and exits the process, as an engine
crashing on a bad day would; any later call (a retry) reads "second try".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.backends import LANGUAGES, Backend, BackendOptions, Recognition
from harness.hookspecs import hookimpl


class FlakyOptions(BackendOptions):
    marker: str


class FlakyBackend(Backend):
    name = "flaky"
    description = "Kills its worker process on the first call only (for tests)."
    Options = FlakyOptions

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {code: code for code in LANGUAGES}

    def recognize(self, image: Any, *, language: str) -> Recognition:
        marker = Path(self.options.marker)
        if not marker.exists():
            marker.touch()
            os._exit(3)
        return Recognition(text="second try")


@hookimpl
def register_backends(register):
    register(FlakyBackend)
