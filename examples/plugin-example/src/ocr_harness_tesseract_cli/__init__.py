"""ocr-harness plugin: the tesseract program as a backend, and an autocontrast step.

This module is the plugin: the entry point names it, and ocr-harness calls the
hook implementations below, in the main process and in every worker process.
Keep it cheap to import: engines are started inside the backend, never here.
"""

from __future__ import annotations

from typing import Any

from harness.hookspecs import hookimpl

from .autocontrast import Autocontrast
from .backend import TesseractCliBackend


@hookimpl
def register_backends(register: Any) -> None:
    register(TesseractCliBackend)


@hookimpl
def register_preprocessors(register: Any) -> None:
    register(Autocontrast)
