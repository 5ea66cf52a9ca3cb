"""Validating user-written settings against pydantic models, with errors a person can act on.

One way to say what is wrong, used by suites, backend options (API, ``extract``)
and step parameters: each problem is one line starting with its key path
(``backends[1].options.psm``; list indices count from 0); an unknown key gets the
closest valid key as a suggestion and the list of valid keys.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Union

from pydantic import BaseModel, ValidationError

_PLAIN_KEY = re.compile(r"[A-Za-z_][\w-]*")


def validate(model: type[BaseModel], data: Any, where: str, errors: list[str]) -> Any:
    """``model`` validated from ``data``, or None with its problems appended to ``errors``."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors.extend(format_errors(error, where, model))
        return None


def validate_section(model: type[BaseModel], data: Mapping[str, Any], key: str) -> Any:
    """The table ``data[key]`` validated alone, or None; its problems are not reported here.

    For when the enclosing table failed: a section that is fine on its own is still usable.
    """
    value = data.get(key, {})
    if not isinstance(value, dict):
        return None
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def format_errors(error: ValidationError, where: str, model: type[BaseModel]) -> list[str]:
    """One line per problem, each starting with its key path under ``where``."""
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = key_path(where, loc)
        if item["type"] == "extra_forbidden":
            unknown = str(loc[-1])
            valid = fields_at(model, loc[:-1])
            listing = f"; valid keys: {', '.join(valid)}" if valid else ""
            lines.append(f"{path}: unknown key{suggest(unknown, valid)}{listing}")
        elif item["type"] == "missing":
            lines.append(f"{path}: required key is missing")
        elif item["type"] == "value_error":
            lines.append(f"{path}: {item['ctx']['error']}")  # our own message, which names the value
        else:
            lines.append(f"{path}: {item['msg']} (got {_short(item.get('input'))})")
    return lines


def describe_errors(error: ValidationError, model: type[BaseModel]) -> str:
    """:func:`format_errors` on one line, for an error message about a single setting."""
    return "; ".join(format_errors(error, "", model))


def key_path(where: str, loc: Iterable[Any]) -> str:
    """``where`` extended by a pydantic location: ``backends[1].options."odd key"``."""
    path = where
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            path += f".{part}" if path else str(part)
        else:
            path += f'."{part}"' if path else f'"{part}"'
    return path or "(top level)"


def fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the table at ``loc`` inside ``model`` (for suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field_info = current.model_fields.get(str(part))
        if field_info is None:
            return []
        current = _model_in(field_info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, Union, types.UnionType):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def error_list(where: str, errors: list[str]) -> str:
    """Every problem found in ``where``, under one heading (the text of one ConfigError)."""
    count = len(errors)
    heading = f"{where}: {count} problem{'s' if count != 1 else ''} found before any OCR started:"
    return "\n".join([heading, *(f"  {line}" for line in errors)])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
