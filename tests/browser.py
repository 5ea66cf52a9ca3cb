"""Headless Chromium for report tests: load a page at a window width, run a probe, read what it found.

The probe is a script added to a copy of the page; it runs after the page's own
scripts and stores a JSON result on ``<body data-probe>``, read back from the DOM
Chromium dumps. Console messages (errors, uncaught exceptions) are collected
from Chromium's log.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from conftest import missing_requirement

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
)  # fmt: skip


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        missing_requirement("headless Chromium is not installed (Debian package chromium)")
    return subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip


def probe(page: Path, script: str, *, width: int, work: Path, height: int = 1000) -> tuple[Any, list[str]]:
    """Run ``script`` (a function body returning a JSON-able value) in ``page`` at ``width`` pixels.

    Returns the script's value and every console message the page logged.
    """
    work.mkdir(parents=True, exist_ok=True)
    copy = work / f"probe-{width}-{page.name}"
    wrapped = (
        "<script>window.addEventListener('load', function () { var result = (function () {"
        + script
        + "})(); document.body.setAttribute('data-probe', JSON.stringify(result)); });</script></body>"
    )
    text = page.read_text(encoding="utf-8")
    head, _, tail = text.rpartition("</body>")
    copy.write_text(head + wrapped + tail, encoding="utf-8")
    done = chromium(
        work / "profile",
        "--enable-logging=stderr", "--v=0", f"--window-size={width},{height}",
        "--virtual-time-budget=5000", "--dump-dom", copy.as_uri(),
    )  # fmt: skip
    match = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert match, "the probe did not run: " + done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(html.unescape(match.group(1))), console


def screenshot(page: Path, target: Path, *, width: int, height: int, work: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    chromium(work / "profile", f"--window-size={width},{height}", f"--screenshot={target}", page.as_uri())
    return target
