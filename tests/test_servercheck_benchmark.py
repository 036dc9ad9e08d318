"""The benchmark through a running server: real HTTP to the real app, scored as model.measure.benchmark scores
the same Completer in process."""
import io
import json
import os
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from model.measure import benchmark
from model.serving.completer import Completer
from servercheck import benchmark as benchmark_server
from tests.server_helpers import LiveServer, make_models_dir, make_project_model
from tests.test_benchmark import SOURCE
from tests.test_packages import make_wheel


@pytest.fixture(scope="module")
def tiny_package(tmp_path_factory):
    root = tmp_path_factory.mktemp("pkg")
    cache = str(root / "cache")
    make_wheel(cache, "tinypkg", "1.0", files={f"tinypkg/m{i}.py": SOURCE.replace("compute", f"compute{i}") for i in range(3)})
    plist = root / "list.txt"
    plist.write_text("tinypkg==1.0\n")
    return str(plist), cache


@pytest.fixture(scope="module")
def models(tiny_model, tmp_path_factory):
    return make_models_dir(tiny_model, str(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def server(models):
    live = LiveServer({"MODELS_DIR": models, "API_TOKEN": "tok"})
    yield live
    live.close()


def refusing_files(app):
    """The app as a server from before `files` answers them: 400 unknown_field (125e336's words)."""
    def wrapped(environ, start_response):
        body = Request(environ).get_data()
        environ["wsgi.input"] = io.BytesIO(body)  # read here: the app reads it again
        if environ["PATH_INFO"] == "/complete" and "files" in json.loads(body or b"{}"):
            error = {"error": {"code": "unknown_field", "message": "files: unknown field", "field": "files"}}
            return Response(json.dumps(error), 400, content_type="application/json")(environ, start_response)
        return app(environ, start_response)
    return wrapped


def test_through_the_server_is_what_the_benchmark_measures_in_process(server, models, tiny_package, tmp_path, capsys):
    plist, cache = tiny_package
    out = str(tmp_path / "out")
    benchmark_server.main(["--url", server.url, "--url", server.url, "--token", "tok", "--packages", plist,
                           "--cache", cache, "--positions", "12", "--out", out, "--json"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    files = benchmark.package_files(plist, cache)
    local = benchmark.measure(Completer.load(os.path.join(models, "python")), files, 12, 0, only=benchmark_server.RUNS)
    first, second = report["results"]
    assert first["positions"] == local["positions"] == {"ident": 12, "line": 12}
    for run in benchmark_server.RUNS:
        for key in ("ident_exact", "line_precision", "answered", "keystroke_savings", "line_savings"):
            assert first[run][key] == pytest.approx(local[run][key]), (run, key)
        assert first[run]["p50_ms"] > 0 and "per_position" not in first[run]
        assert second["versus_first"][run]["keystroke_savings"] == [0.0, 0.0, 0.0]
    assert "| savings - the first server's" in open(os.path.join(out, "benchmark-server.md")).read()
    with open(os.path.join(out, "benchmark-server.json")) as f:
        assert json.load(f)["packages"] == ["tinypkg==1.0"]


def test_a_server_from_before_files_is_measured_without_them(server, tiny_package):
    plist, cache = tiny_package
    from server import create_app

    httpd = make_server("127.0.0.1", 0, refusing_files(create_app({"MODELS_DIR": server.app.config["MODELS_DIR"]})),
                        threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}"
        r = benchmark_server.measure(url, benchmark.package_files(plist, cache), positions=6)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "files: unknown field" in r["with_files"]["refused"]
    assert 0 <= r["server_defaults"]["keystroke_savings"] <= 1


def test_a_server_that_cannot_answer_is_a_clear_error(server, tiny_package):
    plist, cache = tiny_package
    with pytest.raises(SystemExit, match="answered 401"):  # the token is missing
        benchmark_server.main(["--url", server.url, "--packages", plist, "--cache", cache, "--positions", "2", "--token", ""])
    closed = make_server("127.0.0.1", 0, lambda e, s: [])
    url = f"http://127.0.0.1:{closed.server_port}"
    closed.server_close()  # nothing listens there now
    with pytest.raises(SystemExit, match="cannot reach"):
        benchmark_server.main(["--url", url, "--packages", plist, "--cache", cache, "--positions", "2"])


def test_on_a_project_each_request_carries_its_path_and_the_projects_model_answers(tiny_model, tmp_path, capsys):
    project = tmp_path / "myapp"
    (project / "app").mkdir(parents=True)
    (project / ".venv").mkdir()  # not the project's own code
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (project / ".venv" / "dep.py").write_text(SOURCE)
    for i in range(2):
        (project / "app" / f"m{i}.py").write_text(SOURCE.replace("compute", f"compute{i}"))
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    make_project_model(tiny_model, models, "myapp", str(project))
    live = LiveServer({"MODELS_DIR": models})
    try:
        benchmark_server.main(["--url", live.url, "--project", str(project), "--positions", "5", "--json"])
    finally:
        live.close()
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["project"] == str(project) and "packages" not in report
    r = report["results"][0]
    assert r["files"] == 2 and r["positions"] == {"ident": 5, "line": 5}
    for run in benchmark_server.RUNS:  # every request was routed by its path to the project's model
        assert r[run]["models"] == {"myapp": 10}
    (project / "docs").mkdir()
    (project / "docs" / "index.md").write_text("# myapp\n")
    with pytest.raises(SystemExit, match="no python files"):
        benchmark_server.main(["--url", "http://127.0.0.1:9", "--project", str(project / "docs")])


LUA = """local M = {}

function M.compute(values, scale)
  local total = 0
  for _, value in ipairs(values) do
    total = total + value * scale
  end
  return total
end

function M.compute_all(groups, scale)
  local out = {}
  for name, values in pairs(groups) do
    out[name] = M.compute(values, scale)
  end
  return out
end

return M
"""


def test_another_language_is_named_in_each_request_and_its_model_answers(tiny_model, tiny_package, tmp_path, capsys):
    project = tmp_path / "luaapp"
    project.mkdir()
    for i in range(2):
        (project / f"m{i}.lua").write_text(LUA.replace("compute", f"compute{i}"))
    (project / "setup.py").write_text(SOURCE)  # another language's file: not measured
    live = LiveServer({"MODELS_DIR": make_models_dir(tiny_model, str(tmp_path / "models"), ("python", "lua"))})
    try:
        benchmark_server.main(["--url", live.url, "--project", str(project), "--language", "lua", "--positions", "4",
                               "--json"])
    finally:
        live.close()
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    r = report["results"][0]
    assert report["language"] == "lua" and r["files"] == 2
    for run in benchmark_server.RUNS:
        assert r[run]["models"] == {"lua": 8}  # routed by the language named, not the default (python)


def test_a_list_without_the_languages_files_is_a_clear_error(tiny_package):
    plist, cache = tiny_package  # a PyPI package of Python files
    with pytest.raises(SystemExit, match="no lua files in .*list.txt's packages"):
        benchmark_server.main(["--url", "http://127.0.0.1:9", "--packages", plist, "--cache", cache,
                               "--language", "lua"])
