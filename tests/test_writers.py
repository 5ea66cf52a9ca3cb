"""Writers: hOCR, ALTO, PAGE-XML and searchable PDF, read back by the project's readers and by others'."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from conftest import missing_requirement
from ocr_harness_plugins.datasets.groundtruth import read_ground_truth
from PIL import Image, ImageDraw, ImageFont

from harness.document import Document, Line, Page, Word
from harness.writers import write
from harness.writers.layout import words_of

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BIN = Path(sys.executable).parent

FONT = ImageFont.truetype(DEJAVU, 30)


def placed(text: str, left: int, top: int, confidence: float | None, *, with_words: bool = False) -> Line:
    """A line of ``text`` with the box it has when drawn at (left, top), and its words' boxes if asked."""
    box = tuple(int(v) for v in ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((left, top), text, font=FONT))
    words = []
    if with_words:
        x = left
        for word in text.split(" "):
            wl, wt, wr, wb = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((x, top), word, font=FONT)
            words.append(Word(word, (int(wl), box[1], int(wr), box[3]), 0.9 if word != "<&>" else 0.8))
            x += int(FONT.getlength(word + " "))
    return Line(text, box, confidence, tuple(words))  # type: ignore[arg-type]


# A two-column page at 200 dpi, lines in reading order: the left column, then the right one.
LINES = [
    placed('Caf\u00e9 <&> "quoted"', 100, 100, 0.91, with_words=True),
    placed("left column two", 100, 160, 0.88),
    placed("right column one", 900, 100, None),
    placed("right column two", 900, 160, 0.7),
]


def page(number: int = 1, lines: list[Line] | None = None) -> Page:
    return Page(
        number=number,
        text="\n".join(line.text for line in LINES if lines is None),
        lines=list(LINES if lines is None else lines),
        width=1600,
        height=1000,
        resolution=200.0,
        resolution_source="image",
    )


@pytest.fixture
def document(tmp_path: Path) -> Document:
    image = Image.new("L", (1600, 1000), 255)
    draw = ImageDraw.Draw(image)
    for line, top in zip(LINES, (100, 160, 100, 160), strict=True):
        assert line.box is not None
        draw.text((line.box[0], top), line.text, font=FONT, fill=0)
    source = tmp_path / "scan.png"
    image.save(source, dpi=(200, 200))
    return Document(source=str(source), backend="tesseract", language="fr", pages=[page()])


def lines_text(lines: list[Line]) -> str:
    return "".join(line.text + "\n" for line in lines)


def test_hocr_is_well_formed_xhtml_with_pages_lines_words_boxes_and_confidences(
    document: Document, tmp_path: Path
) -> None:
    data = write(document, "hocr")
    root = ElementTree.fromstring(data)  # well-formed XML, or this raises
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    page_div = root.find(".//h:div[@class='ocr_page']", ns)
    assert page_div is not None
    assert "bbox 0 0 1600 1000" in page_div.get("title", "") and "scan_res 200 200" in page_div.get(
        "title", ""
    )
    lines = root.findall(".//h:span[@class='ocr_line']", ns)
    assert [line.get("title") for line in lines][:2] == [
        "bbox {} {} {} {}; x_wconf 91".format(*LINES[0].box or ()),
        "bbox {} {} {} {}; x_wconf 88".format(*LINES[1].box or ()),
    ]
    words = root.findall(".//h:span[@class='ocrx_word']", ns)
    assert [word.text for word in words[:3]] == ["Caf\u00e9", "<&>", '"quoted"']
    assert words[1].get("title") == "bbox {} {} {} {}; x_wconf 80".format(*LINES[0].words[1].box or ())
    # A line the engine gave no words for: words estimated inside the line box.
    estimated = [word for word in words if word.text == "column"][0]
    left, top, right, bottom = map(int, estimated.get("title", "").split(";")[0].split()[1:])
    line_box = LINES[1].box or (0, 0, 0, 0)
    assert line_box[0] < left < right < line_box[2] and (top, bottom) == (line_box[1], line_box[3])


