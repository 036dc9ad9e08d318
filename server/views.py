"""The endpoints, one blueprint: POST /complete, GET /health, /models, /metrics, /openapi.json,
and the playground page (/, /client.js and /static/). Checks around them live in server.hooks."""
import functools
import json
import os
import time

from flask import Blueprint, Response, current_app, g, jsonify, request, send_from_directory

from server.hooks import read_body
from server.validation import ApiError, echo, parse_complete, text_chars

bp = Blueprint("tabcomplete", __name__, static_folder="static", static_url_path="/static")

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.json"), encoding="utf-8") as f:
    OPENAPI = json.load(f)
# The plug-ins' client, which the playground runs too (one copy of the Tab behaviour for every editor).
SHARED_CLIENT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "editor-plugin", "shared")


def run_completion(completer, req, min_prob):
    """The one call of the Completer for a request. min_prob None: the model's completion policy."""
    return completer.complete(req.text, suffix=req.suffix, max_chars=req.max_chars, stop=req.stop,
                              temperature=req.temperature, n=req.n, min_prob=min_prob, seed=req.seed,
                              files=req.files, path=req.path, choices=req.choices, language=req.language)


def complete_request(models, default_language, req, min_prob):
    """(the model that completes a parsed request, its Completion), or (None, the language) when no
    model serves the request's language (the default language when it names none) at its path.
    min_prob: the server's (MIN_PROB), used when the request sets none."""
    language = req.language or default_language
    loaded = models.pick(language, req.path)
    if loaded is None:
        return None, language
    return loaded, run_completion(loaded.completer, req, req.min_prob if req.min_prob is not None else min_prob)


def served():
    """{"models": ModelSet, "default": language, "metrics": Metrics}, set by create_app."""
    return current_app.extensions["tabcomplete"]


def json_body():
    if not request.mimetype or not (request.mimetype == "application/json" or request.mimetype.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)")
    raw = read_body(current_app.config["MAX_BODY_BYTES"])  # 413, 408 or 400 here when it cannot be had
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON ({type(err).__name__})", "body") from None


@bp.post("/complete")
def complete():
    config, models = current_app.config, served()["models"]
    req = parse_complete(json_body(), text_chars(config["CONTEXT_CHARS"]), config["MAX_FILES"])
    t0 = time.perf_counter()
    loaded, result = complete_request(models, served()["default"], req, config["MIN_PROB"])
    if loaded is None:
        raise ApiError(404, "unknown_language", no_model(models, result), "language")
    elapsed_ms = (time.perf_counter() - t0) * 1000
    served()["metrics"].observe_completion(loaded.name, result)
    # Sizes of `files`, never their paths or text.
    g.log.update(model=loaded.name, text_chars=req.text_chars, files=len(req.files),
                 files_chars=sum(len(text) for _, text in req.files), context_chars=result.context_chars,
                 new_chars=result.new_chars, completion_chars=len(result.text), stop_reason=result.stop_reason)
    answer = {"completion": result.text, "alternatives": list(result.alternatives), "model": loaded.name,
              "elapsed_ms": round(elapsed_ms, 3)}
    if req.choices:  # asked for: the ranked units, best first (model.serving.choices)
        answer["choices"] = [{"text": text, "probability": round(prob, 6)} for text, prob in result.choices]
    return jsonify(answer)


def no_model(models, language):
    """Why no model completes a request of this language (never quoting its path)."""
    serves_projects, language = language in models.projects, echo(language)
    if serves_projects:
        return (f"no model for language {language!r} serves this path: its models are project models, each "
                f"for files under its project root (GET /models lists them), and it has no default model")
    return f"no model for language {language!r} (loaded: {', '.join(models.languages())})"


@bp.get("/health")
def health():
    return jsonify({"status": "ok", "models": served()["models"].languages(), "default": served()["default"]})


@bp.get("/models")
def list_models():
    models = served()["models"]
    return jsonify({"default": served()["default"], "models": [m.describe() for m in models.all()]})


@bp.get("/metrics")
def prometheus():
    body, content_type = served()["metrics"].exposition()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi_doc():
    return jsonify(OPENAPI)


@bp.get("/")
def playground():
    response = send_from_directory(bp.static_folder, "index.html")
    response.headers["Content-Security-Policy"] = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                                   "img-src 'self' data:; frame-ancestors 'none'")
    return response


@functools.cache
def browser_client():
    """editor-plugin/shared/client.js (CommonJS, for Node) as a browser script: the module in a
    function scope whose `require` gives it limits.json, its exports as window.tabcomplete."""
    with open(os.path.join(SHARED_CLIENT, "client.js"), encoding="utf-8") as f:
        source = f.read()
    with open(os.path.join(SHARED_CLIENT, "limits.json"), encoding="utf-8") as f:
        limits = json.dumps(json.load(f))
    return ("(() => {\n'use strict';\nconst module = { exports: {} };\n"
            f"const require = (name) => {{ if (name === './limits.json') return {limits}; throw new Error(name); }};\n"
            f"{source}\nwindow.tabcomplete = module.exports;\n}})();\n")


@bp.get("/client.js")
def client_script():
    try:
        body = browser_client()
    except OSError:
        raise ApiError(404, "not_found", "the playground's client (editor-plugin/shared/client.js) is not installed") from None
    return Response(body, content_type="text/javascript; charset=utf-8")
