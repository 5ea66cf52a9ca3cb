"""Built-in dataset formats: folder, image, manifest, page-xml and alto."""

from __future__ import annotations

from harness.hookspecs import Register, hookimpl

from .folder import FolderFormat, ImageFormat
from .manifest import ManifestFormat
from .xml import AltoFormat, PageXmlFormat


@hookimpl
def register_dataset_formats(register: Register) -> None:
    for format_class in (FolderFormat, ImageFormat, ManifestFormat, PageXmlFormat, AltoFormat):
        register(format_class)
