"""``--option [BACKEND.]KEY=VALUE``: the one command-line notation for backend options.

``run`` and ``extract`` read it the same way. ``BACKEND.`` names the backend the
option is for; it may be left out when the command uses a single backend.
Values are read as in pipeline notation (:func:`parse_value`), so
``--option tesseract.psm=6`` and ``tesseract(psm=6)``-style parameters agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

OPTION_FORM = "BACKEND.KEY=VALUE, or KEY=VALUE with one backend (e.g. tesseract.psm=6)"


def parse_value(raw: str) -> Any:
    """A written value: true/false (any case), a whole number, a decimal, else text without its quotes."""
    raw = raw.strip()
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw.strip("'\"")


def parse_option_flags(
    items: Sequence[str], backends: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The options each of ``backends`` gets from ``--option`` items, and every problem found.

    Problems name the item as written; the caller raises them together.
    """
    options: dict[str, dict[str, Any]] = {name: {} for name in backends}
    problems: list[str] = []
    for item in items:
        key, sep, value = item.partition("=")
        backend, dot, option = key.strip().rpartition(".")
        if not sep or not option.strip() or (dot and not backend):
            problems.append(f"cannot read backend option {item!r}: write it as {OPTION_FORM}")
            continue
        if not dot:
            if len(options) != 1:
                problems.append(
                    f"--option {item!r}: this command runs {len(options)} backends "
                    f"({', '.join(options)}): write it as {OPTION_FORM}"
                )
                continue
            backend = next(iter(options))
        if backend not in options:
            problems.append(
                f"--option {item!r}: backend {backend!r} is not one of this run's backends "
                f"({', '.join(options)})"
            )
            continue
        options[backend][option.strip()] = parse_value(value)
    return options, problems
