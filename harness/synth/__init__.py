"""Synthetic scanned pages and text lines with exact ground truth (``ocr-harness datasets synth``).

``generate(out, SynthOptions(...))`` writes a folder-format dataset. Modules:
``corpus`` (the prose), ``fonts`` (which fonts, and which cover a language),
``layout`` (setting text), ``degrade`` (scan degradations), ``generator``
(files on disk).
"""

from __future__ import annotations

from harness.synth.generator import SynthOptions, generate

__all__ = ["SynthOptions", "generate"]
