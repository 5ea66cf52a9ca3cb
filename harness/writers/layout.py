"""What several writers need from a page's lines: text blocks and word boxes."""

from __future__ import annotations

from collections.abc import Sequence

from harness.backends import Line, Word


def blocks(lines: Sequence[Line]) -> list[list[Line]]:
    """Consecutive lines grouped into blocks: a new block starts where the reading order jumps back up.

    Lines are in reading order already; a line above the previous one (the top of
    the next column) or one that does not overlap it horizontally starts a block.
    Within a block, lines run top to bottom, so readers that sort a block's lines
    by height (PAGE) keep the order.
    """
    grouped: list[list[Line]] = []
    for line in lines:
        previous = grouped[-1][-1] if grouped else None
        if previous is not None and _continues(previous, line):
            grouped[-1].append(line)
        else:
            grouped.append([line])
    return grouped


def _continues(previous: Line, line: Line) -> bool:
    if previous.box is None or line.box is None:
        return previous.box is None and line.box is None
    above = (line.box[1] + line.box[3]) < (previous.box[1] + previous.box[3])
    apart = line.box[0] >= previous.box[2] or line.box[2] <= previous.box[0]
    return not above and not apart


def block_box(lines: Sequence[Line]) -> tuple[int, int, int, int] | None:
    boxes = [line.box for line in lines if line.box is not None]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def words_of(line: Line) -> list[Word]:
    """The line's words: the engine's, or its text split at spaces with boxes shared out by length.

    An estimate, where the engine placed only the line: each word gets a slice of
    the line box as wide as its share of the characters (a space counts as one).
    """
    if line.words and all(word.box is not None for word in line.words):
        return list(line.words)
    texts = line.text.split()
    if line.box is None or not texts:
        return [Word(text, None, line.confidence) for text in texts]
    left, top, right, bottom = line.box
    total = sum(len(text) for text in texts) + len(texts) - 1
    width = right - left
    words = []
    position = 0
    for text in texts:
        start = left + round(width * position / total)
        position += len(text)
        end = left + round(width * position / total)
        words.append(Word(text, (start, top, max(end, start + 1), bottom), line.confidence))
        position += 1
    return words
