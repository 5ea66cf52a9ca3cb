"""The grid view of report.html: which setting of which step helps which engine.

The parameters that vary between a run's pipelines (``downscale.max_side``,
``binarize.method``, ...) are the grid's axes, in the suite's ``[grid]`` order. Per
engine, one heatmap of CER and one of pages/s over the first two axes (one pair per
combination of any further axes), each cell with its n and interval on hover. The
best cell per engine is marked only where cells are compared on the same samples.

Steps that returned every image unchanged (``unchanged_steps`` in results.jsonl)
are named, and pipelines that differ only by such steps gave the engine the same
images: they are grouped under one letter instead of passing for different results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from harness.pipeline import PipelineSpec, StepSpec, parse_pipeline
from harness.run_folder import RunData, read_run_results
from harness.stats import finite_or_none

ABSENT = "—"  # the step is not in this pipeline


@dataclass
class Cell:
    pipeline: str
    cer: float | None = None
    cer_low: float | None = None
    cer_high: float | None = None
    n: int = 0
    pages_per_s: float | None = None
    speed_low: float | None = None
    speed_high: float | None = None
    comparable: bool = True
    same_as: str = ""  # letter shared by pipelines that gave the engine the same images
    best: bool = False
    cer_colour: str = ""
    speed_colour: str = ""


@dataclass
class Heatmap:
    backend: str
    fixed: str  # the further axes' values, e.g. "deskew.max_angle=5" (small multiples)
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)


def grid_view(run: RunData) -> dict[str, Any] | None:
    """Everything the ``#grid`` section shows, or None when the run's pipelines vary by nothing."""
    pipelines = _pipelines(run)
    specs = _parsed(pipelines)
    if specs is None:
        return None
    axes = pipeline_axes(specs, run.info.config.grid)
    if not axes:
        return None
    row_axis, column_axis = axes[0], axes[1] if len(axes) > 1 else ("", [""])
    further = axes[2:]
    values = {text: parameter_values(spec) for text, spec in specs.items()}
    unchanged = unchanged_steps(read_run_results(run.path)) if run.path.exists() else {}
    summary = {(str(r["backend"]), str(r["pipeline"])): r for r in run.summary.to_dict("records")}
    ranked_on = "cer_common" if "cer_common" in run.summary else "micro_cer"
    heatmaps: list[Heatmap] = []
    identical: list[dict[str, Any]] = []
    for backend in dict.fromkeys(str(b) for b in run.summary["backend"]):
        groups = _identical_groups(backend, pipelines, specs, unchanged)
        letters = {p: letter for letter, members in groups.items() for p in members}
        identical += [{"backend": backend, "letter": k, "pipelines": v} for k, v in groups.items()]
        cells = {
            p: _cell(p, summary.get((backend, p)), ranked_on, letters.get(p, ""))
            for p in pipelines
            if (backend, p) in summary
        }
        _mark_best(cells.values())
        _colour(cells.values())
        for fixed in product(*(axis_values for _, axis_values in further)):
            heatmap = Heatmap(
                backend,
                ", ".join(f"{key}={value}" for (key, _), value in zip(further, fixed, strict=True)),
                list(row_axis[1]),
                list(column_axis[1]),
            )
            wanted = {key: value for (key, _), value in zip(further, fixed, strict=True)}
            for pipeline, cell in cells.items():
                point = values[pipeline]
                if all(point.get(key, ABSENT) == value for key, value in wanted.items()):
                    heatmap.cells[(point.get(row_axis[0], ABSENT), point.get(column_axis[0], ABSENT))] = cell
            if heatmap.cells:
                heatmaps.append(heatmap)
    return {
        "rows_axis": row_axis[0],
        "columns_axis": column_axis[0],
        "further": [key for key, _ in further],
        "heatmaps": heatmaps,
        "ranked_on": "CER on the samples every group scored" if ranked_on == "cer_common" else "CER",
        "noop": noop_notes(pipelines, specs, unchanged),
        "identical": [group for group in identical if len(group["pipelines"]) > 1],
    }


