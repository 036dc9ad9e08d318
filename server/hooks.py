"""What happens around every request, in one place: timing, metrics and the access log, the
token check, and the JSON error answers (with the body drain after a 413). Also the logging setup.

Logs are JSON lines: the access log on stdout, events on stderr (gunicorn's own log is there
too). They carry sizes, choices and outcomes, never the user's code, path or files.
"""
import hmac
import json
import logging
import os
import sys
import time

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from server.validation import ApiError

PROTECTED = {"complete", "list_models"}  # views behind the token, when one is configured
DRAIN_MAX_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 2.0

log = logging.getLogger("tabcomplete")
access_log = logging.getLogger("tabcomplete.access")


def setup_logging():
    for logger, stream in ((access_log, sys.stdout), (log, sys.stderr)):
        if not logger.handlers:
            handler = logging.StreamHandler(stream)
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
    access_log.propagate = False


def event(**fields):
    log.info(json.dumps({"ts": round(time.time(), 3), "pid": os.getpid(), **fields}))


def init_app(app):
    app.before_request(start)
    app.after_request(finish)
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, internal_error)


def view_name():
    """The view's name without its blueprint's ("complete"), as metrics and PROTECTED name it."""
    return request.endpoint.rpartition(".")[2] if request.endpoint else "unmatched"


def start():
    g.start = time.perf_counter()
    g.log = {}
    token = current_app.config["API_TOKEN"]
    if token and view_name() in PROTECTED:
        sent = request.headers.get("Authorization", "")
        scheme, _, credential = sent.partition(" ")
        given = credential.strip().encode("latin-1", "replace") if scheme.lower() == "bearer" else b""
        # Constant-time compare, so the answer's timing does not reveal how much matched.
        if not hmac.compare_digest(given, token.encode("utf-8")):
            raise ApiError(401, "unauthorized", "missing or wrong API token (send Authorization: Bearer <token>)")


def finish(response):
    seconds = time.perf_counter() - g.get("start", time.perf_counter())
    method = request.method if request.method in ("GET", "POST", "HEAD", "OPTIONS") else "other"
    current_app.extensions["tabcomplete"]["metrics"].observe_request(view_name(), method, response.status_code,
                                                                      seconds)
    response.headers["X-Content-Type-Options"] = "nosniff"
    access_log.info(json.dumps({
        "ts": round(time.time(), 3), "pid": os.getpid(), "method": request.method[:16],
        "path": request.path[:200], "status": response.status_code, "ms": round(seconds * 1000, 2),
        "bytes_in": request.content_length, "bytes_out": response.calculate_content_length(),
        **g.get("log", {}),
    }))
    return response


def api_error(err):
    response = jsonify(err.body())
    response.status_code = err.status
    if err.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tabcomplete"'
    g.setdefault("log", {})["error"] = err.code
    return response


HTTP_ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
                    415: "unsupported_media_type"}


def http_error(err):
    code = HTTP_ERROR_CODES.get(err.code, (err.name or "error").lower().replace(" ", "_"))
    message = {413: f"the body is larger than {current_app.config['MAX_BODY_BYTES']} bytes",
               404: f"no such endpoint: {request.path[:200]}"}.get(err.code, err.description or err.name)
    response = err.get_response()  # keeps headers such as Allow on a 405
    response.set_data(json.dumps({"error": {"code": code, "message": message}}))
    response.content_type = "application/json"
    if err.code == 413:
        drain_body(request.environ)
    g.setdefault("log", {})["error"] = code
    return response


def internal_error(err):
    # A bug: log where it happened (the exception, never the request's text) and answer JSON.
    log.exception("internal error on %s %s", request.method, request.path[:200])
    g.setdefault("log", {})["error"] = "internal"
    response = jsonify({"error": {"code": "internal", "message": "internal server error (a bug; see the log)"}})
    response.status_code = 500
    return response


def drain_body(environ):
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
