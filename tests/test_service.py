"""The HTTP service for real: ``ocr-harness serve`` on a free port in its own process, Tesseract on real
scans, spoken to over HTTP with httpx."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import missing_requirement
from service_server import Server, serving

from harness.cli import main
from harness.metrics import cer

PAGE = "page_en_oldbooks_i020.tiff"  # a clean printed page, about 900 characters
LINE = "line_en_jebb1896_0136_18.png"  # "that he is under the spell of some angry"


@pytest.fixture(autouse=True, scope="module")
def _tesseract() -> None:
    from harness.plugins import get_registry

    availability = get_registry().backend("tesseract").availability()
    if not availability.ok:
        missing_requirement(f"tesseract is not usable here: {availability.reason}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("service")
    with serving(
        folder, "--workers", "2", "--db", str(folder / "index.sqlite"), "--max-upload-mb", "2"
    ) as running:
        yield running


def _ground_truth(real_dev: Path, name: str) -> str:
    return (real_dev / name).with_suffix(".gt.txt").read_text(encoding="utf-8")


def test_json_of_a_real_page_with_its_type_read_from_the_content(server: Server, real_dev: Path) -> None:
    # A misleading name and declared type: the content decides.
    files = {"file": ("scan.bin", (real_dev / PAGE).read_bytes(), "application/octet-stream")}
    response = httpx.post(f"{server.url}/v1/extract", files=files, timeout=300)
    assert response.status_code == 200, response.text
    document = response.json()
    assert cer(_ground_truth(real_dev, PAGE), document["text"]) < 0.05
    assert document["truncated"] is False
    assert document["backend"] == "tesseract" and document["source"] == "scan.bin"
    [page] = document["pages"]
    assert page["number"] == 1 and page["text"] == document["text"]
    assert len(page["lines"]) > 10
    for line in page["lines"]:
        left, top, right, bottom = line["box"]
        assert 0 <= left < right <= page["width"] and 0 <= top < bottom <= page["height"]
        assert 0 <= line["confidence"] <= 1


def test_text_of_a_real_page_in_another_language_setting(server: Server, real_dev: Path) -> None:
    files = {"file": (PAGE, (real_dev / PAGE).read_bytes(), "image/tiff")}
    data = {"format": "text", "language": "en", "preprocess": "grayscale"}
    response = httpx.post(f"{server.url}/v1/extract", files=files, data=data, timeout=300)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert cer(_ground_truth(real_dev, PAGE), response.text) < 0.05


def _text_of(form: str, data: bytes, tmp_path: Path) -> str:
    """The text of an answer in ``form``, read back by a reader that is not the writer."""
    if form in ("alto", "page"):
        from ocr_harness_plugins.datasets.groundtruth import read_ground_truth

        path = tmp_path / f"answer.{form}.xml"
        path.write_bytes(data)
        return read_ground_truth(path)
    if form == "hocr":
        from xml.etree import ElementTree

        root = ElementTree.fromstring(data)  # well-formed XHTML
        lines = [element for element in root.iter() if element.get("class") == "ocr_line"]
        return "\n".join(" ".join("".join(line.itertext()).split()) for line in lines)
    path = tmp_path / "answer.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize(
    ("form", "media_type"),
    [
        ("hocr", "application/xhtml+xml"),
        ("alto", "application/xml"),
        ("page", "application/xml"),
        ("pdf", "application/pdf"),
    ],
)
def test_each_document_format_of_a_real_page(
    server: Server, real_dev: Path, tmp_path: Path, form: str, media_type: str
) -> None:
    if form == "pdf" and shutil.which("pdftotext") is None:
        missing_requirement("pdftotext is not installed (Debian package poppler-utils)")
    files = {"file": ("../scan 7.tif", (real_dev / PAGE).read_bytes(), "image/tiff")}
    response = httpx.post(f"{server.url}/v1/extract", files=files, data={"format": form}, timeout=300)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    assert 'filename="scan_7.' in response.headers["content-disposition"]
    assert cer(_ground_truth(real_dev, PAGE), _text_of(form, response.content, tmp_path)) < 0.05
    if form != "pdf":
        assert b"ocr-harness-uploads" not in response.content  # the upload's name, not the service's file


def test_a_pdf_upload_is_read_page_by_page(server: Server, real_dev: Path, tmp_path: Path) -> None:
    from PIL import Image

    scan = tmp_path / "scan.pdf"
    with Image.open(real_dev / PAGE) as image:
        page = image.convert("L")
    page.save(scan, save_all=True, append_images=[page], resolution=300)
    files = {"file": ("scan.pdf", scan.read_bytes(), "image/png")}  # the declared type is wrong: no matter
    response = httpx.post(f"{server.url}/v1/extract", files=files, timeout=300)
    assert response.status_code == 200, response.text
    document = response.json()
    assert [page["number"] for page in document["pages"]] == [1, 2]
    for read in document["pages"]:
        assert cer(_ground_truth(real_dev, PAGE), read["text"]) < 0.05
    page_xml = httpx.post(f"{server.url}/v1/extract", files=files, data={"format": "page"}, timeout=300)
    assert page_xml.status_code == 400 and "send page=N" in page_xml.json()["error"]
    second = httpx.post(
        f"{server.url}/v1/extract", files=files, data={"format": "page", "page": "2"}, timeout=300
    )
    assert second.status_code == 200
    assert cer(_ground_truth(real_dev, PAGE), _text_of("page", second.content, tmp_path)) < 0.05


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"format": "docx"}, "unknown format 'docx'"),
        ({"language": "xx"}, "cannot read unknown language code 'xx'"),
        ({"backend": "nosuch"}, "nosuch"),
        ({"preprocess": "sharpen(sideways=1)"}, "sharpen"),
    ],
)
def test_bad_options_are_400_naming_the_option(
    server: Server, real_dev: Path, data: dict[str, str], expected: str
) -> None:
    files = {"file": (LINE, (real_dev / LINE).read_bytes(), "image/png")}
    response = httpx.post(f"{server.url}/v1/extract", files=files, data=data, timeout=60)
    assert response.status_code == 400
    assert expected in response.json()["error"]


def test_a_text_file_posted_as_an_image_is_415_naming_the_cause(server: Server) -> None:
    files = {"file": ("scan.png", b"Dear reader,\nthis is a letter, not a scan.\n", "image/png")}
    response = httpx.post(f"{server.url}/v1/extract", files=files, timeout=60)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error.startswith("scan.png: ") and "the content is text" in error


def test_a_damaged_image_is_422_and_no_server_path_shows(server: Server, real_dev: Path) -> None:
    truncated = (real_dev / LINE).read_bytes()[:300]
    response = httpx.post(
        f"{server.url}/v1/extract", files={"file": ("../../etc/passwd", truncated, "image/png")}, timeout=60
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error.startswith("passwd: ") and "damaged or truncated" in error
    assert "ocr-harness-uploads" not in error and "/tmp" not in error


def test_an_upload_over_the_limit_is_413(server: Server) -> None:
    big = os.urandom(3 * 1024 * 1024)
    response = httpx.post(
        f"{server.url}/v1/extract", files={"file": ("big.png", big, "image/png")}, timeout=60
    )
    assert response.status_code == 413
    assert "too large" in response.json()["error"]

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(24):
            yield os.urandom(128 * 1024)

    chunked = httpx.post(
        f"{server.url}/v1/extract",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=60,
    )
    assert chunked.status_code == 413 and "too large" in chunked.json()["error"]
    assert httpx.get(f"{server.url}/healthz").json()["pending_pages"] == 0


async def test_fifty_requests_at_once_are_each_answered_200_or_503_with_retry_after(
    server: Server, real_dev: Path
) -> None:
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["max_pending_pages"] >= 32
    image = (real_dev / LINE).read_bytes()
    async with httpx.AsyncClient(timeout=300) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{server.url}/v1/extract", files={"file": (LINE, image, "image/png")})
                for _ in range(50)
            )
        )
    assert len(responses) == 50
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses
    for response in responses:
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) >= 1
            assert "busy" in response.json()["error"]
        else:
            assert cer(_ground_truth(real_dev, LINE), response.json()["text"]) < 0.1
    assert httpx.get(f"{server.url}/healthz").json()["pending_pages"] == 0


def test_indexed_uploads_are_found_by_search(server: Server, real_dev: Path) -> None:
    files = [
        ("file", (name, (real_dev / name).read_bytes(), "image/png"))
        for name in (LINE, "line_en_uw3_0317_010133.png")
    ]
    response = httpx.post(f"{server.url}/v1/index", files=files, timeout=300)
    assert response.status_code == 200, response.text
    assert [entry["status"] for entry in response.json()["files"]] == ["read", "read"]
    again = httpx.post(f"{server.url}/v1/index", files=files[:1], timeout=300)
    assert again.json()["files"][0]["status"] == "unchanged"

    hits = httpx.get(f"{server.url}/v1/search", params={"q": "angry"}).json()["hits"]
    assert hits[0]["path"] == f"upload:{LINE}"
    assert hits[0]["page"] == 1 and len(hits[0]["line"]["box"]) == 4
    assert "angry" in hits[0]["snippet"]
    bad = httpx.get(f"{server.url}/v1/search", params={"q": '"unbalanced'})
    assert bad.status_code == 400 and "cannot search" in bad.json()["error"]


def test_openapi_describes_every_route(server: Server) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert {"/v1/extract", "/v1/search", "/v1/index", "/healthz"} <= set(paths)


def test_every_request_needs_the_token_when_one_is_set(tmp_path: Path, real_dev: Path) -> None:
    token = "s3cret-token"
    with serving(tmp_path, "--timeout", "0.05", env={"OCR_HARNESS_TOKEN": token}) as running:
        for path in ("/healthz", "/openapi.json", "/v1/search?q=a"):
            response = httpx.get(f"{running.url}{path}")
            assert response.status_code == 401 and "token" in response.json()["error"]
            wrong = httpx.get(f"{running.url}{path}", headers={"Authorization": "Bearer s3cret-tokem"})
            assert wrong.status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{running.url}/healthz", headers=headers).status_code == 200
        # No index was configured; and a request past its timeout is 504.
        assert httpx.get(f"{running.url}/v1/search?q=a", headers=headers).status_code == 404
        files = {"file": (PAGE, (real_dev / PAGE).read_bytes(), "image/tiff")}
        late = httpx.post(f"{running.url}/v1/extract", files=files, headers=headers, timeout=60)
        assert late.status_code == 504 and "timeout" in late.json()["error"]


def test_other_addresses_need_a_token_and_bad_settings_stop_at_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCR_HARNESS_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "an API token is required" in capsys.readouterr().err
    # A bad configuration is one line, before anything listens.
    assert main(["serve", "--backend", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert main(["serve", "--port", "70000"]) == 2
    assert "port must be between" in capsys.readouterr().err


async def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path, real_dev: Path) -> None:
    with serving(tmp_path, "--workers", "1", "--max-pending-pages", "2") as running:
        page = (real_dev / PAGE).read_bytes()
        three_pages = tmp_path / "three.tiff"
        from PIL import Image

        frames = [Image.open(real_dev / LINE).convert("L") for _ in range(3)]
        frames[0].save(three_pages, save_all=True, append_images=frames[1:])
        async with httpx.AsyncClient(timeout=300) as client:
            many = await client.post(
                f"{running.url}/v1/extract",
                files={"file": ("three.tiff", three_pages.read_bytes(), "image/tiff")},
            )
            assert many.status_code == 413 and "3 pages" in many.json()["error"]
            in_flight = [
                asyncio.create_task(client.post(f"{running.url}/v1/extract", files={"file": (PAGE, page)}))
                for _ in range(2)
            ]
            while (await client.get(f"{running.url}/healthz")).json()["pending_pages"] < 2:
                await asyncio.sleep(0.05)
            # The queue is full: the next request is turned away with a time to come back.
            busy = await client.post(f"{running.url}/v1/extract", files={"file": (PAGE, page)})
            assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
            running.process.send_signal(signal.SIGTERM)
            responses = await asyncio.gather(*in_flight)
        for response in responses:
            assert response.status_code == 200, response.text
            assert cer(_ground_truth(real_dev, PAGE), response.json()["text"]) < 0.05
        # uvicorn re-raises the SIGTERM once shut down, so the exit status is the conventional one.
        assert await asyncio.to_thread(running.process.wait, 120) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in running.log.read_text()  # the workers were closed
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{running.url}/healthz")
