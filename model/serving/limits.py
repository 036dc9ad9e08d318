"""The request limits: how much text, suffix and files a request carries. One source,
editor-plugin/shared/limits.json, which the JavaScript client and the Neovim plug-in read too,
so what the plug-ins send and what the server and the benchmark assume cannot drift apart."""
import json
import os

LIMITS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "editor-plugin", "shared", "limits.json")
KEYS = ("text_chars", "suffix_chars", "files_max", "files_budget_default", "files_budget_max", "server_files_max")


def read_limits(path=LIMITS_FILE):
    """{key: positive int} from limits.json, or RuntimeError naming the file and what is wrong
    (the server cannot start without it: the Docker image and the light install copy it)."""
    try:
        with open(path, encoding="utf-8") as f:
            limits = json.load(f)
    except (OSError, ValueError) as err:
        raise RuntimeError(f"{path}: the request limits cannot be read ({err})") from None
    bad = [k for k in KEYS if not isinstance(limits.get(k), int) or isinstance(limits.get(k), bool) or limits[k] < 1]
    if bad:
        raise RuntimeError(f"{path}: {', '.join(bad)} must be positive integers")
    return {k: limits[k] for k in KEYS}


LIMITS = read_limits()
TEXT_CHARS = LIMITS["text_chars"]  # the last characters before the cursor a plug-in sends
SUFFIX_CHARS = LIMITS["suffix_chars"]  # the first characters after it
FILES_MAX = LIMITS["files_max"]  # other files a plug-in sends, most relevant first
FILES_BUDGET_DEFAULT = LIMITS["files_budget_default"]  # their characters in all, by default
FILES_BUDGET_MAX = LIMITS["files_budget_max"]  # the most a plug-in may be set to send, and the server reads
SERVER_FILES_MAX = LIMITS["server_files_max"]  # entries of `files` the server accepts by default
