"""ALTO v4: Page > PrintSpace > TextBlock > TextLine > String (CONTENT) / SP, positions in pixels.

One ``Page`` per page of the document. Lines and words carry HPOS, VPOS, WIDTH
and HEIGHT where they have a box, words their confidence as ``WC`` (0..1). The
image's file name, and each page's resolution, are in the Description.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from harness.backends import Box
from harness.document import Document
from harness.writers.layout import block_box, blocks, words_of

ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"


def write(document: Document) -> bytes:
    ElementTree.register_namespace("", ALTO)
    ElementTree.register_namespace("xsi", XSI)
    root = ElementTree.Element(_tag("alto"), {f"{{{XSI}}}schemaLocation": f"{ALTO} {SCHEMA}"})
    description = _sub(root, "Description")
    _sub(description, "MeasurementUnit").text = "pixel"
    source = _sub(description, "sourceImageInformation")
    _sub(source, "fileName").text = Path(document.source).name
    processing = _sub(description, "OCRProcessing", ID="OCR_0")
    step = _sub(processing, "ocrProcessingStep")
    settings = [
        f"backend={document.backend}",
        f"language={document.language}",
        f"pipeline={document.pipeline}",
    ]
    settings += [
        f"page{page.number}.resolution={page.resolution:g}dpi" for page in document.pages if page.resolution
    ]
    _sub(step, "processingStepSettings").text = "; ".join(settings)
    software = _sub(step, "processingSoftware")
    _sub(software, "softwareName").text = "ocr-harness"
    layout = _sub(root, "Layout")
    for page in document.pages:
        n = page.number
        size = {"WIDTH": str(page.width or 0), "HEIGHT": str(page.height or 0)}
        page_element = _sub(layout, "Page", ID=f"page_{n}", PHYSICAL_IMG_NR=str(n), **size)
        space = _sub(page_element, "PrintSpace", HPOS="0", VPOS="0", **size)
        for b, block in enumerate(blocks(page.lines), start=1):
            text_block = _sub(space, "TextBlock", ID=f"block_{n}_{b}", **_position(block_box(block)))
            for k, line in enumerate(block, start=1):
                line_id = f"{n}_{b}_{k}"
                text_line = _sub(text_block, "TextLine", ID=f"line_{line_id}", **_position(line.box))
                for w, word in enumerate(words_of(line), start=1):
                    if w > 1:
                        _sub(text_line, "SP")
                    attributes = {"ID": f"word_{line_id}_{w}", "CONTENT": word.text, **_position(word.box)}
                    if word.confidence is not None:
                        attributes["WC"] = f"{word.confidence:.4f}"
                    _sub(text_line, "String", **attributes)
    ElementTree.indent(root, space=" ")
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _tag(name: str) -> str:
    return f"{{{ALTO}}}{name}"


def _sub(parent: ElementTree.Element, name: str, **attributes: str) -> ElementTree.Element:
    return ElementTree.SubElement(parent, _tag(name), attributes)


def _position(box: Box | None) -> dict[str, str]:
    if box is None:
        return {}
    left, top, right, bottom = box
    return {"HPOS": str(left), "VPOS": str(top), "WIDTH": str(right - left), "HEIGHT": str(bottom - top)}
