"""python -m server.lsp [--models DIR | --url URL [--token T]] [--tcp HOST:PORT]: the language server."""
import argparse
import gc
import logging
import os
import sys

from server.config import ConfigError
from server.lsp.backend import LocalModels, RemoteServer
from server.lsp.server import create_server
from server.models import ModelsError


def host_port(value):
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {value!r}")
    return host.strip("[]"), int(port)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m server.lsp", description="tabcomplete language server (LSP)")
    p.add_argument("--models", help="models dir(s), joined with os.pathsep, loaded here (default $TABCOMPLETE_MODELS, "
                                    "else model/pretrained and models/ as make serve serves them)")
    p.add_argument("--url", help="forward completions to this running tabcomplete server instead of loading models")
    p.add_argument("--token", default=os.environ.get("TABCOMPLETE_TOKEN"),
                   help="the --url server's token (default $TABCOMPLETE_TOKEN)")
    p.add_argument("--tcp", type=host_port, metavar="HOST:PORT", help="listen on TCP instead of stdio")
    args = p.parse_args(argv)
    if args.url and args.models:
        p.error("--models and --url exclude each other: load models here, or forward to a server")
    # stdout is the protocol's: anything else goes to stderr, and never the user's code (pygls logs
    # messages whole at INFO and the params of a failed request at ERROR, so it is kept quiet).
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    logging.getLogger("pygls").setLevel(logging.CRITICAL)
    try:
        backend = RemoteServer(args.url, args.token) if args.url else LocalModels(args.models)
    except (ModelsError, ConfigError) as err:
        raise SystemExit(f"error: {err}")
    # What is loaded stays: a full collection would scan numba's compiler in the middle of a
    # completion (40-50 ms), as in gunicorn's workers (docs/experiments/2026-11-22-gc-freeze.md).
    gc.freeze()
    server = create_server(backend)
    if args.tcp:
        print(f"tabcomplete language server: models loaded, serving LSP on {args.tcp[0]}:{args.tcp[1]} (TCP)",
              file=sys.stderr, flush=True)
        server.start_tcp(*args.tcp)
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
