"""A corpus of hostile and broken inputs, generated (never committed as binaries).

``make_corpus(root, outside)`` writes a folder-format dataset at ``root`` with
good samples and one file (or pair of files) per kind of bad input, and the
secrets that links point at under ``outside``. Each kind says which file the
problem must name and a fragment of the message.
"""

from __future__ import annotations

import os
import socket
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SECRET_TEXT = "SECRET-GROUND-TRUTH-4711"
SECRET_WORD = "SECRETWORD"
GOOD = {"good_one": "Hello world", "good_two": "Reliable text"}
UNDECODABLE_NAME = b"caf\xe9.png"


@dataclass(frozen=True)
class Kind:
    name: str
    file: str  # the file (relative to the dataset root) the problem names
    fragment: str  # part of the message (case-insensitive)
    image: str | None = None  # the image file of the sample, when it is not ``file``
    extract: bool = True  # also fed to `extract` (image files only)
    check: bool = True  # an error in `datasets check` too (not for files only an engine refuses)


def text_image(text: str, size: tuple[int, int] = (420, 60)) -> Image.Image:
    image = Image.new("L", size, 255)
    font = ImageFont.truetype("DejaVuSans.ttf", 32)
    ImageDraw.Draw(image).text((10, 10), text, font=font, fill=0)
    return image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")


def _tiff(path: Path, pages: list[Image.Image], compression: str = "tiff_adobe_deflate") -> None:
    pages[0].save(path, save_all=True, append_images=pages[1:], compression=compression)


def _corrupt_tiff_page(path: Path, page: int) -> None:
    with Image.open(path) as image:
        image.seek(page)
        offset, length = image.tag_v2[273][0], image.tag_v2[279][0]
    data = bytearray(path.read_bytes())
    data[offset : offset + length] = b"\xff" * length
    path.write_bytes(bytes(data))


