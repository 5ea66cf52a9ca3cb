"""Test plugin: backend "hang" never returns.

``hold_gil=True`` (the default) spins inside C code that never releases the GIL,
as Aspose does for a whole call, so no thread in the worker can run (a watchdog
inside the worker would stall too). ``hold_gil=False`` sleeps forever instead.
"""

from __future__ import annotations

import collections
import itertools
import time
from collections.abc import Mapping
from typing import Any

from harness.backends import LANGUAGES, Backend, BackendOptions, Recognition
from harness.hookspecs import hookimpl


class HangOptions(BackendOptions):
    hold_gil: bool = True


class HangBackend(Backend):
    name = "hang"
    description = "Never returns (for tests)."
    Options = HangOptions

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {code: code for code in LANGUAGES}

    def recognize(self, image: Any, *, language: str) -> Recognition:
        if self.options.hold_gil:
            # Consuming an endless iterator entirely in C: the GIL is never released.
            collections.deque(itertools.count(), maxlen=0)
        while True:
            time.sleep(3600)


@hookimpl
def register_backends(register):
    register(HangBackend)
