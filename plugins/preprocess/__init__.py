"""Built-in preprocessing steps: downscale, grayscale, binarize, deskew."""

from __future__ import annotations

from typing import Any

from harness.hookspecs import hookimpl

from .binarize import Binarize
from .deskew import Deskew
from .downscale import Downscale
from .grayscale import Grayscale

STEPS = (Downscale, Grayscale, Binarize, Deskew)


@hookimpl
def register_preprocessors(register: Any) -> None:
    for step in STEPS:
        register(step)
