"""What the HTTP service costs: pages per second through ``ocr-harness serve`` against a plain engine loop.

Both sides are warm, as a long-running service is: the server (Tesseract, two
workers) has read one page before timing, and the plain ``multiprocessing.Pool``
(benchmarks/plain_loop.py's engine and reader, same workers and threads) has
created its engines. Each round posts every real-dev English line over HTTP, a
few requests at a time, and reads the same lines through the pool. The ratio of
their throughputs is the service's cost: uploads, multipart parsing, temporary
files, the queue and JSON.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from pathlib import Path

import httpx
import plain_loop
from plain_loop import require_backend
from service_server import serving

WORKERS = 2
ROUNDS = 3
#: Requests in flight at once: enough to keep both workers busy.
CLIENTS = 4
BACKEND = "tesseract"


async def _post_all(url: str, images: list[Path]) -> None:
    queue = list(images)

    async def client(http: httpx.AsyncClient) -> None:
        while queue:
            image = queue.pop()
            response = await http.post(f"{url}/v1/extract", files={"file": (image.name, image.read_bytes())})
            assert response.status_code == 200, response.text

    async with httpx.AsyncClient(timeout=300) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))


def test_service_throughput_against_a_plain_engine_loop(benchmark, english_lines, tmp_path):
    require_backend(BACKEND)
    images = english_lines
    items = [(str(path), "en") for path in images]
    context = multiprocessing.get_context("spawn")
    plain_seconds: list[float] = []
    with (
        serving(tmp_path, "--workers", str(WORKERS)) as server,
        context.Pool(WORKERS, initializer=plain_loop._create_engine, initargs=(BACKEND, 1)) as pool,
    ):
        pool.map(plain_loop._read, items[:WORKERS], chunksize=1)  # engines created
        asyncio.run(_post_all(server.url, images[:WORKERS]))  # the server's too

        def plain_round() -> None:  # the untimed set-up of each round: the yardstick, timed here
            start = time.perf_counter()
            assert len(pool.map(plain_loop._read, items, chunksize=1)) == len(items)
            plain_seconds.append(time.perf_counter() - start)

        benchmark.pedantic(
            lambda: asyncio.run(_post_all(server.url, images)), setup=plain_round, rounds=ROUNDS, iterations=1
        )
    service = benchmark.stats.stats.median
    plain = statistics.median(plain_seconds)
    ratio = plain / service
    benchmark.extra_info.update(
        backend=BACKEND, pages=len(images), workers=WORKERS, service_s=service, plain_s=plain, ratio=ratio
    )
    print(
        f"\nservice {BACKEND}: {len(images)} lines on {WORKERS} workers: service {service:.2f} s "
        f"({len(images) / service:.2f} pages/s), plain loop {plain:.2f} s "
        f"({len(images) / plain:.2f} pages/s), throughput ratio service/plain {ratio:.2f}"
    )
