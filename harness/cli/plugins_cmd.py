"""``ocr-harness plugins``: every backend, preprocessing step and dataset format, and where each came from.

Only class attributes and classmethods are read, so listing never starts an
engine. Plugins that failed to load are listed with their error.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "plugins",
        help="list backends, preprocessing steps, dataset formats and the plugins they came from",
        description="List every OCR backend (version, whether it can run here and why not, the languages "
        "it can read here, its options), every preprocessing step and its parameters, every dataset "
        "format, and every plugin that failed to load.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness.plugins import get_registry

    registry = get_registry(tuple(getattr(args, "plugin", None) or ()))
    listing = describe_registry(registry)
    if args.json:
        json.dump(listing, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(listing))
    sys.stdout.flush()
    return 0


def describe_registry(registry: Any) -> dict[str, Any]:
    """The registry as plain data (what ``--json`` prints)."""
    return {
        "backends": [_backend(name, entry) for name, entry in sorted(registry.backends.items())],
        "preprocessors": [
            {
                **_origin(name, entry),
                "description": entry.obj.description,
                "params": _fields(entry.obj.Params),
            }
            for name, entry in sorted(registry.preprocessors.items())
        ],
        "dataset_formats": [
            {**_origin(name, entry), "description": entry.obj.description}
            for name, entry in sorted(registry.dataset_formats.items())
        ],
        "failures": [
            {"plugin": failure.plugin, "source": failure.source, "error": failure.error}
            for failure in registry.failures
        ],
    }


def _origin(name: str, entry: Any) -> dict[str, Any]:
    return {"name": name, "plugin": entry.plugin, "source": entry.source}


def _backend(name: str, entry: Any) -> dict[str, Any]:
    backend = entry.obj
    described: dict[str, Any] = {**_origin(name, entry), "description": backend.description}
    # A third-party backend's classmethods may raise: show the error, keep listing the rest.
    described["version"] = _guarded(backend.version, "unknown")
    availability = _guarded(backend.availability, None)
    if availability is None or isinstance(availability, _Failed):
        reason = availability.message if isinstance(availability, _Failed) else "no answer"
        described.update(available=False, reason=f"checking availability failed: {reason}", fix="")
    else:
        described.update(available=availability.ok, reason=availability.reason, fix=availability.fix)
    languages = _guarded(backend.languages, {})
    if isinstance(languages, _Failed):
        described["languages"] = {}
        described["languages_error"] = languages.message
    else:
        described["languages"] = dict(sorted(languages.items()))
    described["options"] = _fields(backend.Options)
    return described


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.message = f"{type(error).__name__}: {error}"


def _guarded(call: Any, default: Any) -> Any:
    try:
        result = call()
    except Exception as error:
        return _Failed(error)
    return default if result is None else result


def _fields(model: Any) -> list[dict[str, Any]]:
    from harness.pipeline import type_name

    fields = []
    for field_name, field in model.model_fields.items():
        fields.append(
            {
                "name": field_name,
                "type": type_name(field.annotation),
                "required": field.is_required(),
                "default": None if field.is_required() else field.get_default(call_default_factory=True),
                "description": field.description or "",
            }
        )
    return fields


def render_text(listing: dict[str, Any]) -> str:
    out: list[str] = []
    backends = listing["backends"]
    out.append(f"Backends ({len(backends)})")
    for backend in backends:
        out.append(
            f"  {backend['name']} {backend['version']}  [plugin {backend['plugin']}, {backend['source']}]"
        )
        out.extend(_wrapped(backend["description"], "    "))
        if backend["available"]:
            out.append("    available: yes")
        else:
            out.append(f"    available: no: {backend['reason']}")
            if backend["fix"]:
                out.append(f"    fix: {backend['fix']}")
        if "languages_error" in backend:
            out.append(f"    languages: cannot tell: {backend['languages_error']}")
        else:
            codes = ", ".join(backend["languages"]) or "none here"
            out.extend(_wrapped(f"languages: {codes}", "    ", "      "))
        out.extend(_fields_text("options", backend["options"]))
    steps = listing["preprocessors"]
    out.append(f"Preprocessing steps ({len(steps)})")
    for step in steps:
        out.append(f"  {step['name']}  [plugin {step['plugin']}, {step['source']}]")
        out.extend(_wrapped(step["description"], "    "))
        out.extend(_fields_text("params", step["params"]))
    formats = listing["dataset_formats"]
    out.append(f"Dataset formats ({len(formats)})")
    for dataset_format in formats:
        out.append(
            f"  {dataset_format['name']}  [plugin {dataset_format['plugin']}, {dataset_format['source']}]"
        )
        out.extend(_wrapped(dataset_format["description"], "    "))
    failures = listing["failures"]
    if failures:
        out.append(f"Plugins that failed to load ({len(failures)})")
        for failure in failures:
            out.append(f"  {failure['plugin']}  [{failure['source']}]")
            out.extend(_wrapped(failure["error"], "    "))
    return "\n".join(out) + "\n"


def _fields_text(title: str, fields: list[dict[str, Any]]) -> list[str]:
    if not fields:
        return [f"    {title}: none"]
    lines = [f"    {title}:"]
    for field in fields:
        default = "required" if field["required"] else f"default {_value(field['default'])}"
        lines.append(f"      {field['name']}: {field['type']} ({default})")
        lines.extend(_wrapped(field["description"], "          "))
    return lines


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def _wrapped(text: str, indent: str, subsequent: str | None = None) -> list[str]:
    if not text:
        return []
    return textwrap.wrap(
        text, width=100, initial_indent=indent, subsequent_indent=subsequent or indent, break_on_hyphens=False
    )
