"""Test plugin: backend "echo" returns the text stored in the image itself.

Test images carry their "recognised" text in a PNG text chunk named ``echo``
(``make_echo_image``), so runner and metric tests know the exact output. Some
texts act instead of being returned: ``CRASH`` kills the worker, ``HANG``
sleeps forever, ``RAISE`` raises inside the engine. ``truncate_to`` cuts the
output and flags it truncated, as an evaluation-mode engine does. It reads
English, French and German only, so other languages are skipped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.backends import Availability, Backend, BackendOptions, Recognition
from harness.hookspecs import hookimpl
from harness.pipeline import Step, StepParams

ECHO_KEY = "echo"


class EchoOptions(BackendOptions):
    truncate_to: int | None = None
    delay: float = 0.0
    #: seconds the first page in each language takes extra, as an engine loading its model lazily
    language_load: float = 0.0
    #: misread the first N characters of every text (each becomes "#")
    misread: int = 0


class EchoBackend(Backend):
    name = "echo"
    description = "Returns the text stored in the image's 'echo' PNG chunk (for tests)."
    Options = EchoOptions

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {"en": "en", "fr": "fr", "de": "de"}

    def recognize(self, image: Any, *, language: str) -> Recognition:
        text = image.info.get(ECHO_KEY, "")
        loaded = self.__dict__.setdefault("loaded_languages", set())
        if self.options.language_load and language not in loaded:
            time.sleep(self.options.language_load)
            loaded.add(language)
        if self.options.delay:
            time.sleep(self.options.delay)
        if text == "CRASH":
            os._exit(7)
        if text == "HANG":
            time.sleep(3600)
        if text == "RAISE":
            raise RuntimeError("the echo engine was asked to fail")
        if self.options.misread:
            text = "#" * min(self.options.misread, len(text)) + text[self.options.misread :]
        if self.options.truncate_to is not None and len(text) > self.options.truncate_to:
            return Recognition(text=text[: self.options.truncate_to], truncated=True)
        return Recognition(text=text)


class EnglishEchoBackend(EchoBackend):
    """An echo that reads English only: other samples are skipped, as a real engine's would be."""

    name = "echo_en"

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        return {"en": "en"}


class UnavailableBackend(EchoBackend):
    """An echo that says it cannot run here, as an engine without its runtime does."""

    name = "unavailable"

    @classmethod
    def availability(cls) -> Availability:
        return Availability(ok=False, reason="its runtime is not installed", fix="install the runtime")


class SuffixParams(StepParams):
    text: str = "!"


class SuffixStep(Step):
    """Appends ``text`` to the image's echo text, so tests see that a pipeline ran in the worker."""

    name = "suffix"
    Params = SuffixParams

    def apply(self, image: Any) -> Any:
        changed = image.copy()
        changed.info[ECHO_KEY] = image.info.get(ECHO_KEY, "") + self.params.text
        return changed


def make_echo_image(path: Path, text: str, *, size: tuple[int, int] = (64, 24)) -> Path:
    """Write a small PNG whose echo output is ``text``."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt(ECHO_KEY, text)
    Image.new("L", size, 255).save(path, pnginfo=info)
    return path


def make_echo_dataset(
    folder: Path, items: Mapping[str, tuple[str, str | None]], *, settings: str = ""
) -> Path:
    """A folder dataset: for each stem, an echo image saying ``output`` and ``stem.gt.txt``
    holding ``ground_truth`` (none when it is None). ``settings`` is written as dataset.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, (output, ground_truth) in items.items():
        make_echo_image(folder / f"{stem}.png", output)
        if ground_truth is not None:
            (folder / f"{stem}.gt.txt").write_text(ground_truth, encoding="utf-8")
    if settings:
        (folder / "dataset.toml").write_text(settings, encoding="utf-8")
    return folder


@hookimpl
def register_backends(register):
    register(EchoBackend)
    register(EnglishEchoBackend)
    register(UnavailableBackend)


@hookimpl
def register_preprocessors(register):
    register(SuffixStep)
