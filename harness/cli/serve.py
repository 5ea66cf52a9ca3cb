"""``ocr-harness serve``: extraction and search over HTTP (needs the ``serve`` extra).

One process serves every request with one shared Extractor and its worker
processes. It binds 127.0.0.1 unless told otherwise; any other address needs an
API token (``--token`` or OCR_HARNESS_TOKEN) that every request must carry.
SIGTERM (or Ctrl-C) stops taking connections and lets requests in flight finish.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from harness.cli._arguments import add_engine_arguments, positive_float, positive_int

SERVE_EXTRA_FIX = "pip install 'ocr-harness[serve]'"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve",
        help="serve extraction and search over HTTP",
        description="Serve POST /v1/extract, GET /v1/search, POST /v1/index, GET /healthz and "
        "GET /openapi.json. Binds 127.0.0.1 by default; other addresses need an API token.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--db", default=None, metavar="FILE", help="index file for /v1/search and /v1/index")
    add_engine_arguments(parser, request_defaults=True)
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="OCR worker processes (default: cores)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"API token every request must send as 'Authorization: Bearer TOKEN' (or set {_token_env()})",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=positive_float,
        default=100.0,
        metavar="MB",
        help="largest request (default 100)",
    )
    parser.add_argument(
        "--max-pending-pages",
        type=positive_int,
        default=32,
        metavar="N",
        help="pages waiting to be read before new requests get 503 (default 32)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=300.0,
        metavar="S",
        help="seconds per request (default 300)",
    )
    parser.add_argument(
        "--max-image-pixels",
        type=positive_int,
        default=None,
        metavar="N",
        help="accept images up to N pixels",
    )
    parser.add_argument(
        "--root-path", default="", metavar="PREFIX", help="URL prefix a reverse proxy serves the app under"
    )
    return parser


def _token_env() -> str:
    return "OCR_HARNESS_TOKEN"


def run(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError
    from harness.options import backend_options

    try:
        import uvicorn
    except ImportError:
        raise ConfigError("the service needs FastAPI and uvicorn", fix=SERVE_EXTRA_FIX) from None
    from harness.service import ServiceConfig
    from harness.service.app import create_app
    from harness.service.guards import is_loopback

    token = args.token or os.environ.get(_token_env()) or None
    if not is_loopback(args.host) and not token:
        raise ConfigError(
            f"binding {args.host} lets other machines in: an API token is required",
            fix=f"pass --token TOKEN or set {_token_env()}, or bind 127.0.0.1",
        )
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, not {args.port}")
    config = ServiceConfig(
        backend=args.backend,
        language=args.language,
        preprocess=args.preprocess,
        backend_options=backend_options(args.option, args.backend),
        plugins=tuple(getattr(args, "plugin", None) or ()),
        workers=args.workers,
        db=args.db,
        token=token,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        max_pending_pages=args.max_pending_pages,
        request_timeout=args.timeout,
        max_pixels=args.max_image_pixels,
    )
    # Built here, before the server starts, so a bad configuration is one error line.
    extractor = config.make_extractor()
    app = create_app(config, extractor)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            root_path=args.root_path,
            # In-flight requests finish on SIGTERM, however long they may take within their timeout.
            timeout_graceful_shutdown=int(config.request_timeout) + 5,
            log_level="info",
        )
    )
    print(f"ocr-harness: serving {config.backend} on http://{args.host}:{args.port}", file=sys.stderr)
    server.run()
    return 0
