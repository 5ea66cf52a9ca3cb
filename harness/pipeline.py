"""Preprocessing pipelines: the Step base class and the ``a(x=1)|b`` notation.

A pipeline is written ``downscale(max_side=2000)|binarize(method=sauvola,window=31)``;
``none`` (or an empty string) is the empty pipeline. Parsing checks only the
notation; :func:`build_pipeline` checks names and parameters against the
registered steps, so errors name the step and list the valid choices.
:func:`expand_grid` turns a suite's ``[grid]`` table into pipelines.
"""

from __future__ import annotations

import itertools
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import ConfigError, UnknownStepError
from harness.options import parse_value
from harness.validation import describe_errors

if TYPE_CHECKING:
    from PIL import Image

EMPTY_PIPELINE = "none"
#: Most pipelines a suite may have (list and grid together); a bigger grid is refused before expansion.
MAX_PIPELINES = 10_000


class StepParams(BaseModel):
    """Base of every step's parameter model: unknown parameters are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(ABC):
    """One preprocessing step. Subclasses set ``name``, ``description`` and ``Params``.

    ``apply`` runs in worker processes and must return a new image (or the same
    one untouched); ``image.info["dpi"]`` carries the resolution where known.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[StepParams]] = StepParams

    def __init__(self, params: StepParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @abstractmethod
    def apply(self, image: Image.Image) -> Image.Image:
        """Return the preprocessed image."""


@dataclass(frozen=True)
class StepSpec:
    """A step as written: its name and parameters (values already typed)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        if not self.params:
            return self.name
        inner = ",".join(f"{key}={_format_value(value)}" for key, value in self.params)
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class PipelineSpec:
    """A parsed pipeline. ``str()`` gives its canonical text, used in keys and reports."""

    steps: tuple[StepSpec, ...] = ()

    def __str__(self) -> str:
        return "|".join(str(step) for step in self.steps) or EMPTY_PIPELINE


_STEP = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def parse_pipeline(text: str | PipelineSpec | None) -> PipelineSpec:
    """Parse ``a(x=1)|b`` notation. Raises UnknownStepError on bad syntax."""
    if isinstance(text, PipelineSpec):
        return text
    if text is None or text.strip() in ("", EMPTY_PIPELINE):
        return PipelineSpec()
    steps = []
    for part in text.split("|"):
        match = _STEP.match(part)
        if not match:
            raise UnknownStepError(
                f"cannot read pipeline step {part.strip()!r} in {text!r}",
                fix="write steps as name or name(key=value,...), joined by |",
            )
        name, inner = match.group(1), match.group(2)
        params: dict[str, Any] = {}
        items = [piece.strip() for piece in inner.split(",")] if inner and inner.strip() else []
        for item in items:
            key, sep, raw = item.partition("=")
            key, raw = key.strip(), raw.strip()
            if not sep or not key or not raw:
                raise UnknownStepError(
                    f"cannot read parameter {item!r} of step {name!r} in {text!r}",
                    fix="write parameters as key=value, separated by single commas",
                )
            if key in params:
                raise UnknownStepError(
                    f"parameter {key!r} of step {name!r} is given twice in {text!r}", fix="give it once"
                )
            try:
                params[key] = _step_value(parse_value(raw))
            except ValueError as error:
                raise UnknownStepError(f"parameter {key!r} of step {name!r} in {text!r}: {error}") from None
        steps.append(StepSpec(name, tuple(sorted(params.items()))))
    return PipelineSpec(tuple(steps))


def pipeline_from_mapping(steps: Sequence[Mapping[str, Any] | str]) -> PipelineSpec:
    """Build a spec from TOML-style data: ``[{step="downscale", max_side=2000}, "grayscale"]``."""
    specs: list[StepSpec] = []
    for item in steps:
        if isinstance(item, str):
            specs.extend(parse_pipeline(item).steps)
            continue
        params = dict(item)
        name = params.pop("step", None)
        if not isinstance(name, str):
            raise UnknownStepError(f"pipeline step {dict(item)!r} has no 'step' name")
        try:
            canonical = {key: _step_value(value) for key, value in params.items()}
        except ValueError as error:
            raise UnknownStepError(f"pipeline step {dict(item)!r}: {error}") from None
        specs.append(StepSpec(name, tuple(sorted(canonical.items()))))
    return PipelineSpec(tuple(specs))


def build_pipeline(spec: PipelineSpec | str | None, steps: Mapping[str, type[Step]]) -> list[Step]:
    """Instantiate a pipeline against the registered steps, validating names and parameters."""
    built = []
    for step_spec in parse_pipeline(spec).steps:
        step_class = steps.get(step_spec.name)
        if step_class is None:
            valid = ", ".join(sorted(steps)) or "none registered"
            raise UnknownStepError(
                f"unknown preprocessing step {step_spec.name!r}; valid steps: {valid}",
                fix="run 'ocr-harness plugins' to see every step and its parameters",
            )
        try:
            params = step_class.Params(**dict(step_spec.params))
        except ValidationError as error:
            raise UnknownStepError(
                f"bad parameters for step {step_spec.name!r}: {describe_errors(error, step_class.Params)}; "
                f"valid parameters: {describe_params(step_class.Params)}"
            ) from None
        built.append(step_class(params))
    return built


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    """Every pipeline of a ``[grid]`` table, in the order the keys and values are written."""
    if not grid:
        return []
    axes: list[tuple[str, str | None, list[Any]]] = []
    for key, values in grid.items():
        where = f'grid."{key}"'
        step, _, param = key.partition(".")
        if not step or (param == "" and "." in key):
            raise ConfigError(f"{where}: keys are 'step.parameter' (or 'step' with [true, false])")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: give a non-empty list of values")
        if not param and not all(isinstance(value, bool) for value in values):
            raise ConfigError(
                f"{where}: a key without a parameter takes [true, false] (include the step or not)"
            )
        axes.append((step, param or None, list(values)))
    count = math.prod(len(values) for _, _, values in axes)
    if count > MAX_PIPELINES:
        sizes = " x ".join(str(len(values)) for _, _, values in axes)
        raise ConfigError(
            f"grid: {sizes} = {count:,} pipelines, more than the limit of {MAX_PIPELINES:,}",
            fix="grid fewer values at once (each pipeline is a full pass over every dataset)",
        )
    step_order: list[str] = []
    for axis_step, _, _ in axes:
        if axis_step not in step_order:
            step_order.append(axis_step)
    pipelines = []
    for combination in itertools.product(*(values for _, _, values in axes)):
        params: dict[str, list[str]] = {step: [] for step in step_order}
        included = dict.fromkeys(step_order, True)
        for (name, parameter, _), value in zip(axes, combination, strict=True):
            if parameter is None:
                included[name] = included[name] and bool(value)
            else:
                params[name].append(f"{parameter}={_format_value(value)}")
        parts = [
            f"{step}({','.join(params[step])})" if params[step] else step
            for step in step_order
            if included[step]
        ]
        pipelines.append(str(parse_pipeline("|".join(parts))))
    return pipelines


def apply_pipeline(image: Image.Image, steps: Sequence[Step]) -> Image.Image:
    """Run the steps in order, keeping the resolution info steps may drop."""
    dpi = image.info.get("dpi")
    for step in steps:
        image = step.apply(image)
        if dpi is not None and "dpi" not in image.info:
            image.info["dpi"] = dpi
    return image


def describe_params(params: type[BaseModel]) -> str:
    """'name: type = default (description)' for every field, for errors and ``plugins``."""
    parts = []
    for name, field in params.model_fields.items():
        default = "" if field.is_required() else f" = {field.default!r}"
        help_text = f" ({field.description})" if field.description else ""
        parts.append(f"{name}: {type_name(field.annotation)}{default}{help_text}")
    return "; ".join(parts) or "none"


def type_name(annotation: Any) -> str:
    """A field type as users write values: ``int | None``, ``otsu|sauvola|none``."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "|".join(str(choice) for choice in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _step_value(value: Any) -> Any:
    """A parameter value made canonical: ``3.0`` is ``3``, so one pipeline has one text and one job key.

    Raises ValueError for infinities and NaN, written as numbers or as words.
    """
    if isinstance(value, str) and value.strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
        raise ValueError(f"{value} is not a finite number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
