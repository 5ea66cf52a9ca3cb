"""The service's guards on their own: file types from content, the page queue, loopback addresses."""

from __future__ import annotations

import pytest

from harness.service.guards import PageQueue, describe_unknown, is_loopback, sniff


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0..JFIF", "image/jpeg"),
        (b"II*\x00\x08\x00", "image/tiff"),
        (b"MM\x00*\x00\x00", "image/tiff"),
        (b"GIF89a..", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\n\n  junk before the header %PDF-1.4\n", "application/pdf"),
        (b"P5\n640 480\n255\n", "image/x-portable-anymap"),
        (b"Dear reader, PNG", None),
        (b"<svg xmlns=", None),
        (b"", None),
    ],
)
def test_the_type_comes_from_the_first_bytes(head: bytes, media_type: str | None) -> None:
    assert sniff(head) == media_type


def test_what_an_unknown_upload_is_said_to_be() -> None:
    assert "empty" in describe_unknown(b"")
    assert "the content is text" in describe_unknown("Grüße, a letter\n".encode())
    assert "the content is text" in describe_unknown("cut mid-character: é".encode()[:-1])
    assert "neither text nor a known format" in describe_unknown(bytes(range(128, 256)) * 4)


def test_the_queue_admits_pages_up_to_its_limit_and_estimates_the_wait() -> None:
    queue = PageQueue(limit=4, workers=2)
    assert queue.admit(3) and not queue.admit(2) and queue.admit(1)
    assert queue.pending == 4 and not queue.admit(1)
    assert 1 <= queue.retry_after() <= 300
    queue.release(3, seconds=30.0)  # slow pages make the next estimate longer
    before = queue.retry_after()
    queue.admit(3)
    assert queue.retry_after() > before
    queue.release(4)
    assert queue.pending == 0 and queue.admit(4)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
