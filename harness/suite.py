"""Suites: which datasets, backends and pipelines to run, how to score them, where to write.

A suite is a TOML file (see ``suites/`` and docs/run-folder.md) or the same thing
built from command-line flags (:func:`suite_from_args`). Either way it goes
through one validation that checks everything checkable before any OCR starts:
unknown keys (with a suggestion), bad values, unknown backends and steps, bad
backend options, missing datasets, languages a backend cannot read when asked
for explicitly, and backends that cannot run here. All problems are collected
and raised as one ConfigError, each line starting with its key path
(``backends[1].options.psm``; list indices count from 0).

Pipelines come from ``pipelines`` (a list in ``a(x=1)|b`` notation) and from
``[grid]``, whose cartesian product is expanded: ``"step.param" = [values]``
keys give the step that parameter, steps in the order their first key is
written; a ``"step" = [true, false]`` key includes the step or leaves it out.
Every value is used as written: ``"binarize.method" = ["none", "otsu"]`` gives
``binarize(method=none)``, which is a real step that changes nothing.
"""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.backends import BackendSpec
from harness.defaults import DEFAULT_BACKEND
from harness.errors import ConfigError, OcrHarnessError
from harness.metrics import Normalisation, resolve_profile
from harness.options import parse_option_flags
from harness.pipeline import EMPTY_PIPELINE, MAX_PIPELINES, build_pipeline, expand_grid, parse_pipeline
from harness.thresholds import CheckConfig, Thresholds  # the gate's schema, without the gate
from harness.validation import error_list, format_errors, suggest, validate, validate_section

if typing.TYPE_CHECKING:
    from harness.datasets import Dataset
    from harness.plugins import Registry

DEFAULT_TIMEOUT = 300.0
DEFAULT_OUTPUT = "reports"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # always fullmatch: "$" allows a final newline


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Strict):
    path: str = Field(description="dataset folder or manifest, relative to the suite file")
    format: str | None = Field(None, description="dataset format name; detected when omitted")
    language: str | None = Field(None, description="language of every sample, overriding the dataset's")
    allow_outside_root: bool = Field(
        False, description="read files outside the dataset folder (manifest paths, links leading out)"
    )


class BackendConfig(_Strict):
    name: str
    label: str | None = Field(None, description="name in reports; needed when a backend appears twice")
    options: dict[str, Any] = Field(default_factory=dict)
    language: str | None = Field(None, description="read every sample in this language")
    thresholds: Thresholds | None = None


class MetricsConfig(_Strict):
    normalisation: str | list[str] = Field("nfc-ws", description="profile name, 'a+b', or a list")
    failure_policy: Literal["exclude", "count_as_cer_1"] = "exclude"


class RunConfig(_Strict):
    jobs: int | None = Field(None, ge=1, description="worker processes; default: one per core")
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0, description="seconds per job before its worker is stopped")
    output: str = Field(DEFAULT_OUTPUT, description="folder run folders are written under")
    serial: bool = Field(False, description="run in this process, one job at a time (debugging)")
    executor: Literal["local", "dask"] = Field("local", description="local worker processes, or Dask")
    scheduler: str | None = Field(
        None, pattern=r"^(tcp|tls|inproc|ucx|ws|wss)://.+", description="a Dask scheduler (tcp://HOST:PORT)"
    )
    shared_storage: bool = Field(False, description="Dask workers see the datasets: send paths, not bytes")
    cache: bool = Field(True, description="reuse outcomes from the result cache (false: run every job)")
    refresh: bool = Field(False, description="run every job and overwrite its cached outcome")
    rounds: int = Field(1, ge=1, description="timed rounds, groups interleaved; accuracy from round 1")
    max_image_pixels: int | None = Field(
        None, ge=1, description="pixel limit per page (default: OCR_HARNESS_MAX_IMAGE_PIXELS or 89,478,485)"
    )


Scalar = Union[str, int, float, bool]  # noqa: UP007 (pydantic needs a runtime union here)


