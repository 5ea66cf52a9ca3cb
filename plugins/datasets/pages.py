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
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.datasets import DatasetSettings, Sample
from harness.errors import GroundTruthError, ImageReadError
from harness.files import kind_of, printable_path, read_regular_bytes

from .groundtruth import read_ground_truth, read_text, sniff_xml_kind
from .paths import outside_root

#: Scanned PDFs count as images: each page is rendered (harness.pdf_pages) and is a sample.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".bmp", ".pdf")
TAGS_SUFFIX = ".tags.json"

# One page's ground truth: text, the file it came from, and what is wrong with it.
PageTruth = tuple[str | None, Path | None, str | None]


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_samples(
    image: Path,
    root: Path,
    settings: DatasetSettings,
    *,
    allow_outside_root: bool = False,
    image_in_root: bool = True,
) -> Iterator[Sample]:
    """The samples of one image file; ids are paths relative to ``root`` without the suffix.

    Files beside the image (ground truth, tags) that are links resolving outside
    ``root`` are refused unless ``allow_outside_root``; so is the image itself
    when ``image_in_root`` (the ``image`` format names its file on purpose). A
    refused or non-regular image gives one sample with the problem, and no file
    of it is read.
    """
    folder = image.parent
    stem = image.name[: -len(image.suffix)]
    sample_id = image.relative_to(root).with_name(stem).as_posix()
    language = settings.language_for(stem)
    refuse = (lambda path, what: None) if allow_outside_root else _outside(root)
    image_problem = _not_regular(image, "image") or (refuse(image, "image") if image_in_root else None)
    if image_problem:
        yield Sample(
            sample_id,
            image,
            language=language,
            tags=dict(settings.tags),
            problem=image_problem,
            problem_file=image,
            problem_type="ImageReadError",
        )
        return
    tags_file = folder / f"{stem}{TAGS_SUFFIX}"
    tags_problem = refuse(tags_file, "tags file") if tags_file.exists() else None
    tags, read_problem = (dict(settings.tags), None) if tags_problem else read_tags(tags_file, settings.tags)
    tags_problem = tags_problem or read_problem
    pages = _page_count(image)
    truths = (
        _page_truths(folder, stem, pages, image, refuse)
        if pages > 1
        else [_single_truth(folder, stem, refuse)]
    )
    for index, (text, truth_path, truth_problem) in enumerate(truths):
        problems = [(p, f) for p, f in ((truth_problem, truth_path), (tags_problem, tags_file)) if p]
        yield Sample(
            id=sample_id if pages == 1 else f"{sample_id}#p{index + 1}",
            image=image,
            page=index,
            ground_truth=text,
            ground_truth_path=truth_path,
            language=language,
            tags=tags,
            problem="; ".join(p for p, _ in problems) or None,
            problem_file=problems[0][1] if problems else None,
        )


def misnamed_sample(path: Path, root: Path) -> Sample | None:
    """A refused sample for a file whose name is not UTF-8 (it could be stored in no report), else None.

    The sample names the file with its undecodable bytes escaped (``caf\\xe9.png``).
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = Path(printable_path(path))
        relative = Path(printable_path(path.relative_to(root)))
        return Sample(
            relative.as_posix(),
            shown,
            problem=f"{shown}: the file name is not UTF-8; refused (fix: rename the file)",
            problem_file=shown,
            problem_type="InputError",
        )
    return None


# Checks a file beside an image against the dataset root: (path, what) -> problem or None.
Refuse = Callable[[Path, str], "str | None"]


def _outside(root: Path) -> Refuse:
    def refuse(path: Path, what: str) -> str | None:
        problem = outside_root(path, root, what=what)
        return f"{path}: {problem}" if problem else None

    return refuse


def _not_regular(path: Path, what: str) -> str | None:
    """A problem sentence for a path that is not a regular file (FIFO, device, socket, dangling link)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        return f"{path}: the {what} cannot be read ({error.strerror})"
    if stat.S_ISREG(mode):
        return None
    return f"{path}: the {what} is {kind_of(mode)}, not a regular file; refused"


def find_ground_truth(folder: Path, stem: str) -> Path | None:
    """The ground-truth file beside an image, by the order in the module docstring.

    Anything with the name counts (a FIFO too), so a file that cannot be read is
    reported rather than silently ignored.
    """
    for suffix in (".gt.txt", ".page.xml", ".alto.xml"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists() and not candidate.is_dir():
            return candidate
    candidate = folder / f"{stem}.xml"
    # A bare .xml beside an image may be anything (METS, a tool's settings): only PAGE or ALTO counts.
    if candidate.is_file() and sniff_xml_kind(candidate) is not None:
        return candidate
    return None


def read_tags(path: Path, defaults: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The dataset's tags updated with a sidecar tags file, and the problem with that file if any."""
    if not path.exists():
        return dict(defaults), None
    try:
        data = json.loads(read_regular_bytes(path).decode("utf-8"))
    except OSError as error:
        return dict(defaults), f"{path}: cannot be read ({error.strerror})"
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return dict(defaults), f"{path}: not valid UTF-8 JSON ({error})"
    if not isinstance(data, dict) or any(isinstance(value, (dict, list)) for value in data.values()):
        return dict(defaults), f"{path}: must be a JSON object whose values are text, numbers or booleans"
    return {**defaults, **data}, None


def _single_truth(folder: Path, stem: str, refuse: Refuse) -> PageTruth:
    path = find_ground_truth(folder, stem)
    if path is None:
        return None, None, None
    return _read_truth(path, refuse, read_ground_truth)


def _page_truths(folder: Path, stem: str, pages: int, image: Path, refuse: Refuse) -> list[PageTruth]:
    per_page = [folder / f"{stem}.page{number}.gt.txt" for number in range(1, pages + 1)]
    if any(path.exists() for path in per_page):
        return [
            _read_truth(path, refuse, read_text) if path.exists() else (None, None, None) for path in per_page
        ]
    whole = folder / f"{stem}.gt.txt"
    if not whole.exists():
        return [(None, None, None)] * pages
    text, _, problem = _read_truth(whole, refuse, read_text)
    if text is None:
        return [(None, whole, problem)] * pages
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


def _read_truth(path: Path, refuse: Refuse, read: Callable[[Path], str]) -> PageTruth:
    """A ground-truth file's text, unless it is a link out of the dataset or cannot be read."""
    problem = refuse(path, "ground truth")
    if problem:
        return None, path, problem
    try:
        return read(path), path, None
    except GroundTruthError as error:
        return None, path, str(error)


def _page_count(image: Path) -> int:
    from harness.images import count_pages

    try:
        # Each page meets the pixel limit when it is loaded: an oversized page is a row of its own.
        return count_pages(image, check_size=False)
    except ImageReadError:
        return 1  # `datasets check` and the run report the image itself
