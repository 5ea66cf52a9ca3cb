"""``ocr-harness index PATHS... --db FILE``: read scans into a searchable SQLite index.

Files whose content and configuration are unchanged since the last run are
skipped; changed ones are read again; files gone from the given folders are
pruned. Each file is committed as soon as it is read, so an interrupted run
keeps what finished. A file that cannot be read is recorded as an error
(``index --errors --db FILE`` lists them) and the others go on.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli._arguments import add_engine_arguments, add_job_arguments


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "index",
        help="read images and PDFs into a full-text index (SQLite)",
        description="Read every image and PDF under PATHS into a full-text index that "
        "'ocr-harness search' queries. Unchanged files are skipped by content hash.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to index")
    parser.add_argument("--db", required=True, metavar="FILE", help="the index file (created if missing)")
    parser.add_argument("--errors", action="store_true", help="list the files recorded as errors, and stop")
    add_engine_arguments(parser)
    add_job_arguments(parser)
    parser.add_argument(
        "--retry-errors", action="store_true", help="read files recorded as errors again even if unchanged"
    )
    parser.add_argument(
        "--no-prune", action="store_true", help="keep indexed files that are gone from the given folders"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    import asyncio

    from harness.errors import ConfigError

    if args.errors:
        return asyncio.run(_list_errors(args.db))
    if not args.paths:
        raise ConfigError("name the files or folders to index", fix="ocr-harness index PATHS... --db FILE")
    return asyncio.run(_index(args))


async def _list_errors(db: str) -> int:
    from harness.index import Index

    async with await Index.open(db, create=False) as index:
        errors = await index.errors()
    for error in errors:
        print(f"{error.path}\t{error.error_type}\t{error.message}")
    print(f"{len(errors)} file(s) recorded as errors in {db}", file=sys.stderr)
    return 0


async def _index(args: argparse.Namespace) -> int:
    from harness.api import Extractor
    from harness.index import FileError, Index
    from harness.options import backend_options
    from harness.progress import Progress

    extractor = Extractor(
        backend=args.backend,
        language=args.language,
        preprocess=args.preprocess,
        concurrency=args.jobs,
        timeout=args.timeout,
        max_pixels=args.max_image_pixels,
        plugins=tuple(getattr(args, "plugin", None) or ()),
        backend_options=backend_options(args.option, args.backend),
    )
    progress: Progress | None = None

    def planned(count: int) -> None:
        nonlocal progress
        if count:
            progress = Progress(count)
            progress.start_group(f"{args.backend} -> {args.db}")

    def file_done(path: str, error: FileError | None) -> None:
        if progress is not None:
            progress.job_done(failed=error is not None)

    async with extractor, await Index.open(args.db) as index:
        try:
            report = await index.add(
                args.paths,
                extractor,
                prune=not args.no_prune,
                retry_errors=args.retry_errors,
                on_planned=planned,
                on_file_done=file_done,
            )
        finally:
            if progress is not None:
                progress.close()
        stats = await index.stats()
    for error in report.failed:
        print(f"ocr-harness: error: {error.message}", file=sys.stderr)
    print(
        f"{args.db}: {report.summary()}; the index holds {stats['pages']} page(s) of {stats['files']} file(s)"
        + (
            f", {stats['errors']} recorded as errors (list: ocr-harness index --errors --db {args.db})"
            if stats["errors"]
            else ""
        ),  # fmt: skip
        file=sys.stderr,
    )
    return 3 if report.failed else 0
