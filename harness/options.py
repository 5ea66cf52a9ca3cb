"""``--option [BACKEND.]KEY=VALUE``: the one command-line notation for backend options.

``run`` and ``extract`` read it the same way. ``BACKEND.`` names the backend the
option is for; it may be left out when the command uses a single backend.
Values are read as in pipeline notation (:func:`parse_value`), so
``--option tesseract.psm=6`` and ``tesseract(psm=6)``-style parameters agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")

OPTION_FORM = "BACKEND.KEY=VALUE, or KEY=VALUE with one backend (e.g. tesseract.psm=6)"


def parse_value(raw: str) -> Any:
    """A written value: true/false (any case), a number as JSON writes one, else text without its quotes.

    Digits with a leading zero stay text: ``allowed_symbols=0123456789`` means those characters.
    """
    raw = raw.strip()
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    number = _NUMBER.fullmatch(raw)
    if number:
        return float(raw) if number.group(1) or number.group(2) else int(raw)
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


def backend_options(items: Sequence[str], backend: str) -> dict[str, Any]:
    """The options of a command that runs one backend (``index``, ``serve``); ConfigError naming each
    item it cannot use."""
    from harness.errors import ConfigError

    options, problems = parse_option_flags(items, [backend])
    if problems:
        raise ConfigError("; ".join(problems))
    return options[backend]