class SuiteConfig(_Strict):
    """The whole suite file; sections are validated one by one so every error is found at once."""

    name: str | None = None
    datasets: list[dict[str, Any]] = Field(min_length=1)
    backends: list[dict[str, Any]] = Field(min_length=1)
    pipelines: list[str] = Field(default_factory=list)
    grid: dict[str, list[Scalar]] = Field(default_factory=dict)
    metrics: MetricsConfig = Field(default_factory=lambda: MetricsConfig.model_validate({}))
    run: RunConfig = Field(default_factory=lambda: RunConfig.model_validate({}))
    check: dict[str, Any] | None = None


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset of the suite, loaded."""

    config: DatasetConfig
    path: Path
    dataset: Dataset
    fingerprint: str


@dataclass(frozen=True)
class BackendEntry:
    """A backend of the suite: its class, options as written, and the name reports use."""

    index: int
    label: str
    spec: BackendSpec
    backend_class: Any
    resolved_options: dict[str, Any]
    version: str
    language: str | None = None
    thresholds: Thresholds | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class Suite:
    """A validated suite, ready to plan: everything in it has been checked."""

    name: str
    source: Path | None
    datasets: list[DatasetEntry]
    backends: list[BackendEntry]
    pipelines: list[str]
    profile: Normalisation
    failure_policy: str
    run: RunConfig
    check: dict[str, Any] | None = None
    plugin_modules: tuple[str, ...] = ()
    grid: dict[str, list[Any]] = field(default_factory=dict)

    def resolved_config(self) -> dict[str, Any]:
        """The fully resolved suite, as recorded in run.json."""
        return {
            "name": self.name,
            "source": str(self.source) if self.source else None,
            "datasets": [
                {**entry.config.model_dump(), "path": str(entry.path), "name": entry.dataset.name}
                for entry in self.datasets
            ],
            "backends": [
                {
                    "name": entry.name,
                    "label": entry.label,
                    "options": entry.spec.options_dict,
                    "resolved_options": entry.resolved_options,
                    "language": entry.language,
                    "thresholds": entry.thresholds.model_dump() if entry.thresholds else None,
                }
                for entry in self.backends
            ],
            "pipelines": list(self.pipelines),
            "grid": self.grid,
            "metrics": {"normalisation": self.profile.id, "failure_policy": self.failure_policy},
            "run": self.run.model_dump(),
            "check": self.check,
            "plugins": list(self.plugin_modules),
        }


# --- entry points ----------------------------------------------------------------


def load_suite(path: str | Path, registry: Registry, *, overrides: Mapping[str, Any] | None = None) -> Suite:
    """Read and validate a suite file. ``overrides`` replace ``[run]`` keys (command-line flags)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such suite file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the suite file: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    if overrides:
        run = dict(data.get("run") or {}) if isinstance(data.get("run", {}), dict) else {}
        run.update(overrides)
        data["run"] = run
    data.setdefault("name", path.stem)
    return build_suite(data, base_dir=path.parent, source=path, registry=registry, where=str(path))


def suite_from_args(
    datasets: Sequence[str],
    registry: Registry,
    *,
    backends: Sequence[str] = (),
    pipelines: Sequence[str] = (),
    options: Sequence[str] = (),
    name: str | None = None,
    run: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    allow_outside_root: bool = False,
) -> Suite:
    """The suite an ad hoc ``ocr-harness run DATASET --backend ...`` describes."""
    backend_names = list(backends) or [DEFAULT_BACKEND]
    options_by_backend, errors = parse_option_flags(options, backend_names)
    if errors:
        raise ConfigError(error_list("the command line", errors))
    backend_tables: list[dict[str, Any]] = [
        {"name": backend, "options": dict(options_by_backend[backend])} for backend in backend_names
    ]
    default_name = name or _safe_name(Path(datasets[0]).resolve().name if datasets else "run")
    data: dict[str, Any] = {
        "name": default_name,
        "datasets": [
            {"path": str(path), **({"allow_outside_root": True} if allow_outside_root else {})}
            for path in datasets
        ],
        "backends": backend_tables,
        "pipelines": list(pipelines) or [EMPTY_PIPELINE],
        "run": dict(run or {}),
        "metrics": dict(metrics or {}),
    }
    return build_suite(data, base_dir=Path.cwd(), source=None, registry=registry, where="the command line")


