"""Development server (one process, threaded). For production use gunicorn:

    python -m server [--host 127.0.0.1] [--port 8000] [--models DIR]
    gunicorn -c server/gunicorn.conf.py --bind 127.0.0.1:8000
"""
import argparse
import os
import sys

from server import create_app
from server.config import ConfigError
from server.models import ModelsError


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m server", description="tabcomplete completion server (development)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    p.add_argument("--models", help="models dir (a subdir with meta.json per model), or several joined with "
                                    f"{os.pathsep!r}: a default model per language and any project models "
                                    "(default $TABCOMPLETE_MODELS or model/pretrained)")
    p.add_argument("--token", help="require this bearer token on /complete and /models (default $TABCOMPLETE_TOKEN)")
    p.add_argument("--min-prob", type=float, help="default confidence gate (default $TABCOMPLETE_MIN_PROB)")
    args = p.parse_args(argv)
    overrides = {k: v for k, v in (("MODELS_DIR", args.models), ("API_TOKEN", args.token),
                                   ("MIN_PROB", args.min_prob)) if v is not None}
    try:
        app = create_app(overrides)
    except (ModelsError, ConfigError) as err:
        raise SystemExit(f"error: {err}")
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, app, threaded=True)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"tabcomplete serving at http://{host}:{server.server_port}/ (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
