"""Aspose.OCR backend plugin (the ``aspose`` extra: ``pip install 'ocr-harness[aspose]'``).

Its .NET runtime needs OpenSSL 1.1, which ``ocr-harness doctor --fix aspose``
fetches into a per-user folder (see docs/aspose.md and ``runtime``).
"""

from __future__ import annotations

from typing import Any

from harness.hookspecs import hookimpl

from .backend import AsposeBackend, AsposeOptions

__all__ = ["AsposeBackend", "AsposeOptions"]


@hookimpl
def register_backends(register: Any) -> None:
    register(AsposeBackend)