def unchanged_steps(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[int]]:
    """Per (backend, pipeline): the steps that left the image unchanged on every job that ran them."""
    found: dict[tuple[str, str], set[int]] = {}
    for record in records:
        steps = record.get("unchanged_steps")
        if record.get("status") != "ok" or not isinstance(steps, list):
            continue
        group = (str(record.get("backend")), str(record.get("pipeline")))
        found[group] = set(steps) if group not in found else found[group] & set(steps)
    return found


def effective_pipeline(spec: PipelineSpec, unchanged: set[int]) -> str:
    """The pipeline without the steps that changed nothing: what the engine's images depend on."""
    return str(PipelineSpec(tuple(step for index, step in enumerate(spec.steps) if index not in unchanged)))


def noop_notes(
    pipelines: Sequence[str], specs: Mapping[str, PipelineSpec], unchanged: Mapping[tuple[str, str], set[int]]
) -> list[str]:
    """One line per step setting that changed no image anywhere it ran, with the settings it equals."""
    changed: dict[str, bool] = {}  # step text -> whether it changed some image
    for (_, pipeline), indices in unchanged.items():
        spec = specs.get(pipeline)
        if spec is None:
            continue
        for index, step in enumerate(spec.steps):
            changed[str(step)] = changed.get(str(step), False) or index not in indices
    idle: dict[str, list[StepSpec]] = {}
    for spec in specs.values():
        for step in spec.steps:
            if changed.get(str(step)) is False and step not in idle.setdefault(step.name, []):
                idle[step.name].append(step)
    notes = []
    for name, steps in idle.items():
        texts = [str(step) for step in steps]
        if len(texts) == 1:
            notes.append(f"{texts[0]} changed no image: it is the same as leaving the {name} step out.")
        else:
            notes.append(
                f"{', '.join(texts[:-1])} and {texts[-1]} changed no image: the same as each other, "
                f"and as leaving the {name} step out."
            )
    return notes


def _parsed(pipelines: Sequence[str]) -> dict[str, PipelineSpec] | None:
    """Each pipeline parsed, or None if one is not pipeline notation this version reads."""
    from harness.errors import ConfigError

    try:
        return {text: parse_pipeline(text) for text in pipelines}
    except ConfigError:  # an old or hand-edited run folder: the report goes on without a grid
        return None


def _pipelines(run: RunData) -> list[str]:
    listed = [str(p) for p in run.info.pipelines]
    seen = [str(p) for p in dict.fromkeys(run.summary["pipeline"])] if "pipeline" in run.summary else []
    return list(dict.fromkeys([*listed, *seen]))


def parameter_values(spec: PipelineSpec) -> dict[str, str]:
    return {f"{step.name}.{key}": _text(value) for step in spec.steps for key, value in step.params}


