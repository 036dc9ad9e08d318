"""Hostile bodies for POST /complete: every field with every kind of value it must refuse, numbers
too large for a float, unknown keys and languages of a megabyte, bodies that are not objects.
Each must be answered without a 5xx, with a JSON error under ERROR_MAX_BYTES (an error quotes
at most a few dozen characters of what was sent).

    cases()                                  # [(name, body bytes)], deterministic, 330 or more
    run(port, token)                         # posts each one: the statuses, the failures
"""
import json

from server.validation import FIELDS
from servercheck.server import exchange, request

ERROR_MAX_BYTES = 4096  # an error answer, head and body
MEGABYTE = 1_000_000

# Raw JSON texts, each a value some field must refuse (or, for some fields, accept).
VALUES = [
    "null", "true", "false", "0", "-1", "1.5", "-0.0", "1e-400", "1e400", "-1e400", "NaN", "Infinity", "-Infinity",
    "1" * 310, "-" + "1" * 310, "1" * 4000, "9" * 5000, str(2 ** 63), str(-2 ** 63 - 1), '""', '"\\u0000"',
    '"\\ud800"', json.dumps("x" * MEGABYTE), "[]", "[1, 2]", "{}", '{"a": 1}', "[" * 1000 + "]" * 1000,
]


def body_with(field, raw):
    text = '"x"' if field != "text" else raw
    rest = f', "{field}": {raw}' if field != "text" else ""
    return f'{{"text": {text}{rest}}}'.encode()


def cases():
    """[(name, body)]: each field with each value, then whole bodies that are hostile as such."""
    out = [(f"{field}={raw[:24]}", body_with(field, raw)) for field in FIELDS for raw in VALUES]
    out += [
        ("unknown_key_1mb", json.dumps({"text": "x", "k" * MEGABYTE: 1}).encode()),
        ("unknown_key_empty", b'{"text": "x", "": 1}'),
        ("unknown_keys_30000", json.dumps({"text": "x", **{f"key{i}": 0 for i in range(30000)}}).encode()),
        ("language_1mb", json.dumps({"text": "x", "language": "l" * MEGABYTE}).encode()),
        ("files_not_pairs", json.dumps({"text": "x", "files": [[1, 2], "a", None]}).encode()),
        ("files_path_1mb", json.dumps({"text": "x", "files": [{"path": "p" * MEGABYTE, "text": "y"}]}).encode()),
        ("files_text_number", json.dumps({"text": "x", "files": [{"path": "a.py", "text": 1e308}]}).encode()),
        ("stop_1mb", json.dumps({"text": "x", "stop": "s" * MEGABYTE}).encode()),
    ]
    out += [(f"body={raw[:24]}", raw.encode()) for raw in VALUES]  # bodies that are not objects
    return out


def run(port, token=None):
    """Post every case: {"cases", "statuses", "failed": [names], "largest_error_bytes"}. A case fails on
    a 5xx, no answer, an error that is not JSON, or an error answer of ERROR_MAX_BYTES or more."""
    statuses, failed, largest = {}, [], 0
    for name, body in cases():
        status, head, answer, _ = exchange(port, request("POST", "/complete", headers=["Content-Type: application/json"],
                                                         body=body, token=token), seconds=30)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        size = len(head) + 4 + len(answer)
        ok = status is not None and status < 500
        if ok and status >= 400:
            largest = max(largest, size)
            try:
                ok = isinstance(json.loads(answer)["error"]["code"], str) and size < ERROR_MAX_BYTES
            except (ValueError, KeyError, TypeError):
                ok = False
        if not ok:
            failed.append(name)
    return {"cases": sum(statuses.values()), "statuses": dict(sorted(statuses.items())), "failed": failed,
            "largest_error_bytes": largest}
