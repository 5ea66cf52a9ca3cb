"""What the harness uses when the user does not say: backend, cores, cache folder, pixel-limit variable.

A leaf module (standard library only), so the CLI's help, the API and the
executor can all read it without loading anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The backend used when none is named (API, ``extract``, ad hoc ``run``, the pytest fixture).
DEFAULT_BACKEND = "rapidocr"

#: The environment variable that raises the pixel limit (the guard against decompression bombs).
MAX_PIXELS_ENV = "OCR_HARNESS_MAX_IMAGE_PIXELS"


def usable_cpus() -> int:
    """Cores this process may run on (affinity-aware: a container's share, not the host's), at least one.

    Default worker and thread counts everywhere (``run``, ``extract``, the API) start from it.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Moves the per-user cache folder (result cache and report thumbnails).
CACHE_DIR_ENV = "OCR_HARNESS_CACHE_DIR"


def cache_dir() -> Path:
    """Where results and thumbnails are cached: ``$OCR_HARNESS_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/ocr-harness`` (``~/.cache/ocr-harness``)."""
    moved = os.environ.get(CACHE_DIR_ENV)
    if moved:
        return Path(moved).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base, "ocr-harness")
