"""Which groups of two runs are the same configuration, and what else differs between them.

Groups pair by what they run, never by what they are called: the backend's name
(not its label) and the pipeline's steps with every parameter resolved (so
``binarize`` and ``binarize(method=otsu)`` are one pipeline when ``otsu`` is the
default, and relabelling a backend changes nothing). Once paired, everything
else about the two configurations is compared key by key: the backend's
resolved options, its engine version, its fingerprint (model and traineddata
hashes), the normalisation profile and the datasets' fingerprints. ``compare``
prints those differences; ``check --baseline`` fails on them unless told they
are intended (``--allow-config-change``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Group = tuple[str, str]  # (backend label, pipeline) as in summary.csv
Pairs = list[tuple[Group, Group]]


@dataclass(frozen=True)
class Identity:
    """What a group runs: the backend's name and the pipeline with its parameters resolved."""

    backend: str
    pipeline: str


@dataclass(frozen=True)
class Difference:
    """One configuration key whose value differs between side A and side B (None: absent)."""

    key: str
    a: Any
    b: Any

    def __str__(self) -> str:
        return f"{self.key}: {_show(self.a)} -> {_show(self.b)}"


def plain(info: Any) -> dict[str, Any]:
    """run.json as a plain dict, whether given as a dict or as a typed record."""
    if info is None:
        return {}
    if hasattr(info, "model_dump"):
        return dict(info.model_dump())
    return dict(info)


def pipeline_identity(text: str, steps: Mapping[str, Any] | None = None) -> str:
    """The pipeline's steps with every parameter resolved, as canonical JSON.

    A step no installed plugin knows keeps its parameters as written.
    """
    from harness.pipeline import parse_pipeline

    try:
        parsed = parse_pipeline(text)
    except Exception:  # not a pipeline this version can read: compare it as written
        return json.dumps([[text, {}]])
    resolved = []
    for call in parsed.steps:
        params = dict(call.params)
        step_class = (steps or {}).get(call.name)
        if step_class is not None:
            with contextlib.suppress(Exception):  # invalid for this version: keep as written
                params = step_class.Params(**params).model_dump(mode="json")
        resolved.append([call.name, params])
    return json.dumps(resolved, sort_keys=True, default=str)


def group_identity(group: Group, info: Any, steps: Mapping[str, Any] | None = None) -> Identity:
    backend = plain(info).get("backends", {}).get(group[0]) or {}
    return Identity(str(backend.get("name") or group[0]), pipeline_identity(group[1], steps))


def pair_by_identity(
    groups_a: Sequence[Group],
    info_a: Any,
    groups_b: Sequence[Group],
    info_b: Any,
    *,
    steps: Mapping[str, Any] | None = None,
) -> tuple[Pairs, list[Group], list[Group]]:
    """Pair groups that run the same backend and pipeline; returns (pairs, unpaired A, unpaired B).

    When a side runs one backend several times (different options), groups of the
    same identity pair by label, then by equal options, then one to one if one is left.
    """
    ids_a = {group: group_identity(group, info_a, steps) for group in groups_a}
    ids_b = {group: group_identity(group, info_b, steps) for group in groups_b}
    pairs: Pairs = []

    def same_label(a: Group, b: Group) -> bool:
        return a[0] == b[0]

    def same_options(a: Group, b: Group) -> bool:
        return backend_options(info_a, a[0]) == backend_options(info_b, b[0])

    for identity in dict.fromkeys(ids_a.values()):
        side_a = [group for group in groups_a if ids_a[group] == identity]
        side_b = [group for group in groups_b if ids_b[group] == identity]
        for match in (same_label, same_options):
            for group_a in list(side_a):
                found = [group_b for group_b in side_b if match(group_a, group_b)]
                if len(found) == 1 and [g for g in side_a if match(g, found[0])] == [group_a]:
                    pairs.append((group_a, found[0]))
                    side_a.remove(group_a)
                    side_b.remove(found[0])
        if len(side_a) == 1 and len(side_b) == 1:
            pairs.append((side_a[0], side_b[0]))
    paired_a = {a for a, _ in pairs}
    paired_b = {b for _, b in pairs}
    return (
        pairs,
        [group for group in groups_a if group not in paired_a],
        [group for group in groups_b if group not in paired_b],
    )


def backend_options(info: Any, label: str) -> dict[str, Any]:
    """The backend's options with defaults filled in (as written when run.json lacks them)."""
    data = plain(info)
    for backend in (data.get("config") or {}).get("backends") or []:
        if (backend.get("label") or backend.get("name")) == label and backend.get("resolved_options"):
            return dict(backend["resolved_options"])
    return dict(((data.get("backends") or {}).get(label) or {}).get("options") or {})


def group_config(info: Any, label: str) -> dict[str, Any]:
    """Everything but the identity that decides a group's results, flattened to ``a.b.c`` keys."""
    data = plain(info)
    backend = (data.get("backends") or {}).get(label) or {}
    config: dict[str, Any] = {}
    _flatten("options", backend_options(info, label), config)
    config["engine version"] = backend.get("version")
    _flatten("fingerprint", backend.get("fingerprint") or {}, config)
    return config


def run_config(info: Any) -> dict[str, Any]:
    """The run-wide settings that decide scores: normalisation and the datasets' fingerprints."""
    data = plain(info)
    config: dict[str, Any] = {"normalisation": (data.get("normalisation") or {}).get("id")}
    for name, dataset in sorted((data.get("datasets") or {}).items()):
        config[f"dataset {name} fingerprint"] = (dataset or {}).get("fingerprint")
    return config


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Difference]:
    """Keys whose values differ (a key on one side only differs too), in a stable order."""
    keys = list(dict.fromkeys([*a, *b]))
    return [Difference(key, a.get(key), b.get(key)) for key in keys if a.get(key) != b.get(key)]


def run_differences(info_a: Any, info_b: Any) -> list[Difference]:
    """Run-wide differences (normalisation, datasets); empty when either run.json is missing."""
    if not plain(info_a) or not plain(info_b):
        return []
    return differences(run_config(info_a), run_config(info_b))


def group_differences(info_a: Any, group_a: Group, info_b: Any, group_b: Group) -> list[Difference]:
    """Differences between two paired groups' backend configurations (empty without run.json)."""
    if not plain(info_a) or not plain(info_b):
        return []
    return differences(group_config(info_a, group_a[0]), group_config(info_b, group_b[0]))


def _flatten(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, into)
    else:
        into[prefix] = value


def _show(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12] + "…"  # a sha256: enough to tell two apart
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
