"""The completion server: a Flask app factory.

    app = create_app()                                  # settings from TABCOMPLETE_* variables
    app = create_app({"MODELS_DIR": "runs/models", "API_TOKEN": "s3cret"})

Models load when the app is created: under gunicorn that is in each worker, after the fork
(gunicorn.conf.py does not preload the app). No TensorFlow here: the Completer reads the
weights with h5py and steps the network in numpy.
"""
import hmac
import inspect
import json
import logging
import os
import sys
import time

from flask import Flask, Response, g, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from model.sample import Completer
from server.config import load_config
from server.metrics import Metrics
from server.models import default_language, load_models
from server.validation import ApiError, parse_complete, text_chars

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC_DIR = os.path.join(HERE, "static")
OPENAPI_PATH = os.path.join(HERE, "openapi.json")
PROTECTED = {"complete", "list_models"}  # endpoints behind the token, when one is configured

log = logging.getLogger("tabcomplete")
access_log = logging.getLogger("tabcomplete.access")


def _setup_logging():
    """JSON lines: access log on stdout, events on stderr (gunicorn's own log is there too)."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _event(**fields):
    log.info(json.dumps({"ts": round(time.time(), 3), "pid": os.getpid(), **fields}))


DRAIN_MAX_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 2.0


def _drain_body(environ):
    """Read and drop the rest of a refused body, within bounds.

    gunicorn answers "Connection: keep-alive" and then drains at most 64 KiB itself before
    closing; a client that reuses the connection meanwhile sees it reset. Reading the body here
    keeps the connection usable, so a too-large body costs its sender a 413 and nothing more.
    """
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if stream is None or (length < 0 and not environ.get("wsgi.input_terminated")):
        return  # no length and no end marker: a read could block for ever
    remaining = min(length, DRAIN_MAX_BYTES) if length >= 0 else DRAIN_MAX_BYTES
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        while remaining > 0 and time.monotonic() < deadline:
            chunk = stream.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)
    except (OSError, ValueError):
        pass  # the client went away: nothing left to keep


# The request fields that the Completer takes once it draws hints from the user's project
# (model/sample.py grows them); until then they are checked and parsed but not passed on.
PROJECT_FIELDS = tuple(f for f in ("path", "files") if f in inspect.signature(Completer.complete).parameters)


def run_completion(completer, req, min_prob):
    """The one call of the Completer for a request: its fields, and path/files where it takes them."""
    project = {f: getattr(req, f) for f in PROJECT_FIELDS}
    return completer.complete(req.text, suffix=req.suffix, max_chars=req.max_chars, stop=req.stop,
                              temperature=req.temperature, n=req.n, min_prob=min_prob or None, seed=req.seed,
                              **project)


def create_app(config=None):
    """The Flask app, with its models loaded. config: settings overriding the environment's
    (see server.config.DEFAULTS). Raises ModelsError / ConfigError with a clear message."""
    _setup_logging()
    settings = load_config(config)
    models = load_models(settings["MODELS_DIR"], settings["CONTEXT_CHARS"], settings["CACHE_ENTRIES"],
                         float(settings["WORD_WEIGHT"]))
    default = default_language(models, settings["DEFAULT_LANGUAGE"])
    for m in models.values():
        # The first completion compiles the LSTM kernel (numba); do it now, at worker start,
        # not in a user's first request.
        t0 = time.perf_counter()
        m.completer.complete("def f(x):\n    return x", max_chars=4)
        m.warmup_seconds = time.perf_counter() - t0
    metrics = Metrics()
    for m in models.values():
        metrics.load_seconds.labels(m.name, m.language).set(m.load_seconds)
    with open(OPENAPI_PATH, encoding="utf-8") as f:
        openapi = json.load(f)

    app = Flask(__name__, static_folder=STATIC_DIR, static_url_path="/static")
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    app.json.sort_keys = False
    app.extensions["tabcomplete"] = {"models": models, "default": default, "metrics": metrics}
    token = settings["API_TOKEN"].encode("utf-8") if settings["API_TOKEN"] else None
    _event(event="models_loaded", models={m.language: {"name": m.name, "load_seconds": round(m.load_seconds, 3),
                                                       "warmup_seconds": round(m.warmup_seconds, 3)}
                                          for m in models.values()}, default=default)

    # -- one place for checks before a view, and for what happens after every answer ----------

    @app.before_request
    def start():
        g.start = time.perf_counter()
        g.log = {}
        if token is not None and request.endpoint in PROTECTED:
            sent = request.headers.get("Authorization", "")
            scheme, _, credential = sent.partition(" ")
            given = credential.strip().encode("latin-1", "replace") if scheme.lower() == "bearer" else b""
            # Constant-time compare, so the answer's timing does not reveal how much matched.
            if not hmac.compare_digest(given, token):
                raise ApiError(401, "unauthorized", "missing or wrong API token (send Authorization: Bearer <token>)")

    @app.after_request
    def finish(response):
        seconds = time.perf_counter() - g.get("start", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        method = request.method if request.method in ("GET", "POST", "HEAD", "OPTIONS") else "other"
        metrics.observe_request(endpoint, method, response.status_code, seconds)
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Never the user's code: sizes, choices and outcome only.
        access_log.info(json.dumps({
            "ts": round(time.time(), 3), "pid": os.getpid(), "method": request.method[:16],
            "path": request.path[:200], "status": response.status_code, "ms": round(seconds * 1000, 2),
            "bytes_in": request.content_length, "bytes_out": response.calculate_content_length(),
            **g.get("log", {}),
        }))
        return response

    @app.errorhandler(ApiError)
    def api_error(err):
        response = jsonify(err.body())
        response.status_code = err.status
        if err.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="tabcomplete"'
        g.setdefault("log", {})["error"] = err.code
        return response

    @app.errorhandler(HTTPException)
    def http_error(err):
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
                415: "unsupported_media_type"}.get(err.code, (err.name or "error").lower().replace(" ", "_"))
        message = {413: f"the body is larger than {settings['MAX_BODY_BYTES']} bytes",
                   404: f"no such endpoint: {request.path[:200]}"}.get(err.code, err.description or err.name)
        response = err.get_response()  # keeps headers such as Allow on a 405
        response.set_data(json.dumps({"error": {"code": code, "message": message}}))
        response.content_type = "application/json"
        if err.code == 413:
            _drain_body(request.environ)
        g.setdefault("log", {})["error"] = code
        return response

    @app.errorhandler(Exception)
    def internal_error(err):
        # A bug: log where it happened (the exception, never the request's text) and answer JSON.
        log.exception("internal error on %s %s", request.method, request.path[:200])
        g.setdefault("log", {})["error"] = "internal"
        response = jsonify({"error": {"code": "internal", "message": "internal server error (a bug; see the log)"}})
        response.status_code = 500
        return response

    # -- views ---------------------------------------------------------------------------------

    @app.post("/complete")
    def complete():
        if not request.mimetype or not (request.mimetype == "application/json" or request.mimetype.endswith("+json")):
            raise ApiError(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)")
        raw = request.get_data(cache=False)  # 413 here when the body is too large
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as err:
            raise ApiError(400, "invalid_json", f"the body is not valid JSON ({type(err).__name__})", "body") from None
        req = parse_complete(body, text_chars(settings["CONTEXT_CHARS"]), settings["MAX_FILES"])
        language = req.language or default
        loaded = models.get(language)
        if loaded is None:
            raise ApiError(404, "unknown_language", f"no model for language {language!r} "
                           f"(loaded: {', '.join(sorted(models))})", "language")
        min_prob = req.min_prob if req.min_prob is not None else settings["MIN_PROB"]
        t0 = time.perf_counter()
        result = run_completion(loaded.completer, req, min_prob)
        elapsed_ms = (time.perf_counter() - t0) * 1000
        metrics.observe_completion(loaded.name, result)
        # Sizes of `files`, never their paths or text.
        g.log.update(model=loaded.name, text_chars=req.text_chars, files=len(req.files),
                     files_chars=sum(len(text) for _, text in req.files), context_chars=result.context_chars,
                     new_chars=result.new_chars, completion_chars=len(result.text), stop_reason=result.stop_reason)
        return jsonify({"completion": result.text, "alternatives": list(result.alternatives),
                        "model": loaded.name, "elapsed_ms": round(elapsed_ms, 3)})

    @app.get("/health")
    def health():
        return jsonify({"status": "ok", "models": sorted(models), "default": default})

    @app.get("/models")
    def list_models():
        return jsonify({"default": default, "models": [models[k].describe() for k in sorted(models)]})

    @app.get("/metrics")
    def prometheus():
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.get("/openapi.json")
    def openapi_doc():
        return jsonify(openapi)

    @app.get("/")
    def playground():
        response = send_from_directory(STATIC_DIR, "index.html")
        response.headers["Content-Security-Policy"] = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                                       "img-src 'self' data:; frame-ancestors 'none'")
        return response

    return app