def pipeline_axes(specs: Mapping[str, PipelineSpec], grid: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Parameters whose value differs between pipelines, each with its values in order."""
    points = [parameter_values(spec) for spec in specs.values()]
    keys = list(dict.fromkeys(key for point in points for key in point))
    ordered = [key for key in grid if key in keys] + [key for key in keys if key not in grid]
    axes = []
    for key in ordered:
        present = list(dict.fromkeys(point.get(key, ABSENT) for point in points))
        if len(present) < 2:
            continue
        declared = [_text(value) for value in grid.get(key, [])]
        axes.append((key, [v for v in declared if v in present] + [v for v in present if v not in declared]))
    # A parameter of a step not in every pipeline is an axis too ("—": the step is absent).
    return axes


def _identical_groups(
    backend: str,
    pipelines: Sequence[str],
    specs: Mapping[str, PipelineSpec],
    unchanged: Mapping[tuple[str, str], set[int]],
) -> dict[str, list[str]]:
    """Letters for sets of pipelines that gave this engine the same images (only when known)."""
    by_effect: dict[str, list[str]] = {}
    for pipeline in pipelines:
        if (backend, pipeline) not in unchanged:
            continue
        effect = effective_pipeline(specs[pipeline], unchanged[(backend, pipeline)])
        by_effect.setdefault(effect, []).append(pipeline)
    shared = [members for members in by_effect.values() if len(members) > 1]
    return {chr(ord("A") + index): members for index, members in enumerate(shared)}


def _cell(pipeline: str, row: Mapping[str, Any] | None, ranked_on: str, letter: str) -> Cell:
    if row is None:
        return Cell(pipeline, same_as=letter)
    cer = finite_or_none(row.get(ranked_on))
    if cer is None:
        cer = finite_or_none(row.get("micro_cer"))
    n = row.get("common_samples") if ranked_on == "cer_common" else row.get("scored")
    return Cell(
        pipeline,
        cer=cer,
        cer_low=finite_or_none(row.get("micro_cer_low")) if ranked_on == "micro_cer" else None,
        cer_high=finite_or_none(row.get("micro_cer_high")) if ranked_on == "micro_cer" else None,
        n=int(finite_or_none(n) or 0),
        pages_per_s=finite_or_none(row.get("pages_per_s")),
        speed_low=finite_or_none(row.get("pages_per_s_min")),
        speed_high=finite_or_none(row.get("pages_per_s_max")),
        comparable=bool(row.get("comparable", True)),
        same_as=letter,
    )


def _mark_best(cells: Iterable[Cell]) -> None:
    """The lowest CER, only among comparable cells that all stand on the same number of samples."""
    ranked = [cell for cell in cells if cell.cer is not None and cell.comparable]
    if len(ranked) < 2 or len({cell.n for cell in ranked}) != 1:
        return
    best = min(cell.cer for cell in ranked if cell.cer is not None)
    for cell in ranked:
        cell.best = cell.cer is not None and math.isclose(cell.cer, best, rel_tol=1e-9, abs_tol=1e-12)


_COLOURED = (("cer", "cer_colour", True), ("pages_per_s", "speed_colour", False))


def _colour(cells: Iterable[Cell]) -> None:
    cells = list(cells)
    for attribute, target, lower_is_better in _COLOURED:
        values = [getattr(cell, attribute) for cell in cells if getattr(cell, attribute) is not None]
        if not values:
            continue
        low, high = min(values), max(values)
        for cell in cells:
            value = getattr(cell, attribute)
            if value is None:
                continue
            share = 0.5 if high == low else (value - low) / (high - low)
            goodness = 1 - share if lower_is_better else share
            setattr(cell, target, _scale(goodness))


def _scale(goodness: float) -> str:
    """Light red (worst) through light yellow to light green (best): text stays readable on all."""
    hue = 5 + goodness * 115
    return f"hsl({hue:.0f}, 65%, 82%)"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def short_labels(
    groups: Sequence[tuple[str, str]], grid: Mapping[str, Any] | None = None
) -> dict[tuple[str, str], str]:
    """A label per (backend, pipeline) that names only what differs: the backend (when there are
    several) and the values of the parameters that vary, e.g. ``tesseract · max_side=1000, otsu``.

    A parameter is named without its step unless two steps share the name; a label two
    groups would share falls back to the full pipeline.
    """
    pipelines = list(dict.fromkeys(pipeline for _, pipeline in groups))
    specs = _parsed(pipelines)
    if specs is None:
        return {group: f"{group[0]} · {group[1]}" for group in groups}
    axes = [key for key, _ in pipeline_axes(specs, grid or {})]
    backends = list(dict.fromkeys(backend for backend, _ in groups))
    names = [key.rpartition(".")[2] for key in axes]
    labels = {}
    for backend, pipeline in groups:
        point = parameter_values(specs[pipeline])
        parts = []
        for key, name in zip(axes, names, strict=True):
            if key not in point:
                continue
            value = point[key]
            parts.append(f"{name if names.count(name) == 1 else key}={value}")
        short = ", ".join(parts) if axes else pipeline
        if axes and not parts:
            short = pipeline  # e.g. "none" beside binarize(method=otsu)
        labels[(backend, pipeline)] = f"{backend} · {short}" if len(backends) > 1 or not axes else short
    if len(set(labels.values())) < len(labels):
        return {group: f"{group[0]} · {group[1]}" for group in groups}
    return labels
