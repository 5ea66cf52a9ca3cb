"""Reading ground-truth files: plain UTF-8 text, PAGE-XML and ALTO.

Every reader returns the text as the rest of the harness sees it: for XML, one
line per ``TextLine``, joined with ``\\n``, ending with ``\\n``. A file that
cannot be read raises GroundTruthError naming the file and what is wrong; the
formats turn that into the problem of one sample.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

from harness.errors import GroundTruthError
from harness.files import open_regular, read_regular_bytes

#: Suffixes of XML ground truth, in the order a folder looks for them beside an image.
XML_SUFFIXES = (".page.xml", ".alto.xml", ".xml")

_PAGE_NAMESPACE = re.compile(r"^http://schema\.primaresearch\.org/PAGE/gts/pagecontent/\d{4}-\d{2}-\d{2}$")
_ALTO_NAMESPACE = re.compile(r"^http://(www\.)?loc\.gov/standards/alto(/ns-v\d#)?$")


def read_ground_truth(path: Path) -> str:
    """The text of a ground-truth file: PAGE-XML or ALTO for ``.xml``, UTF-8 text otherwise."""
    if path.name.lower().endswith(".xml"):
        root = parse_xml(path)
        kind = xml_kind(root)
        try:
            if kind == "page":
                return page_text(root)
            if kind == "alto":
                return alto_text(root)
        except GroundTruthError as error:  # raised without the file's name, which only we know
            raise GroundTruthError(f"{path}: {error.message}", fix=error.fix) from None
        raise GroundTruthError(
            f"{path}: XML ground truth must be PAGE-XML (PcGts) or ALTO, not <{_local(root.tag)}> "
            f"in namespace {_namespace(root.tag) or '(none)'!r}"
        )
    return read_text(path)


def read_text(path: Path) -> str:
    """A UTF-8 text file, verbatim (a leading byte-order mark is dropped)."""
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise GroundTruthError(
            f"{path}: not UTF-8: byte 0x{data[error.start]:02x} at offset {error.start} (line {line}) "
            "cannot be decoded",
            fix="re-save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def xml_kind(root: ElementTree.Element) -> str | None:
    """``"page"`` for PAGE-XML, ``"alto"`` for ALTO, else None."""
    local, namespace = _local(root.tag), _namespace(root.tag)
    if local == "PcGts" and (not namespace or _PAGE_NAMESPACE.match(namespace)):
        return "page"
    if local == "alto" and (not namespace or _ALTO_NAMESPACE.match(namespace)):
        return "alto"
    return None


def sniff_xml_kind(path: Path) -> str | None:
    """The kind of an XML file judged from its root element only (cheap: stops at the first tag)."""
    try:
        with open_regular(path) as handle:
            for _event, element in ElementTree.iterparse(handle, events=("start",)):
                return xml_kind(element)
    except (OSError, ElementTree.ParseError):
        return None
    return None


# --- PAGE-XML -----------------------------------------------------------------


def page_text(root: ElementTree.Element) -> str:
    """Text of a PAGE-XML document: regions in reading order, lines top to bottom inside each.

    Regions follow ``ReadingOrder`` (ordered groups by ``index``, unordered
    groups in document order, nested groups flattened); text regions the
    reading order leaves out follow in document order. Lines inside a region
    are sorted by the vertical centre of their ``Baseline`` (or ``Coords``),
    because the XML order of lines is wrong on real pages.
    """
    page = next((el for el in root if _local(el.tag) == "Page"), None)
    if page is None:
        return ""
    text_regions = [el for el in page.iter() if _local(el.tag) == "TextRegion"]
    # A region without an id cannot be in the reading order; it still counts, in document order.
    regions = {el.get("id") or f"#{n}": el for n, el in enumerate(text_regions)}
    ordered: list[str] = []
    reading_order = next((el for el in page if _local(el.tag) == "ReadingOrder"), None)
    if reading_order is not None:
        for group in reading_order:
            ordered.extend(_region_refs(group))
    seen: set[str] = set()
    lines: list[str] = []
    for region_id in [*ordered, *regions]:
        if region_id in seen or region_id not in regions:
            continue
        seen.add(region_id)
        lines.extend(_region_lines(regions[region_id]))
    return "".join(line + "\n" for line in lines)


def _region_refs(element: ElementTree.Element) -> Iterator[str]:
    local = _local(element.tag)
    if element.get("regionRef"):
        yield element.get("regionRef", "")
    if "Group" not in local:
        return
    children = [
        child for child in element if _local(child.tag).startswith(("RegionRef", "Ordered", "Unordered"))
    ]
    if local.startswith("OrderedGroup"):
        children.sort(key=_index)
    for child in children:
        yield from _region_refs(child)


def _region_lines(region: ElementTree.Element) -> list[str]:
    lines = [child for child in region if _local(child.tag) == "TextLine"]
    # sorted() is stable: lines at the same height keep their XML order.
    return [_line_text(line) for line in sorted(lines, key=_vertical_centre)]


def _index(element: ElementTree.Element) -> int:
    raw = element.get("index", "0")
    try:
        return int(raw)
    except ValueError:
        raise GroundTruthError(
            f"PAGE-XML: <{_local(element.tag)} index={raw!r}> is not a whole number, so the reading order "
            "is unknown"
        ) from None


def _vertical_centre(line: ElementTree.Element) -> float:
    for name in ("Baseline", "Coords"):
        element = next((child for child in line if _local(child.tag) == name), None)
        if element is not None and element.get("points", "").strip():
            points = element.get("points", "")
            try:
                ys = [float(point.split(",")[1]) for point in points.split()]
            except (IndexError, ValueError):
                raise GroundTruthError(
                    f"PAGE-XML: a TextLine's <{name} points={points!r}> is not a list of x,y pairs"
                ) from None
            if not all(math.isfinite(y) for y in ys):
                raise GroundTruthError(f"PAGE-XML: a TextLine's <{name} points={points!r}> is not finite")
            return (min(ys) + max(ys)) / 2
    return 0.0


def _line_text(line: ElementTree.Element) -> str:
    text = _text_equiv(line)
    if text is not None:
        return text
    # No line-level text: fall back to the words, as PAGE allows text at word level only.
    words = [_text_equiv(word) for word in line if _local(word.tag) == "Word"]
    return " ".join(word for word in words if word)


def _text_equiv(element: ElementTree.Element) -> str | None:
    equivs = [child for child in element if _local(child.tag) == "TextEquiv"]
    if not equivs:
        return None
    chosen = next((equiv for equiv in equivs if equiv.get("index") == "0"), equivs[0])
    unicode = next((child for child in chosen if _local(child.tag) == "Unicode"), None)
    return (unicode.text or "") if unicode is not None else ""


# --- ALTO ---------------------------------------------------------------------


def alto_text(root: ElementTree.Element) -> str:
    """Text of an ALTO document (v2 to v4): lines in document order, words joined by single spaces.

    A ``HYP`` element (the line-end hyphen) is appended to the word before it,
    without a space.
    """
    lines: list[str] = []
    for line in root.iter():
        if _local(line.tag) != "TextLine":
            continue
        words: list[str] = []
        for child in line:
            local = _local(child.tag)
            if local == "String":
                words.append(child.get("CONTENT", ""))
            elif local == "HYP" and words:
                words[-1] += child.get("CONTENT", "")
            elif local == "HYP":
                words.append(child.get("CONTENT", ""))
        lines.append(" ".join(words))
    return "".join(line + "\n" for line in lines)


# --- helpers ------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        return read_regular_bytes(path)
    except FileNotFoundError:
        raise GroundTruthError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise GroundTruthError(f"{path}: is a folder, not a ground-truth file") from None
    except OSError as error:
        raise GroundTruthError(f"{path}: cannot be read ({error.strerror})") from None


def parse_xml(path: Path) -> ElementTree.Element:
    """The root element of an XML file, parsed with entity declarations refused.

    Entities are how "billion laughs" bombs expand a few kilobytes into
    gigabytes; PAGE and ALTO files have no use for them.
    """
    import defusedxml.ElementTree
    from defusedxml import DefusedXmlException

    data = _read_bytes(path)
    try:
        return defusedxml.ElementTree.fromstring(data)
    except DefusedXmlException as error:
        raise GroundTruthError(
            f"{path}: declares XML entities or external references ({error}); refused: entity expansion "
            "is how 'billion laughs' XML bombs work, and PAGE-XML or ALTO needs none",
            fix="remove the <!DOCTYPE ...> block",
        ) from None
    except ElementTree.ParseError as error:
        line, column = error.position
        raise GroundTruthError(f"{path}: not well-formed XML at line {line}, column {column + 1}") from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""
