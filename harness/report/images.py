"""Report images: thumbnails from the thumbnail store, placed beside report.html.

Thumbnails are made once per image by the workers (harness/thumbnails.py) and kept
in the per-user store by content hash. A report links the ones it shows into
``thumbnails/`` in the run folder and refers to them by relative path, so
report.html stays small whatever the dataset (the drill-down shows at most
MAX_SAMPLES samples) and the run folder opens offline as it is. A thumbnail the
store lacks (an older run folder, a pruned store) is made here, in parallel.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.thumbnails import ThumbnailStore, encode_thumbnail, thumbnail_name

#: The folder beside report.html that holds the thumbnails it shows.
FOLDER = "thumbnails"
#: Thumbnail names as harness/thumbnails.py makes them (content hash, page, pipeline key).
_NAME = re.compile(r"[0-9a-f]{32}-p[0-9]+(-[0-9a-f]{16})?\.jpg")


@dataclass(frozen=True)
class Thumbnail:
    src: str  # relative to report.html
    width: int
    height: int


@dataclass(frozen=True)
class ImageRequest:
    """A sample's image as the report needs it: the file (if found), its page, its thumbnail's name."""

    path: Path | None
    page: int
    name: str | None


def resolve_image(image: str, *, dataset_path: str | None) -> Path | None:
    """A sample's image, only if it resolves (links followed) inside its dataset's folder.

    A run folder may come from someone else: the paths in its results.jsonl
    are never followed out of the dataset, and without a dataset folder in
    run.json no image is shown at all.
    """
    if not image or not dataset_path:
        return None
    dataset = Path(dataset_path)
    root = (dataset if dataset.is_dir() else dataset.parent).resolve()
    resolved = (root / image).resolve()  # an absolute image path stays as it is
    if root not in resolved.parents or not resolved.is_file():
        return None
    return resolved


class ReportImages:
    """Thumbnails for one report: made where missing, linked beside it, described for the template."""

    def __init__(
        self, run_dir: Path, store: ThumbnailStore | None = None, max_pixels: int | None = None
    ) -> None:
        self.run_dir = run_dir
        self.max_pixels = max_pixels
        self.store = store if store is not None else ThumbnailStore()
        self.folder = run_dir / FOLDER
        self.placed: set[str] = set()

    def request(self, path: Path | None, page: int, name: str | None) -> ImageRequest:
        if not name and path is not None:
            from harness.hashing import file_sha256

            try:
                name = thumbnail_name(file_sha256(path), page)
            except OSError:
                name = None
        return ImageRequest(path, page, name if name and _NAME.fullmatch(name) else None)

    def make_missing(self, requests: Iterable[ImageRequest]) -> dict[str, str]:
        """Make the thumbnails the store lacks, in parallel; returns problems by thumbnail name."""
        todo = {r.name: r for r in requests if r.name and r.path is not None and not self.store.has(r.name)}
        problems: dict[str, str] = {}
        if not todo:
            return problems
        from harness.defaults import usable_cpus

        with ThreadPoolExecutor(max_workers=usable_cpus()) as pool:  # Pillow releases the GIL
            for name, problem in pool.map(self._make, todo.values()):
                if problem:
                    problems[name] = problem
        return problems

    def _make(self, request: ImageRequest) -> tuple[str, str | None]:
        from harness.errors import OcrHarnessError
        from harness.images import load_page

        assert request.name is not None and request.path is not None
        try:
            image = load_page(request.path, request.page, max_pixels=self.max_pixels)
            self.store.put(request.name, encode_thumbnail(image))
        except OcrHarnessError as error:
            return request.name, str(error)
        except Exception as error:  # a decoder's own exception: one odd image costs its thumbnail
            return request.name, f"{request.path}: cannot be shown ({type(error).__name__}: {error})"
        return request.name, None

    def place(self, name: str | None) -> Thumbnail | None:
        """Link a stored thumbnail beside the report; None when the store does not have it."""
        # Names come from samples.csv, which may come from anyone: only our own names are looked up.
        if not name or not _NAME.fullmatch(name) or not self.store.has(name):
            return None
        from PIL import Image

        target = self.folder / name
        try:
            self.folder.mkdir(exist_ok=True)
            if not target.is_file():
                _link_or_copy(self.store.path(name), target)
            with Image.open(target) as image:  # reads the header only
                width, height = image.size
        except OSError:
            return None
        self.placed.add(name)
        return Thumbnail(f"{FOLDER}/{name}", width, height)

    def drop_unused(self) -> None:
        """Remove thumbnails an earlier rendering placed that this one does not show."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name not in self.placed and path.suffix == ".jpg":
                path.unlink(missing_ok=True)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # the same bytes, no extra space, when the store is on this disk
    except OSError:
        shutil.copyfile(source, target)


def place_images(cards: list[dict[str, Any]], run_dir: Path, max_pixels: Any = None) -> None:
    """Give each drill-down card its thumbnail, and each output what its engine read (when a
    pipeline changed the image); problems (a missing or unreadable image) are told on the card.
    Never an image the run refused, never one outside its dataset's folder."""
    limit = max_pixels if isinstance(max_pixels, int) and max_pixels > 0 else None  # run.json may lie
    images = ReportImages(run_dir, max_pixels=limit)
    requests = []
    for card in cards:
        name = card.pop("thumbnail_name")
        if card.get("refused"):
            requests.append(ImageRequest(None, card["page"], None))
            for entry in card["entries"]:
                entry["read_name"] = None
            card["image_problem"] = "image not shown: the sample was refused (see its error)"
            continue
        path = resolve_image(str(card["image"]), dataset_path=card["dataset_path"])
        requests.append(images.request(path, card["page"], name if path is not None else None))
        missing = path is None and card["image"]
        card["image_problem"] = (
            f"image not found inside the dataset folder: {card['image']}" if missing else None
        )
    problems = images.make_missing(requests)
    for card, request in zip(cards, requests, strict=True):
        card["thumbnail"] = images.place(request.name)
        card["image_problem"] = card["image_problem"] or problems.get(request.name or "")
        for entry in card["entries"]:
            changed = entry["read_name"] and entry["read_name"] != request.name
            entry["read_image"] = images.place(entry["read_name"]) if changed else None
    images.drop_unused()