def build_suite(
    data: Mapping[str, Any], *, base_dir: Path, source: Path | None, registry: Registry, where: str
) -> Suite:
    """Validate suite data (as parsed from TOML); one ConfigError lists every problem."""
    errors: list[str] = []
    top = validate(SuiteConfig, data, "", errors)
    raw_datasets = _list(data.get("datasets"))
    raw_backends = _list(data.get("backends"))
    metrics = top.metrics if top else validate_section(MetricsConfig, data, "metrics")
    run = top.run if top else validate_section(RunConfig, data, "run")
    if run is not None:
        if run.scheduler and run.executor != "dask":
            errors.append('run.scheduler: a scheduler is used only with executor = "dask"')
        if run.serial and run.executor == "dask":
            errors.append('run.serial: runs in this process, so it cannot be combined with executor = "dask"')

    name = (top.name if top else None) or "suite"
    if not _SAFE_NAME.fullmatch(name):
        errors.append(f"name: {name!r} is used in folder names: use letters, digits, '.', '_' and '-'")

    profile = None
    if metrics is not None:
        try:
            profile = resolve_profile(metrics.normalisation)
        except ConfigError as error:
            errors.append(f"metrics.normalisation: {error}")

    datasets = _validate_datasets(raw_datasets, base_dir, registry, errors)
    backends = _validate_backends(raw_backends, registry, errors)
    for entry in datasets:
        if entry.config.language is None:
            continue
        index = datasets.index(entry)
        for backend in backends:
            if backend.language is None:
                _validate_language(backend, entry.config.language, f"datasets[{index}].language", errors)

    raw_pipelines = data.get("pipelines")
    raw_grid = data.get("grid")
    pipeline_list = list(top.pipelines) if top else _list_of_str(raw_pipelines)
    grid = dict(top.grid) if top else (dict(raw_grid) if isinstance(raw_grid, dict) else {})
    pipelines = _validate_pipelines(pipeline_list, grid, registry, errors)
    if top is not None and top.check is not None:
        validate(CheckConfig, top.check, "check", errors)  # a typo fails here, before any OCR

    if errors or top is None or metrics is None or run is None or profile is None:
        raise ConfigError(error_list(where, errors or ["the suite is not valid"]))
    return Suite(
        name=name,
        source=source,
        datasets=datasets,
        backends=backends,
        pipelines=pipelines,
        profile=profile,
        failure_policy=metrics.failure_policy,
        run=run,
        check=top.check,
        plugin_modules=tuple(registry.plugin_modules),
        grid=grid,
    )


# --- sections ----------------------------------------------------------------------


def _validate_datasets(
    raw: list[Any], base_dir: Path, registry: Registry, errors: list[str]
) -> list[DatasetEntry]:
    from harness.datasets import dataset_fingerprint, load_dataset

    entries = []
    seen_names: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = f"datasets[{index}]"
        config = validate(DatasetConfig, item, where, errors)
        if config is None:
            continue
        path = (base_dir / config.path).resolve()
        if config.format is not None and config.format not in registry.dataset_formats:
            errors.append(
                f"{where}.format: unknown dataset format {config.format!r}"
                f"{suggest(config.format, registry.dataset_formats)}; "
                f"formats: {', '.join(sorted(registry.dataset_formats)) or 'none'}"
            )
            continue
        if config.language is not None and config.language not in _known_languages():
            errors.append(
                f"{where}.language: unknown language code {config.language!r}"
                f"{suggest(config.language, _known_languages())}; codes are ISO 639-1"
            )
            continue
        try:
            dataset = load_dataset(
                path, format=config.format, allow_outside_root=config.allow_outside_root, registry=registry
            )
            if config.language is not None:
                dataset.samples = [replace(sample, language=config.language) for sample in dataset.samples]
            fingerprint = dataset_fingerprint(dataset)
        except OcrHarnessError as error:
            errors.append(f"{where}.path: {error}")
            continue
        if dataset.name in seen_names:
            first = seen_names[dataset.name]
            errors.append(
                f"{where}.path: dataset name {dataset.name!r} is already used by datasets[{first}]; "
                "rows are told apart by dataset name"
            )
            continue
        seen_names[dataset.name] = index
        if not dataset.samples:
            errors.append(f"{where}.path: {path} holds no samples")
            continue
        entries.append(DatasetEntry(config, path, dataset, fingerprint))
    return entries


