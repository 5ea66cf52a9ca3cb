"""The ``manifest`` format: a JSONL or CSV file listing the samples.

Columns (JSONL keys): ``image`` (required), ``ground_truth`` (the text) or
``ground_truth_path`` (a .gt.txt, PAGE-XML or ALTO file), ``language``,
``page`` (1 = the first page of a multi-page file), ``id``, ``tags`` (a JSON
object; in CSV also ``tag.NAME`` columns). Paths are relative to the manifest's
folder, which is the dataset's root: a path that resolves outside it is refused
unless ``allow_outside_root``. In CSV an empty cell means "not given".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.datasets import DatasetFormat, DatasetSettings, Sample
from harness.errors import DatasetError, GroundTruthError
from harness.files import read_regular_bytes

from .groundtruth import read_ground_truth
from .paths import resolve_reference

COLUMNS = ("image", "ground_truth", "ground_truth_path", "language", "page", "id", "tags")
TAG_PREFIX = "tag."

# One manifest row: where it is ("manifest.csv line 4"), its fields, and what is wrong with it.
Row = tuple[str, dict[str, Any], str | None]


class ManifestFormat(DatasetFormat):
    name = "manifest"
    description = (
        "a JSONL or CSV file, one row per sample: image, ground_truth or ground_truth_path, "
        "language, page, id, tags"
    )

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in (".jsonl", ".csv")

    def samples(self, path: Path, *, allow_outside_root: bool = False) -> Iterator[Sample]:
        if not path.is_file():
            raise DatasetError(
                f"{path}: the manifest format needs a .jsonl or .csv file, and this is a folder"
            )
        settings = self.settings(path)
        try:
            text = read_regular_bytes(path).decode("utf-8-sig")
        except OSError as error:
            raise DatasetError(f"{path}: cannot be read ({error.strerror})") from None
        except UnicodeDecodeError as error:
            raise DatasetError(
                f"{path}: not UTF-8 (byte offset {error.start})", fix="re-save it as UTF-8"
            ) from None
        rows = _csv_rows(path, text) if path.suffix.lower() == ".csv" else _jsonl_rows(path, text)
        for where, row, problem in rows:
            yield _sample(path, where, row, problem, settings, allow_outside_root)


def _jsonl_rows(path: Path, text: str) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            yield where, {}, f"{where}: not valid JSON ({error.msg} at column {error.colno})"
            continue
        if not isinstance(row, dict):
            yield where, {}, f"{where}: must be a JSON object, not {type(row).__name__}"
            continue
        unknown = [key for key in row if key not in COLUMNS]
        problem = f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(COLUMNS)}"
        yield where, row, problem if unknown else None


def _csv_rows(path: Path, text: str) -> Iterator[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if "image" not in header:
        raise DatasetError(
            f"{path}: the header has no 'image' column (it has: {', '.join(header) or 'nothing'})"
        )
    unknown = [name for name in header if name not in COLUMNS and not name.startswith(TAG_PREFIX)]
    if unknown:
        raise DatasetError(
            f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(COLUMNS)} and {TAG_PREFIX}NAME"
        )
    for cells in reader:
        where = f"{path} line {reader.line_num}"
        row: dict[str, Any] = {}
        tags: dict[str, Any] = {}
        problem = None
        for name, cell in cells.items():
            if name is None or cell is None:
                problem = f"{where}: the row has a different number of cells than the header"
            elif cell == "":
                continue
            elif name.startswith(TAG_PREFIX):
                tags[name[len(TAG_PREFIX) :]] = _scalar(cell)
            elif name == "tags":
                try:
                    row["tags"] = json.loads(cell)
                except json.JSONDecodeError as error:
                    problem = f"{where}: the tags cell is not a JSON object ({error.msg})"
            elif name == "page":
                row["page"] = int(cell) if cell.strip().isdigit() else cell
            else:
                row[name] = cell
        existing = row.get("tags", {})
        if tags and isinstance(existing, dict):
            row["tags"] = {**existing, **tags}
        yield where, row, problem


def _scalar(cell: str) -> Any:
    # "0.5" and "true" in a tag column become a number and a boolean, so reports can slice by them.
    try:
        value = json.loads(cell)
    except json.JSONDecodeError:
        return cell
    return value if isinstance(value, (int, float, bool)) else cell


def _sample(
    manifest: Path,
    where: str,
    row: Mapping[str, Any],
    row_problem: str | None,
    settings: DatasetSettings,
    allow_outside_root: bool,
) -> Sample:
    root = manifest.parent
    problems: list[tuple[str, Path]] = [(row_problem, manifest)] if row_problem else []
    reference = row.get("image")
    if not isinstance(reference, str) or not reference:
        if not problems:
            problems.append((f"{where}: no 'image' given", manifest))
        return _broken(where, manifest, problems)
    image, outside = resolve_reference(
        reference, root, root, allow_outside_root=allow_outside_root, what="image"
    )
    if outside:
        problems.insert(0, (f"{where}: {outside}", image))
    page = row.get("page", 1)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        problems.append((f"{where}: 'page' must be a whole number from 1, not {page!r}", manifest))
        page = 1
    stem = image.name[: -len(image.suffix)] if image.suffix else image.name
    language = row.get("language") or settings.language_for(stem)
    if not isinstance(language, str):
        problems.append((f"{where}: 'language' must be text, not {language!r}", manifest))
        language = settings.language
    tags = row.get("tags", {})
    if not isinstance(tags, dict) or any(isinstance(value, (dict, list)) for value in tags.values()):
        problems.append((f"{where}: 'tags' must be an object of single values", manifest))
        tags = {}
    default_id = Path(reference).with_suffix("").as_posix() + (f"#p{page}" if page > 1 else "")
    truth, truth_path = _ground_truth(where, row, root, allow_outside_root, problems, manifest)
    return Sample(
        id=str(row.get("id") or default_id),
        image=image,
        page=page - 1,
        ground_truth=truth,
        ground_truth_path=truth_path,
        language=language,
        tags={**settings.tags, **tags},
        problem="; ".join(problem for problem, _ in problems) or None,
        problem_file=problems[0][1] if problems else None,
        problem_type="DatasetError" if problems and problems[0][1] == manifest else None,
    )


def _ground_truth(
    where: str,
    row: Mapping[str, Any],
    root: Path,
    allow_outside_root: bool,
    problems: list[tuple[str, Path]],
    manifest: Path,
) -> tuple[str | None, Path | None]:
    text, reference = row.get("ground_truth"), row.get("ground_truth_path")
    if text is not None and reference is not None:
        problems.append((f"{where}: gives both 'ground_truth' and 'ground_truth_path'; give one", manifest))
        return None, None
    if text is not None:
        if not isinstance(text, str):
            problems.append((f"{where}: 'ground_truth' must be text, not {type(text).__name__}", manifest))
            return None, None
        return text, None
    if reference is None:
        return None, None
    if not isinstance(reference, str) or not reference:
        problems.append((f"{where}: 'ground_truth_path' must be a path", manifest))
        return None, None
    path, outside = resolve_reference(
        reference, root, root, allow_outside_root=allow_outside_root, what="ground truth"
    )
    if outside:
        problems.append((f"{where}: {outside}", path))
        return None, path
    try:
        return read_ground_truth(path), path
    except GroundTruthError as error:
        problems.append((f"{where}: {error}", path))
        return None, path


def _broken(where: str, manifest: Path, problems: list[tuple[str, Path]]) -> Sample:
    return Sample(
        id=where.replace(f"{manifest.parent}/", "", 1),
        image=manifest,
        problem="; ".join(problem for problem, _ in problems),
        problem_file=manifest,
        problem_type="DatasetError",  # the row itself is malformed: no image or ground truth was read
    )
