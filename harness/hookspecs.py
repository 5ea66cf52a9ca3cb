"""The plugin contract: every hook ocr-harness calls, documented here.

Hooks are called with keyword arguments only and are synchronous. An
implementation may accept fewer arguments than the spec names, so specs can
grow. All registration hooks run in the main process *and* once in every worker
process (workers rebuild the registry from the same plugin list), so they must be
cheap and free of side effects: import engines inside the classes they register,
never at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT_NAME = "ocr_harness"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[[Any], None]


# --- registration: called once when the registry is built --------------------


@hookspec
def register_backends(register: Register) -> None:
    """Hand over OCR backends.

    Call ``register(BackendClass)`` once per backend, where ``BackendClass`` is a
    subclass of :class:`harness.backends.Backend` with a unique ``name``. The
    harness checks the type, refuses a name that is already taken, and records
    which plugin registered it (``ocr-harness plugins`` shows it).

    Runs in: the main process and every worker process.
    Returns: nothing.
    """


@hookspec
def register_preprocessors(register: Register) -> None:
    """Hand over preprocessing steps.

    Call ``register(StepClass)`` once per step, where ``StepClass`` is a subclass
    of :class:`harness.pipeline.Step` with a unique ``name`` and a ``Params``
    model. Pipelines name steps as ``name(param=value)``.

    Runs in: the main process and every worker process.
    Returns: nothing.
    """


@hookspec
def register_dataset_formats(register: Register) -> None:
    """Hand over dataset formats (ways of reading labelled samples).

    Call ``register(FormatClass)`` once per format, where ``FormatClass`` is a
    subclass of :class:`harness.datasets.DatasetFormat` with a unique ``name``.

    Runs in: the main process only.
    Returns: nothing.
    """
