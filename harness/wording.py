"""Counted nouns in messages: "1 sample", "2 samples". Standard library only."""

from __future__ import annotations


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``count`` and ``noun``, the noun in the plural unless the count is exactly one."""
    word = noun if count == 1 else (plural_form or f"{noun}s")
    return f"{count:,} {word}"
