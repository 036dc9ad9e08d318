"""End to end: the Neovim plug-in in a real headless Neovim against the real server and a real (tiny) model.

The tiny model's completions are gibberish, so these tests check the mechanics: what goes into the
buffer is exactly what the server answers for the same request, Tab in indentation indents, one undo
removes the completion, and failures fall back to a normal Tab with the reason in the status.
"""
import os
import re
import shutil
import socket

import pytest

from tests import plugin_server
from tests.plugin_server import ROOT, running_server
from tests.server_helpers import make_models_dir

pynvim = pytest.importorskip("pynvim")

PLUGIN = os.path.join(ROOT, "editor-plugin", "nvim")
TOKEN = "e2e-secret"
# The tiny model only says something when sampling with no confidence gate; fixed seed keeps it repeatable.
REQUEST_OPTIONS = {"temperature": 0.7, "seed": 1, "min_prob": 0}
WAIT_MS = 20000

pytestmark = pytest.mark.skipif(shutil.which("nvim") is None or shutil.which("curl") is None,
                                reason="needs nvim and curl (apt-get install neovim curl)")


@pytest.fixture(scope="module")
def server_url(tiny_model, tmp_path_factory):
    models = make_models_dir(tiny_model, str(tmp_path_factory.mktemp("models")))
    with running_server(models, TOKEN) as url:
        yield url


def post_complete(url, body):
    return plugin_server.post_complete(url, body, TOKEN)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Editor:
    """A headless Neovim with the plug-in on its runtimepath, set up with `settings`."""

    def __init__(self, settings):
        self.nvim = pynvim.attach("child", argv=["nvim", "--embed", "--headless", "-u", "NONE", "-i", "NONE", "--noplugin"])
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


def test_tab_in_indentation_indents_without_asking(server_url, editor_for):
    ed = editor_for(**settings_for(server_url))
    ed.type("iif x:<CR><Tab>pass<Esc>")
    assert ed.lines() == ["if x:", "    pass"]
    assert ed.lua("require('tabcomplete').last") is None
    assert ed.lua("require('tabcomplete').state") == "idle"


def test_server_down_falls_back_to_tab_and_shows_why(editor_for):
    ed = editor_for(**settings_for(f"http://127.0.0.1:{closed_port()}"))
    ed.nvim.command("set noexpandtab softtabstop=0")
    ed.type("ix = y<Tab>")
    ed.wait_settled()
    assert ed.lines() == ["x = y\t"]
    assert ed.lua("require('tabcomplete').state") == "error"
    assert "server not running" in ed.lua("require('tabcomplete').status()")


def test_timeout_falls_back_to_tab(editor_for):
    # A socket that listens but never answers: curl connects, then gives up after timeout_ms.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        ed = editor_for(**settings_for(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_ms=300))
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
    assert ed.lines() == ["x = y\t"]
    assert "server error 401" in ed.lua("require('tabcomplete').status()")


def test_typing_after_tab_drops_the_answer(server_url, editor_for):
    ed = editor_for(**settings_for(server_url))
    ed.type("iimport o<Tab>s")
    ed.wait_settled()
    assert ed.lines() == ["import os"]
    assert ed.lua("require('tabcomplete').last.outcome") == "dropped"


def test_bad_setting_is_refused_with_a_clear_message(editor_for):
    ed = editor_for(server_url="http://127.0.0.1:1")
    ok = ed.lua("require('tabcomplete').setup({max_chars = 0})")
    assert ok is False
    assert ed.lua("require('tabcomplete').config.max_chars") == 80
