"""The language server's settings: from initializationOptions, then workspace/didChangeConfiguration.

Named as the plug-ins name theirs (editor-plugin/shared/client.js), either at the top level of the
object the editor sends or under a "tabcomplete" key. A bad value is named in the error and the
value before it stays: the editor keeps completing.
"""
import math

from model.serving.limits import FILES_BUDGET_DEFAULT, FILES_BUDGET_MAX
from model.serving.stop import STOP_MODES
from server.validation import MAX_CHOICES

SECTION = "tabcomplete"
DEFAULTS = {
    "enabled": True,
    "maxChars": 80,
    "stop": "line",
    "filesBudget": FILES_BUDGET_DEFAULT,  # characters of other open documents sent as `files`; 0: none
    "choices": 3,                         # ranked choices in textDocument/completion; 0: the completion only
    # An automatic inline request waits this long for the next keystroke before asking the model
    # (a keystroke meanwhile answers it with nothing); a request the user invoked does not wait.
    "debounceMs": 75,
    "timeoutMs": 3000,                    # how long a --url server may take
    "requestOptions": {},                 # temperature, min_prob, seed, added to every request
}
REQUEST_OPTIONS = ("temperature", "min_prob", "seed")


class SettingsError(Exception):
    """A setting is malformed; the message names it."""


def _int_between(lo, hi, unit=""):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise SettingsError(f"must be an integer {lo}..{hi}{unit}")
        return value
    return check


def _boolean(value):
    if not isinstance(value, bool):
        raise SettingsError("must be true or false")
    return value


def _stop(value):
    if value not in STOP_MODES:
        raise SettingsError(f"must be one of {', '.join(STOP_MODES)}")
    return value


def _request_options(value):
    if not isinstance(value, dict):
        raise SettingsError("must be an object")
    for key, option in value.items():
        if key not in REQUEST_OPTIONS:
            raise SettingsError(f"may only hold {', '.join(REQUEST_OPTIONS)}, not {str(key)[:64]}")
        if isinstance(option, bool) or not isinstance(option, (int, float)) or not math.isfinite(option):
            raise SettingsError(f"{key} must be a number")
    return dict(value)


CHECKS = {
    "enabled": _boolean,
    "maxChars": _int_between(1, 1000),
    "stop": _stop,
    "filesBudget": _int_between(0, FILES_BUDGET_MAX, " (characters; 0 sends no other files)"),
    "choices": _int_between(0, MAX_CHOICES, " (0: the completion only)"),
    "debounceMs": _int_between(0, 10000, " (milliseconds)"),
    "timeoutMs": _int_between(1, 600000, " (milliseconds)"),
    "requestOptions": _request_options,
}


def updated(current, raw):
    """(the settings with raw's values applied, [messages naming each bad one]). raw: what the
    client sent (None, or an object with our keys at its top level or under "tabcomplete");
    keys of other tools at the top level are left alone."""
    if raw is None:
        return dict(current), []
    if not isinstance(raw, dict):
        return dict(current), [f"settings must be an object, not {type(raw).__name__}"]
    ours = raw.get(SECTION, raw)
    if not isinstance(ours, dict):
        return dict(current), [f"setting {SECTION} must be an object"]
    settings, errors = dict(current), []
    for key, value in ours.items():
        if key not in CHECKS:
            if ours is not raw:  # inside our own section, an unknown key is a typo worth naming
                errors.append(f"unknown setting {str(key)[:64]} (known: {', '.join(CHECKS)})")
            continue
        if value is None:
            settings[key] = DEFAULTS[key]
            continue
        try:
            settings[key] = CHECKS[key](value)
        except SettingsError as err:
            errors.append(f"setting {key} {err}")
    return settings, errors
