"""Where a completion comes from: the models loaded in this process, or a running server (--url).

Both take the body a plug-in would POST to /complete (request_body builds it as
editor-plugin/shared/client.js buildBody does) and give back the /complete answer, so the
language server completes exactly as the HTTP server does. The local one runs the same calls
as server.views.complete: parse_complete (every check of a body), then complete_request
(ModelSet.pick by language and project root, and the one call of the Completer).
"""
import json
import os
import urllib.error
import urllib.request

from model.serving.limits import SUFFIX_CHARS, TEXT_CHARS
from server.config import REPO_ROOT, load_config
from server.models import default_language, load_models, warm_up
from server.validation import ApiError, parse_complete, text_chars
from server.views import complete_request, no_model


class NoModel(Exception):
    """No model serves this document's language (or its path): an answer of nothing, not an error."""


class BackendError(Exception):
    """The completion could not be had (a server unreachable, an answer refused); the message says why."""


def request_body(document, offset, settings, files=()):
    """The POST /complete body for a cursor at `offset` in document: the text around the cursor
    within the plug-ins' limits, the language, the path, the other files, the settings."""
    body = {**settings["requestOptions"], "text": document.text[:offset][-TEXT_CHARS:],
            "suffix": document.text[offset:offset + SUFFIX_CHARS], "max_chars": settings["maxChars"],
            "stop": settings["stop"]}
    if document.language:
        body["language"] = document.language
    if document.path:
        body["path"] = document.path
    if files:
        body["files"] = list(files)
    if settings["choices"] > 0:
        body["choices"] = settings["choices"]
    return body


def default_models_dir():
    """$TABCOMPLETE_MODELS, else what make serve serves: the shipped models and the project
    models make learn writes (models/, when it exists), from wherever the editor starts us."""
    pretrained = os.path.join(REPO_ROOT, "model", "pretrained")
    learned = os.path.join(REPO_ROOT, "models")
    return os.environ.get("TABCOMPLETE_MODELS") or os.pathsep.join(
        [pretrained] + ([learned] if os.path.isdir(learned) else []))


class LocalModels:
    """The models dirs loaded here, as a server worker loads them (ModelsError / ConfigError if
    they cannot be)."""

    def __init__(self, models_dir=None):
        self.config = load_config({"MODELS_DIR": models_dir or default_models_dir()})
        self.models = load_models(self.config["MODELS_DIR"], self.config["CONTEXT_CHARS"],
                                  self.config["CACHE_ENTRIES"], float(self.config["WORD_WEIGHT"]))
        self.default = default_language(self.models, self.config["DEFAULT_LANGUAGE"])
        warm_up(self.models)  # the first completion is as fast as the next
        self.max_text_chars = text_chars(self.config["CONTEXT_CHARS"])

    def describe(self):
        return f"models {', '.join(m.name for m in self.models.all())} loaded in this process"

    def complete(self, body, timeout_ms=None):
        """The /complete answer for body (timeout_ms: unused here, the model answers in milliseconds)."""
        try:
            req = parse_complete(body, self.max_text_chars, self.config["MAX_FILES"])
        except ApiError as err:
            raise BackendError(f"request refused: {err.message}") from None
        loaded, result = complete_request(self.models, self.default, req, self.config["MIN_PROB"])
        if loaded is None:
            raise NoModel(no_model(self.models, result))
        return {"completion": result.text, "alternatives": list(result.alternatives), "model": loaded.name,
                "choices": [{"text": text, "probability": prob} for text, prob in result.choices]}


class RemoteServer:
    """A running tabcomplete server's POST /complete."""

    def __init__(self, url, token=None):
        self.url, self.token = url.rstrip("/"), token

    def describe(self):
        return f"completing with the server at {self.url}"

    def complete(self, body, timeout_ms=3000):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + "/complete", data=json.dumps(body).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_ms / 1000) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as err:
            error = _error_of(err)
            if err.code == 404 and error.get("code") == "unknown_language":
                raise NoModel(error.get("message", "no model for this language")) from None
            raise BackendError(f"{self.url} answered {err.code}: {error.get('message', err.reason)}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise BackendError(f"cannot reach {self.url} ({reason})") from None
        except ValueError:
            raise BackendError(f"{self.url} answered with a body that is not JSON") from None
        return checked(answer, self.url)


def checked(answer, url):
    """A 200 answer as docs/design.md has it (client.js validateAnswer), or BackendError saying what is wrong."""
    choices = answer.get("choices", []) if isinstance(answer, dict) else None
    if not isinstance(answer, dict) or not isinstance(answer.get("completion"), str):
        raise BackendError(f"bad answer from {url}: no completion")
    if not isinstance(choices, list) or not all(
            isinstance(c, dict) and isinstance(c.get("text"), str) and isinstance(c.get("probability"), (int, float))
            for c in choices):
        raise BackendError(f"bad answer from {url}: choices is not a list of {{text, probability}}")
    return {**answer, "choices": choices}


def _error_of(err):
    """The {"code", "message"} of a tabcomplete error answer; {} for any other body."""
    try:
        error = json.loads(err.read()).get("error")
    except (ValueError, AttributeError, OSError):
        return {}
    return error if isinstance(error, dict) else {}
