"""``ocr-harness serve`` in a process of its own on a free port, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``ocr-harness serve ARGS`` on a free port until the block ends (then SIGTERM)."""
    port = _free_port()
    log = tmp_path / f"server-{port}.log"
    command = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())", "serve"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--backend", "tesseract", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_up(server, (env or {}).get("OCR_HARNESS_TOKEN"))
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(server: Server, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 120  # a bound on start-up, not a speed requirement
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", headers=headers, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /healthz:\n{server.log.read_text()}")
