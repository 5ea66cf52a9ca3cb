"""``ocr-harness doctor``: can each backend run here, and if not, why and how to fix it.

``doctor --fix NAME`` runs that backend's provisioning (for Aspose: fetching
OpenSSL 1.1 for its .NET runtime) and checks again. Exit status 0 when every
backend shown can run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "doctor",
        help="check that the OCR backends can run here; --fix NAME provisions one",
        description="Show whether each backend can run here, with the reason and the fix when it cannot. "
        "Exit status 0 when every backend shown is available.",
    )
    parser.add_argument("backends", nargs="*", metavar="NAME", help="backends to check (default: all)")
    parser.add_argument(
        "--fix",
        metavar="NAME",
        help="provision backend NAME (fetch the runtime files it needs), then check it again",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from harness.backends import Availability
    from harness.plugins import get_registry

    registry = get_registry(tuple(args.plugin))
    names = list(args.backends)
    if args.fix:
        backend = registry.backend(args.fix)
        print(f"{args.fix}: {backend.provision()}")
        names = names or [args.fix]
    for name in names:
        registry.backend(name)  # unknown names fail here, listing the known ones
    shown = names or sorted(registry.backends)

    all_ok = True
    width = max([len(name) for name in shown] + [len(f.plugin) for f in registry.failures] + [7])
    for name in shown:
        backend = registry.backends[name].obj
        try:
            availability = backend.availability()
            if availability.ok:
                availability = _default_options_problem(backend) or availability
        except Exception as error:  # a plugin's own bug must not hide the other backends
            availability = Availability(False, f"checking it failed: {type(error).__name__}: {error}")
        version = backend.version()
        if availability.ok:
            print(f"{name:<{width}}  ok ({version})")
            caveat = _default_options_caveat(backend)
            if caveat:
                print(f"{'':<{width}}  {caveat}")
            continue
        all_ok = False
        print(f"{name:<{width}}  unavailable: {availability.reason}")
        if availability.fix:
            print(f"{'':<{width}}  fix: {availability.fix}")
    if not names:
        for failure in registry.failures:
            all_ok = False
            print(f"{failure.plugin:<{width}}  plugin failed to load ({failure.source}): {failure.error}")
    sys.stdout.flush()
    return 0 if all_ok else 1


def _default_options_problem(backend: Any) -> Any:
    """Option defaults may read the environment (a licence path, say): a bad one shows here, not mid-run."""
    from pydantic import ValidationError

    from harness.backends import Availability
    from harness.errors import OcrHarnessError

    try:
        backend.Options()
    except OcrHarnessError as error:
        return Availability(False, error.message, error.fix or "")
    except ValidationError:  # options without defaults: nothing to check until they are given
        pass
    return None


def _default_options_caveat(backend: Any) -> str | None:
    """What holds for every result with the default options (Aspose without a licence), if anything."""
    try:
        return backend.caveat(backend.Options())  # type: ignore[no-any-return]
    except Exception:  # options without defaults, or a plugin's own bug: nothing to say
        return None
