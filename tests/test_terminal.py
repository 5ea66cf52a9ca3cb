"""What a person sees in a terminal: a summary table that fits, a progress line that redraws in place."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from PIL import Image
from rich.cells import cell_len
from rich.console import Console

from harness.report.terminal import fitted_table, print_summary

PLUGINS = Path(__file__).resolve().parent / "plugins"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# The widest summary there is: every column, long pipeline names, spreads and intervals.
_ROWS = [
    ["backend", "pipeline", "CER (common)", "CER micro [95% CI]", "WER micro [95% CI]", "CER unordered",
     "BoW WER", "CER macro [95% CI]", "scored / jobs", "failed", "empty", "pages/s", "latency p50 / p95 (s)"],
    ["---", "---", *["---:"] * 11],
    ["tesseract", "downscale(max_side=1600)\\|binarize(method=sauvola,window=31)", "**1.60%**",
     "1.60% [0.00%, 4.31%]", "6.67% [0.00%, 15.95%]", "1.20%", "5.00%", "2.07% [0.00%, 5.34%]", "9 / 9", "0",
     "0", "2.29 (2.10–2.41)", "**0.411** / 0.554"],
    ["rapidocr", "none", "2.92%", "2.92% [0.00%, 3.17%]", "2.67% [0.00%, 9.23%]", "0.90%", "2.00%",
     "1.31% [0.00%, 3.92%]", "9 / 9", "0", "1", "**3.40** (3.30–3.52)", "3.155 / 11.340"],
]  # fmt: skip
WIDE_TABLE = "\n".join("| " + " | ".join(row) + " |" for row in _ROWS)


def _render(width: int) -> str:
    stream = io.StringIO()
    console = Console(file=stream, width=width, force_terminal=True, color_system="standard")
    table, _ = fitted_table(WIDE_TABLE.splitlines(), width)
    console.print(table)
    return stream.getvalue()


@pytest.mark.parametrize("width", [60, 80, 100, 160, 240])
def test_summary_table_fits_the_width_without_markdown(width: int) -> None:
    text = ANSI.sub("", _render(width))
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert not re.search(r"(^|\s)\|(\s|$)", text, re.MULTILINE) and "**" not in text  # no Markdown cells
    assert "tesseract" in text and "rapidocr" in text  # names never folded below their length here
    assert "CER (common)" in text or "CER" in text.split("\n")[0] + text.split("\n")[1]


def test_best_values_are_bold_and_coloured() -> None:
    raw = _render(240)
    assert "\x1b[1;32m1.60%\x1b[0m" in raw and "\x1b[1;32m3.40\x1b[0m" in raw
    assert "\x1b[1;32m2.92%" not in raw


def test_columns_left_out_to_fit_are_named() -> None:
    stream = io.StringIO()
    print_summary(
        "Groups scored different samples.\n\n" + WIDE_TABLE, ["Normalisation `nfc-ws@1`."], file=stream
    )
    text = stream.getvalue()
    assert "Groups scored different samples." in text
    assert "Left out to fit 80 columns: CER macro [95% CI]" in text and "summary.md has every column" in text
    assert "- Normalisation nfc-ws@1." in text  # Markdown code marks are for summary.md only
    table, left_out = fitted_table(WIDE_TABLE.splitlines(), 240)
    assert left_out == [] and len(table.columns) == 13


def _run_in_terminal(argv: list[str], columns: int, cwd: Path) -> str:
    """Run ocr-harness with its output on a pseudo-terminal ``columns`` wide; all it wrote."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(PLUGINS), "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())", *argv],
        stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env, close_fds=True,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait()
    os.close(leader)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_run_in_an_80_column_terminal_ends_with_a_table_that_fits(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    for index, width in enumerate((30, 40, 50, 60)):
        Image.new("L", (width, 10), 255).save(scans / f"s{index}.png")
        (scans / f"s{index}.gt.txt").write_text(f"noop {width}x10\n", encoding="utf-8")
    pipelines = ["none", "downscale(max_side=1600)|binarize(method=sauvola,window=31)|grayscale"]
    argv = ["run", "scans", "--plugin", "fake_noop", "--backend", "noop", "--serial", "--no-html"]
    output = _run_in_terminal([*argv, *(f"--pipeline={p}" for p in pipelines)], 80, tmp_path)
    text = ANSI.sub("", output).replace("\r\n", "\n")
    plan, _, text = text.partition("\n")  # a log line (the terminal wraps it), then what is drawn
    assert "8 jobs to run" in plan
    drawn = [piece for line in text.split("\n") for piece in line.split("\r")]
    assert max(cell_len(piece) for piece in drawn) <= 80
    lines = text.split("\n")
    # The progress line was redrawn in place: one line of it is left, not one per update.
    assert len([line for line in lines if re.search(r"\d+/8 jobs", line)]) == 1
    table = text[text.index("backend") : text.index("Reports:")]
    assert " | " not in table and "---" not in table and "**" not in table
    assert "noop" in table and "pages/s" in table
    assert "\x1b[1m" in output or "\x1b[1;" in output  # best marks are styled, not starred
