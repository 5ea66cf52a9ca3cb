"""One validated extraction configuration (backend, language, pipeline, limits, how pages load).

Checked in the main process before any OCR, so that a configuration error is
raised at once, as the ConfigError a user can act on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from harness.defaults import MAX_PIXELS_ENV
from harness.errors import ConfigError, EngineNotInstalledError, PluginError

if TYPE_CHECKING:  # at run time it loads pydantic: imported where used
    from harness.backends import BackendSpec

# Settings that decide how pages are loaded, checked here rather than with the engine's.
LOADING_KEYS = ("auto_downscale", "pixel_budget", "pdf_dpi")


@dataclass(frozen=True)
class ExtractSettings:
    """One validated configuration: what each task of a call is built from."""

    backend: BackendSpec
    language: str
    pipeline: str
    timeout: float | None
    max_pixels: int | None
    #: shrink larger pages to this many pixels on load; None: never
    pixel_budget: int | None = None
    pdf_dpi: float = 300
    #: what holds for every result of this backend configuration (Aspose's evaluation mode)
    caveat: str | None = None


def with_loading(
    settings: ExtractSettings,
    plugins: tuple[str, ...],
    *,
    auto_downscale: bool,
    pixel_budget: int | None,
    pdf_dpi: float,
) -> ExtractSettings:
    """``settings`` with how pages are loaded, and the backend's caveat."""
    import harness.document  # noqa: F401 - imported here, on a thread, not later on the event loop
    from harness.images import AUTO_DOWNSCALE_MAX_PIXELS, DEFAULT_PIXEL_BUDGET
    from harness.plugins import get_registry

    if pixel_budget is not None and pixel_budget < 1:
        raise ConfigError(f"pixel_budget must be a positive number of pixels, not {pixel_budget}")
    if not pdf_dpi or pdf_dpi <= 0 or pdf_dpi > 2400:
        raise ConfigError(f"pdf_dpi must be between 1 and 2400, not {pdf_dpi}")
    backend_class = get_registry(plugins).backend(settings.backend.name)
    caveat = backend_class.caveat(backend_class.Options(**settings.backend.options_dict))
    max_pixels = settings.max_pixels
    if auto_downscale and max_pixels is None and not os.environ.get(MAX_PIXELS_ENV):
        max_pixels = AUTO_DOWNSCALE_MAX_PIXELS
    return replace(
        settings,
        max_pixels=max_pixels,
        pixel_budget=(pixel_budget or DEFAULT_PIXEL_BUDGET) if auto_downscale else None,
        pdf_dpi=float(pdf_dpi),
        caveat=caveat,
    )


def validate_plugins(plugins: tuple[str, ...]) -> None:
    from harness.plugins import get_registry

    failed = [failure for failure in get_registry(plugins).failures if failure.plugin in plugins]
    if failed:
        details = "; ".join(f"{failure.plugin}: {failure.error}" for failure in failed)
        raise PluginError(f"plugin module(s) could not be loaded: {details}")


def validate_settings(
    plugins: tuple[str, ...],
    *,
    backend: str,
    language: str,
    preprocess: str | None,
    backend_options: Mapping[str, Any],
    timeout: float | None,
    max_pixels: int | None,
) -> ExtractSettings:
    """Check a configuration in the main process, raising the ConfigError a user can act on."""
    from pydantic import ValidationError

    from harness.backends import BackendSpec
    from harness.pipeline import build_pipeline, describe_params, parse_pipeline
    from harness.plugins import get_registry
    from harness.validation import describe_errors

    registry = get_registry(plugins)
    backend_class = registry.backend(backend)
    availability = backend_class.availability()
    if not availability.ok:
        raise EngineNotInstalledError(
            f"backend {backend!r} cannot run here: {availability.reason}", fix=availability.fix or None
        )
    backend_class.engine_language(language)
    try:
        options = backend_class.Options(**dict(backend_options))
    except ValidationError as error:
        problems = describe_errors(error, backend_class.Options)
        raise ConfigError(
            f"bad option for backend {backend!r}: {problems}",
            fix=f"valid options: {describe_params(backend_class.Options)}",
        ) from None
    build_pipeline(preprocess, registry.steps())
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout must be a positive number of seconds, not {timeout}")
    if max_pixels is not None and max_pixels < 1:
        raise ConfigError(f"max_pixels must be a positive number of pixels, not {max_pixels}")
    return ExtractSettings(
        backend=BackendSpec.of(backend, options.model_dump(mode="json", exclude_unset=True)),
        language=language,
        pipeline=str(parse_pipeline(preprocess)),
        timeout=timeout,
        max_pixels=max_pixels,
    )
