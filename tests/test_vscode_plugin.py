"""End to end: the VS Code extension, packaged as a .vsix, in real VS Code (code-server) driven by headless
Chromium, against the real server and a real (tiny) model: type a line of Python, press Tab, save, read
the file back; a C header (VS Code's cpp) is completed by the C model by default; with the ranked choices,
the suggest widget opens and a choice is accepted; with nothing to offer, the line is left as it was.
Needs editor-plugin/e2e/install.sh (code-server, playwright-core), Debian's chromium and
editor-plugin/vscode's npm packages (@vscode/vsce); skipped when they are missing.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

from tests import plugin_server
from tests.plugin_server import ROOT, running_server
from tests.server_helpers import make_models_dir

PLUGIN = os.path.join(ROOT, "editor-plugin")
CODE_SERVER = os.path.join(PLUGIN, "e2e", "node_modules", "code-server", "out", "node", "entry.js")
VSCE = os.path.join(PLUGIN, "vscode", "node_modules", ".bin", "vsce")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOKEN = "e2e-secret"
REQUEST_OPTIONS = {"temperature": 0.7, "seed": 1, "min_prob": 0}  # the tiny model is silent otherwise
LINE = "import o"
OTHER = "def list_python_files(root):\n    return os.listdir(root)\n"  # other.py, open in another tab

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CODE_SERVER) and os.path.exists(VSCE) and os.path.exists(CHROMIUM) and shutil.which("npm")),
    reason="needs editor-plugin/e2e/install.sh, npm ci in editor-plugin/vscode, and chromium")


@pytest.fixture(scope="module")
def vsix(tmp_path_factory):
    """The extension packaged once, as a user installs it, for every test here."""
    path = tmp_path_factory.mktemp("vsix") / "tabcomplete.vsix"
    subprocess.run(["npm", "run", "package", "--", "--out", str(path)], cwd=os.path.join(PLUGIN, "vscode"),
                   check=True, capture_output=True, timeout=300)
    return path


def test_tab_in_real_vscode_inserts_the_servers_answer(tiny_model, tmp_path, vsix):
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    project = tmp_path / "work" / "project"
    log = plugin_server.ServerLog()
    with running_server(models, TOKEN, log) as url:
        expected = plugin_server.post_complete(url, {
            "text": LINE, "suffix": "", "language": "python", "max_chars": 80, "stop": "line", **REQUEST_OPTIONS,
            "path": str(project / "example.py"), "files": [{"path": str(project / "other.py"), "text": OTHER}]},
            TOKEN)["completion"]
        assert expected, "the tiny model gave an empty completion; nothing to insert"
        screenshot = os.environ.get("TABCOMPLETE_SCREENSHOT")
        args = ["node", os.path.join(PLUGIN, "e2e", "codeserver.js"), "--server-url", url, "--token", TOKEN,
                "--vsix", str(vsix), "--workdir", str(tmp_path / "work"), "--line", LINE,
                "--request-options", json.dumps(REQUEST_OPTIONS), "--other-file", OTHER]
        if screenshot:
            args += ["--screenshot", screenshot]
        log.wait_for(lambda r: r.get("path") == "/complete")  # the request above; the extension's comes after it
        seen = len(log.records)
        run = subprocess.run(args, capture_output=True, text=True, timeout=540)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        # The extension sent other.py as `files`: the server's access log counts it (never its path or text).
        record = log.wait_for(lambda r: r.get("path") == "/complete", after=seen)
        assert (record["status"], record["files"], record["files_chars"]) == (200, 1, len(OTHER))
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["file"] == LINE + expected
    assert re.search(r"(^|\s)tabcomplete \d+ ms$", result["status"]), result["status"]


def test_a_c_header_is_completed_by_default_with_the_c_model(tiny_model, tmp_path, vsix):
    # VS Code calls a .h file cpp; the extension asks for C, which the default languages hold.
    models = make_models_dir(tiny_model, str(tmp_path / "models"), languages=("python", "c"))
    line, project = "int x = y", tmp_path / "work" / "project"
    log = plugin_server.ServerLog()
    with running_server(models, TOKEN, log) as url:
        expected = plugin_server.post_complete(url, {
            "text": line, "suffix": "", "language": "c", "max_chars": 80, "stop": "line", **REQUEST_OPTIONS,
            "path": str(project / "list.h")}, TOKEN)["completion"]
        assert expected, "the tiny model gave an empty completion; nothing to insert"
        log.wait_for(lambda r: r.get("path") == "/complete")  # the request above; the extension's comes after it
        seen = len(log.records)
        run = subprocess.run(["node", os.path.join(PLUGIN, "e2e", "codeserver.js"), "--server-url", url, "--token", TOKEN,
                              "--vsix", str(vsix), "--workdir", str(tmp_path / "work"), "--line", line, "--file", "list.h",
                              "--request-options", json.dumps(REQUEST_OPTIONS)], check=False, capture_output=True, text=True,
                              timeout=540)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        record = log.wait_for(lambda r: r.get("path") == "/complete", after=seen)
    assert (record["status"], record["model"]) == (200, "c")
    assert json.loads(run.stdout.strip().splitlines()[-1])["file"] == line + expected


# min_prob 1 lets no character through the gate: the completion is empty, the choices are still ranked.
MENU_OPTIONS = {"min_prob": 1}


def percent(p):
    whole = int(p * 100 + 0.5)
    return "<1%" if whole < 1 else f"{whole}%"


def run_codeserver(url, vsix, workdir, *extra):
    args = ["node", os.path.join(PLUGIN, "e2e", "codeserver.js"), "--server-url", url, "--token", TOKEN,
            "--vsix", str(vsix), "--workdir", str(workdir), "--line", LINE, "--request-options", json.dumps(MENU_OPTIONS), *extra]
    run = subprocess.run(args, capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_choices_open_the_suggest_widget_and_nothing_to_offer_leaves_the_line(tiny_model, tmp_path, vsix):
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    project = tmp_path / "work" / "project"
    with running_server(models, TOKEN) as url:
        request = {"text": LINE, "suffix": "", "language": "python", "max_chars": 80, "stop": "line", **MENU_OPTIONS,
                   "path": str(project / "example.py")}
        answer = plugin_server.post_complete(url, {**request, "choices": 3}, TOKEN)
        assert answer["completion"] == "" and len(answer["choices"]) >= 2, answer
        menu = run_codeserver(url, vsix, tmp_path / "work", "--pick", "1")
        # choices 0: no choices asked for, and the completion is empty: nothing to offer.
        assert plugin_server.post_complete(url, request, TOKEN)["completion"] == ""
        nothing = run_codeserver(url, vsix, tmp_path / "work2", "--settings", json.dumps({"tabcomplete.choices": 0}))
    assert re.search(rf"(^|\s)tabcomplete: {len(answer['choices'])} choices \(\d+ ms\)$", menu["status"]), menu["status"]
    # The suggest widget: the server's choices, in its order, each with its probability; the second accepted.
    assert [(row["label"], row["description"]) for row in menu["menu"]] == [
        (c["text"], percent(c["probability"])) for c in answer["choices"]]
    assert menu["file"] == LINE + answer["choices"][1]["text"]
    # Nothing to offer: the line is left exactly as it was, and the status bar says so.
    assert nothing["file"] == LINE
    assert re.search(r"(^|\s)tabcomplete: no completion \(\d+ ms\)$", nothing["status"]), nothing["status"]
