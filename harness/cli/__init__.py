"""The command line: one module per subcommand.

Subcommand modules import only the standard library at module level, so
``ocr-harness --help`` stays fast and never loads engines, pandas or onnxruntime.
Each subcommand module (any module here whose name does not start with ``_``)
has ``add_parser(subparsers) -> ArgumentParser`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence

#: Exit code of an unexpected exception (BSD's EX_SOFTWARE): distinct from every deliberate one.
INTERNAL_ERROR = 70
TRACEBACK_ENV = "OCR_HARNESS_TRACEBACK"


def build_parser() -> argparse.ArgumentParser:
    from harness import __version__

    parser = argparse.ArgumentParser(
        prog="ocr-harness",
        description="Benchmark OCR engines and preprocessing on labelled scans.",
    )
    parser.add_argument("--version", action="version", version=f"ocr-harness {__version__}")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="load a plugin module (repeatable); OCR_HARNESS_PLUGINS works too",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"harness.cli.{info.name}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from harness.errors import OcrHarnessError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except OcrHarnessError as error:
        print(f"ocr-harness: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("ocr-harness: interrupted", file=sys.stderr)
        return 130
    except OSError as error:  # a file the harness did not expect to fail: one line, never a traceback
        from harness.errors import OutputError
        from harness.files import describe_os_error

        where = f"{error.filename}: " if error.filename else ""
        print(f"ocr-harness: error: {where}{describe_os_error(error)}", file=sys.stderr)
        return OutputError.exit_code
    except Exception as error:  # a bug: its own exit code, never one a command gives a meaning (check's 1)
        if os.environ.get(TRACEBACK_ENV):
            traceback.print_exc()
        print(
            f"ocr-harness: internal error: {type(error).__name__}: {error} (a bug in ocr-harness; "
            f"set {TRACEBACK_ENV}=1 to see the traceback, and please report it)",
            file=sys.stderr,
        )
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
