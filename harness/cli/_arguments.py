"""Arguments several commands share: number types, and the engine a command reads with."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):  # NaN compares false both ways
        raise argparse.ArgumentTypeError(f"must be a number more than 0, not {text}")
    return value


def add_engine_arguments(parser: argparse.ArgumentParser, *, request_defaults: bool = False) -> None:
    """--backend, --language, --preprocess and --option, for commands that read with one engine.

    ``request_defaults``: the values are defaults that each request may override (``serve``).
    """
    from harness.defaults import DEFAULT_BACKEND

    default = "default " if request_defaults else ""
    parser.add_argument(
        "--backend", default=DEFAULT_BACKEND, help=f"OCR backend (default: {DEFAULT_BACKEND})"
    )
    parser.add_argument(
        "--language", default="en", metavar="CODE", help=f"{default}ISO 639-1 code (default: en)"
    )
    parser.add_argument(
        "--preprocess",
        default=None,
        metavar="PIPELINE",
        help=f'{default}preprocessing, e.g. "downscale(max_side=2000)|binarize"',
    )
    parser.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="[BACKEND.]KEY=VALUE",
        help=f"a {default}backend option, e.g. psm=7 (repeatable); 'ocr-harness plugins' lists each "
        "backend's options",
    )


def add_job_arguments(
    parser: argparse.ArgumentParser, *, max_pixels_help: str = "accept images up to N pixels"
) -> None:
    """--jobs, --timeout and --max-image-pixels, for commands that read files on worker processes."""
    parser.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=None,
        metavar="N",
        help="worker processes (default: one per core)",
    )
    parser.add_argument(
        "--timeout", type=positive_float, default=None, metavar="S", help="give up on a page after S seconds"
    )
    parser.add_argument(
        "--max-image-pixels", type=positive_int, default=None, metavar="N", help=max_pixels_help
    )
