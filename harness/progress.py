"""Progress of a run: a live one-line bar on a terminal, periodic log lines otherwise.

Shows jobs done of total, pages read per second, the estimated time left and the
errors so far. Standard library only.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

#: Seconds between plain progress lines when the output is not a terminal.
LOG_INTERVAL = 10.0
#: Seconds between redraws of the live bar.
REDRAW_INTERVAL = 0.1
BAR_WIDTH = 24


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
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.live = live if live is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.log_interval = log_interval
        self.clock = clock
        self.done = 0
        self.errors = 0
        self.group = ""
        self.started = clock()
        self._last_draw = float("-inf")
        self._last_log = self.started
        self._width = 0

    def start_group(self, label: str) -> None:
        """A new backend x pipeline group begins (shown next to the counts)."""
        self.group = label
        self._show(force=self.live)

    def job_done(self, *, failed: bool = False) -> None:
        self.done += 1
        self.errors += int(failed)
        self._show(force=self.done == self.total)

    def line(self) -> str:
        """The current status as one line of text."""
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        pages_rate = (self.done - self.errors) / elapsed  # pages actually read
        remaining = self.total - self.done
        eta = _duration(remaining / rate) if rate > 0 and remaining else ("done" if not remaining else "?")
        share = self.done / self.total if self.total else 1.0
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        group = f"  {self.group}" if self.group else ""
        return (
            f"[{bar}] {self.done}/{self.total} jobs  {pages_rate:.2f} pages/s  ETA {eta}  "
            f"errors {self.errors}{group}"
        )

    def _show(self, *, force: bool = False) -> None:
        now = self.clock()
        if self.live:
            if force or now - self._last_draw >= REDRAW_INTERVAL:
                text = self.line()
                padding = " " * max(0, self._width - len(text))
                self.stream.write("\r" + text + padding)
                self.stream.flush()
                self._width = len(text)
                self._last_draw = now
        elif force or now - self._last_log >= self.log_interval:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_log = now

    def close(self) -> None:
        """End the live line so what follows starts on a fresh line."""
        if self.live and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