def _validate_backends(raw: list[Any], registry: Registry, errors: list[str]) -> list[BackendEntry]:
    entries = []
    for index, item in enumerate(raw):
        where = f"backends[{index}]"
        config = validate(BackendConfig, item, where, errors)
        if config is None:
            continue
        if config.name not in registry.backends:
            known = sorted(registry.backends)
            errors.append(
                f"{where}.name: unknown backend {config.name!r}{suggest(config.name, known)}; "
                f"registered backends: {', '.join(known) or 'none'}"
            )
            continue
        backend_class = registry.backend(config.name)
        availability = backend_class.availability()
        if not availability.ok:
            fix = f" (fix: {availability.fix})" if availability.fix else ""
            errors.append(
                f"{where}.name: backend {config.name!r} cannot run here: {availability.reason}{fix}"
            )
            continue
        options_ok = True
        resolved: dict[str, Any] = {}
        try:
            resolved = backend_class.Options(**config.options).model_dump(mode="json")
        except ValidationError as error:
            options_ok = False
            errors.extend(format_errors(error, f"{where}.options", backend_class.Options))
        except TypeError as error:
            options_ok = False
            errors.append(f"{where}.options: {error}")
        if config.language is not None and not _validate_language(
            backend_class, config.language, f"{where}.language", errors
        ):
            options_ok = False
        if not options_ok:
            continue
        spec = BackendSpec.of(config.name, config.options)
        entries.append(
            BackendEntry(
                index=index,
                label=config.label or "",
                spec=spec,
                backend_class=backend_class,
                resolved_options=resolved,
                version=backend_class.version(),
                language=config.language,
                thresholds=config.thresholds,
            )
        )
    return _label_backends(entries, errors)


def _label_backends(entries: list[BackendEntry], errors: list[str]) -> list[BackendEntry]:
    """Reports need one distinct name per backend entry: its label, its name, or name(options)."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.name] = counts.get(entry.name, 0) + 1
    labelled = []
    seen: dict[str, int] = {}
    for entry in entries:
        label = entry.label
        if not label:
            options = ",".join(f"{key}={value}" for key, value in entry.spec.options)
            label = entry.name if counts[entry.name] == 1 or not options else f"{entry.name}({options})"
        if label in seen:
            errors.append(
                f"backends[{entry.index}]: backends[{seen[label]}] already runs as {label!r}; "
                "give one of them different options or a label"
            )
            continue
        seen[label] = entry.index
        labelled.append(replace(entry, label=label))
    return labelled


def _validate_language(backend: Any, language: str, where: str, errors: list[str]) -> bool:
    backend_class = backend.backend_class if isinstance(backend, BackendEntry) else backend
    try:
        backend_class.engine_language(language)
    except OcrHarnessError as error:
        errors.append(f"{where}: {error}")
        return False
    return True


def _validate_pipelines(
    pipelines: list[str], grid: dict[str, list[Any]], registry: Registry, errors: list[str]
) -> list[str]:
    steps = registry.steps()
    result: list[str] = []
    candidates: list[tuple[str, str]] = [(f"pipelines[{i}]", text) for i, text in enumerate(pipelines)]
    try:
        candidates += [("grid", text) for text in expand_grid(grid)]
    except ConfigError as error:
        errors.append(str(error))
    distinct = len({text for _, text in candidates})
    if distinct > MAX_PIPELINES:
        errors.append(
            f"pipelines: {distinct:,} pipelines (list and grid), more than the limit of {MAX_PIPELINES:,}"
        )
        return []
    if not candidates:
        candidates = [("pipelines", EMPTY_PIPELINE)]
    reported: set[str] = set()
    seen: set[str] = set()  # a set, not the list: 10,000 pipelines check in linear time
    for where, text in candidates:
        try:
            canonical = str(parse_pipeline(text))
            build_pipeline(canonical, steps)
        except OcrHarnessError as error:
            message = f"{where}: {error}"
            if where != "grid" or message not in reported:  # one grid mistake shows in every combination
                errors.append(message if where != "grid" else f"{message} (in pipeline {text!r})")
                reported.add(message)
            continue
        if canonical not in seen:
            seen.add(canonical)
            result.append(canonical)
    return result


# --- small helpers ---------------------------------------------------------------------


def _safe_name(text: str) -> str:
    """A folder-name-safe version of a dataset's name, for ad hoc runs."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return cleaned if cleaned and _SAFE_NAME.fullmatch(cleaned) else "run"


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _list_of_str(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _known_languages() -> list[str]:
    from harness.backends import LANGUAGES

    return list(LANGUAGES)
