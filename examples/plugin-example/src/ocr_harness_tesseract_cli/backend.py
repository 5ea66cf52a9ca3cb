"""The tesseract-cli backend: one run of the ``tesseract`` program per page.

Everything a backend class answers in the main process (version, availability,
languages) is cheap and starts no engine. ``recognize`` runs in worker
processes, which the harness starts; the backend only honours ``threads``.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import Field

from harness.backends import Availability, Backend, BackendOptions, Line, Recognition
from harness.errors import EngineError

if TYPE_CHECKING:
    from PIL import Image

#: Common ISO 639-1 codes -> tesseract's language names.
TESSERACT_CODES: Mapping[str, str] = {
    "de": "deu",
    "en": "eng",
    "es": "spa",
    "fr": "fra",
    "it": "ita",
    "nl": "nld",
    "pt": "por",
    "vi": "vie",
}


class TesseractCliOptions(BackendOptions):
    # extra="forbid" comes from BackendOptions: a misspelt option is an error before any OCR.
    psm: int = Field(default=3, ge=1, le=13, description="page segmentation mode (3 = page, 7 = one line)")
    dpi: int = Field(default=300, ge=70, description="resolution given to tesseract when the image has none")


class TesseractCliBackend(Backend):
    name = "tesseract-cli"
    description = "the tesseract command-line program, run once per page (an example plugin)"
    Options = TesseractCliOptions

    @classmethod
    def version(cls) -> str:
        program = shutil.which("tesseract")
        return _program_version(program) if program else "not installed"

    @classmethod
    def availability(cls) -> Availability:
        if shutil.which("tesseract") is None:
            return Availability(
                False,
                "the tesseract program is not on PATH",
                "apt-get install tesseract-ocr tesseract-ocr-eng (or brew install tesseract)",
            )
        return Availability(True)

    @classmethod
    def languages(cls) -> Mapping[str, str]:
        program = shutil.which("tesseract")
        installed = _installed_languages(program) if program else frozenset()
        return {code: name for code, name in TESSERACT_CODES.items() if name in installed}

    def recognize(self, image: Image.Image, *, language: str) -> Recognition:
        options = self.options
        assert isinstance(options, TesseractCliOptions)
        png = io.BytesIO()
        image.save(png, format="PNG")
        dpi = image.info.get("dpi")
        resolution = round(dpi[0]) if dpi and dpi[0] >= 70 else options.dpi
        command = [
            "tesseract",
            "stdin",
            "stdout",
            "-l",
            self.engine_language(language),
            "--psm",
            str(options.psm),
            "--dpi",
            str(resolution),
            "tsv",
        ]
        # The harness runs one worker per share of cores: tesseract must not start more threads.
        env = {**os.environ, "OMP_THREAD_LIMIT": str(self.threads)}
        done = subprocess.run(command, input=png.getvalue(), capture_output=True, env=env, check=False)
        if done.returncode != 0:
            raise EngineError(
                f"tesseract exited with status {done.returncode}: {done.stderr.decode()[-500:]}"
            )
        lines = _lines_from_tsv(done.stdout.decode("utf-8"))
        return Recognition(text="\n".join(line.text for line in lines), lines=lines)


def _lines_from_tsv(tsv: str) -> list[Line]:
    """Words (level 5) grouped by their line; each line's box from its level-4 row."""
    boxes: dict[tuple[str, ...], tuple[int, int, int, int]] = {}
    words: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        if row["level"] == "4":
            left, top = int(row["left"]), int(row["top"])
            boxes[key] = (left, top, left + int(row["width"]), top + int(row["height"]))
        elif row["level"] == "5" and (row["text"] or "").strip():
            words.setdefault(key, []).append((row["text"].strip(), float(row["conf"])))
    lines = []
    for key, line_words in words.items():
        confidence = sum(conf for _, conf in line_words) / len(line_words) / 100
        lines.append(Line(" ".join(text for text, _ in line_words), boxes.get(key), round(confidence, 4)))
    return lines


@lru_cache(maxsize=4)
def _program_version(program: str) -> str:
    done = subprocess.run([program, "--version"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()[:1]
    return first[0].removeprefix("tesseract ").strip() if first else "unknown"


@lru_cache(maxsize=4)
def _installed_languages(program: str) -> frozenset[str]:
    done = subprocess.run([program, "--list-langs"], capture_output=True, text=True, check=False)
    # The first line is a heading ("List of available languages in ..."); the rest are names.
    return frozenset(line.strip() for line in done.stdout.splitlines()[1:] if line.strip())
