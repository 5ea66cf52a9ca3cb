"""``ocr-harness history [REPORTS_DIR]``: how a suite's accuracy and speed moved across its runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "history",
        help="chart CER and speed per group across every run of a suite",
        description="Read every run folder of a suite under REPORTS_DIR, oldest first, and write "
        "REPORTS_DIR/history-<suite>.html (self-contained) and a table here: CER, CER unordered "
        "and pages/s per backend x pipeline over time, with changes of engine or settings marked.",
    )
    parser.add_argument(
        "reports_dir",
        nargs="?",
        type=Path,
        default=Path("reports"),
        metavar="REPORTS_DIR",
        help="the folder runs write to (default: reports)",
    )
    parser.add_argument("--suite", metavar="NAME", help="the suite to show (default: every suite found)")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the page here (one suite only)")
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.errors import ConfigError, InputError, OutputError
    from harness.files import describe_os_error
    from harness.history import build_history, find_runs, history_file_name
    from harness.report.history_page import history_table, write_history
    from harness.validation import suggest

    by_suite, skipped = find_runs(args.reports_dir)
    if not by_suite:
        raise InputError(
            f"{args.reports_dir}: no run folders here",
            fix="run 'ocr-harness run SUITE' first, or pass its --out folder",
        )
    if args.suite is not None and args.suite not in by_suite:
        raise ConfigError(
            f"--suite {args.suite!r}: no runs of that suite in {args.reports_dir}"
            f"{suggest(args.suite, by_suite)}; suites there: {', '.join(sorted(by_suite))}"
        )
    suites = [args.suite] if args.suite is not None else sorted(by_suite)
    if args.output is not None and len(suites) > 1:
        raise ConfigError(
            f"--output {args.output}: {args.reports_dir} holds {len(suites)} suites ({', '.join(suites)})",
            fix="choose one with --suite NAME",
        )
    console = Console()
    for suite in suites:
        history = build_history(suite, by_suite[suite], skipped)
        target = args.output or args.reports_dir / history_file_name(suite)
        try:
            write_history(history, target)
        except OSError as error:  # its folder cannot be made (the write itself says so as OutputError)
            raise OutputError(f"{target}: cannot be written ({describe_os_error(error)})") from None
        console.print(history_table(history))
        for reason in history.skipped:
            print(f"left out: {reason}")
        for number, run in enumerate((run for run in history.runs if run.changes), start=1):
            print(f"Δ{number} before {run.name}: " + "; ".join(run.changes))
        print(f"wrote {target}")
    return 0
