"""The ``folder`` format (images with ground truth beside them) and the ``image`` format (one file)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from harness.datasets import DatasetFormat, Sample
from harness.errors import DatasetError

from .pages import IMAGE_SUFFIXES, image_samples, is_image, misnamed_sample


class FolderFormat(DatasetFormat):
    name = "folder"
    description = (
        "a folder of images (searched recursively) with same-stem ground truth: "
        "NAME.gt.txt, NAME.page.xml, NAME.alto.xml or NAME.xml; optional dataset.toml"
    )

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir()

    def samples(self, path: Path, *, allow_outside_root: bool = False) -> Iterator[Sample]:
        if not path.is_dir():
            raise DatasetError(f"{path}: the folder format needs a folder, and this is a file")
        settings = self.settings(path)
        for image in _images(path):
            misnamed = misnamed_sample(image, path)
            if misnamed is not None:
                yield misnamed
                continue
            yield from image_samples(image, path, settings, allow_outside_root=allow_outside_root)


class ImageFormat(DatasetFormat):
    name = "image"
    description = (
        "one image file, one sample per page (multi-page TIFF); ground truth NAME.gt.txt "
        "(pages separated by form feeds) or NAME.pageN.gt.txt"
    )

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_file() and is_image(path)

    def samples(self, path: Path, *, allow_outside_root: bool = False) -> Iterator[Sample]:
        if not path.is_file():
            raise DatasetError(f"{path}: the image format needs one image file, and this is a folder")
        # The file named is read whatever it links to; files found beside it must stay in its folder.
        yield from image_samples(
            path, path.parent, self.settings(path), allow_outside_root=allow_outside_root, image_in_root=False
        )


def _images(root: Path) -> Iterator[Path]:
    """Image files under ``root`` in a stable order; hidden files and folders are skipped."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                yield Path(folder) / name