def test_hocr_passes_hocr_tools_and_reads_back_with_the_same_text(document: Document, tmp_path: Path) -> None:
    path = tmp_path / "scan.hocr"
    path.write_bytes(write(document, "hocr"))
    check = subprocess.run([BIN / "hocr-check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "not ok" not in check.stdout, check.stdout + check.stderr
    lines = subprocess.run([BIN / "hocr-lines", str(path)], capture_output=True, text=True, check=True)
    assert lines.stdout.splitlines() == [line.text for line in LINES]


def test_alto_v4_reads_back_through_the_project_reader(document: Document, tmp_path: Path) -> None:
    path = tmp_path / "scan.alto.xml"
    path.write_bytes(write(document, "alto"))
    assert read_ground_truth(path) == lines_text(LINES)
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.loc.gov/standards/alto/ns-v4#}alto"
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    page_element = root.find(".//a:Page", ns)
    assert page_element is not None and (page_element.get("WIDTH"), page_element.get("HEIGHT")) == (
        "1600",
        "1000",
    )
    first = root.find(".//a:TextLine", ns)
    assert first is not None
    left, top, right, bottom = LINES[0].box or (0, 0, 0, 0)
    position = [str(left), str(top), str(right - left), str(bottom - top)]
    assert [first.get(key) for key in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == position
    strings = first.findall("a:String", ns)
    assert [s.get("CONTENT") for s in strings] == ["Caf\u00e9", "<&>", '"quoted"']
    assert strings[0].get("WC") == "0.9000" and strings[1].get("WC") == "0.8000"
    assert root.findtext(".//a:fileName", namespaces=ns) == "scan.png"


def test_page_xml_reads_back_in_reading_order_with_coords_and_text_per_line(
    document: Document, tmp_path: Path
) -> None:
    path = tmp_path / "scan.page.xml"
    path.write_bytes(write(document, "page"))
    # The reader sorts the lines of a region by height: two columns in one region would interleave.
    assert read_ground_truth(path) == lines_text(LINES)
    ns = {"p": "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"}
    root = ElementTree.parse(path).getroot()
    page_element = root.find("p:Page", ns)
    assert page_element is not None
    assert page_element.get("imageXResolution") == "200" and page_element.get("imageWidth") == "1600"
    for line in root.iter(f"{{{ns['p']}}}TextLine"):
        assert line.find("p:Coords", ns) is not None and line.find("p:TextEquiv/p:Unicode", ns) is not None
    first = root.find(".//p:TextLine/p:Coords", ns)
    left, top, right, bottom = LINES[0].box or (0, 0, 0, 0)
    assert (
        first is not None
        and first.get("points") == f"{left},{top} {right},{top} {right},{bottom} {left},{bottom}"
    )


def test_page_xml_writes_one_page_per_file(document: Document, tmp_path: Path) -> None:
    second = [Line("second page", (100, 100, 500, 140), 0.9)]
    document.pages.append(Page(number=2, text="second page", lines=second, width=1600, height=1000))
    path = tmp_path / "p2.page.xml"
    path.write_bytes(write(document, "page", page=2))
    assert read_ground_truth(path) == "second page\n"
    with pytest.raises(ValueError, match="not a page 3"):
        write(document, "page", page=3)


def pdftotext(*args: str | Path) -> str:
    if shutil.which("pdftotext") is None:
        missing_requirement("poppler's pdftotext is not installed (Debian: poppler-utils)")
    return subprocess.run(["pdftotext", *map(str, args)], capture_output=True, text=True, check=True).stdout


def test_searchable_pdf_holds_the_text_at_the_word_boxes(document: Document, tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(write(document, "pdf"))
    text = pdftotext(path, "-")
    for line in LINES:
        assert line.text in text
    # The text layer is written in the document's reading order (-raw: content stream order).
    assert pdftotext("-raw", path, "-").split("\n")[:4] == [line.text for line in LINES]
    bbox = pdftotext("-bbox", path, "-")
    size = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', bbox)
    assert size is not None
    assert (float(size.group(1)), float(size.group(2))) == pytest.approx((1600 * 72 / 200, 1000 * 72 / 200))
    found = {
        match.group(5): tuple(float(match.group(i)) for i in range(1, 5))
        for match in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', bbox
        )
    }
    scale = 72 / 200
    for word in words_of(LINES[0]) + words_of(LINES[3]):
        assert word.box is not None
        expected = tuple(value * scale for value in word.box)
        text_key = (
            word.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        )
        assert found[text_key] == pytest.approx(expected, abs=2.0), word


def test_searchable_pdf_has_one_page_per_page(document: Document, tmp_path: Path) -> None:
    second = Image.new("RGB", (800, 500), "white")
    document.pages.append(
        Page(
            number=2,
            text="two",
            lines=[Line("two", (10, 10, 100, 40))],
            width=800,
            height=500,
            resolution=100.0,
        )
    )
    first = Image.open(document.source)
    path = tmp_path / "two.pdf"
    path.write_bytes(write(document, "pdf", images=[first, second]))
    pages = pdftotext(path, "-").split("\f")
    assert "right column two" in pages[0] and pages[1].strip() == "two"
    sizes = re.findall(r'<page width="([\d.]+)" height="([\d.]+)"', pdftotext("-bbox", path, "-"))
    assert [(float(w), float(h)) for w, h in sizes] == [(576.0, 360.0), (576.0, 360.0)]


def test_json_holds_the_whole_model_and_reads_back(document: Document) -> None:
    data = json.loads(write(document, "json"))
    assert data["text"] == document.text and data["truncated"] is False
    word = LINES[0].words[1]
    assert data["pages"][0]["lines"][0]["words"][1] == {
        "text": "<&>",
        "box": list(word.box or ()),
        "confidence": 0.8,
    }
    assert Document.from_dict(data) == document
