"""PAGE-XML 2019-07-15: Page > TextRegion > TextLine (Coords, Words, TextEquiv), with a ReadingOrder.

PAGE holds one page per file, so a document of several pages is written as
several PcGts documents: ``write(document)`` gives the first page's and
``write(document, page=N)`` page N's (``extract --format page`` writes one file
per page). Each block of lines (harness.writers.layout.blocks) is a TextRegion,
listed in reading order; every TextLine has its ``Coords`` and its own
``TextEquiv``; words have theirs where there are words.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from harness.backends import Box
from harness.document import Document
from harness.writers.layout import block_box, blocks, words_of

PAGE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = f"{PAGE} {PAGE}/pagecontent.xsd"


def write(document: Document, page: int = 1) -> bytes:
    if not 1 <= page <= len(document.pages):
        raise ValueError(f"{document.source} has {len(document.pages)} page(s), not a page {page}")
    content = document.pages[page - 1]
    ElementTree.register_namespace("", PAGE)
    ElementTree.register_namespace("xsi", XSI)
    root = ElementTree.Element(_tag("PcGts"), {f"{{{XSI}}}schemaLocation": SCHEMA})
    metadata = _sub(root, "Metadata")
    _sub(metadata, "Creator").text = f"ocr-harness ({document.backend})"
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    _sub(metadata, "Created").text = now
    _sub(metadata, "LastChange").text = now
    attributes = {
        "imageFilename": Path(document.source).name,
        "imageWidth": str(content.width or 0),
        "imageHeight": str(content.height or 0),
    }
    if content.resolution:
        resolution = f"{content.resolution:g}"
        attributes |= {"imageXResolution": resolution, "imageYResolution": resolution}
        attributes["imageResolutionUnit"] = "PPI"
    page_element = _sub(root, "Page", **attributes)
    grouped = blocks(content.lines)
    if grouped:
        order = _sub(_sub(page_element, "ReadingOrder"), "OrderedGroup", id="reading_order")
        for b in range(1, len(grouped) + 1):
            _sub(order, "RegionRefIndexed", index=str(b - 1), regionRef=f"region_{b}")
    for b, block in enumerate(grouped, start=1):
        region = _sub(page_element, "TextRegion", id=f"region_{b}")
        _sub(region, "Coords", points=_points(block_box(block), content.width, content.height))
        for k, line in enumerate(block, start=1):
            line_id = f"{b}_{k}"
            text_line = _sub(region, "TextLine", id=f"line_{line_id}")
            _sub(text_line, "Coords", points=_points(line.box, content.width, content.height))
            for w, word in enumerate(words_of(line), start=1):
                word_element = _sub(text_line, "Word", id=f"word_{line_id}_{w}")
                _sub(word_element, "Coords", points=_points(word.box, content.width, content.height))
                _text_equiv(word_element, word.text, word.confidence)
            _text_equiv(text_line, line.text, line.confidence)
        _text_equiv(region, "\n".join(line.text for line in block), None)
    ElementTree.indent(root, space=" ")
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _tag(name: str) -> str:
    return f"{{{PAGE}}}{name}"


def _sub(parent: ElementTree.Element, name: str, **attributes: str) -> ElementTree.Element:
    return ElementTree.SubElement(parent, _tag(name), attributes)


def _text_equiv(parent: ElementTree.Element, text: str, confidence: float | None) -> None:
    attributes = {} if confidence is None else {"conf": f"{min(max(confidence, 0.0), 1.0):.4f}"}
    _sub(_sub(parent, "TextEquiv", **attributes), "Unicode").text = text


def _points(box: Box | None, width: int | None, height: int | None) -> str:
    # Coords are required; an element the engine did not place gets the whole page.
    left, top, right, bottom = box if box is not None else (0, 0, width or 1, height or 1)
    return f"{left},{top} {right},{top} {right},{bottom} {left},{bottom}"
