"""Continuing a run folder safely: one process at a time, and only with the suite that started it.

:func:`hold_run_folder` takes an exclusive lock on ``RUN_DIR/.lock`` for as
long as a run writes the folder (a new run and every ``--resume``). The lock is
the kernel's (``flock``): a process killed with SIGKILL releases it, so a dead
run never blocks the next one; a live one is named (pid, host, start time,
command) in the error the second process gets.

:func:`suite_differences` compares the suite a ``--resume`` asks for with the
one in the folder's run.json: datasets (and their fingerprints), backends
(versions and options), pipelines, normalisation and failure policy must be
the same, or rows of two different runs would be mixed in one results.jsonl.
Run settings (workers, timeout, output folder) may change.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, OutputError, RunFolderBusyError
from harness.files import describe_os_error
from harness.run_folder import LOCK_FILE, RunInfo, has_run_info, read_run_info, read_run_results


@contextlib.contextmanager
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Hold the run folder's lock, or raise RunFolderBusyError naming the process that holds it."""
    path = run_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise OutputError(
            f"{path}: the run folder's lock cannot be created ({describe_os_error(error)})"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderBusyError(
                f"{run_dir}: another ocr-harness process is writing this run folder ({_holder(fd)})",
                fix="wait for it to finish (or stop it), then resume; two processes would run jobs twice",
            ) from None
        except OSError as error:  # a file system without locks (some network mounts): say so, go on
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            print(
                f"warning: {path}: the run folder cannot be locked here ({describe_os_error(error)}); "
                "do not resume it from two processes at once",
                file=sys.stderr,
            )
        _write_holder(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _write_holder(fd: int) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }
    with contextlib.suppress(OSError):  # the lock is what matters; the note only helps the message
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)


def _holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}: {holder['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said who it is yet"


# --- is it the same run? ---------------------------------------------------------------


def continue_run(run_dir: Path, info: RunInfo) -> None:
    """Check that ``info`` (the run.json a resume would write) is the folder's run, and carry over
    when it started and each resumption; ConfigError saying what differs otherwise."""
    if not has_run_info(run_dir):
        return
    earlier = read_run_info(run_dir)
    differences = suite_differences(earlier.model_dump(mode="json"), info.model_dump(mode="json"))
    if differences:
        raise ConfigError(
            f"--resume {run_dir}: this is not the run in that folder: " + "; ".join(differences),
            fix="resume with the suite (datasets, backends, pipelines) the run started with, or start anew",
        )
    info.started = earlier.started or info.started
    info.resumed = [*(earlier.resumed or []), datetime.now(UTC).isoformat(timespec="seconds")]


def done_jobs(run_dir: Path) -> set[tuple[Any, Any, Any]]:
    """(dataset, sample id, key) of every job stored as ``ok`` or ``skipped``: not run again.

    Only round 1 counts: records of later timing rounds (``round``) are timings, not jobs.
    """
    return {
        (record.get("dataset"), record.get("sample_id"), record.get("key"))
        for record in read_run_results(run_dir)
        if record.get("status") in ("ok", "skipped") and record.get("round", 1) == 1
    }



def suite_differences(folder: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between the run.json in the folder and the one a resume would write, as sentences."""
    differences = []
    for key, what in (
        ("suite", "suite name"),
        ("pipelines", "pipelines"),
        ("failure_policy", "failure policy"),
    ):
        if folder.get(key) != now.get(key):
            differences.append(
                f"{what}: the folder has {_show(folder.get(key))}, this run {_show(now.get(key))}"
            )
    old, new = (folder.get("normalisation") or {}).get("id"), (now.get("normalisation") or {}).get("id")
    if old != new:
        differences.append(f"normalisation: the folder has {_show(old)}, this run {_show(new)}")
    differences += _table_differences(
        "backend", folder.get("backends") or {}, now.get("backends") or {}, ("name", "version", "options")
    )
    differences += _table_differences(
        "dataset", folder.get("datasets") or {}, now.get("datasets") or {}, ("path", "format", "fingerprint")
    )
    return differences


def _table_differences(
    what: str, folder: Mapping[str, Any], now: Mapping[str, Any], fields: tuple[str, ...]
) -> list[str]:
    if list(folder) != list(now):
        return [f"{what}s: the folder has {_show(list(folder))}, this run {_show(list(now))}"]
    differences = []
    for name, old in folder.items():
        new = now[name]
        for field in fields:
            if (old or {}).get(field) != (new or {}).get(field):
                differences.append(
                    f"{what} {name!r} {field}: the folder has {_show((old or {}).get(field))}, "
                    f"this run {_show((new or {}).get(field))}"
                )
    return differences


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
