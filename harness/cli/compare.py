"""ocr-harness compare: what changed between runs, page by page, with paired intervals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

FORMATS = ("table", "md", "html")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help="compare runs (or two groups of one run) with paired confidence intervals",
        description=(
            "Compare run folders per backend x pipeline: CER/WER differences with 95%% paired bootstrap "
            "intervals over the pages both scored, throughput ratio, the pages that changed most, and the "
            "character confusions fixed and introduced. Groups pair by backend name and pipeline steps "
            "(labels do not matter), and every other configuration difference is listed. With more than "
            "two runs, each is compared with the first. --a and --b pick the two sides: within one run "
            "(--a pipeline=none --b 'pipeline=binarize(method=otsu)') or across two runs whose groups do "
            "not pair by themselves (--a pipeline=otsu --b pipeline=deskew). Exits 2 when no group pairs."
        ),
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders (e.g. reports/latest)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument(
        "--a", action="append", metavar="KEY=VALUE", default=[],
        help="select side A's rows: backend=NAME or pipeline=PIPELINE (repeatable); with two runs it "
        "selects from the first",
    )  # fmt: skip
    parser.add_argument(
        "--b", action="append", metavar="KEY=VALUE", default=[],
        help="select side B's rows, as --a; with two runs it selects from the second",
    )  # fmt: skip
    parser.add_argument(
        "--top", type=int, default=5, metavar="N", help="pages and confusions listed (default 5)"
    )
    return parser


_PAIRING_FIX = (
    "pick one group on each side with --a and --b, which select from the first and the second run, "
    "e.g. --a 'pipeline=binarize(method=otsu)' --b pipeline=deskew (add backend=NAME when a side has "
    "several backends)"
)


def nothing_paired(comparison: Any) -> str:
    """Why nothing was compared, listing each side's groups."""

    def listing(groups: list[tuple[str, str]]) -> str:
        return ", ".join(f"{backend} · {pipeline}" for backend, pipeline in groups) or "(none)"

    return (
        "no backend x pipeline group of A pairs with one of B: groups pair when they run the same "
        f"backend with the same pipeline steps. A ({comparison.name_a}) has: "
        f"{listing(comparison.unpaired_a)}; B ({comparison.name_b}) has: {listing(comparison.unpaired_b)}"
    )


def run(args: argparse.Namespace) -> int:
    from harness.compare import Selector, compare_runs
    from harness.compare.render import render
    from harness.errors import ConfigError
    from harness.run_folder import load_run

    selector_a = Selector.parse(args.a)
    selector_b = Selector.parse(args.b)
    runs = [load_run(path) for path in args.runs]
    if len(runs) == 1:
        if not (selector_a.filters or selector_b.filters):
            raise ConfigError(
                "compare needs two run folders, or one run with --a and --b selecting the two sides",
                fix="e.g. ocr-harness compare reports/latest --a pipeline=none "
                "--b 'pipeline=binarize(method=otsu)'",
            )
        pairs = [(runs[0], runs[0])]
    else:
        pairs = [(runs[0], other) for other in runs[1:]]
    comparisons = [
        compare_runs(a, b, selector_a=selector_a, selector_b=selector_b, top=args.top) for a, b in pairs
    ]
    unpaired = [comparison for comparison in comparisons if not comparison.groups]
    if unpaired:
        raise ConfigError(nothing_paired(unpaired[0]), fix=_PAIRING_FIX)
    output = render(comparisons, args.format)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(output, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(output)
    return 0
