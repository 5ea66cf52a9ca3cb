"""Fetching what Aspose's runtime needs besides pip packages, without root.

Used by ``AsposeBackend.provision()`` (``ocr-harness doctor --fix aspose``, which
calls any backend's ``provision()`` by name) and by its ``availability()``
check. Three parts, none Aspose-specific, all usable without root:

- a per-user cache folder (``$XDG_CACHE_HOME/ocr-harness``, default ``~/.cache/ocr-harness``);
- fetching a Debian package with apt's own tools through a private sources list,
  lists folder and cache, so the system's apt state is never read or changed
  (apt checks the archive signature and the package's SHA-256 on the way);
- running a probe in a child process, because some runtimes (.NET) abort the
  whole process instead of raising when a library is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import EngineNotInstalledError
from harness.hashing import file_sha256

#: The environment variable that moves the whole per-user cache.
CACHE_ENV = "XDG_CACHE_HOME"
#: Seconds apt may take for one step (update, download) before we give up.
APT_TIMEOUT = 300.0


def user_cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/ocr-harness/<parts>`` (default ``~/.cache/ocr-harness/<parts>``); not created."""
    base = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache")
    return Path(base, "ocr-harness", *parts)


@dataclass(frozen=True)
class DebianSource:
    """One apt source line: where a package comes from and the key its archive is signed with."""

    uri: str
    suite: str
    component: str
    keyring: Path

    def line(self) -> str:
        return f"deb [signed-by={self.keyring}] {self.uri} {self.suite} {self.component}\n"


@dataclass(frozen=True)
class FetchedPackage:
    """A downloaded .deb whose SHA-256 matched the signed package index."""

    path: Path
    name: str
    version: str
    sha256: str


def fetch_debian_package(package: str, source: DebianSource, workdir: Path) -> FetchedPackage:
    """Download ``package`` from ``source`` into ``workdir`` with apt-get, touching no system apt state.

    ``workdir`` holds the private sources list, package lists and cache; the
    .deb lands in ``workdir/debs``. Raises EngineNotInstalledError naming what failed.
    """
    for tool in ("apt-get", "apt-cache", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise EngineNotInstalledError(
                f"{tool} was not found: fetching {package} needs Debian's apt and dpkg tools",
                fix=f"on a system without apt, install {package}'s libraries by hand (see docs/aspose.md)",
            )
    if not source.keyring.is_file():
        raise EngineNotInstalledError(
            f"the archive key {source.keyring} is missing, so {source.uri} {source.suite} cannot be verified",
            fix="apt-get install debian-archive-keyring",
        )
    sources_list = workdir / "sources.list"
    lists = workdir / "lists"
    cache = workdir / "cache"
    debs = workdir / "debs"
    for folder in (lists / "partial", cache / "archives" / "partial", debs):
        folder.mkdir(parents=True, exist_ok=True)
    sources_list.write_text(source.line(), encoding="utf-8")
    options = [
        "-o", f"Dir::Etc::sourcelist={sources_list}",
        "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={lists}",
        "-o", f"Dir::Cache={cache}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        # As root apt downloads as the _apt user, who cannot write into a private folder under /root.
        options += ["-o", "APT::Sandbox::User=root"]

    _apt(["apt-get", "-q", *options, "update"], workdir, f"updating the package list of {source.suite}")
    _apt(["apt-get", "-q", *options, "download", package], debs, f"downloading {package}")
    shown = _apt(["apt-cache", *options, "show", package], workdir, f"reading the index entry of {package}")
    fields = _first_stanza(shown)
    debs_found = sorted(debs.glob(f"{package}_*.deb"))
    if not debs_found or "SHA256" not in fields or "Version" not in fields:
        raise EngineNotInstalledError(f"apt-get reported success but no {package} .deb was found in {debs}")
    deb = debs_found[-1]
    actual = file_sha256(deb)
    # apt-get already checked this against the signed index; checking again records what we hold.
    if actual != fields["SHA256"]:
        raise EngineNotInstalledError(
            f"{deb} has SHA-256 {actual}, but the signed package index says {fields['SHA256']}",
            fix="run the command again; if it persists, the mirror or a proxy is serving a bad file",
        )
    return FetchedPackage(deb, package, fields["Version"], actual)


def extract_deb(deb: Path, destination: Path) -> None:
    """Unpack a .deb's files (not its scripts) into ``destination`` with dpkg-deb."""
    destination.mkdir(parents=True, exist_ok=True)
    _apt(["dpkg-deb", "-x", str(deb), str(destination)], destination, f"unpacking {deb.name}")


def _apt(command: list[str], cwd: Path, what: str) -> str:
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT,
            check=False,
            env={**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"},
        )
    except subprocess.TimeoutExpired:
        raise EngineNotInstalledError(
            f"{what} took longer than {APT_TIMEOUT:g} s", fix="check the network connection and try again"
        ) from None
    if result.returncode != 0:
        detail = _tail(result.stderr or result.stdout)
        raise EngineNotInstalledError(
            f"{what} failed ({command[0]} exited with {result.returncode}): {detail}",
            fix="check that deb.debian.org is reachable (or apt's proxy settings) and try again",
        )
    return result.stdout


def _first_stanza(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        if sep and not line[0].isspace():
            fields[key] = value.strip()
    return fields


@dataclass(frozen=True)
class ProbeResult:
    """What a probe in a child process found: ok, and a one-line reason or its output."""

    ok: bool
    detail: str


def probe_in_child(code: str, *, env: Mapping[str, str] | None = None, timeout: float = 120.0) -> ProbeResult:
    """Run ``code`` in a fresh Python process (this interpreter); ok when it exits with 0.

    A child killed by a signal (SIGABRT from a runtime that gives up) is reported
    with the signal's name and the last lines it wrote, never raised.
    """
    with tempfile.TemporaryDirectory(prefix="ocr-harness-probe-") as scratch:
        try:
            result = subprocess.run(
                [sys.executable, "-c", code],
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**os.environ, **(env or {})},
                check=False,
            )
        except subprocess.TimeoutExpired:
            return ProbeResult(False, f"the probe did not finish within {timeout:g} s")
    output = _tail(result.stderr) or _tail(result.stdout)
    if result.returncode == 0:
        return ProbeResult(True, result.stdout.strip())
    if result.returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-result.returncode).name}"
        except ValueError:
            how = f"was killed by signal {-result.returncode}"
    else:
        how = f"exited with code {result.returncode}"
    return ProbeResult(False, f"the probe process {how}" + (f": {output}" if output else ""))


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])
