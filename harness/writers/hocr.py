"""hOCR 1.2 as well-formed XHTML: ocr_page > ocr_carea > ocr_par > ocr_line > ocrx_word.

Every element with a box has ``bbox`` in its title; lines and words carry
``x_wconf`` (confidence 0..100) where the engine gave one; the page carries the
image file, its size and ``scan_res``. Words the engine did not place are
estimated from the line box (harness.writers.layout.words_of).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from harness.backends import Box
from harness.document import Document, Page
from harness.writers.layout import block_box, blocks, words_of

XHTML = "http://www.w3.org/1999/xhtml"
_DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
)
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"


def write(document: Document) -> bytes:
    ElementTree.register_namespace("", XHTML)
    html = ElementTree.Element(f"{{{XHTML}}}html", {"lang": document.language})
    html.set("{http://www.w3.org/XML/1998/namespace}lang", document.language)
    head = ElementTree.SubElement(html, f"{{{XHTML}}}head")
    ElementTree.SubElement(head, f"{{{XHTML}}}title").text = Path(document.source).name
    _meta(head, {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"})
    _meta(head, {"name": "ocr-system", "content": f"ocr-harness ({document.backend})"})
    _meta(head, {"name": "ocr-capabilities", "content": CAPABILITIES})
    _meta(head, {"name": "ocr-number-of-pages", "content": str(len(document.pages))})
    body = ElementTree.SubElement(html, f"{{{XHTML}}}body")
    for page in document.pages:
        _page(body, page, document.source)
    ElementTree.indent(html, space=" ")
    text = ElementTree.tostring(html, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + _DOCTYPE + text + "\n").encode("utf-8")


def _page(body: ElementTree.Element, page: Page, source: str) -> None:
    n = page.number
    title = [f'image "{_quoted(Path(source).name)}"']
    if page.width and page.height:
        title.append(f"bbox 0 0 {page.width} {page.height}")
    title.append(f"ppageno {n - 1}")
    if page.resolution:
        title.append(f"scan_res {round(page.resolution)} {round(page.resolution)}")
    div = _element(body, "div", "ocr_page", f"page_{n}", "; ".join(title))
    for b, block in enumerate(blocks(page.lines), start=1):
        box = block_box(block)
        area = _element(div, "div", "ocr_carea", f"block_{n}_{b}", _bbox(box))
        par = _element(area, "p", "ocr_par", f"par_{n}_{b}", _bbox(box))
        for k, line in enumerate(block, start=1):
            line_id = f"{n}_{b}_{k}"
            span = _element(par, "span", "ocr_line", f"line_{line_id}", _title(line.box, line.confidence))
            for w, word in enumerate(words_of(line), start=1):
                word_title = _title(word.box, word.confidence)
                _element(span, "span", "ocrx_word", f"word_{line_id}_{w}", word_title).text = word.text


def _element(parent: ElementTree.Element, tag: str, cls: str, ident: str, title: str) -> ElementTree.Element:
    attributes = {"class": cls, "id": ident}
    if title:
        attributes["title"] = title
    return ElementTree.SubElement(parent, f"{{{XHTML}}}{tag}", attributes)


def _meta(head: ElementTree.Element, attributes: dict[str, str]) -> None:
    ElementTree.SubElement(head, f"{{{XHTML}}}meta", attributes)


def _bbox(box: Box | None) -> str:
    return "" if box is None else "bbox {} {} {} {}".format(*box)


def _title(box: Box | None, confidence: float | None) -> str:
    parts = [_bbox(box)] if box is not None else []
    if confidence is not None:
        parts.append(f"x_wconf {round(confidence * 100)}")
    return "; ".join(parts)


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')
