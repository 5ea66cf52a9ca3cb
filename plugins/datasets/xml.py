"""The ``page-xml`` and ``alto`` formats: XML ground-truth files that name their image.

PATH is one XML file or a folder searched recursively for them (name the
format explicitly for a folder: a plain folder is the ``folder`` format). The
image is the file the XML names (PAGE ``Page/@imageFilename``, ALTO
``sourceImageInformation/fileName``), looked up relative to the XML file's
folder and then its parent folder (Transkribus and OCR-D exports keep the XML
one folder below the images), then by its bare file name in both; failing
that, an image with the XML file's own stem beside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from harness.datasets import DatasetFormat, DatasetSettings, Sample
from harness.errors import GroundTruthError

from .groundtruth import parse_xml, read_ground_truth, sniff_xml_kind
from .pages import IMAGE_SUFFIXES, misnamed_sample, read_tags
from .paths import outside_root, resolve_reference


class _XmlFormat(DatasetFormat):
    kind: str  # "page" or "alto", as groundtruth.xml_kind says

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() == ".xml" and sniff_xml_kind(path) == cls.kind

    def samples(self, path: Path, *, allow_outside_root: bool = False) -> Iterator[Sample]:
        root = self.root(path)
        settings = self.settings(path)
        files = [path] if path.is_file() else _xml_files(path)
        for xml_file in files:
            misnamed = misnamed_sample(xml_file, root)
            if misnamed is not None:
                yield misnamed
                continue
            outside = None if allow_outside_root or xml_file == path else outside_root(
                xml_file, root, what="XML file"
            )
            if outside:  # a link out of the dataset: not even its first tag is read
                yield Sample(
                    xml_file.relative_to(root).as_posix(),
                    xml_file,
                    problem=f"{xml_file}: {outside}",
                    problem_file=xml_file,
                    problem_type="GroundTruthError",
                )
            elif sniff_xml_kind(xml_file) == self.kind:
                yield _sample(xml_file, root, settings, allow_outside_root)


class PageXmlFormat(_XmlFormat):
    name = "page-xml"
    kind = "page"
    description = "PAGE-XML files (2013-2019 namespaces) naming their images; a file or a folder of them"


class AltoFormat(_XmlFormat):
    name = "alto"
    kind = "alto"
    description = "ALTO v2-v4 files naming their images; a file or a folder of them"


def _sample(xml_file: Path, root: Path, settings: DatasetSettings, allow_outside_root: bool) -> Sample:
    stem = xml_file.name.split(".")[0]
    sample_id = xml_file.relative_to(root).with_name(stem).as_posix()
    tags_file = xml_file.with_name(f"{stem}.tags.json")
    outside = None if allow_outside_root or not tags_file.exists() else outside_root(
        tags_file, root, what="tags file"
    )
    tags, tags_problem = (
        (dict(settings.tags), f"{tags_file}: {outside}") if outside else read_tags(tags_file, settings.tags)
    )
    problems: list[tuple[str, Path]] = []
    try:
        truth: str | None = read_ground_truth(xml_file)
    except GroundTruthError as error:
        truth = None
        problems.append((str(error), xml_file))
    image, image_problem = _find_image(xml_file, stem, root, allow_outside_root)
    if image_problem:
        problems.insert(0, image_problem)
    if tags_problem:
        problems.append((tags_problem, tags_file))
    return Sample(
        id=sample_id,
        image=image,
        ground_truth=truth,
        ground_truth_path=xml_file,
        language=settings.language_for(stem),
        tags=tags,
        problem="; ".join(problem for problem, _ in problems) or None,
        problem_file=problems[0][1] if problems else None,
    )


def _find_image(
    xml_file: Path, stem: str, root: Path, allow_outside_root: bool
) -> tuple[Path, tuple[str, Path] | None]:
    named = _image_name(xml_file)
    candidates: list[str] = []
    if named:
        # Names written on Windows use backslashes; PurePosixPath would keep them in one part.
        posix = PureWindowsPath(named).as_posix() if "\\" in named else named
        candidates += [posix, f"../{posix}", PurePosixPath(posix).name, f"../{PurePosixPath(posix).name}"]
    candidates += [f"{stem}{suffix}" for suffix in IMAGE_SUFFIXES]
    found = []
    for candidate in dict.fromkeys(candidates):
        path, outside = resolve_reference(
            candidate, xml_file.parent, root, allow_outside_root=allow_outside_root, what="image"
        )
        if path.is_file():
            found.append((path, outside))
    # An image inside the dataset wins over one outside it, whatever the order of candidates.
    for path, outside in sorted(found, key=lambda item: item[1] is not None):
        return path, ((f"{xml_file}: {outside}", path) if outside else None)
    missing = xml_file.parent / (named or f"{stem}.png")
    what = f"names the image {named!r}" if named else "names no image"
    return missing, (f"{xml_file}: {what}, and no such image was found beside it", missing)


def _image_name(xml_file: Path) -> str | None:
    try:
        root = parse_xml(xml_file)
    except GroundTruthError:  # reported by read_ground_truth, for the same file
        return None
    for element in root.iter():
        local = element.tag.rpartition("}")[2]
        if local == "Page" and element.get("imageFilename"):
            return element.get("imageFilename")
        if local == "fileName" and element.text and element.text.strip():
            return element.text.strip()
    return None


def _xml_files(folder: Path) -> Iterator[Path]:
    for parent, subfolders, files in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(".xml") and not name.startswith("."):
                yield Path(parent) / name
