"""What the harness uses when the user does not say: backend, cores, the pixel-limit variable.

A leaf module (standard library only), so the CLI's help, the API and the
executor can all read it without loading anything else.
"""

from __future__ import annotations

import os

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
