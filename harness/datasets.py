"""Labelled samples, the dataset formats that read them, and dataset-level checks.

A dataset format (registered through ``register_dataset_formats``) turns a path
into samples. A sample whose files are broken is still yielded, with
``problem`` set: it becomes a failed row, never a failed run.

Settings shared by every format live in an optional ``dataset.toml`` in the
dataset's folder (see ``DatasetSettings``); ``datasets/README.md`` documents
the formats.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import statistics
import tomllib
import unicodedata
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.errors import DatasetError, OcrHarnessError
from harness.hashing import file_sha256

if TYPE_CHECKING:
    from harness.plugins import Registry

SETTINGS_FILE = "dataset.toml"


@dataclass(frozen=True)
class Sample:
    """One page to read: an image (and page index in it) with its ground truth.

    ``ground_truth`` is None when the sample has none (it is still run and timed).
    ``problem`` names what is wrong with the sample's files, if anything, as a
    sentence that names the file; ``problem_file`` is that file, and
    ``problem_type`` the error class its row gets (by default ImageReadError
    when ``problem_file`` is the image, GroundTruthError for another file).
    """

    id: str
    image: Path
    page: int = 0
    ground_truth: str | None = None
    ground_truth_path: Path | None = None
    language: str = "en"
    tags: Mapping[str, Any] = field(default_factory=dict)
    dataset: str = ""
    problem: str | None = None
    problem_file: Path | None = None
    problem_type: str | None = None


@dataclass(frozen=True)
class DatasetSettings:
    """What ``dataset.toml`` says about a dataset; every key is optional.

    ``language`` is the language of every sample unless a format knows better
    (a manifest column). With ``language_from_stem``, a file stem's first
    underscore-separated token that is a known ISO 639-1 code gives the
    language (``page_de_0146`` is German); stems without one keep ``language``.
    ``tags`` are given to every sample (per-sample tags add to them).
    ``generator`` records how a synthetic dataset was made.
    """

    name: str | None = None
    description: str = ""
    language: str = "en"
    licence: str = ""
    language_from_stem: bool = False
    tags: Mapping[str, Any] = field(default_factory=dict)
    generator: Mapping[str, Any] = field(default_factory=dict)

    def language_for(self, stem: str) -> str:
        if self.language_from_stem:
            from harness.backends import LANGUAGES

            for token in stem.split("_"):
                if token in LANGUAGES:
                    return token
        return self.language


_SETTING_TYPES: Mapping[str, type] = {
    "name": str,
    "description": str,
    "language": str,
    "licence": str,
    "language_from_stem": bool,
    "tags": dict,
    "generator": dict,
}


def read_settings(root: Path, overrides: Mapping[str, Any] | None = None) -> DatasetSettings:
    """Read ``root/dataset.toml`` (if present), then apply ``overrides``.

    Unknown keys and wrong types are DatasetErrors naming the file (or the
    overrides) and the key: a typo in the settings must not pass silently.
    """
    path = root / SETTINGS_FILE
    values: dict[str, Any] = {}
    if path.is_file():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: not UTF-8", fix="re-save the file as UTF-8") from None
        except tomllib.TOMLDecodeError as error:
            raise DatasetError(f"{path}: not valid TOML ({error})") from None
        _validate_settings(values, str(path))
    _validate_settings(overrides or {}, f"dataset settings for {root}")
    return DatasetSettings(**{**values, **(overrides or {})})


def _validate_settings(values: Mapping[str, Any], source: str) -> None:
    for key, value in values.items():
        if key not in _SETTING_TYPES:
            close = difflib.get_close_matches(key, list(_SETTING_TYPES), n=1)
            raise DatasetError(
                f"{source}: unknown key {key!r}; known keys: {', '.join(_SETTING_TYPES)}",
                fix=f"did you mean {close[0]!r}?" if close else None,
            )
        if not isinstance(value, _SETTING_TYPES[key]):
            raise DatasetError(
                f"{source}: {key!r} must be a {_SETTING_TYPES[key].__name__}, "
                f"not {type(value).__name__} ({value!r})"
            )
    for key, value in values.get("tags", {}).items():
        if isinstance(value, (dict, list)):
            raise DatasetError(f"{source}: tag {key!r} must be a single value (text, number or boolean)")


class DatasetFormat(ABC):
    """Base class of dataset formats. Subclasses set ``name`` and ``description``.

    ``settings`` passed to the constructor override the dataset's own
    ``dataset.toml`` keys (a suite can set ``language`` for a folder it does
    not own).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.overrides: dict[str, Any] = dict(settings or {})

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> bool:
        """Whether ``path`` looks like a dataset of this format (cheap, no full read)."""

    @abstractmethod
    def samples(self, path: Path, *, allow_outside_root: bool = False) -> Iterator[Sample]:
        """Yield every sample, including broken ones (with ``problem`` set)."""

    def root(self, path: Path) -> Path:
        """The dataset's folder: referenced files must stay inside it."""
        return path if path.is_dir() else path.parent

    def settings(self, path: Path) -> DatasetSettings:
        return read_settings(self.root(path), self.overrides)


