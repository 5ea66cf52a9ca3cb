"""Test plugin: backend "truncating" always cuts its text short, as Aspose's evaluation mode does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.backends import LANGUAGES, Backend, BackendOptions, Line, Recognition
from harness.hookspecs import hookimpl


class TruncatingBackend(Backend):
    name = "truncating"
    description = "Returns 'cut sho' flagged truncated (for tests)."

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {code: code for code in LANGUAGES}

    @classmethod
    def caveat(cls, options: BackendOptions) -> str | None:
        return "evaluation mode: texts are cut short"

    def recognize(self, image: Any, *, language: str) -> Recognition:
        return Recognition(
            text="cut sho", lines=[Line("cut sho", (0, 0, image.width, image.height))], truncated=True
        )


@hookimpl
def register_backends(register: Any) -> None:
    register(TruncatingBackend)
