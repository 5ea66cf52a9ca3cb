"""What stands between a request and the Extractor: the token, the body size, the file type, the queue."""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "OCR_HARNESS_TOKEN"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def send_json_error(
    send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"error": message}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(key.lower().encode(), value.encode()) for key, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class TokenGuard:
    """Every HTTP request must send ``Authorization: Bearer TOKEN``; compared in constant time."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = b""
        for key, value in scope.get("headers", []):
            if key == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        if not hmac.compare_digest(given, self.token):
            await send_json_error(
                send,
                401,
                "missing or wrong API token: send the header 'Authorization: Bearer TOKEN'",
                {"WWW-Authenticate": "Bearer"},
            )
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Answer 413 to a request body over ``limit`` bytes, before it is read or stored anywhere.

    A declared Content-Length over the limit is refused at once (the server holds
    the body to that length). A chunked body is counted as it arrives, buffered
    up to the limit, and refused once it passes it.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await send_json_error(send, 400, "the Content-Length header is not a number")
                return
            if length > self.limit:
                await send_json_error(send, 413, self._message(length))
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await send_json_error(send, 413, self._message(None))
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _message(self, length: int | None) -> str:
        size = f" ({length:,} bytes)" if length is not None else ""
        return f"the upload is too large{size}: this service accepts at most {self.limit:,} bytes per request"


#: Leading bytes of the formats the service reads, and the media type each one is.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"II+\x00", "image/tiff"),
    (b"MM\x00+", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "image/jp2"),
)


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes (never from its name or declared type), or None."""
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    if b"%PDF-" in head[:1024]:  # PDF readers accept a header anywhere in the first kilobyte
        return "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if len(head) > 2 and head[:1] == b"P" and head[1:2] in b"123456" and head[2:3].isspace():
        return "image/x-portable-anymap"
    return None


def describe_unknown(head: bytes) -> str:
    """Why an upload is not a file the service reads, for the error message."""
    if not head:
        return "the upload is empty (0 bytes)"
    kind = "text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the sample
            kind = "neither text nor a known format"
    return f"unsupported file type: the content is {kind}, not an image ({_READABLE}) or a PDF"


_READABLE = "PNG, JPEG, TIFF, GIF, BMP, WebP, JPEG 2000, PNM"


class QueueGate:
    """Answer 503 to uploads while the page queue is full, before their bodies are read."""

    def __init__(self, app: ASGIApp, queue: PageQueue) -> None:
        self.app = app
        self.queue = queue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and self.queue.full:
            await send_json_error(
                send, 503, self.queue.busy_message(), {"Retry-After": str(self.queue.retry_after())}
            )
            return
        await self.app(scope, receive, send)


class PageQueue:
    """Counts pages accepted and not yet read, up to ``limit``; estimates when to come back."""

    def __init__(self, limit: int, workers: int) -> None:
        self.limit = limit
        self.workers = max(1, workers)
        self.pending = 0
        #: seconds per page, a moving average of what requests took (a guess until the first one)
        self.seconds_per_page = 2.0

    @property
    def full(self) -> bool:
        return self.pending >= self.limit

    def busy_message(self) -> str:
        return f"busy: {self.pending} pages are waiting to be read; try again later"

    def admit(self, pages: int) -> bool:
        if self.pending + pages > self.limit:
            return False
        self.pending += pages
        return True

    def release(self, pages: int, seconds: float | None = None) -> None:
        self.pending -= pages
        if seconds is not None and pages:
            self.seconds_per_page = 0.8 * self.seconds_per_page + 0.2 * (seconds / pages)

    def retry_after(self) -> int:
        """Whole seconds until the workers have likely read what is pending (1 to 300)."""
        return max(1, min(300, math.ceil(self.pending * self.seconds_per_page / self.workers)))
