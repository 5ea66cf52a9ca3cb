"""The summary in a terminal: a rich table as wide as the terminal, best values in bold colour.

The cells are summary.md's own (one formatter for both): the Markdown table is
read back into rows, its ``**best**`` marks become bold green, a confidence
interval goes under its value, and rich wraps what does not fit the width.
Lines around the table (a sentence before it, the notes after it) are printed as
wrapped text without Markdown's backticks.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.cells import cell_len

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_INTERVAL = re.compile(r"^(?P<value>.*?)\s+(?P<interval>\[[^\]]*\])$")
BEST_STYLE = "bold green"
#: Headings (by their start) of columns left out, in this order, until the table fits the terminal.
_DROP_ORDER = (
    "CER macro",
    "BoW WER",
    "latency",
    "CER unordered",
    "empty",
    "WER micro",
    "failed",
    "scored",
    "CER micro",
)
#: Columns between two table columns (padding and rule).
_GAP = 2
#: Columns a backend or pipeline name may be folded down to in a narrow terminal.
NAME_MIN_WIDTH = 12


def print_summary(table: str, notes: Sequence[str], *, file: TextIO | None = None) -> None:
    """Print the summary table (Markdown, as summary.md has it) and its notes for a terminal."""
    from rich.console import Console

    console = Console(file=file if file is not None else sys.stdout, highlight=False)
    console.print()
    for block in _blocks(table):
        if isinstance(block, list):
            rich_table, left_out = fitted_table(block, console.width)
            console.print(rich_table)
            if left_out:
                console.print(
                    f"Left out to fit {console.width} columns: {', '.join(left_out)} "
                    "(summary.md has every column).",
                    markup=False,
                )
        else:
            console.print(_plain(block), markup=False)
        console.print()
    for note in notes:
        console.print(f"- {_plain(note)}", markup=False)


def fitted_table(lines: Sequence[str], width: int) -> tuple[Any, list[str]]:
    """The table laid out in ``width`` columns, and the headings of columns left out to fit.

    Each column needs at least its longest value, interval half and heading word (names
    may fold to NAME_MIN_WIDTH); when even that is too wide, columns are left out in
    _DROP_ORDER. What is left over widens the columns that would otherwise wrap most.
    """
    header, alignment, *rows = (_cells(line) for line in lines)
    columns = [
        _Column(heading, alignment[index] if index < len(alignment) else "---:", [row[index] for row in rows])
        for index, heading in enumerate(header)
    ]
    left_out: list[str] = []
    for prefix in _DROP_ORDER:
        if _needed(columns) <= width:
            break
        if prefix == "CER micro" and not any(column.heading.startswith("CER (common)") for column in columns):
            continue  # the one ranked accuracy column: never left out
        left_out += [column.heading for column in columns if column.heading.startswith(prefix)]
        columns = [column for column in columns if column.heading not in left_out]
    return _render(columns, _widths(columns, width)), left_out


class _Column:
    def __init__(self, heading: str, alignment: str, cells: list[str]) -> None:
        self.heading = heading
        self.is_name = not alignment.endswith(":")
        self.cells = [_styled(cell) for cell in cells]
        lines = [line for cell in self.cells for line in cell.plain.split("\n")]
        values = [cell.plain.split("\n")[0] for cell in self.cells]
        pieces = [piece for line in lines for piece in line.split()]
        widest_value = max((cell_len(value) for value in values), default=0)
        if self.is_name:
            widest_value = min(widest_value, NAME_MIN_WIDTH)
        self.least = max(
            widest_value,
            max((cell_len(word) for word in heading.split()), default=1),
            max((cell_len(piece) for piece in pieces), default=1) if not self.is_name else 1,
        )
        self.most = max(cell_len(heading), *(cell_len(line) for line in lines), self.least)


def _needed(columns: Sequence[_Column]) -> int:
    return sum(column.least for column in columns) + _GAP * (len(columns) - 1)


def _widths(columns: Sequence[_Column], width: int) -> list[int]:
    widths = [column.least for column in columns]
    spare = width - _needed(columns)
    while spare > 0:
        short = [(column.most - widths[index], index) for index, column in enumerate(columns)]
        missing, index = max(short)
        if missing <= 0:
            break
        widths[index] += 1
        spare -= 1
    return widths


def _render(columns: Sequence[_Column], widths: Sequence[int]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True, show_edge=False)
    for column, width in zip(columns, widths, strict=True):
        table.add_column(
            column.heading, justify="left" if column.is_name else "right", overflow="fold", width=width
        )
    for row in zip(*(column.cells for column in columns), strict=True):
        table.add_row(*row)
    return table


def _blocks(text: str) -> list[str | list[str]]:
    """Paragraphs (str) and Markdown tables (list of lines), in order."""
    blocks: list[str | list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            if blocks and isinstance(blocks[-1], list):
                blocks[-1].append(line)
            else:
                blocks.append([line])
        elif line.strip():
            if blocks and isinstance(blocks[-1], str):
                blocks[-1] += " " + line.strip()
            else:
                blocks.append(line.strip())
    return blocks


def _cells(line: str) -> list[str]:
    parts = _CELL_SPLIT.split(line.strip())
    return [part.strip().replace("\\|", "|") for part in parts[1:-1]]


def _styled(cell: str) -> Any:
    from rich.text import Text

    text = Text()
    match = _INTERVAL.match(cell)
    value, interval = (match.group("value"), match.group("interval")) if match else (cell, "")
    position = 0
    for bold in _BOLD.finditer(value):
        text.append(value[position : bold.start()])
        text.append(bold.group(1), style=BEST_STYLE)
        position = bold.end()
    text.append(value[position:])
    if interval:
        text.append("\n" + interval, style="dim")
    return text


def _plain(text: str) -> str:
    return _BOLD.sub(r"\1", text).replace("`", "")
