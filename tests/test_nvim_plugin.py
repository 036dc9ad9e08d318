"""End to end: the Neovim plug-in in a real headless Neovim against the real server and a real (tiny) model.

The tiny model's completions are gibberish, so these tests check the mechanics: what goes into the
buffer is exactly what the server answers for the same request, Tab in indentation indents, one undo
removes the completion, the ranked choices open the popup menu and a pick goes in as one undo step,
and with nothing to offer (or a failure) the line is left as it was with the reason in the status.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from tests import plugin_server
from tests.plugin_server import LIMITS, ROOT, TAB_CASES, running_server, tab_cases
from tests.server_helpers import make_models_dir

pynvim = pytest.importorskip("pynvim")

PLUGIN = os.path.join(ROOT, "editor-plugin", "nvim")
TOKEN = "e2e-secret"
# The tiny model only says something when sampling with no confidence gate; fixed seed keeps it repeatable.
REQUEST_OPTIONS = {"temperature": 0.7, "seed": 1, "min_prob": 0}
WAIT_MS = 20000

pytestmark = pytest.mark.skipif(shutil.which("nvim") is None or shutil.which("curl") is None,
                                reason="needs nvim and curl (apt-get install neovim curl)")


# The languages the plug-in completes by default, each served by a copy of the tiny model named for it.
DEFAULT_LANGUAGES = ["python", "c", "javascript", "typescript", "lua"]


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    models = make_models_dir(tiny_model, str(tmp_path_factory.mktemp("models")), languages=DEFAULT_LANGUAGES)
    log = plugin_server.ServerLog()
    with running_server(models, TOKEN, log) as url:
        yield SimpleNamespace(url=url, log=log)


@pytest.fixture(scope="module")
def server_url(server):
    return server.url


def post_complete(url, body):
    return plugin_server.post_complete(url, body, TOKEN)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Editor:
    """A headless Neovim with the plug-in on its runtimepath, set up with `settings`."""

    def __init__(self, settings):
        self.nvim = pynvim.attach("child", argv=["nvim", "--embed", "--headless", "-u", "NONE", "-i", "NONE", "-n", "--noplugin"])
        self.nvim.command(f"set runtimepath^={PLUGIN}")
        self.nvim.command("set expandtab shiftwidth=4 softtabstop=4 noautoindent")
        self.nvim.exec_lua("vim.g.tabcomplete_auto_setup = false")
        self.nvim.command("runtime plugin/tabcomplete.lua")
        assert self.nvim.exec_lua("return require('tabcomplete').setup(...)", settings) is True
        self.nvim.command("setfiletype python")

    def type(self, keys):
        self.nvim.input(keys)

    def wait_settled(self):
        """Wait (inside Neovim, on its event loop) until no request is in flight."""
        done = self.nvim.exec_lua(
            "return vim.wait(..., function() return require('tabcomplete').state ~= 'waiting' end, 10)", WAIT_MS)
        assert done, "the plug-in was still waiting for the server"

    def lines(self):
        return self.nvim.current.buffer[:]

    def lua(self, expr):
        return self.nvim.exec_lua("return " + expr)

    def open(self, path, text, filetype="python"):
        """:edit a (new) file, give it text and a filetype; it becomes the current buffer."""
        self.nvim.command(f"edit {path}")
        self.nvim.current.buffer[:] = text.split("\n")
        self.nvim.command(f"setfiletype {filetype}")

    def close(self):
        self.nvim.close()


@pytest.fixture
def editor_for():
    editors = []

    def make(**settings):
        editor = Editor(settings)
        editors.append(editor)
        return editor

    yield make
    for editor in editors:
        editor.close()


def settings_for(url, **extra):
    return {"server_url": url, "token": TOKEN, "request_options": REQUEST_OPTIONS, **extra}


def test_tab_after_code_inserts_the_servers_answer_as_one_undo_step(server_url, editor_for):
    line = "import o"
    expected = post_complete(server_url, {"text": line, "suffix": "", "language": "python", "max_chars": 80,
                                          "stop": "line", **REQUEST_OPTIONS})["completion"]
    assert expected, "the tiny model gave an empty completion; nothing to insert"

    ed = editor_for(**settings_for(server_url))
    ed.type("i" + line)
    ed.type("<Tab>")
    ed.wait_settled()
    assert ed.lua("require('tabcomplete').last.outcome") == "inserted"
    assert ed.lines() == [line + expected]
    assert re.fullmatch(r"tabcomplete \d+ ms", ed.lua("require('tabcomplete').status()"))
    # The cursor is after the completion: typing goes on from there.
    ed.type("!<Esc>")
    assert ed.lines() == [line + expected + "!"]
    ed.nvim.command("undo")  # the "!"
    ed.nvim.command("undo")  # the completion, in one step
    assert ed.lines() == [line]


def test_suffix_and_prefix_are_sent_around_the_cursor(server_url, editor_for):
    ed = editor_for(**settings_for(server_url))
    ed.type("ix = 1<CR>def f(a):<CR>y = f(<CR>z = 2<Esc>")
    ed.nvim.call("cursor", 3, 7)  # after "y = f("
    ed.type("a<Tab>")
    ed.wait_settled()
    request = ed.lua("require('tabcomplete').last.request")
    assert request["text"] == "x = 1\ndef f(a):\ny = f("
    assert request["suffix"] == "\nz = 2"
    answer = ed.lua("require('tabcomplete').last.answer.completion")
    assert ed.lines()[2] == "y = f(" + answer


def test_path_and_files_reach_the_server(server, editor_for):
    other = "def list_python_files(root):\n    return os.listdir(root)"
    ed = editor_for(**settings_for(server.url))
    ed.nvim.command("set hidden")
    ed.open("/p/util.py", other)
    ed.open("/p/notes.md", "# notes", "markdown")
    ed.open("/p/main.py", "")
    ed.type("iimport o<Tab>")
    ed.wait_settled()
    request = ed.lua("require('tabcomplete').last.request")
    assert request["path"] == "/p/main.py"
    assert request["files"] == [{"path": "/p/util.py", "text": other}]
    # The server took them: its access log counts them (it never logs paths or text). No other test sends files.
    record = server.log.wait_for(lambda r: r.get("path") == "/complete" and r.get("files"))
    assert (record["status"], record["files"], record["files_chars"]) == (200, 1, len(other))
    expected = post_complete(server.url, request)["completion"]
    assert expected, "the tiny model gave an empty completion; nothing to insert"
    assert ed.lua("require('tabcomplete').last.outcome") == "inserted"
    assert ed.lines() == ["import o" + expected]


def test_a_name_only_another_open_buffer_has_is_completed(server, editor_for):
    """The completion comes from the second open file: greedy, no cut, so the answer is the
    model's best guess with the other buffer's hints (and without them it is something else)."""
    greedy = {"temperature": 0, "min_prob": 0}
    other = "def padded_sum_of_points(a, b):\n    return a + b"
    ed = editor_for(server_url=server.url, token=TOKEN, request_options=greedy)
    ed.nvim.command("set hidden")
    ed.open("/p/geometry.py", other)
    ed.open("/p/main.py", "")
    ed.type("iimport os<CR><CR><CR>def main(argv):<CR>return padd<Tab>")
    ed.wait_settled()
    assert ed.lua("require('tabcomplete').last.outcome") == "inserted"
    assert ed.lines()[-1].strip().startswith("return padded_sum_of_points")
    alone = post_complete(server.url, {**ed.lua("require('tabcomplete').last.request"), "files": []})["completion"]
    assert not alone.startswith("ed_sum_of_points")


def test_tab_in_indentation_indents_without_asking(server_url, editor_for):
    ed = editor_for(**settings_for(server_url))
    ed.type("iif x:<CR><Tab>pass<Esc>")
    assert ed.lines() == ["if x:", "    pass"]
    assert ed.lua("require('tabcomplete').last") is None
    assert ed.lua("require('tabcomplete').state") == "idle"


def test_server_down_leaves_the_line_and_shows_why(editor_for):
    ed = editor_for(**settings_for(f"http://127.0.0.1:{closed_port()}"))
    ed.nvim.command("set noexpandtab softtabstop=0")
    ed.type("ix = y<Tab>")
    ed.wait_settled()
    assert ed.lines() == ["x = y"]
    assert ed.lua("require('tabcomplete').state") == "error"
    assert "server not running" in ed.lua("require('tabcomplete').status()")


def test_server_down_with_fallback_tab_types_the_normal_tab(editor_for):
    ed = editor_for(**settings_for(f"http://127.0.0.1:{closed_port()}", fallback_tab=True))
    ed.nvim.command("set noexpandtab softtabstop=0")
    ed.type("ix = y<Tab>")
    ed.wait_settled()
    assert ed.lines() == ["x = y\t"]
    assert ed.lua("require('tabcomplete').state") == "error"
    assert "server not running" in ed.lua("require('tabcomplete').status()")


def test_timeout_with_fallback_tab_falls_back_to_tab(editor_for):
    # A socket that listens but never answers: curl connects, then gives up after timeout_ms.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        ed = editor_for(**settings_for(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_ms=300, fallback_tab=True))
        ed.nvim.command("set noexpandtab softtabstop=0")
        ed.type("ix = y<Tab>")
        ed.wait_settled()
    assert ed.lines() == ["x = y\t"]
    assert "timeout after 300 ms" in ed.lua("require('tabcomplete').status()")


def test_wrong_token_shows_the_servers_error(server_url, editor_for):
    ed = editor_for(**settings_for(server_url, token="wrong"))
    ed.nvim.command("set noexpandtab softtabstop=0")
    ed.type("ix = y<Tab>")
    ed.wait_settled()
    assert ed.lines() == ["x = y"]
    assert "server error 401" in ed.lua("require('tabcomplete').status()")


def test_typing_after_tab_drops_the_answer(server_url, editor_for):
    ed = editor_for(**settings_for(server_url))
    ed.type("iimport o<Tab>s")
    ed.wait_settled()
    assert ed.lines() == ["import os"]
    assert ed.lua("require('tabcomplete').last.outcome") == "dropped"


def test_by_default_each_language_goes_to_the_server_under_its_name_and_others_get_the_normal_tab(server, editor_for,
                                                                                                 tmp_path):
    ed = editor_for(**settings_for(server.url))  # languages: the default
    assert ed.lua("require('tabcomplete').config.languages") == DEFAULT_LANGUAGES
    ed.nvim.command("set hidden noexpandtab softtabstop=0 | filetype on")  # Neovim's own filetype detection
    # file -> (the filetype Neovim 0.7 detects, the language the server is asked for)
    completed = {"main.c": ("c", "c"), "list.h": ("cpp", "c"), "app.js": ("javascript", "javascript"),
                 "App.jsx": ("javascriptreact", "javascript"), "app.ts": ("typescript", "typescript"),
                 "init.lua": ("lua", "lua"), "a.py": ("python", "python")}
    for name, (filetype, language) in completed.items():
        ed.nvim.command(f"edit {tmp_path / name}")
        assert ed.nvim.current.buffer.options["filetype"] == filetype
        ed.type("ix = y<Tab>")
        ed.wait_settled()
        ed.type("<Esc>")
        last = ed.lua("require('tabcomplete').last")
        assert (last["request"]["language"], last["request"]["path"]) == (language, str(tmp_path / name))
        assert last["outcome"] != "tab" and last["answer"]["model"] == language  # served by that language's model
    for name, filetype in {"main.rs": "rust", "list.cpp": "cpp", "notes.txt": "text"}.items():
        ed.nvim.command(f"edit {tmp_path / name}")
        assert ed.nvim.current.buffer.options["filetype"] == filetype
        ed.type("ix = y<Tab><Esc>")
        assert ed.lines() == ["x = y\t"]  # the normal Tab, and no request: the last one is still a.py's
        assert ed.lua("require('tabcomplete').last.request.path") == str(tmp_path / "a.py")


def test_filetypes_map_to_the_servers_names_as_in_the_javascript_client(lua_plugin):
    pairs = [[ft, path] for ft in ["python", "c", "cpp", "javascript", "javascriptreact", "typescript", "typescriptreact",
                                   "lua", "rust", "js", "ts", "py", "shell", "c++", ""]
             for path in ["/p/list.h", "/p/list.hpp", "/p/main.c", ""]]
    script = ("const c = require(process.argv[1]); const pairs = JSON.parse(process.argv[2]);"
              "console.log(JSON.stringify({languages: c.DEFAULT_SETTINGS.languages, aliases: c.LANGUAGE_ALIASES,"
              " mapped: pairs.map(([id, path]) => c.serverLanguage(id, path))}))")
    js = json.loads(subprocess.run(["node", "-e", script, os.path.join(ROOT, "editor-plugin", "shared", "client.js"),
                                    json.dumps(pairs)], capture_output=True, text=True, check=True).stdout)
    lua = lua_plugin.nvim.exec_lua("local tc = require('tabcomplete') local out = {} for i, p in ipairs(...) do"
                                   " out[i] = tc.server_language(p[1], p[2]) end return out", pairs)
    assert lua == js["mapped"] and lua_plugin.lua("require('tabcomplete').language_aliases") == js["aliases"]
    assert js["languages"] == DEFAULT_LANGUAGES
    assert dict(zip(map(tuple, pairs), lua))[("cpp", "/p/list.h")] == "c"


def test_bad_setting_is_refused_with_a_clear_message(editor_for):
    ed = editor_for(server_url="http://127.0.0.1:1")
    ok = ed.lua("require('tabcomplete').setup({max_chars = 0})")
    assert ok is False
    assert ed.lua("require('tabcomplete').config.max_chars") == 80


# The shared table of Tab cases, run through the Lua twins of the JavaScript client's pure functions.
RUN_CASE = {
    "tab": "return require('tabcomplete').decide_tab(...)",
    "answer": "local tc = require('tabcomplete'); local d = tc.decide_answer(...)"
              " return {action = d.action, reason = d.reason, status = tc.status_text(d.status)}",
    "status": "return require('tabcomplete').status_text(...)",
    "body": "return require('tabcomplete').build_body(...)",
    "files": "local a = ... return require('tabcomplete').select_files(a.current, a.candidates, a.budget)",
    "menu": "return require('tabcomplete').menu_items((...).choices)",
    "flow": None,  # a whole Tab in a fresh Neovim against a fake server: test_flow_case
}


@pytest.fixture(scope="module")
def lua_plugin():
    editor = Editor({"server_url": "http://127.0.0.1:1"})  # the pure functions never reach it
    yield editor
    editor.close()


def test_the_table_has_exactly_the_groups_run_here():
    assert sorted(k for k in TAB_CASES if k != "about") == sorted(RUN_CASE)


@pytest.mark.parametrize("group, case_input, settings, expect", tab_cases(*(g for g in RUN_CASE if g != "flow")))
def test_tab_case(lua_plugin, group, case_input, settings, expect):
    args = [case_input, settings] if group == "body" else [case_input]
    assert lua_plugin.nvim.exec_lua(RUN_CASE[group], *args) == expect


def test_the_plugin_reads_its_caps_from_limits_json(lua_plugin):
    assert lua_plugin.lua("require('tabcomplete').limits") == LIMITS
    assert lua_plugin.lua("require('tabcomplete').config.files_budget") == LIMITS["files_budget_default"]


def test_the_text_cap_counts_characters_in_the_buffer(editor_for):
    ed = editor_for(server_url="http://127.0.0.1:1")
    before = "\u00e9" * LIMITS["text_chars"] + "x = "
    ed.nvim.current.buffer[:] = [before + "1"]
    ed.nvim.current.window.cursor = (1, len(before.encode()))  # on the "1" (a byte column)
    request = ed.lua("require('tabcomplete').build_request()")
    assert request["text"] == "\u00e9" * (LIMITS["text_chars"] - 4) + "x = "
    assert request["suffix"] == "1"


def test_files_are_the_other_buffers_of_the_filetype_most_recent_first(editor_for):
    ed = editor_for(server_url="http://127.0.0.1:1")  # build_request only: nothing is sent
    ed.nvim.command("set hidden")
    ed.open("/p/util.py", "def util():\n    pass")
    ed.open("/p/notes.md", "# notes", "markdown")
    ed.nvim.command("enew")
    ed.nvim.current.buffer[:] = ["scratch = 1"]  # unnamed: never sent
    ed.nvim.command("setfiletype python")
    ed.open("/p/blob.py", "x = 1")
    ed.nvim.command("setlocal binary")
    ed.open("/p/models.py", "class M: pass")
    ed.open("/p/gone.py", "closed")
    ed.nvim.command("bwipeout!")
    ed.nvim.command("buffer /p/util.py")  # util.py is now more recent than models.py
    ed.open("/p/main.py", "import o")
    request = ed.lua("require('tabcomplete').build_request()")
    assert request["path"] == "/p/main.py"
    assert request["files"] == [{"path": "/p/util.py", "text": "def util():\n    pass"},
                                {"path": "/p/models.py", "text": "class M: pass"}]


def test_files_are_bounded_by_files_budget_and_count(editor_for):
    ed = editor_for(server_url="http://127.0.0.1:1", files_budget=25)
    ed.nvim.command("set hidden")
    for i in range(LIMITS["files_max"] + 3):
        ed.open(f"/p/f{i}.py", f"f{i}")
    ed.open("/p/big.py", "b" * 26)
    ed.open("/p/main.py", "x = ")
    # big.py (26 characters) does not fit 25; f18..f11 (3 characters each) do, f10 and f0..f9 (2) no longer.
    paths = [f["path"] for f in ed.lua("require('tabcomplete').build_request()")["files"]]
    assert paths == [f"/p/f{i}.py" for i in range(18, 10, -1)]
    assert ed.lua("require('tabcomplete').setup({server_url = 'http://127.0.0.1:1', files_budget = 1000})") is True
    paths = [f["path"] for f in ed.lua("require('tabcomplete').build_request()")["files"]]
    assert len(paths) == LIMITS["files_max"] and paths[:2] == ["/p/big.py", "/p/f18.py"]
    assert ed.lua("require('tabcomplete').setup({server_url = 'http://127.0.0.1:1', files_budget = 0})") is True
    assert "files" not in ed.lua("require('tabcomplete').build_request()")
    assert ed.lua("require('tabcomplete').setup({files_budget = -1})") is False


# The ranked choices, from the real server: min_prob 1 lets no character through the gate, so the
# completion is empty while the choices are still ranked (checked against the server first).
MENU_OPTIONS = {"min_prob": 1}


def wait_for(predicate, timeout=10):
    """Poll from outside Neovim: between requests it runs its typeahead (the keys the plug-in feeds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def popup(ed):
    """The popup menu shown, as [label, detail] pairs, or None."""
    info = ed.nvim.funcs.complete_info(["pum_visible", "items"])
    return [[i["abbr"], i["menu"]] for i in info["items"]] if info["pum_visible"] else None


def test_choices_open_the_popup_menu_and_a_pick_is_one_undo_step(server_url, editor_for):
    line = "import o"
    answer = post_complete(server_url, {"text": line, "suffix": "", "language": "python", "max_chars": 80, "stop": "line",
                                        "choices": 3, **MENU_OPTIONS})
    assert answer["completion"] == "" and len(answer["choices"]) >= 2, answer
    percent = [ed_percent(c["probability"]) for c in answer["choices"]]
    ed = editor_for(**settings_for(server_url, request_options=MENU_OPTIONS))
    ed.type("i" + line + "<Tab>")
    ed.wait_settled()
    assert ed.lua("require('tabcomplete').last.outcome") == "menu"
    assert wait_for(lambda: popup(ed) is not None)
    assert popup(ed) == [[c["text"], p] for c, p in zip(answer["choices"], percent)]
    assert ed.lines() == [line]  # shown, nothing inserted yet
    assert re.fullmatch(rf"tabcomplete: {len(answer['choices'])} choices \(\d+ ms\)", ed.lua("require('tabcomplete').status()"))
    ed.type("<Down><C-y>")  # the second choice
    assert wait_for(lambda: ed.lua("require('tabcomplete').last.menu.done"))
    picked = answer["choices"][1]["text"]
    assert ed.lines() == [line + picked]
    assert ed.lua("require('tabcomplete').last.menu.picked") == picked
    assert ed.nvim.options["completeopt"] == "menu,preview"  # the user's own, restored
    ed.type("!<Esc>")
    assert ed.lines() == [line + picked + "!"]
    ed.nvim.command("undo")  # the "!"
    assert ed.lines() == [line + picked]
    ed.nvim.command("undo")  # the pick, in one step
    assert ed.lines() == [line]


def ed_percent(p):
    whole = int(p * 100 + 0.5)
    return "<1%" if whole < 1 else f"{whole}%"


def test_tab_picks_the_highlighted_choice_typing_or_esc_dismisses(server_url, editor_for):
    ed = editor_for(**settings_for(server_url, request_options=MENU_OPTIONS))
    ed.type("iimport o<Tab>")
    ed.wait_settled()
    assert wait_for(lambda: popup(ed) is not None)
    first = popup(ed)[0][0]
    ed.type("<Tab>")  # Tab again: the highlighted (first) choice
    assert wait_for(lambda: ed.lua("require('tabcomplete').last.menu.done"))
    assert ed.lines() == ["import o" + first]

    ed.type("<CR>x = y<Tab>")
    ed.wait_settled()
    assert wait_for(lambda: popup(ed) is not None)
    ed.type("z")  # typing closes the menu and keeps what was typed
    assert wait_for(lambda: popup(ed) is None and ed.lua("require('tabcomplete').last.menu.done"))
    assert ed.lines()[-1] == "x = yz"
    assert ed.lua("require('tabcomplete').last.menu.picked") is None
    ed.type("!")
    assert ed.lines()[-1] == "x = yz!"

    ed.type("<Tab>")
    ed.wait_settled()
    assert wait_for(lambda: popup(ed) is not None)
    ed.type("<Esc>")
    assert wait_for(lambda: popup(ed) is None)
    assert ed.nvim.api.get_mode()["mode"] == "n"
    assert ed.lines()[-1] == "x = yz!"


def test_nothing_to_offer_leaves_the_line_exactly_as_it_was(server_url, editor_for):
    body = {"text": "print(x", "suffix": ")  # note", "language": "python", "max_chars": 80, "stop": "line", **MENU_OPTIONS}
    assert post_complete(server_url, body)["completion"] == ""
    ed = editor_for(**settings_for(server_url, request_options=MENU_OPTIONS, choices=0))
    ed.nvim.current.buffer[:] = ["print(x)  # note", "y = 1"]
    ed.nvim.command("normal! gg0f)")
    ed.type("i<Tab>")
    ed.wait_settled()
    assert ed.lua("require('tabcomplete').last.request")["text"] == "print(x"
    assert "choices" not in ed.lua("require('tabcomplete').last.request")
    assert ed.lua("require('tabcomplete').last.outcome") == "none"
    assert ed.lines() == ["print(x)  # note", "y = 1"]
    assert tuple(ed.nvim.current.window.cursor) == (1, len("print(x"))
    assert re.fullmatch(r"tabcomplete: no completion \(\d+ ms\)", ed.lua("require('tabcomplete').status()"))


def test_choices_and_fallback_tab_settings_are_checked(editor_for):
    ed = editor_for(server_url="http://127.0.0.1:1")
    assert ed.lua("require('tabcomplete').config.choices") == 3
    assert ed.lua("require('tabcomplete').config.fallback_tab") is False
    assert ed.lua("require('tabcomplete').setup({choices = 11})") is False
    assert ed.lua("require('tabcomplete').setup({fallback_tab = 'yes'})") is False
    assert ed.lua("require('tabcomplete').setup({server_url = 'http://127.0.0.1:1', choices = 0, fallback_tab = true})") is True
    assert "choices" not in ed.lua("require('tabcomplete').build_request()")


# The table's flow cases: a whole Tab in a fresh Neovim, against a fake server that answers as the case says.
class FakeServer:
    def __init__(self):
        self.requests, self.answer, self.hold = [], None, None
        self.received = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.received.set()
                if outer.hold is not None:
                    outer.hold.wait(10)
                answer = outer.answer
                if "http_error" in answer:
                    status = answer["http_error"]["status"]
                    reply = {"error": {"code": "error", "message": answer["http_error"]["message"]}}
                else:
                    status = 200
                    reply = {"completion": answer["completion"], "alternatives": [answer["completion"]] if answer["completion"] else [],
                             "model": "python", "elapsed_ms": 1.0, "choices": answer["choices"]}
                data = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # curl was stopped: the answer went stale

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


SNAKE = {"fallbackTab": "fallback_tab", "choices": "choices"}


def flow_cases():
    table = TAB_CASES["flow"]
    return [pytest.param({**table["defaults"], **c["input"]}, c["expect"], id=f"flow: {c['name']}") for c in table["cases"]]


@pytest.mark.parametrize("case_input, expect", flow_cases())
def test_flow_case(case_input, expect):
    fake = FakeServer()
    settings = {"server_url": fake.url, **{SNAKE[k]: v for k, v in case_input["settings"].items()}}
    ed = Editor(settings)
    try:
        ed.nvim.command("set noexpandtab softtabstop=0 nosmarttab")  # the normal Tab types a tab character
        fake.answer = case_input["answer"]
        if case_input["typed_meanwhile"]:
            fake.hold = threading.Event()
        before, after = case_input["buffer"].split("|")
        lines = (before + after).split("\n")
        row = before.count("\n") + 1
        col = len(before.split("\n")[-1])
        ed.nvim.current.buffer[:] = lines
        ed.nvim.exec_lua("local row, col, eol = ... vim.api.nvim_win_set_cursor(0, {row, col})"
                         " vim.cmd(eol and 'startinsert!' or 'startinsert')", row, col, col == len(lines[row - 1]))
        assert wait_for(lambda: ed.nvim.api.get_mode()["mode"] == "i")
        ed.type("<Tab>")
        if case_input["typed_meanwhile"]:
            assert fake.received.wait(10)
            ed.type(case_input["typed_meanwhile"])
            wait_for(lambda: ed.lua("require('tabcomplete').state") != "waiting")
            fake.hold.set()
        if expect["requests"]:
            assert wait_for(lambda: fake.requests and ed.lua("require('tabcomplete').state") != "waiting")
        ed.wait_settled()
        menu = None
        if ed.lua("require('tabcomplete').last and require('tabcomplete').last.outcome") == "menu":
            assert wait_for(lambda: popup(ed) is not None)
            menu = popup(ed)
            ed.type("<Down>" * case_input["pick"] + "<C-y>" if case_input["pick"] is not None else "<C-e>")
            assert wait_for(lambda: ed.lua("require('tabcomplete').last.menu.done"))
        text = "\n".join(ed.lines())
        row, col = ed.nvim.current.window.cursor
        cursor = sum(len(line.encode()) + 1 for line in ed.lines()[:row - 1]) + col
        status = ed.lua("require('tabcomplete').status()")
        result = {
            "buffer": text[:cursor] + "|" + text[cursor:],
            "menu": menu,
            "status": None if expect["status"] is None else re.sub(r"\d+ ms", "N ms", status),
            "requests": len(fake.requests),
            "choices": fake.requests[0].get("choices", 0) if fake.requests else None,
        }
        assert result == expect
    finally:
        ed.close()
        fake.close()
