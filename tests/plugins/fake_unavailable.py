"""Test plugin: backend "unavailable" says it cannot run here, with a reason and a fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.backends import Availability, Backend, Recognition
from harness.hookspecs import hookimpl


class UnavailableBackend(Backend):
    name = "unavailable"
    description = "Never available (for tests)."

    @classmethod
    def availability(cls) -> Availability:
        return Availability(False, "the fake engine library is not installed", "pip install fake-engine")

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {"en": "eng"}

    def recognize(self, image: Any, *, language: str) -> Recognition:
        raise AssertionError("an unavailable backend must never be instantiated")


@hookimpl
def register_backends(register):
    register(UnavailableBackend)
