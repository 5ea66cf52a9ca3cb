"""The yardstick for the harness's overhead: each engine called in a plain loop.

A ``multiprocessing.Pool`` of spawned workers, each creating the engine once and
then loading and reading its share of the images, one at a time: the least a
harness could do to get the same texts on the same cores.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_engine: Any = None


def _create_engine(backend: str, threads: int) -> None:
    global _engine
    os.environ["OMP_THREAD_LIMIT"] = str(threads)  # as the harness's workers do
    from harness.plugins import get_registry

    backend_class = get_registry().backend(backend)
    _engine = backend_class(backend_class.Options(), threads=threads)


def _read(item: tuple[str, str]) -> str:
    from harness.images import load_page

    path, language = item
    return _engine.recognize(load_page(path), language=language).text


def read_all(
    backend: str, images: Sequence[Path], *, language: str = "en", workers: int = 2, threads: int = 1
) -> list[str]:
    """Every image's text, read by ``workers`` spawned processes with ``threads`` threads each."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_create_engine, initargs=(backend, threads)) as pool:
        return pool.map(_read, [(str(path), language) for path in images], chunksize=1)


def require_backend(name: str) -> None:
    """Skip the benchmark when backend ``name`` cannot run here."""
    import pytest  # here, not at the top: the yardstick's workers import this module

    from harness.plugins import get_registry

    registry = get_registry()
    if name not in registry.backends or not registry.backend(name).availability().ok:
        pytest.skip(f"backend {name!r} is not available here")
