"""Every check of a POST /complete body, in one place. Errors name the offending field."""
import math
import re
from dataclasses import dataclass

from model.serving.completer import carried, request_chars
from model.serving.limits import SERVER_FILES_MAX
from model.serving.stop import STOP_MODES


class ApiError(Exception):
    """An error answer: {"error": {"code": code, "message": message}} with this HTTP status."""

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.field is not None:  # an unknown key "" is named too
            error["field"] = self.field
        return {"error": error}


ECHO_CHARS = 64  # the most of what a client sent that an error quotes back


def echo(value):
    """What an error may quote of the client's own text: its first ECHO_CHARS characters, then
    how many more there were (a 1 MB key is not sent back, let alone twice)."""
    if len(value) <= ECHO_CHARS:
        return value
    return f"{value[:ECHO_CHARS]}... ({len(value) - ECHO_CHARS:,} more characters)"


def invalid(field, message):
    return ApiError(400, "invalid_field", f"{field}: {message}", field)


SEED_MAX = 2 ** 63 - 1
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class CompleteRequest:
    text: str
    suffix: str = ""
    language: str = None
    max_chars: int = 80
    stop: str = "line"
    temperature: float = 0.0
    n: int = 1
    min_prob: float = None
    seed: int = None
    path: str = None             # the buffer's file path; never logged
    files: tuple = ()            # other project files as (path, text) pairs, most relevant first; never logged
    text_chars: int = 0          # length of text as sent, before the cap (for the access log)
    choices: int = 0             # ranked choices to answer besides the completion (0: none)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    # An int is finite whatever its size (math.isfinite would turn a 310-digit one into a float
    # and overflow: a 500); the range check refuses it.
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _string(body, field, default=None, name=None):
    """body[field] as a string; default when absent or null. name: the field as errors name it."""
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid(name or field, f"must be a string, not {_json_type(value)}")
    # JSON may carry lone UTF-16 surrogates ("\ud800"); no text codec takes them, so they
    # become the replacement character like any other character the model does not know.
    return _LONE_SURROGATE.sub("\ufffd", value)


def _integer(body, field, default, lo, hi):
    return _in_range(body, field, default, lo, hi, _is_int, "an integer")


def _number(body, field, default, lo, hi):
    value = _in_range(body, field, default, lo, hi, _is_number, "a finite number")
    return value if value is None else float(value)


def _in_range(body, field, default, lo, hi, is_kind, kind):
    value = body.get(field)
    if value is None:
        return default
    if not is_kind(value):
        raise invalid(field, f"must be {kind}, not {_json_type(value)}")
    if not lo <= value <= hi:
        raise invalid(field, f"must be between {lo} and {hi}")
    return value


def _json_type(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number" if _is_number(value) else "a non-finite number"
    return {str: "a string", list: "an array", dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


FIELDS = ("text", "suffix", "language", "max_chars", "stop", "temperature", "n", "min_prob", "seed", "path", "files",
          "choices")
MAX_CHOICES = 10  # ranked choices a request may ask for
FILE_FIELDS = ("path", "text")
MAX_FILES = SERVER_FILES_MAX  # the default of the MAX_FILES setting (limits.json)


def text_chars(context_chars):
    """How much raw text to keep for a model that reads context_chars of cleaned text: twice as
    much, since cleaning drops comments and docstrings (4000 for the default 2000, what the
    plug-ins send)."""
    return request_chars(context_chars)


def parse_complete(body, max_text_chars, max_files=MAX_FILES):
    """A CompleteRequest from a decoded JSON body, or ApiError(400) naming the field.

    A field sent as null means its default. `text` is cut to its last `max_text_chars`
    characters (the model reads no more), starting at a line start when there is one near the
    cut, so the cut moves once a line rather than once a keystroke and the state cache keeps
    hitting. `suffix` is cut to its first `max_text_chars` characters (only its first line is used).
    """
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", f"the body must be a JSON object, not {_json_type(body)}", "body")
    unknown = sorted(k for k in body if k not in FIELDS)
    if unknown:
        key = echo(unknown[0])
        raise ApiError(400, "unknown_field", f"{key}: unknown field (known: {', '.join(FIELDS)})", key)
    if "text" not in body or body["text"] is None:
        raise ApiError(400, "missing_field", "text: required (the buffer before the cursor)", "text")
    text = _string(body, "text")
    stop = _string(body, "stop", "line")
    if stop not in STOP_MODES:
        raise invalid("stop", f"must be one of {', '.join(STOP_MODES)}")
    carried_text, carried_suffix = carried(text, _string(body, "suffix", ""), max_text_chars)
    return CompleteRequest(
        text=carried_text,
        suffix=carried_suffix,
        language=_string(body, "language"),
        max_chars=_integer(body, "max_chars", 80, 1, 1000),
        stop=stop,
        temperature=_number(body, "temperature", 0.0, 0, 2),
        n=_integer(body, "n", 1, 1, 5),
        min_prob=_number(body, "min_prob", None, 0, 1),
        seed=_integer(body, "seed", None, 0, SEED_MAX),
        path=_no_nul(body, "path"),
        files=_files(body, max_files),
        text_chars=len(text),
        choices=_integer(body, "choices", 0, 0, MAX_CHOICES),
    )


def _no_nul(body, field, name=None):
    """A string that names a file or holds a file's text. A NUL in it means a binary file (or a
    path no system accepts), so it is refused rather than handed to the model."""
    value = _string(body, field, name=name)
    if value is not None and "\x00" in value:
        raise invalid(name or field, "contains NUL characters (binary data, not text)")
    return value


def _files(body, max_files):
    """`files` as a tuple of (path, text) pairs, or ApiError(400) naming the file and its field
    (files[3].text). Texts are kept whole: the body limit bounds them, and hints read all of them."""
    files = body.get("files")
    if files is None:
        return ()
    if not isinstance(files, list):
        raise invalid("files", f"must be an array of {{path, text}} objects, not {_json_type(files)}")
    if len(files) > max_files:
        raise invalid("files", f"at most {max_files} files, not {len(files)} (send the most relevant first)")
    pairs = []
    for i, file in enumerate(files):
        name = f"files[{i}]"
        if not isinstance(file, dict):
            raise invalid(name, f"must be an object {{path, text}}, not {_json_type(file)}")
        unknown = sorted(k for k in file if k not in FILE_FIELDS)
        if unknown:
            key = f"{name}.{echo(unknown[0])}"
            raise ApiError(400, "unknown_field", f"{key}: unknown field (known: path, text)", key)
        for key in FILE_FIELDS:
            if file.get(key) is None:
                raise ApiError(400, "missing_field", f"{name}.{key}: required", f"{name}.{key}")
        pairs.append((_no_nul(file, "path", f"{name}.path"), _no_nul(file, "text", f"{name}.text")))
    return tuple(pairs)

