"""The HTTP API over real HTTP (werkzeug's server in a thread), with real tiny models."""
import json
import logging
import os
import shutil

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.serving.completer import carried
from server import views
from server.config import DEFAULT_MIN_PROB, ConfigError, load_config
from server.models import ModelsError
from server.validation import MAX_CHOICES, MAX_FILES, parse_complete, text_chars
from tests.server_helpers import LiveServer, make_models_dir, make_project_model

PRIME = "def add(a, b):\n    return a"


@pytest.fixture(scope="module")
def models_dir(tiny_model, tmp_path_factory):
    return make_models_dir(tiny_model, str(tmp_path_factory.mktemp("models")), ("python", "javascript"))


@pytest.fixture(scope="module")
def server(models_dir):
    live = LiveServer({"MODELS_DIR": models_dir, "MIN_PROB": 0.0})
    yield live
    live.close()


@pytest.fixture(scope="module")
def token_server(models_dir):
    live = LiveServer({"MODELS_DIR": models_dir, "API_TOKEN": "s3cret-tøken"})
    yield live
    live.close()


def post(server, body, **kwargs):
    return requests.post(server.url + "/complete", json=body, timeout=30, **kwargs)


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code, error
    if field:
        assert error["field"] == field, error
        assert field in error["message"]
    return error


# -- 200 ---------------------------------------------------------------------------------------

def test_complete_answers_what_the_completer_says(server):
    response = post(server, {"text": PRIME, "max_chars": 40})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"completion", "alternatives", "model", "elapsed_ms"}
    completer = server.app.extensions["tabcomplete"]["models"].defaults["python"].completer
    expected = completer.complete(PRIME, max_chars=40)
    assert body["completion"] == expected.text
    assert body["alternatives"] == expected.alternatives
    assert body["model"] == "python"
    assert body["elapsed_ms"] >= 0


def test_every_field_is_passed_on(server):
    body = {"text": PRIME, "suffix": ")\n", "language": "python", "max_chars": 7, "stop": "none",
            "temperature": 0.9, "n": 3, "min_prob": 0.0, "seed": 42}
    first, second = post(server, body).json(), post(server, body).json()
    assert first["completion"] == second["completion"]  # the seed makes sampling reproducible
    assert len(first["completion"]) <= 7
    assert 1 <= len(first["alternatives"]) <= 3 or first["completion"] == ""
    completer = server.app.extensions["tabcomplete"]["models"].defaults["python"].completer
    expected = completer.complete(PRIME, suffix=")\n", max_chars=7, stop="none", temperature=0.9, n=3, min_prob=0.0,
                                  seed=42)
    assert first["completion"] == expected.text and first["alternatives"] == expected.alternatives


def test_nulls_mean_defaults(server):
    nulls = {k: None for k in ("suffix", "language", "max_chars", "stop", "temperature", "n", "min_prob", "seed")}
    assert post(server, {"text": PRIME, **nulls}).json()["completion"] == post(server, {"text": PRIME}).json()["completion"]


def test_min_prob_one_gates_everything(server):
    assert post(server, {"text": PRIME, "min_prob": 1.0}).json() == {
        "completion": "", "alternatives": [], "model": "python", "elapsed_ms": pytest.approx(0, abs=1e4)}


def test_long_text_is_capped_to_the_context(server):
    context = text_chars(server.app.config["CONTEXT_CHARS"])
    assert context == 4000  # what the plug-ins send
    text = ("x = 1\n" * 50_000) + PRIME  # 300 kB: under the body limit, far over the context
    response = post(server, {"text": text, "max_chars": 20})
    assert response.status_code == 200
    completer = server.app.extensions["tabcomplete"]["models"].defaults["python"].completer
    capped, _ = carried(text, limit=context)
    assert response.json()["completion"] == completer.complete(capped, max_chars=20).text
    assert len(capped) <= context and text.endswith(capped) and capped.startswith("x = 1\n")


def test_two_languages_served_at_once(server):
    health = requests.get(server.url + "/health", timeout=10).json()
    assert health == {"status": "ok", "models": ["javascript", "python"], "default": "python"}
    assert post(server, {"text": PRIME, "language": "javascript"}).json()["model"] == "javascript"
    assert post(server, {"text": PRIME, "language": "python"}).json()["model"] == "python"
    assert post(server, {"text": PRIME}).json()["model"] == "python"
    models = requests.get(server.url + "/models", timeout=10).json()
    assert models["default"] == "python"
    assert [m["language"] for m in models["models"]] == ["javascript", "python"]
    assert all(m["network"]["units"] == 24 and m["context_chars"] == 2000 for m in models["models"])
    assert "path" not in json.dumps(models)  # no server paths leak


