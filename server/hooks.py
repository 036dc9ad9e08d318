"""What happens around every request, in one place: timing, metrics and the access log, the
Host and token checks, reading the body (within its limits), and the JSON error answers (with
the body drain after a 413). Also the logging setup.

Logs are JSON lines: the access log on stdout, events on stderr (gunicorn's own log is there
too). They carry sizes, choices and outcomes, never the user's code, path or files.
"""
import hmac
import json
import logging
import os
import sys
import time
import traceback

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from server.validation import ApiError

PROTECTED = {"complete", "list_models", "prometheus"}  # views behind the token, when one is configured
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
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


def host_allowed(host, allowed):
    """Whether a Host header names this server: a loopback name or one of `allowed` ("*": any),
    with or without a port. No Host header at all (HTTP/1.0) is allowed: browsers always send one."""
    if host is None or "*" in allowed:
        return True
    name, sep, port = host.lower().rpartition(":") if not host.endswith("]") else ("", "", "")
    if not sep or not name or name.startswith("[") != name.endswith("]"):
        name, port = host.lower(), ""  # no port, or an IPv6 literal without brackets
    if port and not port.isdigit():
        return False
    return name in LOOPBACK_HOSTS or name in allowed


def start():
    g.start = time.perf_counter()
    g.log = {}
    host = request.environ.get("HTTP_HOST")
    if not host_allowed(host, current_app.config["ALLOWED_HOSTS"]):
        raise ApiError(400, "host_not_allowed", f"this server answers only to host names 127.0.0.1, localhost and "
                       f"[::1], not {host[:100]!r} (set TABCOMPLETE_ALLOWED_HOSTS to add names)")
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
    if err.code == 413:  # drain after the answer is sent, so the client has it at once
        environ = request.environ
        response.call_on_close(lambda: drain_body(environ))
    g.setdefault("log", {})["error"] = code
    return response


def internal_error(err):
    # A bug: log where it happened (the exception's type and traceback, never its text, which
    # may quote the request) and answer JSON.
    stack = "".join(traceback.format_tb(err.__traceback__))
    log.error("internal error on %s %s: %s\n%s", request.method[:16], request.path[:200], type(err).__name__, stack)
    g.setdefault("log", {})["error"] = "internal"
    response = jsonify({"error": {"code": "internal", "message": "internal server error (a bug; see the log)"}})
    response.status_code = 500
    return response


def read_body(max_bytes):
    """The request body, read within its limits: 413 (RequestEntityTooLarge) when it is longer than
    max_bytes, whether Content-Length says so or a chunked body runs past it; 408 when the server's
    body deadline passes (TimeoutError from server.worker.DeadlineBody); 400 when its framing is
    broken (a bad chunk size, a body shorter than its Content-Length). The error never quotes it."""
    environ = request.environ
    length = request.content_length
    if length is not None and length > max_bytes:
        raise RequestEntityTooLarge()
    try:
        if not environ.get("wsgi.input_terminated"):
            return request.get_data(cache=False)  # werkzeug's dev server: it stops at Content-Length
        # gunicorn ends the stream itself, at Content-Length or the last chunk: read one byte
        # past the limit to tell a body that fits from one that does not.
        stream, parts, size = environ["wsgi.input"], [], 0
        while size <= max_bytes:
            part = stream.read(min(65536, max_bytes + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except HTTPException:
        raise
    except TimeoutError:
        raise ApiError(408, "body_timeout", "the body did not arrive in time", "body") from None
    except Exception as err:  # gunicorn's framing errors (InvalidChunkSize, ...) or a dropped connection
        raise ApiError(400, "invalid_body", f"the body could not be read ({type(err).__name__})", "body") from None
    if size > max_bytes:
        raise RequestEntityTooLarge()
    if length is not None and size < length:
        raise ApiError(400, "invalid_body", "the body is shorter than its Content-Length", "body")
    return b"".join(parts)


def drain_body(environ):
    """Read and drop the rest of a refused body, within bounds, once the 413 has been sent.

    A server that closes a connection with unread bytes on it resets it, and a client still
    sending (or reusing the connection) may see the reset instead of the answer. Reading the
    body keeps the connection usable, so a too-large body costs its sender a 413 and nothing
    more. Under server.worker each read also ends at the body deadline, and the drain holds only
    its own connection's greenlet; whatever is left after DRAIN_SECONDS, the worker drops with
    the connection.
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
    except Exception:  # noqa: BLE001 - the client went away, or its framing broke: nothing left to keep
        pass
