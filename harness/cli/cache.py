"""``ocr-harness cache info|prune``: show and trim the result cache that runs reuse outcomes from."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "cache",
        help="show or trim the result cache",
        description="Runs reuse the outcome of any job already run with the same image, backend "
        "(version, options, models), pipeline and language. The cache is a SQLite file under "
        "~/.cache/ocr-harness (or $OCR_HARNESS_CACHE_DIR); 'run --no-cache' bypasses it "
        "and 'run --refresh' re-runs and overwrites.",
    )
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    actions.add_parser("info", help="where the cache is, how many outcomes, how large")
    prune = actions.add_parser(
        "prune",
        help="remove outcomes: old ones, the least recently used past a size, a backend's, or all",
    )
    prune.add_argument("--older-than", type=_days, metavar="DAYS", help="not used for this many days")
    prune.add_argument("--max-size", type=float, metavar="MB", help="keep the most recently used up to this")
    prune.add_argument("--backend", metavar="NAME", help="every outcome of this backend")
    prune.add_argument("--all", action="store_true", help="everything")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError
    from harness.result_cache import ResultCache

    with ResultCache() as cache:
        if args.cache_action == "info":
            info = cache.info()
            print(f"Result cache: {info.path}")
            print(f"  outcomes:  {info.entries}")
            stored = info.size_bytes / 1e6
            print(f"  size:      {info.file_bytes / 1e6:.1f} MB on disk ({stored:.1f} MB of outcomes)")
            if info.oldest is not None and info.newest is not None:
                print(f"  stored:    {_when(info.oldest)} to {_when(info.newest)}")
            for backend, count in info.by_backend.items():
                print(f"  {backend}: {count}")
            return 0
        if not (args.older_than is not None or args.max_size is not None or args.backend or args.all):
            raise ConfigError(
                "cache prune needs what to remove",
                fix="give --older-than DAYS, --max-size MB, --backend or --all",
            )
        removed = cache.prune(
            older_than_days=args.older_than,
            max_size_mb=args.max_size,
            backend=args.backend,
            everything=args.all,
        )
        info = cache.info()
        print(f"removed {removed} outcome{'s' if removed != 1 else ''}; {info.entries} left ({info.path})")
    return 0


def _days(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