def test_lone_surrogates_are_answered(server):
    raw = b'{"text": "def f(\\ud800", "suffix": "\\udfff", "min_prob": 0}'
    response = requests.post(server.url + "/complete", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200


# -- path and files ------------------------------------------------------------------------------

PROJECT_CODE = ('def parse(line):\n    """Split "key = value"; a \\n in the value stays."""\n'
                '    key, _, value = line.partition("=")\n    return key.strip(), value.strip()  # déjà vu\n\n\n')


def project_files(count, chars_each):
    return [{"path": f"/home/u/proj/pkg/mod_{i}.py", "text": (PROJECT_CODE * (chars_each // len(PROJECT_CODE) + 1))[:chars_each]}
            for i in range(count)]


def test_path_and_files_are_parsed_into_the_request():
    body = {"text": "x", "path": "/p/a\ud800.py", "files": [{"path": "/p/b.py", "text": "b = 1\ud800"},
                                                          {"text": "c = 2", "path": "/p/c.py"}]}
    req = parse_complete(body, 4000)
    assert req.path == "/p/a\ufffd.py"  # lone surrogates, like text's
    assert req.files == (("/p/b.py", "b = 1\ufffd"), ("/p/c.py", "c = 2"))  # in the order sent
    req = parse_complete({"text": "x", "path": None, "files": None}, 4000)
    assert (req.path, req.files) == (None, ())
    assert parse_complete({"text": "x", "files": []}, 4000).files == ()


def test_a_completion_comes_from_another_file_sent_in_files(server):
    """The server hands `files` to the Completer: a name only the other file has is completed."""
    files = [{"path": "/home/u/proj/util.py", "text": "def padded_sum_of_points(a, b):\n    return a + b\n"}]
    body = {"text": "import os\n\n\ndef main(argv):\n    return padd", "max_chars": 30, "path": "/home/u/proj/main.py"}
    with_files = post(server, {**body, "files": files})
    assert with_files.status_code == 200, with_files.text
    assert with_files.json()["completion"].startswith("ed_sum_of_points")
    assert not post(server, body).json()["completion"].startswith("ed_sum_of_points")


def test_16_files_of_256_kib_and_a_full_text_fit_the_default_body_limit(server):
    body = {"text": (PROJECT_CODE * 100)[-4000:] + PRIME, "path": "/home/u/proj/main.py",
            "files": project_files(16, 256 * 1024 // 16)}
    data = json.dumps(body).encode()  # \\u escapes for non-ASCII, as requests sends it
    assert sum(len(f["text"]) for f in body["files"]) == 256 * 1024
    assert len(data) <= server.app.config["MAX_BODY_BYTES"] == 1024 * 1024
    response = requests.post(server.url + "/complete", data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_files_up_to_the_limit_are_accepted_and_more_are_400(server):
    assert server.app.config["MAX_FILES"] == MAX_FILES == 64
    assert post(server, {"text": PRIME, "files": project_files(MAX_FILES, 10)}).status_code == 200
    error = assert_error(post(server, {"text": PRIME, "files": project_files(MAX_FILES + 1, 10)}), 400,
                         "invalid_field", "files")
    assert "at most 64" in error["message"]


def test_files_beyond_the_body_limit_are_413(server):
    files = [{"path": "a.py", "text": "a" * server.app.config["MAX_BODY_BYTES"]}]
    assert_error(post(server, {"text": PRIME, "files": files}), 413, "body_too_large")


GOOD_FILE = {"path": "/p/a.py", "text": "a = 1\n"}


@pytest.mark.parametrize("body,code,field", [
    ({"path": 5}, "invalid_field", "path"),
    ({"path": ["/p/a.py"]}, "invalid_field", "path"),
    ({"path": "/p/a\x00.py"}, "invalid_field", "path"),
    ({"files": "a.py"}, "invalid_field", "files"),
    ({"files": GOOD_FILE}, "invalid_field", "files"),
    ({"files": {"0": GOOD_FILE}}, "invalid_field", "files"),
    ({"files": [GOOD_FILE] * 3 + ["a.py"]}, "invalid_field", "files[3]"),
    ({"files": [GOOD_FILE] * 3 + [["/p/a.py", "a = 1"]]}, "invalid_field", "files[3]"),
    ({"files": [GOOD_FILE] * 3 + [None]}, "invalid_field", "files[3]"),
    ({"files": [GOOD_FILE] * 3 + [{"path": "/p/b.py", "text": 5}]}, "invalid_field", "files[3].text"),
    ({"files": [GOOD_FILE] * 3 + [{"path": "/p/b.py", "text": ["a"]}]}, "invalid_field", "files[3].text"),
    ({"files": [GOOD_FILE] * 3 + [{"path": 3, "text": ""}]}, "invalid_field", "files[3].path"),
    ({"files": [GOOD_FILE] * 3 + [{"path": {}, "text": ""}]}, "invalid_field", "files[3].path"),
    ({"files": [GOOD_FILE] * 3 + [{"path": "/p/b\x00", "text": ""}]}, "invalid_field", "files[3].path"),
    ({"files": [{"path": "/p/a.py"}]}, "missing_field", "files[0].text"),
    ({"files": [{"path": "/p/a.py", "text": None}]}, "missing_field", "files[0].text"),
    ({"files": [{"text": "a = 1"}]}, "missing_field", "files[0].path"),
    ({"files": [{}]}, "missing_field", "files[0].path"),
    ({"files": [{**GOOD_FILE, "language": "python"}]}, "unknown_field", "files[0].language"),
    ({"files": [GOOD_FILE, {**GOOD_FILE, "contents": "x"}]}, "unknown_field", "files[1].contents"),
])
def test_invalid_path_or_files_is_400_naming_the_field(server, body, code, field):
    assert_error(post(server, {"text": PRIME, **body}), 400, code, field)


def test_binary_file_text_is_400_naming_it(server):
    binary = bytes(range(256)).decode("latin-1")  # a NUL among the bytes of a binary file
    files = [GOOD_FILE, GOOD_FILE, {"path": "/p/logo.png", "text": "\x89PNG" + binary}]
    error = assert_error(post(server, {"text": PRIME, "files": files}), 400, "invalid_field", "files[2].text")
    assert "NUL" in error["message"] and "binary" in error["message"]


def test_lone_surrogates_in_files_are_answered(server):
    raw = b'{"text": "def f(", "path": "/p/\\udc80.py", "files": [{"path": "/p/\\ud800", "text": "x = \\udfff"}]}'
    response = requests.post(server.url + "/complete", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


class LogLines(logging.Handler):
    """Every line the app's loggers (and werkzeug's, through the root logger) write."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_path_and_files_are_never_logged(server):
    secret = "very_private_project_marker"
    loggers = [logging.getLogger(), logging.getLogger("tabcomplete.access")]  # the access log does not propagate
    handler = LogLines()
    for logger in loggers:
        logger.addHandler(handler)
    try:
        files = [{"path": f"/home/{secret}/a.py", "text": f"{secret} = 1\n"}, {"path": "/b.py", "text": secret}]
        assert post(server, {"text": PRIME, "path": f"/home/{secret}/main.py", "files": files}).status_code == 200
        for bad in ([{"path": secret, "text": f"{secret}\x00"}], [{"path": secret, "text": secret, secret: 1}],
                    [{"path": secret, "text": 5}], secret):
            assert post(server, {"text": PRIME, "path": secret, "files": bad}).status_code == 400
        assert post(server, {"text": PRIME, "language": "cobol", "path": secret, "files": files}).status_code == 404
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    records = [json.loads(line) for line in handler.lines if line.startswith("{")]
    assert [r["status"] for r in records if r.get("path") == "/complete"] == [200, 400, 400, 400, 400, 404]
    assert records[0]["files"] == 2 and records[0]["files_chars"] == len(files[0]["text"]) + len(secret)
    assert handler.lines and not any(secret in line for line in handler.lines)


def test_choices_are_ranked_units_and_leave_the_completion_as_it_is(server):
    for text in (PRIME, "import os\n\nx = os.", "def f(a, b):\n    return "):
        plain = post(server, {"text": text, "min_prob": None}).json()
        assert "choices" not in plain  # only when asked for
        body = post(server, {"text": text, "min_prob": None, "choices": 3}).json()
        assert body["completion"] == plain["completion"] and body["alternatives"] == plain["alternatives"]
        choices = body["choices"]
        assert 1 <= len(choices) <= 3
        texts, probs = [c["text"] for c in choices], [c["probability"] for c in choices]
        assert len(set(texts)) == len(texts) and all(t.strip() for t in texts)
        assert all(0 < p <= 1 for p in probs) and probs == sorted(probs, reverse=True)
    assert post(server, {"text": PRIME, "choices": 0}).json().keys() == plain.keys()


# -- each error status ---------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("text", 5), ("text", ["a"]), ("suffix", 1), ("language", 3), ("max_chars", 0), ("max_chars", 1001),
    ("max_chars", 5.0), ("max_chars", True), ("max_chars", "80"), ("stop", "word"), ("stop", 1),
    ("temperature", -0.1), ("temperature", 2.5), ("temperature", "0"), ("temperature", False), ("n", 0), ("n", 6),
    ("min_prob", 1.5), ("min_prob", -1), ("seed", -1), ("seed", 1.5), ("seed", 2 ** 64),
    ("choices", -1), ("choices", 11), ("choices", "3"), ("choices", True), ("choices", 1.5),
    ("temperature", int("1" * 310)), ("min_prob", int("1" * 310)), ("min_prob", -int("1" * 400)),
    ("max_chars", int("9" * 320)),
])
def test_invalid_field_is_400_naming_it(server, field, value):
    body = {"text": PRIME, field: value}
    assert_error(post(server, body), 400, "invalid_field", field)


def test_errors_quote_at_most_a_short_part_of_what_was_sent(server):
    from server.validation import ECHO_CHARS

    key = "k" * 100_000
    response = post(server, {"text": PRIME, key: 1})
    error = assert_error(response, 400, "unknown_field")
    assert len(response.content) < 2000 and error["field"].startswith("k" * ECHO_CHARS)
    assert "99,936 more characters" in error["message"]
    response = post(server, {"text": PRIME, "files": [{"path": "/p/a.py", "text": "a", "é" * 5000: 1}]})
    assert len(assert_error(response, 400, "unknown_field")["field"]) < 200
    response = post(server, {"text": PRIME, "language": "x" * 200_000})
    assert response.status_code == 404 and len(response.content) < 2000
    error = assert_error(post(server, {"text": PRIME, "": 1}), 400, "unknown_field")
    assert error["field"] == ""  # named, though empty


@pytest.mark.parametrize("path", ["/static//etc/passwd", "/static//playground.js", "/static/../server/config.py"])
def test_odd_paths_get_a_json_404_never_a_redirect(server, path):
    response = requests.get(server.url + path, timeout=10, allow_redirects=False)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("application/json")


def test_non_finite_numbers_are_400(server):
    for raw, field in ((b'{"text": "x", "temperature": NaN}', "temperature"),
                       (b'{"text": "x", "min_prob": Infinity}', "min_prob")):
        response = requests.post(server.url + "/complete", data=raw, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "invalid_field", field)


def test_missing_text_unknown_field_and_bad_bodies_are_400(server):
    assert_error(post(server, {"suffix": "x"}), 400, "missing_field", "text")
    assert_error(post(server, {"text": None}), 400, "missing_field", "text")
    assert_error(post(server, {"text": "x", "max_char": 5}), 400, "unknown_field", "max_char")
    assert_error(post(server, ["text"]), 400, "invalid_body", "body")
    for raw in (b'{"text": "def f(', b"", b"\xff\xfe\x00garbage", b"[" * 100_000, b'{"text": "x"} extra'):
        response = requests.post(server.url + "/complete", data=raw, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "invalid_json", "body")


def test_unknown_language_is_404(server):
    error = assert_error(post(server, {"text": "x", "language": "cobol"}), 404, "unknown_language", "language")
    assert "python" in error["message"]


def test_unknown_path_is_404(server):
    assert_error(requests.get(server.url + "/nope", timeout=10), 404, "not_found")


def test_wrong_method_is_405(server):
    response = requests.get(server.url + "/complete", timeout=10)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert_error(requests.post(server.url + "/health", timeout=10), 405)
    assert_error(requests.delete(server.url + "/models", timeout=10), 405)


def test_too_large_body_is_413(server):
    body = json.dumps({"text": "a" * (server.app.config["MAX_BODY_BYTES"] + 1)})
    response = requests.post(server.url + "/complete", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")


def test_not_json_is_415(server):
    assert_error(requests.post(server.url + "/complete", data="text=x", timeout=10,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}), 415,
                 "unsupported_media_type")
    assert_error(requests.post(server.url + "/complete", data=b'{"text": "x"}', timeout=10), 415)
    ok = requests.post(server.url + "/complete", data=b'{"text": "x"}', timeout=10,
                       headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


# -- token -------------------------------------------------------------------------------------

def test_token_is_required_when_configured(token_server):
    url = token_server.url
    error = assert_error(requests.post(url + "/complete", json={"text": "x"}), 401, "unauthorized")
    assert "token" in error["message"]
    for header in ("Bearer wrong", "Bearer ", "Basic czNjcmV0", "s3cret-tøken", "Bearer s3cret-tøke",
                   "Bearer s3cret-tøken-and-more"):
        response = requests.post(url + "/complete", json={"text": "x"},
                                 headers={"Authorization": header.encode("utf-8")})
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(requests.get(url + "/models"), 401)
    # /metrics too: its counters tell when and how often the user presses Tab.
    assert_error(requests.get(url + "/metrics"), 401, "unauthorized")
    assert_error(requests.get(url + "/metrics", headers={"Authorization": "Bearer wrong"}), 401)
    good = {"Authorization": "Bearer s3cret-tøken".encode("utf-8")}
    assert requests.post(url + "/complete", json={"text": PRIME}, headers=good).status_code == 200
    assert requests.get(url + "/models", headers=good).status_code == 200
    assert requests.get(url + "/metrics", headers=good).status_code == 200
    # Open without the token: liveness probes, the spec and the page.
    for path in ("/health", "/openapi.json", "/"):
        assert requests.get(url + path).status_code == 200, path


def test_no_token_configured_means_open(server):
    assert post(server, {"text": "x"}, headers={"Authorization": "Bearer anything"}).status_code == 200


# -- the other endpoints -------------------------------------------------------------------------

def test_metrics_count_requests_latency_cache_and_load_time(server):
    text = "import os\n" * 20 + "def f(x):\n    return x"  # over one cache chunk
    post(server, {"text": text})
    post(server, {"text": text + " +"})
    metrics = requests.get(server.url + "/metrics", timeout=10)
    assert metrics.headers["Content-Type"].startswith("text/plain")
    lines = metrics.text.splitlines()

    def value(prefix):
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))

    assert value('tabcomplete_requests_total{endpoint="complete",method="POST",status="200"}') >= 2
    assert value('tabcomplete_request_seconds_count{endpoint="complete"}') >= 2
    assert value('tabcomplete_state_cache_total{model="python",result="hit"}') >= 1
    assert value('tabcomplete_state_cache_total{model="python",result="miss"}') >= 1
    assert value('tabcomplete_model_load_seconds{language="python"') > 0
    before = value('tabcomplete_requests_total{endpoint="complete",method="POST",status="400"}')
    post(server, {"text": 1})
    lines = requests.get(server.url + "/metrics", timeout=10).text.splitlines()
    assert value('tabcomplete_requests_total{endpoint="complete",method="POST",status="400"}') == before + 1


def test_playground_page_is_served(server):
    page = requests.get(server.url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'id="code"' in page.text and "/static/playground.js" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.text.index("/client.js") < page.text.index("/static/playground.js")  # the page runs on the client
    script = requests.get(server.url + "/static/playground.js", timeout=10)
    assert script.status_code == 200 and "TabCompleter" in script.text
    client = requests.get(server.url + "/client.js", timeout=10)
    assert client.status_code == 200 and client.headers["Content-Type"].startswith("text/javascript")
    with open(os.path.join(views.SHARED_CLIENT, "client.js"), encoding="utf-8") as f:
        assert f.read() in client.text  # the plug-ins' file itself, not a copy of it


def test_the_playground_client_missing_is_a_clear_404(server, monkeypatch, tmp_path):
    monkeypatch.setattr(views, "SHARED_CLIENT", str(tmp_path))
    views.browser_client.cache_clear()
    try:
        response = requests.get(server.url + "/client.js", timeout=10)
    finally:
        views.browser_client.cache_clear()
    assert response.status_code == 404 and "editor-plugin/shared/client.js" in response.json()["error"]["message"]


def test_openapi_document_is_valid_and_true(server):
    import jsonschema
    from openapi_core import OpenAPI
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
    from openapi_spec_validator import validate

    spec = requests.get(server.url + "/openapi.json", timeout=10).json()
    validate(spec)
    spec["servers"] = [{"url": server.url}]
    api = OpenAPI.from_dict(spec)
    session = requests.Session()
    calls = [
        ("POST", "/complete", {"text": PRIME}),
        ("POST", "/complete", {"text": PRIME, "n": 3, "temperature": 0.8, "seed": 1, "stop": "block"}),
        ("POST", "/complete", {"text": PRIME, "min_prob": 1}),
        ("POST", "/complete", {"text": PRIME, "choices": 5}),
        ("POST", "/complete", {"text": PRIME, "path": "/p/main.py", "files": [{"path": "/p/a.py", "text": "a = 1"}]}),
        ("POST", "/complete", {"text": PRIME, "path": None, "files": None}),
        ("POST", "/complete", {"text": PRIME, "files": [{"path": "/p/a.py", "text": "\x00"}]}),
        ("POST", "/complete", {"text": "x", "max_chars": 0}),
        ("POST", "/complete", {"nope": 1}),
        ("POST", "/complete", {"text": "x", "language": "cobol"}),
        ("POST", "/complete", "not json"),
        ("POST", "/complete", {"text": "a" * (1024 * 1024)}),
        ("GET", "/complete", None),
        ("GET", "/health", None), ("GET", "/models", None), ("GET", "/metrics", None),
        ("GET", "/openapi.json", None), ("GET", "/", None), ("GET", "/client.js", None), ("POST", "/health", None),
        ("GET", "/nope", None),
    ]
    statuses = set()
    for method, path, body in calls:
        if body == "not json":
            req = requests.Request(method, server.url + path, data="text=x",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            req = requests.Request(method, server.url + path, json=body)
        prepared = req.prepare()
        response = session.send(prepared, timeout=30)
        statuses.add(response.status_code)
        if response.status_code in (404, 405) and body is None:  # a method or path the spec does not have
            jsonschema.validate(response.json(), spec["components"]["schemas"]["Error"])
            continue
        api.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))
        if method == "POST" and path == "/complete" and response.status_code == 200:
            api.validate_request(RequestsOpenAPIRequest(prepared))  # valid requests match the spec too
    assert statuses == {200, 400, 404, 405, 413, 415}


def test_openapi_matches_the_validation_limits():
    with open(os.path.join(os.path.dirname(__file__), "..", "server", "openapi.json")) as f:
        props = json.load(f)["components"]["schemas"]["CompleteRequest"]["properties"]
    assert (props["max_chars"]["minimum"], props["max_chars"]["maximum"]) == (1, 1000)
    assert (props["n"]["minimum"], props["n"]["maximum"]) == (1, 5)
    assert (props["temperature"]["minimum"], props["temperature"]["maximum"]) == (0, 2)
    assert (props["min_prob"]["minimum"], props["min_prob"]["maximum"]) == (0, 1)
    assert props["files"]["maxItems"] == MAX_FILES
    assert (props["choices"]["minimum"], props["choices"]["maximum"]) == (0, MAX_CHOICES)


# -- configuration -----------------------------------------------------------------------------

def test_config_from_environment_and_overrides():
    env = {"TABCOMPLETE_MODELS": "/m", "TABCOMPLETE_TOKEN": "t", "TABCOMPLETE_MIN_PROB": "0.25",
           "TABCOMPLETE_MAX_BODY_BYTES": "5000"}
    cfg = load_config(environ=env)
    assert (cfg["MODELS_DIR"], cfg["API_TOKEN"], cfg["MIN_PROB"], cfg["MAX_BODY_BYTES"]) == ("/m", "t", 0.25, 5000)
    assert load_config({"MIN_PROB": 0.5}, environ=env)["MIN_PROB"] == 0.5
    assert load_config(environ={})["MIN_PROB"] == DEFAULT_MIN_PROB
    with pytest.raises(ConfigError, match="TABCOMPLETE_MIN_PROB"):
        load_config(environ={"TABCOMPLETE_MIN_PROB": "high"})
    with pytest.raises(ConfigError, match="MIN_PROB"):
        load_config(environ={"TABCOMPLETE_MIN_PROB": "3"})
    assert load_config(environ={"TABCOMPLETE_WORD_WEIGHT": "0"})["WORD_WEIGHT"] == 0.0
    assert load_config(environ={"TABCOMPLETE_MAX_FILES": "16"})["MAX_FILES"] == 16
    with pytest.raises(ConfigError, match="MAX_FILES"):
        load_config(environ={"TABCOMPLETE_MAX_FILES": "0"})
    with pytest.raises(ConfigError, match="WORD_WEIGHT"):
        load_config(environ={"TABCOMPLETE_WORD_WEIGHT": "2"})


def test_bad_models_dirs_fail_with_a_clear_message(tmp_path, tiny_model):
    from server import create_app

    with pytest.raises(ModelsError, match="no such models dir"):
        create_app({"MODELS_DIR": str(tmp_path / "missing")})
    with pytest.raises(ModelsError, match="no model dirs"):
        create_app({"MODELS_DIR": str(tmp_path)})
    broken = tmp_path / "python"
    broken.mkdir()
    (broken / "meta.json").write_text("{}")
    with pytest.raises(ModelsError, match="missing model.keras"):
        create_app({"MODELS_DIR": str(tmp_path)})
    twice = tmp_path / "twice"
    make_models_dir(tiny_model, str(twice), ("a", "b"))
    meta = json.loads((twice / "b" / "meta.json").read_text())
    meta["language"] = "a"
    (twice / "b" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelsError, match="both for language 'a'"):
        create_app({"MODELS_DIR": str(twice)})


def test_a_model_dir_itself_can_be_the_models_dir(tiny_model):
    from server import create_app

    app = create_app({"MODELS_DIR": tiny_model})
    assert app.extensions["tabcomplete"]["models"].languages() == ["python"]


def test_a_model_dir_that_fails_to_load_is_named(tmp_path, tiny_model):
    from server import create_app

    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    meta_path = os.path.join(models, "python", "meta.json")
    meta = json.loads(open(meta_path).read())
    meta["language"] = 5
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    with pytest.raises(ModelsError, match=r"python/meta\.json: 'language' must be a non-empty string, not 5"):
        create_app({"MODELS_DIR": models})


def test_snapshot_serves_what_was_verified_whatever_happens_to_the_model_dir(tmp_path, tiny_model):
    from server.config import load_config
    from server.models import load_models, verified_snapshot

    models = make_models_dir(tiny_model, str(tmp_path / "models"), ("python", "javascript"))
    root = verified_snapshot(load_config({"MODELS_DIR": models}), into=str(tmp_path))
    assert oct(os.stat(root).st_mode & 0o777) == "0o700"
    for name in ("model.keras", "meta.json"):
        with open(os.path.join(models, "python", name), "wb") as f:
            f.write(b"broken after start-up")
    assert load_models(root).languages() == ["javascript", "python"]
    # A model dir served as the models dir keeps its name.
    root = verified_snapshot(load_config({"MODELS_DIR": os.path.join(models, "javascript")}), into=str(tmp_path))
    assert [m.name for m in load_models(root).all()] == ["javascript"]
    # Refusals name the original files, not the copy.
    with pytest.raises(ModelsError) as refused:
        verified_snapshot(load_config({"MODELS_DIR": models}), into=str(tmp_path))
    assert os.path.join(models, "python") in str(refused.value) and "tabcomplete-models-" not in str(refused.value)


# -- project models ------------------------------------------------------------------------------

PROJECT_MODELS = {"proj": ("/srv/code/proj", "python"), "proj_sub": ("/srv/code/proj/sub", "python"),
                  "webapp": ("/srv/code/web", "javascript")}  # javascript: project models only


@pytest.fixture(scope="module")
def project_app(tiny_model, tmp_path_factory):
    from server import create_app

    models = make_models_dir(tiny_model, str(tmp_path_factory.mktemp("project_models")))
    for name, (root, language) in PROJECT_MODELS.items():
        make_project_model(tiny_model, models, name, root, language)
    return create_app({"MODELS_DIR": models, "MIN_PROB": 0.0})


@pytest.mark.parametrize("path, language, model", [
    ("/srv/code/proj/app/main.py", None, "proj"),
    ("/srv/code/proj/sub/deep/x.py", None, "proj_sub"),       # nested roots: the deepest wins
    ("/srv/code/proj/subway/x.py", "python", "proj"),         # /proj/subway is not under /proj/sub
    ("/srv/code/proj2/main.py", None, "python"),              # nor /proj2 under /proj
    ("/srv/code/proj/../proj2/main.py", None, "python"),
    ("//srv/code/proj/./sub/../main.py", None, "proj"),
    ("srv/code/proj/main.py", None, "python"),                # relative: under no root
    ("", None, "python"),
    (None, None, "python"),
    ("/srv/code/web/app.py", "python", "python"),             # a project model serves its own language only
    ("/srv/code/web/src/app.js", "javascript", "webapp"),
])
def test_a_project_model_completes_the_files_under_its_root(project_app, path, language, model):
    response = project_app.test_client().post("/complete", json={"text": PRIME, "path": path, "language": language})
    assert response.status_code == 200, response.json
    assert response.json["model"] == model


@pytest.mark.parametrize("path", ["/srv/code/proj/main.js", "/srv/code/webapp/app.js", None])
def test_a_language_with_project_models_only_answers_404_outside_their_roots(project_app, path):
    response = project_app.test_client().post("/complete", json={"text": "x = ", "path": path,
                                                                  "language": "javascript"})
    assert response.status_code == 404
    error = response.json["error"]
    assert error["code"] == "unknown_language" and error["field"] == "language"
    assert "project models" in error["message"] and "/srv" not in error["message"]  # the path is not quoted


def test_models_lists_every_model_with_its_root(project_app):
    client = project_app.test_client()
    listed = client.get("/models").json
    assert listed["default"] == "python"
    assert [(m["name"], m["language"], m["root"]) for m in listed["models"]] == [
        ("webapp", "javascript", "/srv/code/web"), ("python", "python", None),
        ("proj", "python", "/srv/code/proj"), ("proj_sub", "python", "/srv/code/proj/sub")]
    assert all(m["network"]["units"] == 24 for m in listed["models"])
    assert client.get("/health").json == {"status": "ok", "models": ["javascript", "python"], "default": "python"}


def test_the_access_log_names_the_model_that_answered(project_app):
    handler = LogLines()
    access = logging.getLogger("tabcomplete.access")
    access.addHandler(handler)
    try:
        client = project_app.test_client()
        for path in ("/srv/code/proj/sub/a.py", "/srv/code/other/a.py"):
            assert client.post("/complete", json={"text": PRIME, "path": path}).status_code == 200
    finally:
        access.removeHandler(handler)
    assert [json.loads(line)["model"] for line in handler.lines] == ["proj_sub", "python"]
    assert not any("/srv/code" in line for line in handler.lines)  # the path is never logged


def test_several_models_dirs_serve_together(tiny_model, tmp_path):
    from server import create_app

    shipped = make_models_dir(tiny_model, str(tmp_path / "shipped"))
    learned = str(tmp_path / "learned")
    make_project_model(tiny_model, learned, "proj", "/srv/code/proj")
    (tmp_path / "empty").mkdir()
    setting = os.pathsep.join([shipped, learned, str(tmp_path / "empty")])
    models = create_app({"MODELS_DIR": setting}).extensions["tabcomplete"]["models"]
    assert [(m.name, m.root) for m in models.all()] == [("python", None), ("proj", "/srv/code/proj")]
    make_models_dir(tiny_model, learned)  # learned/python: a second dir named python
    with pytest.raises(ModelsError, match="both named 'python'") as refused:
        create_app({"MODELS_DIR": setting})
    assert all(os.path.join(d, "python") in str(refused.value) for d in (shipped, learned))


def test_two_defaults_or_two_models_of_one_project_are_refused_naming_both(tiny_model, tmp_path):
    from server import create_app

    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    make_project_model(tiny_model, models, "proj", "/srv/code/proj")
    make_project_model(tiny_model, models, "proj_js", "/srv/code/proj", "javascript")  # another language: fine
    create_app({"MODELS_DIR": models})
    make_project_model(tiny_model, models, "proj_again", "/srv/code/./proj/")  # the same root, normalised
    with pytest.raises(ModelsError, match="both for language 'python' and project root /srv/code/proj") as refused:
        create_app({"MODELS_DIR": models})
    assert f"{os.path.join(models, 'proj')} and {os.path.join(models, 'proj_again')} are both" in str(refused.value)
    shutil.rmtree(os.path.join(models, "proj_again"))
    make_models_dir(tiny_model, models, ("python2",))
    meta_path = os.path.join(models, "python2", "meta.json")
    meta = json.loads(open(meta_path).read())
    with open(meta_path, "w") as f:
        json.dump({**meta, "language": "python"}, f)
    with pytest.raises(ModelsError, match="both for language 'python' as default models") as refused:
        create_app({"MODELS_DIR": models})
    assert os.path.join(models, "python2") in str(refused.value)


def test_work_dirs_are_skipped_with_a_note(tiny_model, tmp_path):
    from server import create_app

    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    for name in ("mine.partial", "mine.tmp", "mine.old"):  # meta.json and all: skipped by their names
        make_project_model(tiny_model, models, name, "/srv/code/mine")
    handler = LogLines()
    log = logging.getLogger("tabcomplete")
    log.addHandler(handler)
    try:
        app = create_app({"MODELS_DIR": models})
    finally:
        log.removeHandler(handler)
    assert [m.name for m in app.extensions["tabcomplete"]["models"].all()] == ["python"]
    notes = [json.loads(line) for line in handler.lines if '"model_dir_skipped"' in line]
    assert sorted(os.path.basename(n["path"]) for n in notes) == ["mine.old", "mine.partial", "mine.tmp"]


def test_an_incomplete_project_model_dir_is_refused(tiny_model, tmp_path):
    from server import create_app

    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    proj = make_project_model(tiny_model, models, "proj", "/srv/code/proj")
    os.remove(os.path.join(proj, "model.keras"))
    with pytest.raises(ModelsError, match=f"{proj}: missing model.keras"):
        create_app({"MODELS_DIR": models})
    shutil.rmtree(proj)
    proj = make_project_model(tiny_model, models, "proj", "code/proj")
    with pytest.raises(ModelsError, match=r"proj/meta\.json: 'project.root' must be an absolute path, not 'code/proj'"):
        create_app({"MODELS_DIR": models})


# -- Host names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("host, allowed, ok", [
    (None, (), True), ("127.0.0.1", (), True), ("127.0.0.1:8000", (), True), ("LOCALHOST:1", (), True),
    ("[::1]", (), True), ("[::1]:8000", (), True), ("localhost", (), True),
    ("attacker.example", (), False), ("127.0.0.1.attacker.example", (), False), ("localhost:x", (), False),
    ("localhost.", (), False), ("::1", (), False), ("127.0.0.2", (), False), ("", (), False),
    ("tab.example:443", ("tab.example",), True), ("other.example", ("tab.example",), False),
    ("anything.example:1", ("*",), True),
])
def test_host_allowed(host, allowed, ok):
    from server.hooks import host_allowed

    assert host_allowed(host, allowed) is ok


def test_other_host_names_are_refused_before_anything_else(models_dir):
    live = LiveServer({"MODELS_DIR": models_dir, "API_TOKEN": "t"})
    try:
        for path in ("/health", "/models", "/metrics", "/", "/nope"):
            response = requests.get(live.url + path, headers={"Host": "attacker.example"}, timeout=10)
            assert_error(response, 400, "host_not_allowed")
        assert requests.get(live.url + "/health", headers={"Host": "localhost:9"}, timeout=10).status_code == 200
    finally:
        live.close()
    wide = LiveServer({"MODELS_DIR": models_dir, "ALLOWED_HOSTS": ["tab.example"]})
    try:
        assert requests.get(wide.url + "/health", headers={"Host": "tab.example"}, timeout=10).status_code == 200
        assert requests.get(wide.url + "/health", headers={"Host": "127.0.0.1"}, timeout=10).status_code == 200
        assert_error(requests.get(wide.url + "/health", headers={"Host": "x.example"}, timeout=10), 400)
    finally:
        wide.close()


def test_allowed_hosts_setting():
    assert load_config(environ={})["ALLOWED_HOSTS"] == ()
    assert load_config(environ={"TABCOMPLETE_ALLOWED_HOSTS": "A.example, b.example,[fe80::1]"})["ALLOWED_HOSTS"] == \
        ("a.example", "b.example", "[fe80::1]")
    assert load_config(environ={"TABCOMPLETE_ALLOWED_HOSTS": "*"})["ALLOWED_HOSTS"] == ("*",)
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS"):
        load_config(environ={"TABCOMPLETE_ALLOWED_HOSTS": "a.example:8000"})


def test_chunked_body_over_the_limit_is_413(server):
    # werkzeug's dev server dechunks; the limit holds for a body without Content-Length too.
    big = json.dumps({"text": "a" * (server.app.config["MAX_BODY_BYTES"] + 10)}).encode()
    response = requests.post(server.url + "/complete", data=iter([big[:1000], big[1000:]]), timeout=30,
                             headers={"Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")
    ok = requests.post(server.url + "/complete", data=iter([b'{"text": ', b'"x = 1"}']), timeout=30,
                       headers={"Content-Type": "application/json"})
    assert ok.status_code == 200


# -- fuzz: nothing makes it answer 5xx, every error is JSON ----------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
field_values = {
    "text": st.text(max_size=300) | json_values,
    "suffix": st.text(max_size=50) | json_values,
    "language": st.sampled_from(["python", "javascript", "cobol", ""]) | json_values,
    "max_chars": st.integers(-5, 1100) | json_values,
    "stop": st.sampled_from(["line", "block", "none", "word"]) | json_values,
    "temperature": st.floats(-1, 3, allow_nan=False) | json_values,
    "n": st.integers(-1, 7) | json_values,
    "min_prob": st.floats(-0.5, 1.5, allow_nan=False) | json_values,
    "seed": st.integers(-10, 2 ** 70) | json_values,
    "path": st.text(max_size=50) | json_values,
    "files": st.lists(st.fixed_dictionaries({"path": st.text(max_size=30), "text": st.text(max_size=200)}), max_size=5)
    | st.lists(st.fixed_dictionaries({}, optional={"path": st.text(max_size=30) | json_values,
                                                   "text": st.text(max_size=200) | json_values,
                                                   "extra": json_values}), max_size=5)
    | st.lists(json_values, max_size=8) | json_values,
}
complete_bodies = st.fixed_dictionaries({}, optional=field_values) | json_values


def check_answer(response):
    assert response.status_code < 500, response.text
    body = response.json()  # every answer is JSON
    if response.status_code == 200:
        assert set(body) == {"completion", "alternatives", "model", "elapsed_ms"}
        assert isinstance(body["completion"], str) and all(isinstance(a, str) for a in body["alternatives"])
    else:
        assert response.status_code in (400, 404, 413, 415)
        assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


@FUZZ
@given(body=complete_bodies)
def test_fuzz_json_values(server, body):
    check_answer(requests.post(server.url + "/complete", data=json.dumps(body),
                               headers={"Content-Type": "application/json"}, timeout=60))


@FUZZ
@given(raw=st.binary(max_size=400), content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_fuzz_random_bytes(server, raw, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    check_answer(requests.post(server.url + "/complete", data=raw, headers=headers, timeout=60))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(100_000, 3_000_000), char=st.sampled_from(["a", "\n", " ", "é", "\ud83d\ude00", "\x00", '"']),
       where=st.sampled_from(["text", "suffix", "language", "path", "files"]))
def test_fuzz_huge_strings(server, size, char, where):
    body = {"text": PRIME, where: char * size}
    if where == "files":
        body["files"] = [{"path": "/p/a.py", "text": char * size}]
    check_answer(requests.post(server.url + "/complete", data=json.dumps(body),
                               headers={"Content-Type": "application/json"}, timeout=60))


def test_models_describes_the_shipped_averaged_model_as_one():
    """The shipped model is the mean of three epochs' weights: /models names each, never the
    first one's epochs as the model's."""
    from server import create_app

    app = create_app({"MODELS_DIR": os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "model",
                                                 "pretrained")})
    listed = app.test_client().get("/models").get_json()["models"]
    training = next(m for m in listed if m["name"] == "python")["training"]
    assert [a["epochs_run"] for a in training["averaged"]] == [14, 16, 17]
    assert "epochs_run" not in training and "best_epoch" not in training