@dataclass
class Dataset:
    """A loaded dataset: every sample, broken ones included."""

    name: str
    root: Path
    format: str
    samples: list[Sample]
    metadata: dict[str, Any] = field(default_factory=dict)


def load_dataset(
    path: str | Path,
    *,
    format: str | None = None,
    allow_outside_root: bool = False,
    registry: Registry | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Dataset:
    """Load a dataset, detecting its format unless ``format`` names one.

    Raises DatasetError for a missing path, a format that cannot be detected or
    is unknown, unreadable settings, or a dataset without any sample. Problems
    of single samples never raise: those samples carry ``problem``.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if registry is None:
        from harness.plugins import get_registry

        registry = get_registry()
    formats = registry.formats()
    known = ", ".join(sorted(formats)) or "none"
    if format is None:
        matches = sorted(name for name, cls in formats.items() if cls.detect(path))
        if not matches:
            raise DatasetError(
                f"{path}: cannot tell which dataset format this is; known formats: {known}",
                fix="point at a folder of images with .gt.txt files, a manifest (.jsonl or .csv), "
                "or name the format explicitly",
            )
        if len(matches) > 1:
            raise DatasetError(
                f"{path}: several dataset formats could read this: {', '.join(matches)}",
                fix="name the format explicitly",
            )
        format = matches[0]
    elif format not in formats:
        raise DatasetError(f"unknown dataset format {format!r}; known formats: {known}")
    reader = formats[format](settings)
    dataset_settings = reader.settings(path)
    name = dataset_settings.name or _default_name(path)
    samples = [
        replace(sample, dataset=sample.dataset or name)
        for sample in reader.samples(path, allow_outside_root=allow_outside_root)
    ]
    if not samples:
        raise DatasetError(f"{path}: the {format} format found no samples here")
    metadata = {
        key: value
        for key, value in vars(dataset_settings).items()
        if value not in (None, "", {}) and key != "name"
    }
    return Dataset(name, reader.root(path), format, samples, metadata)


def _default_name(path: Path) -> str:
    path = path.resolve()
    if path.is_dir():
        return path.name
    # "manifest.jsonl" says nothing; its folder names the dataset.
    return path.parent.name if path.stem.lower() in ("manifest", "dataset", "index") else path.stem


# --- fingerprint --------------------------------------------------------------


def dataset_fingerprint(dataset: Dataset) -> str:
    """A sha256 hex digest that changes when any sample's id, page, image bytes or ground truth does.

    Samples are taken in id order, so the order files were found in does not
    matter. A missing image contributes ``null``.
    """
    digest = hashlib.sha256()
    file_hashes: dict[Path, str | None] = {}
    for sample in sorted(dataset.samples, key=lambda s: (s.id, s.page)):
        if sample.image not in file_hashes:
            file_hashes[sample.image] = _file_sha256(sample.image)
        record = [sample.id, sample.page, file_hashes[sample.image], sample.ground_truth]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


# --- check ---------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset. ``message`` names the file; errors fail ``datasets check``."""

    severity: str  # "error" or "warning"
    file: str
    message: str
    sample_id: str | None = None


def audit_dataset(dataset: Dataset, *, max_pixels: int | None = None) -> list[Problem]:
    """Every problem of every sample, found in one pass.

    Errors: a sample's load problem (bad ground truth, path outside the root,
    ...), an image that is missing, unreadable, damaged or over the pixel limit
    (each page is fully decoded), a duplicate sample id. Warnings: no ground
    truth, empty ground truth, a language code the harness does not know.
    """
    problems: list[Problem] = []
    first_with_id: dict[str, Sample] = {}
    files_checked: set[Path] = set()
    for sample in dataset.samples:
        first = first_with_id.setdefault(sample.id, sample)
        if first is not sample:
            message = f"{sample.image}: duplicate sample id {sample.id!r} (also {first.image})"
            problems.append(Problem("error", str(sample.image), message, sample.id))
        if sample.problem_file != sample.image and sample.image not in files_checked:
            # Every page of the file, not just the pages that are samples (a bomb hides on page 2).
            files_checked.add(sample.image)
            problems.extend(_file_problems(sample, max_pixels))
        problems.extend(_sample_problems(sample, max_pixels))
    unique: dict[tuple[str, str, str], Problem] = {}
    for problem in problems:  # a broken multi-page file is one problem, not one per page
        unique.setdefault((problem.severity, problem.file, problem.message), problem)
    return list(unique.values())


def _file_problems(sample: Sample, max_pixels: int | None) -> Iterator[Problem]:
    from harness.images import count_pages

    try:
        count_pages(sample.image, max_pixels=max_pixels)
    except OcrHarnessError as error:
        yield Problem("error", str(sample.image), str(error), sample.id)


def _sample_problems(sample: Sample, max_pixels: int | None) -> Iterator[Problem]:
    from harness.backends import LANGUAGES
    from harness.images import load_page

    def problem(severity: str, file: Path | None, message: str) -> Problem:
        return Problem(severity, str(file or sample.image), message, sample.id)

    if sample.problem:
        yield problem("error", sample.problem_file, sample.problem)
    # A refused image (outside the root) is never opened.
    if sample.problem_file != sample.image:
        try:
            load_page(sample.image, sample.page, max_pixels=max_pixels).close()
        except OcrHarnessError as error:
            yield problem("error", sample.image, str(error))
        except Exception as error:  # noqa: BLE001 - report any decoder failure, keep checking
            message = f"{sample.image}: cannot be decoded ({type(error).__name__}: {error})"
            yield problem("error", sample.image, message)
    if sample.ground_truth is None and not sample.problem:
        message = f"{sample.image}: no ground truth (the sample is run and timed, but not scored)"
        yield problem("warning", sample.image, message)
    elif sample.ground_truth is not None and not sample.ground_truth.strip():
        message = f"{sample.ground_truth_path or sample.id}: ground truth is empty"
        yield problem("warning", sample.ground_truth_path, message)
    if sample.language not in LANGUAGES:
        yield problem("warning", sample.image, f"{sample.image}: unknown language code {sample.language!r}")


# --- info ----------------------------------------------------------------------


def describe_dataset(dataset: Dataset) -> dict[str, Any]:
    """Counts and distributions for ``datasets info``: samples, languages, characters, sizes, DPI."""
    texts = [
        unicodedata.normalize("NFC", s.ground_truth) for s in dataset.samples if s.ground_truth is not None
    ]
    charset = Counter(char for text in texts for char in text if char not in "\n\r")
    widths: list[int] = []
    heights: list[int] = []
    dpis: list[float] = []
    unreadable = no_dpi = 0
    for sample in dataset.samples:
        header = _image_header(sample.image, sample.page)
        if header is None:
            unreadable += 1
            continue
        (width, height), dpi = header
        widths.append(width)
        heights.append(height)
        if dpi:
            dpis.append(dpi)
        else:
            no_dpi += 1
    tag_values: dict[str, set[str]] = {}
    for sample in dataset.samples:
        for key, value in sample.tags.items():
            tag_values.setdefault(key, set()).add(json.dumps(value, ensure_ascii=False))
    return {
        "name": dataset.name,
        "format": dataset.format,
        "root": str(dataset.root),
        "samples": len(dataset.samples),
        "image_files": len({s.image for s in dataset.samples}),
        "with_ground_truth": len(texts),
        "with_problems": sum(1 for s in dataset.samples if s.problem),
        "languages": dict(sorted(Counter(s.language for s in dataset.samples).items())),
        "characters": sum(charset.values()),
        "ground_truth_lines": sum(len(text.splitlines()) for text in texts),
        "distinct_characters": len(charset),
        "non_ascii_characters": "".join(sorted(c for c in charset if ord(c) > 127)),
        "image_width": _spread(widths),
        "image_height": _spread(heights),
        "dpi": {**_spread(dpis), "missing": no_dpi},
        "unreadable_images": unreadable,
        "tags": {key: len(values) for key, values in sorted(tag_values.items())},
        "metadata": dataset.metadata,
        "fingerprint": dataset_fingerprint(dataset),
    }


def _spread(values: list[float] | list[int]) -> dict[str, float | None]:
    if not values:
        return {"min": None, "median": None, "max": None}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def _image_header(path: Path, page: int) -> tuple[tuple[int, int], float | None] | None:
    """Size and DPI of one page read from the file header (no decoding), or None if unreadable."""
    from harness.images import image_header

    try:
        return image_header(path, page)
    except OcrHarnessError:
        return None
