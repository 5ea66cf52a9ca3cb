"""``ocr-harness datasets check|info|synth``: validate, describe and generate labelled datasets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SYNTH_LANGUAGES = ("en", "fr", "vi", "de", "es")
DEGRADE_CHOICES = ("none", "light", "medium", "heavy", "mixed")
PAGE_SIZES = ("a4", "a5", "a6")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "datasets",
        help="check, describe or generate labelled datasets",
        description="Check a dataset for problems, describe it, or generate a synthetic one. "
        "Formats: a folder of images with NAME.gt.txt (or PAGE-XML/ALTO) beside them, a JSONL/CSV "
        "manifest, one image file, PAGE-XML or ALTO files (see datasets/README.md).",
    )
    actions = parser.add_subparsers(dest="datasets_action", metavar="ACTION", required=True)

    audit = actions.add_parser(
        "check",
        help="report every problem of a dataset at once",
        description="Open every image fully and read every ground truth; list each problem with its "
        "file. Exit status 1 when there is an error (or, with --strict, a warning).",
    )
    _dataset_arguments(audit)
    audit.add_argument("--max-image-pixels", type=int, metavar="N", help="refuse images with more pixels")
    audit.add_argument("--strict", action="store_true", help="fail on warnings too")

    info = actions.add_parser(
        "info",
        help="counts, languages, characters, image sizes, DPI and the fingerprint",
        description="Describe a dataset: samples, languages, characters, image sizes and DPI "
        "(min/median/max) and its fingerprint (sha256 over ids, image bytes and ground truth).",
    )
    _dataset_arguments(info)

    synth = actions.add_parser(
        "synth",
        help="generate scanned-looking pages and lines with exact ground truth",
        description="Write a folder-format dataset of synthetic pages and text lines: STEM.png, "
        "STEM.gt.txt, STEM.tags.json (degradation parameters) and dataset.toml. The same options "
        "and seed give the same bytes.",
    )
    synth.add_argument("out", type=Path, metavar="OUT", help="folder to create (must be empty or absent)")
    synth.add_argument("--pages", type=int, default=4, metavar="N", help="number of pages (default 4)")
    synth.add_argument("--lines", type=int, default=0, metavar="N", help="number of line images (default 0)")
    synth.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    synth.add_argument(
        "--language",
        nargs="+",
        default=["en"],
        choices=SYNTH_LANGUAGES,
        metavar="LANG",
        help=f"languages, taken in turn ({', '.join(SYNTH_LANGUAGES)}; default en)",
    )
    synth.add_argument(
        "--degrade",
        default="mixed",
        choices=DEGRADE_CHOICES,
        help="scan degradation level; mixed takes none, light, medium, heavy in turn (default)",
    )
    synth.add_argument(
        "--dpi",
        metavar="DPI[-DPI]",
        help="resolution or range, e.g. 300 or 150-200 (default: each level's own range)",
    )
    synth.add_argument("--page-size", default="a5", choices=PAGE_SIZES, help="paper size (default a5)")
    synth.add_argument(
        "--lines-per-page", type=int, metavar="N", help="stop a page after N lines of text (default: fill it)"
    )
    return parser  # type: ignore[no-any-return]


def _dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="PATH", help="dataset folder, manifest or file")
    parser.add_argument("--format", metavar="NAME", help="dataset format (default: detected)")
    parser.add_argument(
        "--allow-outside-root",
        action="store_true",
        help="allow manifest or XML references to files outside the dataset folder",
    )
    parser.add_argument("--language", metavar="CODE", help="language of samples that do not state one")
    parser.add_argument(
        "--language-from-stem",
        action="store_true",
        help="take each sample's language from a language-code token in its file stem (page_de_0146)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    if args.datasets_action == "synth":
        return _synth(args)
    from harness.datasets import load_dataset
    from harness.plugins import get_registry

    settings: dict[str, Any] = {}
    if args.language:
        settings["language"] = args.language
    if args.language_from_stem:
        settings["language_from_stem"] = True
    dataset = load_dataset(
        args.path,
        format=args.format,
        allow_outside_root=args.allow_outside_root,
        registry=get_registry(args.plugin),
        settings=settings,
    )
    return _audit(dataset, args) if args.datasets_action == "check" else _info(dataset, args)


def _audit(dataset: Any, args: argparse.Namespace) -> int:
    from harness.datasets import audit_dataset

    problems = audit_dataset(dataset, max_pixels=args.max_image_pixels)
    errors = sum(1 for problem in problems if problem.severity == "error")
    warnings = len(problems) - errors
    failed = errors > 0 or (args.strict and warnings > 0)
    if args.json:
        print(
            json.dumps(
                {
                    "dataset": dataset.name,
                    "format": dataset.format,
                    "samples": len(dataset.samples),
                    "errors": errors,
                    "warnings": warnings,
                    "ok": not failed,
                    "problems": [vars(problem) for problem in problems],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for problem in problems:
            print(f"{problem.severity}: {problem.message}")
        verdict = "FAILED" if failed else "ok"
        print(
            f"{verdict}: {dataset.name} ({dataset.format}, {len(dataset.samples)} samples): "
            f"{errors} error(s), {warnings} warning(s)"
        )
    return 1 if failed else 0


def _info(dataset: Any, args: argparse.Namespace) -> int:
    from harness.datasets import describe_dataset

    facts = describe_dataset(dataset)
    if args.json:
        print(json.dumps(facts, ensure_ascii=False, indent=2, default=str))
        return 0

    def spread(values: dict[str, Any]) -> str:
        if values["min"] is None:
            return "none"
        return "/".join(f"{values[key]:g}" for key in ("min", "median", "max")) + " (min/median/max)"

    languages = ", ".join(f"{code} {count}" for code, count in facts["languages"].items())
    rows = [
        ("dataset", f"{facts['name']} ({facts['format']}) at {facts['root']}"),
        (
            "samples",
            f"{facts['samples']} from {facts['image_files']} image file(s); "
            f"{facts['with_ground_truth']} with ground truth, {facts['with_problems']} with problems",
        ),
        ("languages", languages),
        (
            "characters",
            f"{facts['characters']:,} in {facts['ground_truth_lines']:,} lines; "
            f"{facts['distinct_characters']} distinct",
        ),
        ("non-ASCII", facts["non_ascii_characters"] or "none"),
        ("width px", spread(facts["image_width"])),
        ("height px", spread(facts["image_height"])),
        ("dpi", f"{spread(facts['dpi'])}; {facts['dpi']['missing']} without DPI"),
    ]
    if facts["unreadable_images"]:
        rows.append(("unreadable", f"{facts['unreadable_images']} image(s); run 'datasets check'"))
    if facts["tags"]:
        rows.append(("tags", ", ".join(f"{name} ({count} values)" for name, count in facts["tags"].items())))
    for key in ("description", "licence"):
        if facts["metadata"].get(key):
            rows.append((key, str(facts["metadata"][key])))
    rows.append(("fingerprint", f"sha256:{facts['fingerprint']}"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError
    from harness.synth import SynthOptions, generate

    dpi = None
    if args.dpi:
        low, _, high = args.dpi.partition("-")
        try:
            dpi = (int(low), int(high or low))
        except ValueError:
            raise ConfigError(f"--dpi {args.dpi!r}: give a number or a range such as 150-200") from None
    options = SynthOptions(
        pages=args.pages,
        lines=args.lines,
        seed=args.seed,
        languages=tuple(args.language),
        degrade=args.degrade,
        dpi=dpi,
        page_size=args.page_size,
        lines_per_page=args.lines_per_page,
    )
    written = generate(args.out, options, out_as_given=str(args.out))
    print(
        f"wrote {len(written)} samples ({args.pages} pages, {args.lines} lines) to {args.out}",
        file=sys.stdout,
    )
    return 0
