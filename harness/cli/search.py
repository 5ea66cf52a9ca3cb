"""``ocr-harness search DB QUERY``: find pages in an index, best first.

The query is SQLite FTS5 syntax: words (all must match), "a phrase", prefix*,
OR, NOT, NEAR(a b, 5). Hits are ranked by bm25. The exit code is 1 when
nothing matches, as grep's is.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harness.cli._arguments import positive_int

_BOLD, _PLAIN = "\033[1;7m", "\033[0m"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "search",
        help="search an index made by 'ocr-harness index'",
        description='Search an index. QUERY is FTS5 syntax: words, "a phrase", prefix*, OR, NOT, NEAR(a b).',
    )
    parser.add_argument("db", metavar="DB", help="the index file")
    parser.add_argument("query", metavar="QUERY", help="what to look for")
    parser.add_argument(
        "--limit", type=positive_int, default=10, metavar="N", help="at most N hits (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print the hits as a JSON list")
    return parser


def run(args: argparse.Namespace) -> int:
    import asyncio

    from harness.index import Index

    async def search() -> list[Any]:
        async with await Index.open(args.db, create=False) as index:
            return await index.search(args.query, args.limit)

    hits = asyncio.run(search())
    if args.json:
        json.dump([hit.to_dict() for hit in hits], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        live = sys.stdout.isatty()
        for rank, hit in enumerate(hits, start=1):
            print(f"{rank}. {hit.path}  page {hit.page}  score {hit.score:.3f}")
            print(f"   {_highlighted(hit.snippet, hit.highlights, live)}")
            if hit.line is not None:
                box = ",".join(str(value) for value in hit.line.box) if hit.line.box else "none"
                print(f"   line {hit.line.number}  box {box}")
    if not hits:
        print(f"ocr-harness: nothing in {args.db} matches {args.query!r}", file=sys.stderr)
    return 0 if hits else 1


def _highlighted(snippet: str, spans: tuple[tuple[int, int], ...], live: bool) -> str:
    start_mark, end_mark = (_BOLD, _PLAIN) if live else ("[", "]")
    out, position = [], 0
    for start, end in spans:
        out += [snippet[position:start], start_mark, snippet[start:end], end_mark]
        position = end
    out.append(snippet[position:])
    return "".join(out)
