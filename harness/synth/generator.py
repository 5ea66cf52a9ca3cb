"""Writing a synthetic dataset in the folder format.

For every sample: ``STEM.png`` (greyscale, its DPI in the PNG), ``STEM.gt.txt``
(the lines exactly as drawn, NFC, one per line) and ``STEM.tags.json`` (the
degradation and layout parameters). Stems read ``KIND_LANG_NNNN`` (``page_fr_0002``)
and ``dataset.toml`` sets ``language_from_stem``. Sample ``i`` depends only on
the seed, its kind, ``i`` and the options: the same command gives the same bytes.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.errors import ConfigError
from harness.synth import corpus as text_source
from harness.synth import degrade as scan
from harness.synth.corpus import LANGUAGES, load_corpus
from harness.synth.fonts import FontFamily, families_for
from harness.synth.layout import PAGE_SIZES, page_style, render_line, render_page

_PAGE, _LINE = 0, 1  # mixed into each sample's seed so pages and lines draw independent streams


@dataclass(frozen=True)
class SynthOptions:
    pages: int = 4
    lines: int = 0
    seed: int = 0
    languages: tuple[str, ...] = ("en",)
    degrade: str = "mixed"
    dpi: tuple[int, int] | None = None  # inclusive range; None: each level's own
    page_size: str = "a5"
    lines_per_page: int | None = None  # None: fill the page

    def validate(self) -> None:
        if self.pages < 0 or self.lines < 0 or self.pages + self.lines == 0:
            raise ConfigError("synth: ask for at least one page or line (--pages N, --lines N)")
        unknown = [language for language in self.languages if language not in LANGUAGES]
        if unknown or not self.languages:
            raise ConfigError(
                f"synth: no corpus for language(s) {', '.join(unknown) or '(none given)'}; "
                f"available: {', '.join(LANGUAGES)}"
            )
        if self.degrade not in scan.CHOICES:
            raise ConfigError(
                f"synth: unknown degradation {self.degrade!r}; choose one of {', '.join(scan.CHOICES)}"
            )
        if self.dpi is not None and not (50 <= self.dpi[0] <= self.dpi[1] <= 1200):
            raise ConfigError(
                f"synth: DPI range {self.dpi[0]}-{self.dpi[1]} must lie within 50-1200, low first"
            )
        if self.page_size not in PAGE_SIZES:
            raise ConfigError(
                f"synth: unknown page size {self.page_size!r}; choose one of {', '.join(PAGE_SIZES)}"
            )
        if self.lines_per_page is not None and self.lines_per_page < 3:
            raise ConfigError("synth: --lines-per-page must be at least 3")

    def command(self, out: str) -> str:
        parts = [
            "ocr-harness",
            "datasets",
            "synth",
            out,
            "--pages",
            str(self.pages),
            "--lines",
            str(self.lines),
            "--seed",
            str(self.seed),
            "--language",
            *self.languages,
            "--degrade",
            self.degrade,
            "--page-size",
            self.page_size,
        ]
        if self.dpi:
            parts += ["--dpi", f"{self.dpi[0]}-{self.dpi[1]}"]
        if self.lines_per_page:
            parts += ["--lines-per-page", str(self.lines_per_page)]
        return " ".join(parts)


def generate(out: Path, options: SynthOptions, *, out_as_given: str | None = None) -> list[Path]:
    """Write the dataset into ``out`` (which must be empty or absent); return the images written.

    ``out_as_given`` is how the user wrote the folder, for the command recorded in dataset.toml.
    """
    options.validate()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"{out}: exists and is not an empty folder; synth never overwrites",
            fix="remove it or choose a new folder",
        )
    families = {language: families_for(load_corpus(language).text) for language in options.languages}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(options.pages):
        language = options.languages[index % len(options.languages)]
        written.append(_page(out, options, index, language, families[language]))
    for index in range(options.lines):
        language = options.languages[index % len(options.languages)]
        written.append(_line(out, options, index, language, families[language]))
    _write_settings(out, options, out_as_given or out.name)
    return written


def _page(out: Path, options: SynthOptions, index: int, language: str, families: list[FontFamily]) -> Path:
    rng = np.random.default_rng([options.seed, _PAGE, index])
    corpus = load_corpus(language)
    degradation = scan.sample_degradation(rng, scan.choose_level(options.degrade, index), options.dpi)
    style = page_style(
        rng, dpi=degradation.dpi, page_size=options.page_size, language=language, families=families
    )
    front = render_page(rng, style, corpus, options.lines_per_page)
    back = render_page(rng, style, corpus, options.lines_per_page)
    image = scan.degrade(rng, front.ink, back.ink, degradation)
    tags = {
        "kind": "page",
        **degradation.tags(),
        "font": style.family.name,
        "font_size_pt": style.body_pt,
        "columns": style.columns,
        "page_size": options.page_size,
    }
    return _write_sample(out, f"page_{language}_{index + 1:04d}", image, degradation.dpi, front.lines, tags)


def _line(out: Path, options: SynthOptions, index: int, language: str, families: list[FontFamily]) -> Path:
    rng = np.random.default_rng([options.seed, _LINE, index])
    corpus = load_corpus(language)
    degradation = scan.sample_degradation(rng, scan.choose_level(options.degrade, index), options.dpi)
    family = families[int(rng.integers(len(families)))]
    size_pt = float(rng.choice([9.0, 10.0, 11.0, 12.0, 14.0]))
    text = text_source.words(rng, corpus, int(rng.integers(4, 11)))
    front = render_line(rng, family, size_pt, degradation.dpi, text, skew_deg=degradation.skew_deg)
    back = render_line(rng, family, size_pt, degradation.dpi, text_source.words(rng, corpus, 12))
    back_ink = np.zeros_like(front.ink)
    rows, cols = min(back.ink.shape[0], back_ink.shape[0]), min(back.ink.shape[1], back_ink.shape[1])
    back_ink[:rows, :cols] = back.ink[:rows, :cols]
    image = scan.degrade(rng, front.ink, back_ink, degradation)
    tags = {"kind": "line", **degradation.tags(), "font": family.name, "font_size_pt": size_pt}
    return _write_sample(out, f"line_{language}_{index + 1:04d}", image, degradation.dpi, front.lines, tags)


def _write_sample(
    out: Path, stem: str, image: Image.Image, dpi: int, lines: list[str], tags: dict[str, object]
) -> Path:
    path = out / f"{stem}.png"
    # Fixed compression settings and no metadata beyond the resolution: the bytes depend on the pixels only.
    image.save(path, format="PNG", dpi=(dpi, dpi), compress_level=9)
    text = unicodedata.normalize("NFC", "".join(line + "\n" for line in lines))
    (out / f"{stem}.gt.txt").write_text(text, encoding="utf-8", newline="\n")
    (out / f"{stem}.tags.json").write_text(
        json.dumps(tags, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8", newline="\n"
    )
    return path


def _write_settings(out: Path, options: SynthOptions, out_as_given: str) -> None:
    from harness import __version__

    description = (
        f"Synthetic scanned pages and text lines ({', '.join(options.languages)}), "
        f"degradation: {options.degrade}"
    )
    lines = [
        "# Written by `ocr-harness datasets synth`: regenerate with the command below rather than edit.",
        f"name = {_toml_string(out.resolve().name)}",
        f"description = {_toml_string(description)}",
        'language = "en"',
        "language_from_stem = true",
        'licence = "Apache-2.0"',
        "",
        "[tags]",
        'source = "synthetic"',
        "",
        "[generator]",
        f"command = {_toml_string(options.command(out_as_given))}",
        f"harness_version = {_toml_string(__version__)}",
        f"seed = {options.seed}",
        "",
    ]
    (out / "dataset.toml").write_text("\n".join(lines), encoding="utf-8", newline="\n")


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)
