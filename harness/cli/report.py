"""``ocr-harness report RUN_DIR``: rewrite a run folder's reports from its results.jsonl.

Useful after a run was interrupted (reports cover the jobs that finished), or
to regenerate reports with a newer ocr-harness. Reads only the run folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="rewrite a run folder's CSV, Markdown and HTML reports",
        description="Re-score a run folder's results.jsonl and rewrite samples.csv, summary.csv, "
        "summary.md and report.html.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder, e.g. reports/latest")
    parser.add_argument("--no-html", action="store_true", help="skip report.html")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness.report import write_reports
    from harness.report.terminal import print_summary

    reports = write_reports(args.run_dir, html=not args.no_html)
    print_summary(reports.table, reports.notes)
    print()
    for path in reports.files:
        print(f"wrote {path}")
    return 0
