"""Progress of a run: a live one-line bar on a terminal, periodic log lines otherwise.

Shows jobs done of total, pages read per second, the estimated time left, the
errors so far and the group running. On a terminal the line is redrawn in place
and always fits the terminal's current width (a line that wrapped could not be
redrawn: each update would leave a new line): the bar narrows first, then the
group's name is shortened in the middle, keeping its start and end. Standard
library only.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import unicodedata
from typing import TextIO

#: Seconds between plain progress lines when the output is not a terminal.
LOG_INTERVAL = 10.0
#: Seconds between redraws of the live bar.
REDRAW_INTERVAL = 0.1
BAR_WIDTH = 24
MIN_BAR_WIDTH = 8
#: A group name shortened below this many columns says too little to keep.
MIN_GROUP_WIDTH = 12
#: Erase from the cursor to the end of the line (what a shorter redraw leaves behind).
_CLEAR_TO_END = "\x1b[K"


class Progress:
    """Counts finished jobs and shows how the run is going."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        live: bool | None = None,
        log_interval: float = LOG_INTERVAL,
        clock=time.monotonic,
        columns: int | None = None,
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.live = live if live is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.log_interval = log_interval
        self.clock = clock
        self.columns = columns  # None: ask the terminal at each redraw (it may be resized)
        self.done = 0
        self.errors = 0
        self.group = ""
        self.started = clock()
        self._last_draw = float("-inf")
        self._last_log = self.started
        self._drawn = False

    def start_group(self, label: str) -> None:
        """A new backend x pipeline group begins (shown next to the counts)."""
        self.group = label
        self._show(force=self.live)

    def job_done(self, *, failed: bool = False) -> None:
        self.done += 1
        self.errors += int(failed)
        self._show(force=self.done == self.total)

    def line(self, width: int | None = None) -> str:
        """The current status as one line of text, at most ``width`` columns wide if given."""
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        pages_rate = (self.done - self.errors) / elapsed  # pages actually read
        remaining = self.total - self.done
        eta = _duration(remaining / rate) if rate > 0 and remaining else ("done" if not remaining else "?")
        share = self.done / self.total if self.total else 1.0
        counts = f"{self.done}/{self.total} jobs  {pages_rate:.2f} pages/s  ETA {eta}  errors {self.errors}"
        if width is None:
            return f"{_bar(share, BAR_WIDTH)} {counts}" + (f"  {self.group}" if self.group else "")
        compact = (
            counts,
            f"{self.done}/{self.total}  {pages_rate:.2f} p/s  ETA {eta}  err {self.errors}",
            f"{self.done}/{self.total} ETA {eta}",
        )
        counts = next((text for text in compact if display_width(text) <= width), compact[-1])
        room = width - display_width(counts)
        group = display_width(self.group) + 2 if self.group else 0
        # The group's name comes before the bar (the counts already say how far along the run is).
        if room - group - 3 >= MIN_BAR_WIDTH:
            bar_width = min(BAR_WIDTH, room - group - 3)
        elif room - 3 - MIN_BAR_WIDTH - 2 >= 2 * MIN_GROUP_WIDTH:
            bar_width = MIN_BAR_WIDTH
        else:
            bar_width = 0
        text = f"{_bar(share, bar_width)} {counts}" if bar_width else counts
        group_room = width - display_width(text) - 2
        if self.group and group_room >= min(MIN_GROUP_WIDTH, display_width(self.group)):
            text += "  " + shorten_middle(self.group, group_room)
        return shorten_middle(text, width)

    def _show(self, *, force: bool = False) -> None:
        now = self.clock()
        if self.live:
            if force or now - self._last_draw >= REDRAW_INTERVAL:
                # One column short of the width: writing the last column makes some terminals wrap.
                text = self.line(max(self._terminal_columns() - 1, 1))
                self.stream.write("\r" + text + _CLEAR_TO_END)
                self.stream.flush()
                self._drawn = True
                self._last_draw = now
        elif force or now - self._last_log >= self.log_interval:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_log = now

    def _terminal_columns(self) -> int:
        if self.columns is not None:
            return self.columns
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size().columns

    def close(self) -> None:
        """End the live line so what follows starts on a fresh line."""
        if self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide East Asian characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def shorten_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, cut in the middle with "…" (its start and end kept)."""
    if display_width(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    keep = width - 1
    head, tail = "", ""
    start, end = 0, len(text)
    while start < end:  # take characters alternately from each end while they fit
        char = text[start] if display_width(head) <= display_width(tail) else text[end - 1]
        if display_width(head) + display_width(tail) + display_width(char) > keep:
            break
        if display_width(head) <= display_width(tail):
            head += char
            start += 1
        else:
            tail = char + tail
            end -= 1
    return head + "…" + tail


def _bar(share: float, width: int) -> str:
    filled = round(share * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
