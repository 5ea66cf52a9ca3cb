"""The plugin manager and the registry it fills: the only place hooks are called.

Plugins come from three places, loaded the same way:
- the entry-point group ``ocr_harness`` (the built-in plugins are registered there too);
- modules named with ``--plugin some.module`` on the command line;
- modules listed in ``OCR_HARNESS_PLUGINS`` (comma-separated).

``OCR_HARNESS_DISABLE_PLUGINS`` (comma-separated plugin names) blocks plugins,
for debugging. A plugin that fails to import or register is recorded as a
failure with its reason; the other plugins still load.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pluggy

from harness import hookspecs
from harness.errors import PluginError, UnknownBackendError

T = TypeVar("T")

ENTRY_POINT_GROUP = "ocr_harness"
PLUGINS_ENV = "OCR_HARNESS_PLUGINS"
DISABLE_ENV = "OCR_HARNESS_DISABLE_PLUGINS"


@dataclass(frozen=True)
class Registered(Generic[T]):
    """A registered class and where it came from."""

    obj: T
    plugin: str
    source: str  # "entry point (dist x.y)", "--plugin", or "OCR_HARNESS_PLUGINS"


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    source: str
    error: str


@dataclass
class Registry:
    """Everything the plugins handed over, by kind and name."""

    backends: dict[str, Registered[Any]] = field(default_factory=dict)
    preprocessors: dict[str, Registered[Any]] = field(default_factory=dict)
    dataset_formats: dict[str, Registered[Any]] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)
    plugin_modules: tuple[str, ...] = ()
    plugin_sources: dict[str, str] = field(default_factory=dict)

    def backend(self, name: str) -> Any:
        """The backend class of that name, or UnknownBackendError listing the known ones."""
        if name not in self.backends:
            known = ", ".join(sorted(self.backends)) or "none"
            broken = [f.plugin for f in self.failures]
            hint = f"; plugins that failed to load: {', '.join(broken)}" if broken else ""
            raise UnknownBackendError(
                f"unknown backend {name!r}; registered backends: {known}{hint}",
                fix="run 'ocr-harness plugins' to see every backend and whether it is available",
            )
        return self.backends[name].obj

    def steps(self) -> dict[str, Any]:
        return {name: entry.obj for name, entry in self.preprocessors.items()}

    def worker_env(self, threads: int) -> dict[str, str]:
        """The environment a worker process needs for ``threads`` threads: every backend's ``worker_env``.

        Workers set it before any engine loads, and one worker may serve any
        backend, so every registered backend's variables go in (by backend name).
        """
        env: dict[str, str] = {}
        for name in sorted(self.backends):
            entry = self.backends[name]
            try:
                wanted = entry.obj.worker_env(threads)
                env.update({str(key): str(value) for key, value in dict(wanted).items()})
            except Exception as error:
                raise PluginError(
                    f"backend {name!r} (plugin {entry.plugin!r}) could not say what environment its "
                    f"workers need: {type(error).__name__}: {error}"
                ) from None
        return env

    def formats(self) -> dict[str, Any]:
        return {name: entry.obj for name, entry in self.dataset_formats.items()}


_KINDS: Mapping[str, tuple[str, str, str]] = {
    # hook name -> (registry attribute, base class import path, what it is)
    "register_backends": ("backends", "harness.backends:Backend", "backend"),
    "register_preprocessors": ("preprocessors", "harness.pipeline:Step", "preprocessing step"),
    "register_dataset_formats": ("dataset_formats", "harness.datasets:DatasetFormat", "dataset format"),
}


def _base_class(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def make_plugin_manager(
    extra_modules: Iterable[str] = (),
    *,
    registry: Registry | None = None,
) -> pluggy.PluginManager:
    """Build a plugin manager with every plugin loaded (failures recorded in ``registry``)."""
    registry = registry if registry is not None else Registry()
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for blocked in _split_env(DISABLE_ENV):
        pm.set_blocked(blocked)

    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
        _register_module(pm, registry, ep.name, f"entry point ({dist})", ep.load)

    env_modules = list(_split_env(PLUGINS_ENV))
    for module_name, source in [(m, "--plugin") for m in extra_modules] + [
        (m, PLUGINS_ENV) for m in env_modules
    ]:
        if pm.is_blocked(module_name) or pm.has_plugin(module_name):
            continue
        _ensure_cwd_importable()
        _register_module(
            pm, registry, module_name, source, lambda name=module_name: importlib.import_module(name)
        )
    registry.plugin_modules = tuple(extra_modules)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(f"a plugin implements a hook that does not exist: {error}") from None
    return pm


def _register_module(pm: pluggy.PluginManager, registry: Registry, name: str, source: str, load: Any) -> None:
    registry.plugin_sources[name] = source
    try:
        module = load()
        pm.register(module, name=name)
    except Exception as error:  # one broken plugin must not take the others down
        registry.failures.append(PluginFailure(name, source, f"{type(error).__name__}: {error}"))


def build_registry(extra_modules: Iterable[str] = ()) -> Registry:
    """Load every plugin and collect what each registers."""
    extra = tuple(extra_modules)
    registry = Registry()
    pm = make_plugin_manager(extra, registry=registry)
    sources = registry.plugin_sources
    for hook_name, (attribute, base_path, what) in _KINDS.items():
        target: dict[str, Registered[Any]] = getattr(registry, attribute)
        base = _base_class(base_path)
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            plugin_name = impl.plugin_name
            register = _make_register(target, base, what, plugin_name, sources.get(plugin_name, ""))
            try:
                impl.function(register=register)
            except Exception as error:
                registry.failures.append(
                    PluginFailure(
                        plugin_name, sources.get(plugin_name, ""), f"{type(error).__name__}: {error}"
                    )
                )
    return registry


def _make_register(
    target: dict[str, Registered[Any]], base: type, what: str, plugin: str, source: str
) -> Any:
    def register(obj: Any) -> None:
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise PluginError(
                f"plugin {plugin!r} registered {obj!r} as a {what}, which is not a subclass of "
                f"{base.__module__}.{base.__name__}"
            )
        name = getattr(obj, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r} registered a {what} without a name: {obj!r}")
        if name in target:
            raise PluginError(
                f"plugin {plugin!r} registered a {what} named {name!r}, "
                f"but plugin {target[name].plugin!r} already registered that name",
                fix=f"rename one of them, or disable one with {DISABLE_ENV}",
            )
        target[name] = Registered(obj, plugin, source)

    return register


_cache: dict[tuple[str, ...], Registry] = {}
_cache_lock = threading.Lock()


def get_registry(extra_modules: Iterable[str] = ()) -> Registry:
    """The registry for this plugin list, built once per process."""
    key = tuple(extra_modules)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = build_registry(key)
        return _cache[key]


def clear_registry_cache() -> None:
    """Forget built registries (tests that add or remove plugins call this)."""
    with _cache_lock:
        _cache.clear()


def _split_env(name: str) -> Iterable[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _ensure_cwd_importable() -> None:
    # `--plugin my_plugin` should find my_plugin.py in the current folder, as `python -m` would.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
