"""``ocr-harness extract FILES...``: the text of scans, or hOCR, ALTO, PAGE-XML, JSON, searchable PDF.

One file's problem (missing, unreadable, an engine failure) is printed to
stderr naming the file, and the other files are still read; so are the other
pages of a multi-page file with one bad page. The exit code is 0
when every file was read, else the highest exit code among the errors.

Text and JSON go to stdout (or ``--output FILE``). hOCR, ALTO, PAGE-XML and PDF
of one file go to stdout or ``--output FILE``; several output files (several
inputs, or a PAGE-XML of several pages) need ``--output FOLDER``, where each is
named after its input (``scan.hocr``, ``scan.page2.page.xml``). A PDF is not
written to a terminal.

Pages over the pixel budget are shrunk as they are loaded, with a note on
stderr (``--no-auto-downscale`` keeps them as they are). ``--manifest FILE``
reads a CSV/TSV of files with options per file (columns ``file``, and any of
``language``, ``preprocess``, ``backend``, ``options`` as a JSON object).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harness.cli._arguments import add_engine_arguments, add_job_arguments, positive_float, positive_int

FILE_HEADER = "==> {} <=="
FORMATS = ("text", "json", "hocr", "alto", "page", "pdf")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "extract",
        help="read scans: text, JSON, hOCR, ALTO, PAGE-XML or searchable PDF",
        description="Read image files and PDFs with one backend and write their text (pages separated "
        "by a form feed), or the document with its lines, words, boxes and confidences.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="image files (PNG, TIFF, JPEG, ...) or PDFs")
    add_engine_arguments(parser)
    parser.add_argument(
        "--manifest",
        metavar="FILE",
        help="CSV or TSV of files to read with options per file: columns file, and any of language, "
        "preprocess, backend, options (a JSON object of backend options)",
    )
    parser.add_argument(
        "--format", "-f", choices=FORMATS, default="text", help="what to write (default: text)"
    )
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help="short for --format json"
    )
    parser.add_argument(
        "--output", metavar="PATH", help="write to this file (or folder, for several output files)"
    )
    add_job_arguments(
        parser,
        max_pixels_help="accept images up to N pixels (default: 400 million, or Pillow's 89 million "
        "with --no-auto-downscale)",
    )
    parser.add_argument(
        "--no-auto-downscale",
        dest="auto_downscale",
        action="store_false",
        help="read huge pages at full size (default: pages over the pixel budget are shrunk to it)",
    )
    parser.add_argument(
        "--pixel-budget",
        type=positive_int,
        default=None,
        metavar="N",
        help="largest page, in pixels, read without shrinking it (default: 40 million)",
    )
    parser.add_argument(
        "--pdf-dpi",
        type=positive_float,
        default=300,
        metavar="DPI",
        help="resolution PDF pages are rendered at (default: 300)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    import asyncio
    import warnings

    from harness.errors import ConfigError

    if not args.files and not args.manifest:
        raise ConfigError("name the files to read, or a --manifest listing them")
    items: list[tuple[str, dict[str, Any]]] = [(path, {}) for path in args.files]
    if args.manifest:
        from harness.extract_manifest import read_manifest

        items += read_manifest(args.manifest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # _extract prints the caveat itself, before any OCR
        results = asyncio.run(_extract(args, items))
    failures = [(path, result) for path, result in results if not _is_document(result)]
    documents = [result for _, result in results if _is_document(result)]
    _notes(documents)
    for _, error in failures:
        print(f"ocr-harness: error: {error}", file=sys.stderr)
    page_errors = [page.error for document in documents for page in document.failed_pages]
    for page_error in page_errors:
        print(f"ocr-harness: error: {page_error['message']}", file=sys.stderr)
    code = max((error.exit_code for _, error in failures), default=1 if page_errors else 0)
    written = _write(args, results)
    return code if written else max(code, 1)


def _is_document(result: Any) -> bool:
    from harness.document import Document

    return isinstance(result, Document)


def _notes(documents: list[Any]) -> None:
    for document in documents:
        for page in document.pages:
            if page.downscaled_from:
                width, height = page.downscaled_from
                print(
                    f"ocr-harness: note: {document.source} page {page.number}: {width}x{height} pixels, "
                    f"downscaled to {page.width}x{page.height} before OCR (--no-auto-downscale keeps it)",
                    file=sys.stderr,
                )
        if document.truncated:
            print(
                f"ocr-harness: warning: {document.source}: the text is cut short by the engine "
                f'({document.backend}); it is flagged "truncated"',
                file=sys.stderr,
            )


def _write(args: argparse.Namespace, results: list[tuple[str, Any]]) -> bool:
    """Write the outputs where asked; False (after saying why) when they cannot be written."""
    from pathlib import Path

    from harness.writers import files

    documents = [result.readable() for _, result in results if _is_document(result)]
    if args.format in files.STREAM_FORMATS:
        data = _text(results) if args.format == "text" else _json(results)
        return _emit(args.output, data.encode("utf-8"), binary=False)
    options = {"pdf_dpi": args.pdf_dpi, "max_pixels": args.max_image_pixels}
    if args.format == "pdf":
        options["pixel_budget"] = _pixel_budget(args)
    else:
        options = {}
    try:
        outputs = [
            output for document in documents for output in files.outputs(document, args.format, **options)
        ]
    except OSError as error:
        print(f"ocr-harness: error: cannot write the {args.format} output: {error}", file=sys.stderr)
        return False
    if not outputs:
        return True
    if files.needs_folder(documents, args.format):
        if not args.output:
            print(
                f"ocr-harness: error: {len(outputs)} {args.format} files to write: "
                "name a folder with --output",
                file=sys.stderr,
            )
            return False
        folder = Path(args.output)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, (_, content) in zip(files.unique_names([n for n, _ in outputs]), outputs, strict=True):
                (folder / name).write_bytes(content)
        except OSError as error:
            print(f"ocr-harness: error: cannot write to {folder}: {error.strerror or error}", file=sys.stderr)
            return False
        return True
    return _emit(args.output, outputs[0][1], binary=args.format == "pdf")


def _emit(output: str | None, data: bytes, *, binary: bool) -> bool:
    from pathlib import Path

    if output:
        try:
            Path(output).write_bytes(data)
        except OSError as error:
            print(f"ocr-harness: error: cannot write {output}: {error.strerror or error}", file=sys.stderr)
            return False
        return True
    if binary and sys.stdout.isatty():
        print("ocr-harness: error: a PDF is not written to a terminal: use --output FILE", file=sys.stderr)
        return False
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return True


def _text(results: list[tuple[str, Any]]) -> str:
    from harness.files import printable_path

    readable = [(path, result) for path, result in results if _is_document(result)]
    several = len(results) > 1
    parts = []
    for index, (path, document) in enumerate(readable):
        header = ("\n" if index else "") + FILE_HEADER.format(printable_path(path)) + "\n" if several else ""
        parts.append(header + document.text + "\n")
    return "".join(parts)


def _json(results: list[tuple[str, Any]]) -> str:
    from harness.files import printable_path

    entries = []
    for path, result in results:
        if _is_document(result):
            document = result.to_dict()
            document["source"] = printable_path(document["source"])
            entries.append({"file": printable_path(path), "error": None, **document})
        else:
            entries.append(
                {
                    "file": printable_path(path),
                    "error": {"type": type(result).__name__, "message": str(result)},
                    "text": None,
                    "truncated": False,
                    "pages": [],
                }
            )
    return json.dumps(entries, ensure_ascii=False, indent=2) + "\n"


def _pixel_budget(args: argparse.Namespace) -> int | None:
    from harness.images import DEFAULT_PIXEL_BUDGET

    return (args.pixel_budget or DEFAULT_PIXEL_BUDGET) if args.auto_downscale else None


async def _extract(
    args: argparse.Namespace, items: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, Any]]:
    from harness.api import Extractor
    from harness.errors import ConfigError
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
        auto_downscale=args.auto_downscale,
        pixel_budget=args.pixel_budget,
        pdf_dpi=args.pdf_dpi,
    )
    async with extractor:
        caveats = dict.fromkeys(c for _, options in items if (c := extractor.caveat(**options)))
        for caveat in caveats:
            print(f"ocr-harness: warning: {extractor_backend(args, items)}: {caveat}", file=sys.stderr)
        documents = await extractor.extract_documents(list(items), keep_failed_pages=True)
    return [(path, document) for (path, _), document in zip(items, documents, strict=True)]


def extractor_backend(args: argparse.Namespace, items: list[tuple[str, dict[str, Any]]]) -> str:
    names = dict.fromkeys(options.get("backend") or args.backend for _, options in items)
    return ", ".join(names) or args.backend
