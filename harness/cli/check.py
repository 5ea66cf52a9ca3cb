"""ocr-harness check: the CI gate. Exit 0 when every check passes, 1 when any fails.

Errors have their own exit codes (2 usage, 3 unreadable input, 5 unwritable
output, 70 internal), so 1 always means "a threshold was crossed".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "check",
        help="fail (exit 1) when a run crosses its thresholds or regresses against a baseline",
        description=(
            "Check a run folder against thresholds: from these options, the suite's backend thresholds and "
            "its [check] table (in that order of precedence). Rates take fractions, percentages or "
            "percentage points: 0.05, 5%%, 0.5pp. An accuracy regression against a baseline run counts only "
            "when its paired 95%% interval excludes zero; a slowdown timed over several rounds only when it "
            "holds across rounds. Groups pair with the baseline's by backend name and pipeline steps; any "
            "other configuration difference (options, engine version, model hashes, normalisation, dataset) "
            "fails unless --allow-config-change. Exit 0: all passed; 1: a check failed; "
            "2: a usage error; 3: an unreadable run folder or baseline; 5: an unwritable --junit file; "
            "70: an internal error."
        ),
    )
    parser.add_argument("run", type=Path, metavar="RUN", help="run folder (e.g. reports/latest)")
    parser.add_argument("--max-cer", metavar="RATE", help="highest CER allowed, e.g. 0.05 or 5%%")
    parser.add_argument("--max-wer", metavar="RATE", help="highest WER allowed")
    parser.add_argument(
        "--max-cer-unordered",
        metavar="RATE",
        help="highest order-independent CER allowed (reading order ignored)",
    )
    parser.add_argument("--max-bow-wer", metavar="RATE", help="highest bag-of-words WER allowed")
    parser.add_argument("--min-pages-per-s", type=float, metavar="X", help="lowest pages per second allowed")
    parser.add_argument("--max-failed", type=int, metavar="N", help="most failed jobs allowed per group")
    parser.add_argument(
        "--baseline", type=Path, metavar="RUN_OR_SUMMARY_CSV",
        help="run folder (paired comparison) or summary.csv (point estimates) to compare with",
    )  # fmt: skip
    parser.add_argument(
        "--max-cer-increase", metavar="PP", help="largest CER rise over the baseline, e.g. 0.5pp"
    )
    parser.add_argument("--max-wer-increase", metavar="PP", help="largest WER rise over the baseline")
    parser.add_argument(
        "--max-slowdown", metavar="PCT", help="largest pages/s drop against the baseline, e.g. 10%%"
    )
    parser.add_argument(
        "--allow-config-change",
        action="store_true",
        help="list configuration differences from the baseline without failing on them",
    )
    parser.add_argument(
        "--backend", action="append", metavar="NAME", help="check only this backend (repeatable)"
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write the results as JUnit XML")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness.check import format_results, load_baseline, run_checks, suite_limits
    from harness.errors import ConfigError
    from harness.junit import write_junit
    from harness.run_folder import load_run
    from harness.thresholds import Thresholds

    given = {
        "max_cer": args.max_cer,
        "max_wer": args.max_wer,
        "max_cer_unordered": args.max_cer_unordered,
        "max_bow_wer": args.max_bow_wer,
        "min_pages_per_s": args.min_pages_per_s,
        "max_failed": args.max_failed,
        "max_cer_increase": args.max_cer_increase,
        "max_wer_increase": args.max_wer_increase,
        "max_slowdown": args.max_slowdown,
    }
    try:
        cli = Thresholds.model_validate({k: v for k, v in given.items() if v is not None})
    except ValueError as error:  # pydantic's ValidationError: a bad number on the command line
        raise ConfigError(f"bad threshold: {_first_error(error)}") from None
    run_data = load_run(args.run)
    baseline_path = args.baseline or suite_limits(run_data.info)[2]
    baseline = load_baseline(baseline_path) if baseline_path else None
    results = run_checks(
        run_data,
        cli=cli,
        baseline=baseline,
        backends=args.backend,
        allow_config_change=args.allow_config_change,
    )
    print(format_results(results))
    if args.junit:
        write_junit(results, args.junit)
        print(f"wrote {args.junit}", file=sys.stderr)
    return 1 if any(result.status == "fail" for result in results) else 0


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        item = errors()[0]
        where = ".".join(str(part) for part in item.get("loc", ())) or "value"
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        return f"{where.replace('_', '-')}: {message}"
    return str(error)
