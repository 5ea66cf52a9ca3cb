"""Labelled samples and the dataset formats that read them.

A dataset format (registered through ``register_dataset_formats``) turns a path
into samples. A sample whose files are broken is still yielded, with
``problem`` set: it becomes a failed row, never a failed run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Sample:
    """One page to read: an image (and page index in it) with its ground truth.

    ``ground_truth`` is None when the sample has none (it is still run and timed).
    ``problem`` names what is wrong with the sample's files, if anything.
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


class DatasetFormat(ABC):
    """Base class of dataset formats. Subclasses set ``name`` and ``description``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> bool:
        """Whether ``path`` looks like a dataset of this format (cheap, no full read)."""

    @abstractmethod
    def samples(self, path: Path, *, allow_outside_root: bool = False) -> Iterator[Sample]:
        """Yield every sample, including broken ones (with ``problem`` set)."""
