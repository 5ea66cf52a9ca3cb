"""What the harness uses when the user does not say: the backend, and the cores it may use.

A leaf module (standard library only), so the CLI's help, the API and the
executor can all read it without loading anything else.
"""

from __future__ import annotations

import os

#: The backend used when none is named (API, ``extract``, ad hoc ``run``, the pytest fixture).
DEFAULT_BACKEND = "rapidocr"


def usable_cpus() -> int:
    """Cores this process may run on (affinity-aware: a container's share, not the host's), at least one.

    Default worker and thread counts everywhere (``run``, ``extract``, the API) start from it.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
