"""From one image file to its samples: one per page, with the ground truth found beside it.

Shared by the ``folder`` and ``image`` formats. Beside ``scan.tif`` the ground
truth is, in this order: ``scan.gt.txt``, ``scan.page.xml``, ``scan.alto.xml``,
``scan.xml`` (PAGE or ALTO). A multi-page TIFF or PDF gives one sample per page, with
ground truth from ``scan.pageN.gt.txt`` (N from 1) or from ``scan.gt.txt``
holding the pages separated by form feeds (``\\f``). Per-sample tags come from
``scan.tags.json`` (a JSON object of single values), added to the dataset's tags.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.datasets import DatasetSettings, Sample
from harness.errors import GroundTruthError, ImageReadError

from .groundtruth import read_ground_truth, read_text, sniff_xml_kind

#: Scanned PDFs count as images: each page is rendered (harness.pdf_pages) and is a sample.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".bmp", ".pdf")
MULTIPAGE_SUFFIXES = (".tif", ".tiff", ".pdf")
TAGS_SUFFIX = ".tags.json"

# One page's ground truth: text, the file it came from, and what is wrong with it.
PageTruth = tuple[str | None, Path | None, str | None]


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_samples(image: Path, root: Path, settings: DatasetSettings) -> Iterator[Sample]:
    """The samples of one image file; ids are paths relative to ``root`` without the suffix."""
    folder = image.parent
    stem = image.name[: -len(image.suffix)]
    sample_id = image.relative_to(root).with_name(stem).as_posix()
    tags_file = folder / f"{stem}{TAGS_SUFFIX}"
    tags, tags_problem = read_tags(tags_file, settings.tags)
    pages = _page_count(image)
    truths = _page_truths(folder, stem, pages, image) if pages > 1 else [_single_truth(folder, stem)]
    for index, (text, truth_path, truth_problem) in enumerate(truths):
        problems = [(p, f) for p, f in ((truth_problem, truth_path), (tags_problem, tags_file)) if p]
        yield Sample(
            id=sample_id if pages == 1 else f"{sample_id}#p{index + 1}",
            image=image,
            page=index,
            ground_truth=text,
            ground_truth_path=truth_path,
            language=settings.language_for(stem),
            tags=tags,
            problem="; ".join(p for p, _ in problems) or None,
            problem_file=problems[0][1] if problems else None,
        )


def find_ground_truth(folder: Path, stem: str) -> Path | None:
    """The ground-truth file beside an image, by the order in the module docstring."""
    for suffix in (".gt.txt", ".page.xml", ".alto.xml"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    candidate = folder / f"{stem}.xml"
    # A bare .xml beside an image may be anything (METS, a tool's settings): only PAGE or ALTO counts.
    if candidate.is_file() and sniff_xml_kind(candidate) is not None:
        return candidate
    return None


def read_tags(path: Path, defaults: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The dataset's tags updated with a sidecar tags file, and the problem with that file if any."""
    if not path.is_file():
        return dict(defaults), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return dict(defaults), f"{path}: not valid UTF-8 JSON ({error})"
    if not isinstance(data, dict) or any(isinstance(value, (dict, list)) for value in data.values()):
        return dict(defaults), f"{path}: must be a JSON object whose values are text, numbers or booleans"
    return {**defaults, **data}, None


def _single_truth(folder: Path, stem: str) -> PageTruth:
    path = find_ground_truth(folder, stem)
    if path is None:
        return None, None, None
    try:
        return read_ground_truth(path), path, None
    except GroundTruthError as error:
        return None, path, str(error)


def _page_truths(folder: Path, stem: str, pages: int, image: Path) -> list[PageTruth]:
    per_page = [folder / f"{stem}.page{number}.gt.txt" for number in range(1, pages + 1)]
    if any(path.is_file() for path in per_page):
        return [_read_page_file(path) for path in per_page]
    whole = folder / f"{stem}.gt.txt"
    if not whole.is_file():
        return [(None, None, None)] * pages
    try:
        text = read_text(whole)
    except GroundTruthError as error:
        return [(None, whole, str(error))] * pages
    parts = text.split("\f")
    if len(parts) == pages + 1 and not parts[-1].strip():
        parts.pop()  # a form feed after the last page
    if len(parts) != pages:
        problem = (
            f"{whole}: holds {len(parts)} page(s) separated by form feeds, but {image} has {pages} pages"
        )
        return [(None, whole, problem)] * pages
    # The form feed may stand on a line of its own: that newline belongs to no page.
    return [
        (part if index == 0 else part.removeprefix("\n"), whole, None) for index, part in enumerate(parts)
    ]


def _read_page_file(path: Path) -> PageTruth:
    if not path.is_file():
        return None, None, None
    try:
        return read_text(path), path, None
    except GroundTruthError as error:
        return None, path, str(error)


def _page_count(image: Path) -> int:
    if image.suffix.lower() not in MULTIPAGE_SUFFIXES:
        return 1
    from harness.images import count_pages

    try:
        return count_pages(image)
    except ImageReadError:
        return 1  # `datasets check` and the run report the image itself
