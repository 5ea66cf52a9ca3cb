"""The machine and software a run used: the fingerprint recorded in run.json.

Numbers are only comparable between runs made under the same conditions; these
facts let a reader (and ``ocr-harness compare``) check that they were.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.defaults import usable_cpus

#: Environment variables that set thread counts in numeric and OCR libraries.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OMP_THREAD_LIMIT",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "ORT_NUM_THREADS",
    "OCR_HARNESS_PLUGINS",
    "OCR_HARNESS_DISABLE_PLUGINS",
    "OCR_HARNESS_MAX_IMAGE_PIXELS",
    "TESSDATA_PREFIX",
)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or platform.processor() elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def memory_total_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def environment() -> dict[str, Any]:
    """Python, OS, CPU and the thread-related environment variables."""
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "os": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "memory_mb": memory_total_mb(),
        "env": {name: os.environ[name] for name in THREAD_ENV_VARS if name in os.environ},
    }


def harness_info() -> dict[str, Any]:
    """The harness version, and the git commit when running from a checkout."""
    from harness import __version__

    info: dict[str, Any] = {"version": __version__, "commit": None, "dirty": None}
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / ".git").exists():
        return info
    try:
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if commit.returncode == 0:
            info["commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            info["dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return info
