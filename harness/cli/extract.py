"""``ocr-harness extract FILES...``: print the text of image files.

One file's problem (missing, unreadable, an engine failure) is printed to
stderr naming the file, and the other files are still read; so are the other
pages of a multi-page file with one bad page. The exit code is 0
when every file was read, else the highest exit code among the errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

FILE_HEADER = "==> {} <=="


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from harness.defaults import DEFAULT_BACKEND

    parser = subparsers.add_parser(
        "extract",
        help="print the text of image files",
        description="Read image files with one backend and print their text "
        "(pages of a multi-page file are separated by a form feed).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="image files (PNG, TIFF, JPEG, ...)")
    parser.add_argument(
        "--backend", default=DEFAULT_BACKEND, help=f"OCR backend (default: {DEFAULT_BACKEND})"
    )
    parser.add_argument("--language", default="en", metavar="CODE", help="ISO 639-1 code (default: en)")
    parser.add_argument(
        "--preprocess",
        default=None,
        metavar="PIPELINE",
        help='preprocessing, e.g. "downscale(max_side=2000)|binarize"',
    )
    parser.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="[BACKEND.]KEY=VALUE",
        help="a backend option, e.g. psm=7 (repeatable); 'ocr-harness plugins' lists each backend's options",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=_positive_int,
        default=None,
        metavar="N",
        help="worker processes (default: one per core)",
    )
    parser.add_argument(
        "--timeout", type=_positive_float, default=None, metavar="S", help="give up on a page after S seconds"
    )
    parser.add_argument(
        "--max-image-pixels",
        type=_positive_int,
        default=None,
        metavar="N",
        help="accept images up to N pixels (default: Pillow's limit, about 89 million)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON list of {file, pages, error} instead of text"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    import asyncio

    from harness.files import printable_path

    results = asyncio.run(_extract(args))
    failures = [error for _, _, errors in results for error in errors]
    if args.json:
        document = [
            {
                "file": printable_path(path),
                "pages": pages,
                "error": None
                if not errors
                else {"type": type(errors[0]).__name__, "message": str(errors[0])},
            }
            for path, pages, errors in results
        ]
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        several = len(results) > 1
        printed = False
        for path, pages, _ in results:
            if not any(page is not None for page in pages):
                continue
            if several:
                sys.stdout.write(("\n" if printed else "") + FILE_HEADER.format(printable_path(path)) + "\n")
            # A page that failed is an empty page: the others keep their place between form feeds.
            sys.stdout.write("\f".join(page or "" for page in pages) + "\n")
            printed = True
    for error in failures:
        print(f"ocr-harness: error: {error}", file=sys.stderr)
    return max((error.exit_code for error in failures), default=0)


async def _extract(args: argparse.Namespace) -> list[tuple[str, list[str | None], list[Any]]]:
    """Per file: the text of each page (None for a page that failed), and the errors."""
    import asyncio

    from harness.api import Extractor, page_error
    from harness.errors import ConfigError, OcrHarnessError
    from harness.options import parse_option_flags

    backend = args.backend
    options, problems = parse_option_flags(args.option, [backend])
    if problems:
        raise ConfigError("; ".join(problems))
    extractor = Extractor(
        backend=backend,
        language=args.language,
        preprocess=args.preprocess,
        concurrency=args.jobs,
        timeout=args.timeout,
        max_pixels=args.max_image_pixels,
        plugins=tuple(getattr(args, "plugin", None) or ()),
        backend_options=options[backend],
    )

    async def one(path: str) -> tuple[str, list[str | None], list[OcrHarnessError]]:
        try:
            outcomes = await extractor.extract_outcomes(path)
        except OcrHarnessError as error:
            return path, [], [error]
        # One damaged page of a multi-page file costs that page only, as in a run.
        errors = [page_error(outcome, path) for outcome in outcomes if not outcome.ok]
        return path, [outcome.text if outcome.ok else None for outcome in outcomes], errors

    async with extractor:
        return list(await asyncio.gather(*(one(path) for path in args.files)))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {value}")
    return value
