"""``ocr-harness run SUITE.toml`` or ``ocr-harness run DATASET --backend ...``: run a benchmark.

Everything is checked before any OCR starts (a config error lists every
problem with its key path). Results go to ``<out>/<suite>-<UTC time>/`` as each
job ends, ``<out>/latest`` points at the newest run, and the terminal ends with
the summary table. Failed jobs are rows, not a failed run: the exit code is 0
unless the configuration is wrong (2), a dataset cannot be loaded (3), the run
folder or a report cannot be written (5: read-only or full disk; every finished
job is kept, and ``--resume`` completes the run), or the run was interrupted
(130).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli._arguments import positive_float, positive_int


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from harness.defaults import DEFAULT_BACKEND

    parser = subparsers.add_parser(
        "run",
        help="benchmark backends and pipelines on labelled datasets",
        description="Run a suite file, or an ad hoc suite built from a dataset path and flags.",
        epilog="examples:\n"
        "  ocr-harness run suites/quickstart.toml\n"
        "  ocr-harness run my-scans/ --backend rapidocr --backend tesseract \\\n"
        '      --pipeline none --pipeline "binarize(method=otsu)" --option tesseract.psm=6',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "targets",
        nargs="+",
        metavar="SUITE_OR_DATASET",
        help="a suite .toml file, or dataset folders/manifests",
    )
    adhoc = parser.add_argument_group("ad hoc runs (with dataset paths instead of a suite file)")
    adhoc.add_argument(
        "--backend",
        action="append",
        default=[],
        help=f"backend to run (repeatable; default {DEFAULT_BACKEND})",
    )
    adhoc.add_argument(
        "--pipeline", action="append", default=[], help='preprocessing pipeline (repeatable; default "none")'
    )
    adhoc.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="[BACKEND.]KEY=VALUE",
        help="a backend option, e.g. tesseract.psm=6 (BACKEND. optional with one backend; repeatable)",
    )
    adhoc.add_argument("--name", help="suite name used in the run folder's name (default: the dataset's)")
    adhoc.add_argument("--normalisation", help="normalisation profile, e.g. nfc-ws or historical+casefold")
    adhoc.add_argument(
        "--failure-policy", choices=("exclude", "count_as_cer_1"), help="how failed jobs count in accuracy"
    )
    both = parser.add_argument_group("run settings (override the suite's [run] table)")
    both.add_argument(
        "--jobs", "-j", type=positive_int, metavar="N", help="worker processes (default: one per core)"
    )
    both.add_argument(
        "--timeout", type=positive_float, metavar="S", help="seconds per job before its worker is stopped"
    )
    both.add_argument(
        "--rounds",
        type=positive_int,
        metavar="N",
        help="time every group N times, interleaved (A B A B); pages/s is the median with its spread, "
        "accuracy comes from round 1 (default 1)",
    )
    both.add_argument("--out", metavar="DIR", help="folder run folders are written under (default: reports)")
    both.add_argument(
        "--serial", action="store_true", default=None, help="run in this process, one job at a time"
    )
    both.add_argument(
        "--resume", metavar="RUN_DIR", type=Path, help="continue a run folder: skip jobs already done"
    )
    both.add_argument(
        "--max-image-pixels",
        type=positive_int,
        metavar="N",
        help="accept pages up to N pixels (default: Pillow's limit, about 89 million)",
    )
    both.add_argument(
        "--allow-outside-root",
        action="store_true",
        help="read files outside a dataset's folder (manifest paths, links leading out); ad hoc runs",
    )
    both.add_argument("--no-html", action="store_true", help="skip report.html")
    _add_executor_and_cache_arguments(both)
    return parser


def _add_executor_and_cache_arguments(group: Any) -> None:
    """Where jobs run (local processes or Dask) and whether the result cache serves them."""
    group.add_argument(
        "--executor", choices=("local", "dask"), help="local worker processes (default) or a Dask cluster"
    )
    group.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask scheduler's cluster (implies dask)"
    )
    group.add_argument(
        "--shared-storage",
        action="store_true",
        default=None,
        help="Dask workers see the datasets at the same paths: send paths instead of image bytes",
    )
    group.add_argument(
        "--no-cache",
        action="store_true",
        default=None,
        help="run every job; neither read nor write the cache",
    )
    group.add_argument(
        "--refresh", action="store_true", default=None, help="run every job and overwrite its cached outcome"
    )


def run(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError, ReportError
    from harness.report import Reports, write_reports
    from harness.run_folder import RESULTS_FILE, has_results
    from harness.runner import run_suite

    suite = _suite(args)
    if args.resume is not None and not has_results(args.resume):
        raise ConfigError(f"--resume {args.resume}: not a run folder (no {RESULTS_FILE})")

    outcome = run_suite(suite, resume=args.resume)

    try:
        reports = write_reports(outcome.run_dir, html=not args.no_html)
    except ReportError as error:  # the table is still worth showing; the error decides the exit code
        if isinstance(error.reports, Reports):
            _show(error.reports)
        raise
    _show(reports)
    if outcome.interrupted:
        print(f"ocr-harness: interrupted; every finished job is kept in {RESULTS_FILE}", file=sys.stderr)
        return 130
    return 0


def _suite(args: argparse.Namespace) -> Any:
    """The suite the command line names: a suite file with [run] overrides, or datasets and flags."""
    from harness.errors import ConfigError
    from harness.plugins import get_registry
    from harness.suite import load_suite, suite_from_args

    registry = get_registry(tuple(args.plugin))
    overrides = {
        key: value
        for key, value in (
            ("jobs", args.jobs),
            ("timeout", args.timeout),
            ("output", args.out),
            ("serial", args.serial),
            ("executor", "dask" if args.scheduler and not args.executor else args.executor),
            ("scheduler", args.scheduler),
            ("shared_storage", args.shared_storage),
            ("cache", False if args.no_cache else None),
            ("refresh", args.refresh),
            ("rounds", args.rounds),
            ("max_image_pixels", args.max_image_pixels),
        )
        if value is not None
    }
    suite_files = [target for target in args.targets if target.endswith(".toml")]
    if suite_files:
        adhoc_flags = [
            flag
            for flag, value in (
                ("--backend", args.backend),
                ("--pipeline", args.pipeline),
                ("--option", args.option),
                ("--name", args.name),
                ("--normalisation", args.normalisation),
                ("--failure-policy", args.failure_policy),
                ("--allow-outside-root", args.allow_outside_root),
            )
            if value
        ]
        if len(args.targets) > 1 or adhoc_flags:
            what = ", ".join(adhoc_flags) or "more paths"
            raise ConfigError(
                f"{suite_files[0]} is a suite file; {what} cannot be combined with it",
                fix="put them in the suite file, or run a dataset path with flags instead",
            )
        return load_suite(suite_files[0], registry, overrides=overrides)
    else:
        metrics = {
            key: value
            for key, value in (("normalisation", args.normalisation), ("failure_policy", args.failure_policy))
            if value is not None
        }
        return suite_from_args(
            args.targets,
            registry,
            backends=args.backend,
            pipelines=args.pipeline,
            options=args.option,
            name=args.name,
            run=overrides,
            metrics=metrics,
            allow_outside_root=args.allow_outside_root,
        )


def _show(reports: Any) -> None:
    from harness.report.terminal import print_summary

    print_summary(reports.table, reports.notes)
    print(f"\nReports: {reports.run_dir}")