def make_corpus(root: Path, outside: Path) -> list[Kind]:
    """Write the dataset and the secrets; return every kind of bad input in it."""
    root.mkdir(parents=True)
    outside.mkdir(parents=True)
    secret_text = outside / "secret.gt.txt"
    secret_text.write_text(SECRET_TEXT, encoding="utf-8")
    secret_image = outside / "secret.png"
    text_image(SECRET_WORD).save(secret_image)

    for stem, text in GOOD.items():
        text_image(text).save(root / f"{stem}.png")
        (root / f"{stem}.gt.txt").write_text(text, encoding="utf-8")

    kinds: list[Kind] = []

    def add(name: str, file: str, fragment: str, **extra: object) -> None:
        kinds.append(Kind(name, file, fragment, **extra))  # type: ignore[arg-type]

    def gt(stem: str, text: str = "text") -> None:
        (root / f"{stem}.gt.txt").write_text(text, encoding="utf-8")

    # --- images that are not images, or not files ---
    good_png = (root / "good_one.png").read_bytes()
    (root / "truncated.png").write_bytes(good_png[: len(good_png) // 2])
    add("truncated PNG", "truncated.png", "damaged or truncated")
    (root / "notimage.png").write_text("just some text, not a picture", encoding="utf-8")
    add("text named .png", "notimage.png", "not an image")
    (root / "empty.png").write_bytes(b"")
    add("empty file", "empty.png", "empty")
    os.mkfifo(root / "fifo.png")
    add("FIFO named .png", "fifo.png", "FIFO")
    (root / "zero.png").symlink_to("/dev/zero")
    add("link to /dev/zero", "zero.png", "character device")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "socket.png"))
    add("socket named .png", "socket.png", "socket")
    (root / "dangling.png").symlink_to(root / "no-such-target.png")
    add("dangling link", "dangling.png", "no such file")
    (root / "loop_a.png").symlink_to(root / "loop_b.png")
    (root / "loop_b.png").symlink_to(root / "loop_a.png")
    add("symlink loop", "loop_a.png", "symbolic links")
    (root / "leak.png").symlink_to(secret_image)
    add("image linking out of the root", "leak.png", "outside the dataset folder")
    jpeg = root / "cut.jpg"
    text_image("cut short").convert("RGB").save(jpeg, quality=90)
    jpeg.write_bytes(jpeg.read_bytes()[:300])
    add("truncated JPEG", "cut.jpg", "damaged or truncated")
    (root / "zerowidth.png").write_bytes(_png_header_only(0, 10))
    add("PNG with width 0", "zerowidth.png", "zerowidth.png")
    (root / "claims_huge.png").write_bytes(_png_header_only(100_000, 100_000))
    add("header claiming 10 gigapixels", "claims_huge.png", "larger than the limit")
    (root / "badifd.tif").write_bytes(b"II*\x00" + struct.pack("<I", 1_000_000))
    add("TIFF with an IFD past the end", "badifd.tif", "badifd.tif")
    Image.new("1", (9_500, 9_500), 1).save(root / "bomb.png")  # 90 MP in a few kB
    add("decompression bomb (90 MP PNG)", "bomb.png", "larger than the limit")
    wide = text_image("wide", (100_000, 10))
    wide.save(root / "wide.png")
    add("100000x10 image", "wide.png", "pixels a side", check=False)

    # --- multi-page files ---
    _tiff(root / "bomb_page2.tif", [text_image("first page"), Image.new("1", (10_000, 10_000), 1),
                                    text_image("third page")])  # fmt: skip
    add("TIFF whose page 2 is 100 MP", "bomb_page2.tif", "page 2 of 3")
    _tiff(root / "corrupt_page2.tif", [text_image("first page"), text_image("second"), text_image("third")])
    _corrupt_tiff_page(root / "corrupt_page2.tif", 1)
    add("TIFF with a corrupt page 2", "corrupt_page2.tif", "page 2 of 3")
    frames = [text_image(word) for word in ("one", "two", "three")]
    frames[0].save(root / "animated.webp", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gt("animated", "one")  # one page, as in extract: the first frame
    _tiff(root / "pages_mismatch.tif", [text_image("a"), text_image("b")])
    gt("pages_mismatch", "a\fb\fc")
    add(
        "form feeds vs pages",
        "pages_mismatch.gt.txt",
        "form feeds",
        image="pages_mismatch.tif",
        extract=False,
    )

    # --- ground truth and tags ---
    def image_for(stem: str) -> str:
        text_image(stem[:12]).save(root / f"{stem}.png")
        return f"{stem}.png"

    image = image_for("latin1")
    (root / "latin1.gt.txt").write_bytes("caf\xe9".encode("latin-1"))
    add("ground truth not UTF-8", "latin1.gt.txt", "not utf-8", image=image, extract=False)
    image = image_for("gtleak")
    (root / "gtleak.gt.txt").symlink_to(secret_text)
    add("ground truth linking out", "gtleak.gt.txt", "outside the dataset folder", image=image, extract=False)
    image = image_for("gtfifo")
    os.mkfifo(root / "gtfifo.gt.txt")
    add("ground truth is a FIFO", "gtfifo.gt.txt", "FIFO", image=image, extract=False)
    image = image_for("gtzero")
    (root / "gtzero.gt.txt").symlink_to("/dev/zero")
    add("ground truth links to /dev/zero", "gtzero.gt.txt", "outside the dataset folder", image=image,
        extract=False)  # fmt: skip
    _tiff(root / "pagelink.tif", [text_image("a"), text_image("b")])
    (root / "pagelink.page1.gt.txt").write_text("a", encoding="utf-8")
    (root / "pagelink.page2.gt.txt").symlink_to(secret_text)
    add("per-page ground truth linking out", "pagelink.page2.gt.txt", "outside the dataset folder",
        image="pagelink.tif", extract=False)  # fmt: skip
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10)
        )
        + ']>\n<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">'
        "<Page><TextRegion id='r'><TextLine><TextEquiv><Unicode>&lol9;</Unicode></TextEquiv></TextLine>"
        "</TextRegion></Page></PcGts>"
    )
    image = image_for("laughs")
    (root / "laughs.page.xml").write_text(laughs, encoding="utf-8")
    add("billion-laughs PAGE-XML", "laughs.page.xml", "billion laughs", image=image, extract=False)
    image = image_for("badxml")
    (root / "badxml.page.xml").write_text("<PcGts><Page>", encoding="utf-8")
    add("PAGE-XML not well-formed", "badxml.page.xml", "not well-formed", image=image, extract=False)
    image = image_for("htmlxml")
    (root / "htmlxml.page.xml").write_text("<html><body>hi</body></html>", encoding="utf-8")
    add("XML that is neither PAGE nor ALTO", "htmlxml.page.xml", "PAGE-XML (PcGts) or ALTO", image=image,
        extract=False)  # fmt: skip
    image = image_for("badtags")
    gt("badtags")
    (root / "badtags.tags.json").write_text("{not json", encoding="utf-8")
    add("tags not JSON", "badtags.tags.json", "not valid UTF-8 JSON", image=image, extract=False)
    image = image_for("nestedtags")
    gt("nestedtags")
    (root / "nestedtags.tags.json").write_text('{"a": {"b": 1}}', encoding="utf-8")
    add(
        "tags with nested values", "nestedtags.tags.json", "must be a JSON object", image=image, extract=False
    )
    image = image_for("tagleak")
    gt("tagleak")
    (root / "tagleak.tags.json").symlink_to(secret_text)
    add(
        "tags file linking out", "tagleak.tags.json", "outside the dataset folder", image=image, extract=False
    )

    # --- names ---
    markup = "<img src=x onerror=alert(1)>"
    text_image("markup").save(root / f"{markup}.png")
    (root / f"{markup}.gt.txt").symlink_to(secret_text)
    add("markup in a file name, linking out", f"{markup}.gt.txt", "outside the dataset folder",
        image=f"{markup}.png", extract=False)  # fmt: skip
    (root / "line\nbreak.png").write_text("not an image", encoding="utf-8")
    add("newline in a file name", "line\nbreak.png", "not an image")
    undecodable = os.fsdecode(UNDECODABLE_NAME)  # not UTF-8: the name itself cannot be written as text
    (root / undecodable).write_bytes(good_png)
    add("file name that is not UTF-8", undecodable, "not UTF-8", extract=False)  # extract reads it
    return kinds
