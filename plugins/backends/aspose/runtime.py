"""Aspose.OCR's native runtime: OpenSSL 1.1 for the .NET Core 3.1 the wheel bundles.

.NET Core 3.1 aborts its process ("No usable version of libssl was found") unless
it finds OpenSSL 1.1, which Debian 12 no longer ships. ``provision()`` fetches
Debian 11's ``libssl1.1`` package into a per-user runtime folder; the backend loads
those two libraries into its worker before .NET starts. A bad library kills the
process instead of raising, so a runtime folder is trusted only after a probe in
a child process has started .NET with it; a passed probe is cached in the folder,
keyed by the Aspose version and the libraries' SHA-256.

Runtime folder layout (``runtime_dir()``)::

    lib/libcrypto.so.1.1  lib/libssl.so.1.1   the libraries, loaded in this order
    runtime.json                              where they came from (package, version, SHA-256)
    probe.json                                the last passed probe
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import EngineNotInstalledError
from harness.hashing import file_sha256

from .provision import (
    DebianSource,
    ProbeResult,
    extract_deb,
    fetch_debian_package,
    probe_in_child,
    user_cache_dir,
)

DISTRIBUTION = "aspose-ocr-python-net"
INSTALL_FIX = "pip install 'ocr-harness[aspose]'"
PROVISION_FIX = "ocr-harness doctor --fix aspose"
#: Overrides where the runtime folder is (default: the per-user cache).
RUNTIME_ENV = "OCR_HARNESS_ASPOSE_RUNTIME"
#: libssl needs libcrypto's symbols, so libcrypto is loaded first.
LIBRARIES = ("libcrypto.so.1.1", "libssl.so.1.1")
PACKAGE = "libssl1.1"
SOURCE = DebianSource(
    uri="http://deb.debian.org/debian-security",
    suite="bullseye-security",
    component="main",
    keyring=Path("/usr/share/keyrings/debian-archive-bullseye-security-automatic.gpg"),
)
MANIFEST = "runtime.json"
PROBE_CACHE = "probe.json"
#: Set before .NET starts: without ICU (Debian 12's is too new for .NET Core 3.1) it aborts,
#: and with diagnostics on every process leaves debug pipes in the temp folder.
DOTNET_ENV = {"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1", "COMPlus_EnableDiagnostics": "0"}


def runtime_dir() -> Path:
    configured = os.environ.get(RUNTIME_ENV)
    return Path(configured).expanduser() if configured else user_cache_dir("aspose-runtime")


def library_paths(root: Path) -> list[Path]:
    return [root / "lib" / name for name in LIBRARIES]


def aspose_version() -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def prepare_process(root: Path) -> None:
    """Make this process ready to import aspose.ocr: .NET's environment, then the libraries.

    Must run before the first ``import aspose.ocr`` in the process (the import starts .NET).
    Loading with RTLD_GLOBAL lets .NET's own dlopen("libssl.so.1.1") find them by soname.
    """
    for name, value in DOTNET_ENV.items():
        os.environ.setdefault(name, value)
    for path in library_paths(root):
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)


def _probe_code(root: Path) -> str:
    # The probe prepares its process exactly as a worker does, then starts .NET.
    return (
        f"from pathlib import Path\nfrom {__name__} import prepare_process\n"
        f"prepare_process(Path({str(root)!r}))\n"
        "import aspose.ocr as ocr\nocr.AsposeOcr()\nprint(ocr.VERSION)\n"
    )


def _probe_key(root: Path) -> dict[str, Any]:
    return {
        "aspose": aspose_version(),
        "libraries": {path.name: file_sha256(path) for path in library_paths(root)},
    }


def probe_runtime(root: Path) -> ProbeResult:
    """Whether .NET starts with the libraries in ``root``: a cached pass, or a probe in a child process."""
    if aspose_version() is None:
        return ProbeResult(False, f"the Python package {DISTRIBUTION!r} is not installed")
    missing = [path.name for path in library_paths(root) if not path.is_file()]
    if missing:
        return ProbeResult(False, f"OpenSSL 1.1 ({', '.join(missing)}) is missing from {root / 'lib'}")
    key = _probe_key(root)
    cache = root / PROBE_CACHE
    try:
        if json.loads(cache.read_text(encoding="utf-8")) == key:
            return ProbeResult(True, "a probe passed earlier (cached)")
    except (OSError, ValueError):
        pass
    result = probe_in_child(_probe_code(root))
    if not result.ok:
        return ProbeResult(False, f".NET did not start with the libraries in {root / 'lib'}: {result.detail}")
    with contextlib.suppress(OSError):  # a read-only runtime folder works; it is just probed each time
        partial = cache.with_name(f"{PROBE_CACHE}.{os.getpid()}")
        partial.write_text(json.dumps(key, indent=2) + "\n", encoding="utf-8")
        partial.replace(cache)  # workers probing at once never read half a file
    return ProbeResult(True, f"a probe started Aspose.OCR {result.detail}")


def manifest(root: Path) -> dict[str, Any]:
    """What ``provision()`` recorded about the libraries in ``root`` (empty if it did not make them)."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def provision(root: Path | None = None) -> str:
    """Fetch, verify and install OpenSSL 1.1 into the runtime folder; quick when already done."""
    root = root if root is not None else runtime_dir()
    if aspose_version() is None:
        raise EngineNotInstalledError(
            f"the Python package {DISTRIBUTION!r} is not installed, so its runtime cannot be checked",
            fix=INSTALL_FIX,
        )
    current = probe_runtime(root)
    if current.ok:
        made = manifest(root)
        origin = f"{made['package']} {made['version']}" if made else "libraries put there by hand"
        return f"already provisioned: {root} ({origin}); {current.detail}"
    _refuse_foreign_folder(root)

    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".aspose-runtime-", dir=root.parent))
    try:
        fetched = fetch_debian_package(PACKAGE, SOURCE, staging / "apt")
        extract_deb(fetched.path, staging / "deb")
        new_root = staging / "runtime"
        (new_root / "lib").mkdir(parents=True)
        for name in LIBRARIES:
            found = sorted((staging / "deb").glob(f"usr/lib/*/{name}")) or sorted(
                (staging / "deb").glob(f"**/{name}")
            )
            if not found:
                raise EngineNotInstalledError(f"{fetched.path.name} does not contain {name}")
            shutil.copy2(found[0], new_root / "lib" / name)
        record = {
            "package": fetched.name,
            "version": fetched.version,
            "deb_sha256": fetched.sha256,
            "source": SOURCE.line().strip(),
            "libraries": {path.name: file_sha256(path) for path in library_paths(new_root)},
        }
        (new_root / MANIFEST).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        probe = probe_runtime(new_root)
        if not probe.ok:
            raise EngineNotInstalledError(
                f"{fetched.name} {fetched.version} was fetched and verified, but {probe.detail}",
                fix="report this with the output of 'ocr-harness doctor'",
            )
        if root.exists():
            root.rename(staging / "previous")
        new_root.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return (
        f"installed {fetched.name} {fetched.version} (SHA-256 {fetched.sha256[:16]}..., checked by apt "
        f"against the signed index) into {root}; .NET starts with it"
    )


def _refuse_foreign_folder(root: Path) -> None:
    """Never replace a folder the user filled: only an empty one or one provision() made."""
    if not root.exists() or manifest(root):
        return
    ours = {"lib", PROBE_CACHE}
    if root.is_dir() and {entry.name for entry in root.iterdir()} <= ours and not _foreign_libs(root):
        return
    raise EngineNotInstalledError(
        f"{root} exists, holds files ocr-harness did not put there, and .NET does not start with them",
        fix=f"remove {root}, or point {RUNTIME_ENV} at an empty folder, then run {PROVISION_FIX}",
    )


def _foreign_libs(root: Path) -> bool:
    lib = root / "lib"
    return lib.is_dir() and any(entry.name not in LIBRARIES for entry in lib.iterdir())
