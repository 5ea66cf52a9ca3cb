"""Test plugin: backend "slow" sleeps ``seconds`` (releasing the GIL), then answers like noop."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from harness.backends import LANGUAGES, Backend, BackendOptions, Recognition
from harness.hookspecs import hookimpl


class SlowOptions(BackendOptions):
    seconds: float = 0.5


class SlowBackend(Backend):
    name = "slow"
    description = "Sleeps, then returns the image size as text (for tests)."
    Options = SlowOptions

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {code: code for code in LANGUAGES}

    def recognize(self, image: Any, *, language: str) -> Recognition:
        time.sleep(self.options.seconds)
        return Recognition(text=f"slow {image.width}x{image.height}")


@hookimpl
def register_backends(register):
    register(SlowBackend)
