"""The "Errors by character" section: accuracy per character class, and confusions by kind, then the top list.

A top list of single confusions often covers a few percent of the edits; grouped by
kind first (case, diacritics, letters, digits, punctuation, whitespace, longer garbled
stretches), the same counts say where most of the errors are.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

from harness.align import CHAR_CLASSES, char_class

#: Rows of each group's top list.
TOP_CONFUSIONS = 15
#: Kinds of confusion, in report order.
CONFUSION_KINDS = (
    "case",
    "diacritics",
    "letters",
    "digits",
    "punctuation & symbols",
    "whitespace",
    "garbled stretches",
    "other",
)


def confusion_kind(ref: str, hyp: str) -> str:
    """What kind of error reading ``ref`` as ``hyp`` is (``""``: nothing on that side)."""
    if (ref, hyp) == ("…", "…"):
        return "garbled stretches"
    if ref and hyp and ref != hyp and ref.casefold() == hyp.casefold():
        return "case"
    if ref and hyp and _base(ref).casefold() == _base(hyp).casefold():
        return "diacritics"
    classes = {char_class(char) for char in ref + hyp}
    for kind, members in (
        ("whitespace", {"whitespace"}),
        ("digits", {"digits"}),
        ("punctuation & symbols", {"punctuation & symbols"}),
    ):
        if classes & members:
            return kind
    if classes & {"letters", "letters with diacritics"}:
        return "diacritics" if "letters with diacritics" in classes else "letters"
    return "other"


def error_tables(groups: Iterable[Any]) -> dict[str, Any]:
    """Per group: confusions by kind and the top list; and accuracy per character class.

    ``groups`` are the report's per-group analyses (label, color, confusions, classes, errors).
    """
    groups = list(groups)
    tables = []
    for info in groups:
        if not info.errors:
            continue
        total = sum(info.confusions.values())
        by_kind: Counter[str] = Counter()
        for (ref, hyp), count in info.confusions.items():
            by_kind[confusion_kind(ref, hyp)] += count
        top = info.confusions.most_common(TOP_CONFUSIONS)
        tables.append(
            {
                "label": info.label,
                "color": info.color,
                "errors": info.errors,
                "kinds": [
                    {"kind": kind, "count": by_kind[kind], "share": by_kind[kind] / total}
                    for kind in sorted(by_kind, key=lambda k: (-by_kind[k], CONFUSION_KINDS.index(k)))
                ],
                "rows": [
                    {"ref": ref, "hyp": hyp, "count": count, "share": count / total}
                    for (ref, hyp), count in top
                ],
                "top_share": sum(count for _, count in top) / total if total else 0.0,
                "distinct": len(info.confusions),
            }
        )
    present = [kind for kind in CHAR_CLASSES if any(kind in g.classes for g in groups)]
    class_rows = [
        {"label": info.label, "color": info.color, "cells": [info.classes.get(kind) for kind in present]}
        for info in groups
        if info.classes
    ]
    return {"confusions": tables, "classes": present, "class_rows": class_rows}


def _base(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
