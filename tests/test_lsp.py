"""The language server (python -m server.lsp) driven over stdio by pygls's client, as an editor
drives it: documents opened and changed incrementally, inline and menu completions checked
against the HTTP server's answer for the same buffer, cancel and typing-over, project models by
path, the other open files, bad input, a language without a model, forwarding to a server.
The shipped model serves (it loads in a second or two); its documents store and settings are
also checked directly, below."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled

from server.lsp.documents import UTF8, UTF32, Documents, offset_at, position_at, uri_path
from server.lsp.settings import DEFAULTS, updated
from servercheck.benchmark import post_complete
from servercheck.lsp_client import LspClient
from tests.server_helpers import LiveServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRETRAINED = os.path.join(ROOT, "model", "pretrained")
BUFFER = 'import sys\n\n\ndef main(argv):\n    if len(argv) < 2:\n        print("usage")\n        sys.ex'
SURE = BUFFER + "i"  # `exit` at 0.94 here (at `sys.ex`, 0.48: the menu's): a completion is inserted
TOKEN = "lsp-secret"


@pytest.fixture(scope="module")
def http():
    server = LiveServer({"MODELS_DIR": PRETRAINED, "API_TOKEN": TOKEN})
    yield server
    server.close()


@pytest.fixture(scope="module")
def lsp():
    with LspClient(["--models", PRETRAINED], {"choices": 3}) as client:
        yield client


@pytest.fixture
def client(lsp):
    """The module's client, with its settings as the module started it, no document open from an
    earlier test (they would go with each request as `files`), and nothing new in its log after."""
    for uri in sorted(lsp.open_uris):
        lsp.close_document(uri)
    lsp.configure({"tabcomplete": {**DEFAULTS, "choices": 3}})
    seen = len(lsp.messages)
    yield lsp
    assert [m.message for m in lsp.messages[seen:] if m.type == types.MessageType.Error] == []


def http_answer(http, text, suffix="", path="/p/main.py", **fields):
    body = {"text": text, "suffix": suffix, "language": "python", "path": path, "max_chars": 80, "stop": "line",
            "choices": 3, **fields}
    return post_complete(http.url, body, TOKEN)


def end_of(text):
    """The LSP position (line, character) at the end of text (no characters outside the BMP)."""
    lines = text.split("\n")
    return len(lines) - 1, len(lines[-1])


def menu_texts(completion_list):
    """(new text, detail) of each menu item, in the order sortText gives."""
    ordered = sorted(completion_list.items, key=lambda item: item.sort_text)
    return [(item.text_edit.new_text, item.detail) for item in ordered]


def expected_menu(answer, word):
    """The menu the plug-ins' answer makes: the completion first, then the other choices."""
    choices = [(word + c["text"], c["probability"]) for c in answer["choices"]]
    first = [word + answer["completion"]] if answer["completion"] else []
    return first + [text for text, _ in choices if text not in first]


def test_initialize_offers_inline_and_menu_completion_over_incremental_sync(lsp):
    capabilities = lsp.capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    assert capabilities.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16
    said = lsp.wait_for_message(lambda m: "loaded in this process" in m.message)
    assert said.type == types.MessageType.Info and re.search(r"models (\w+, )*python(, \w+)* loaded", said.message)


def test_inline_and_menu_answer_as_the_http_server_does_after_incremental_edits(client, http):
    uri = "file:///p/main.py"
    client.open(uri, "import sys\n\n\ndef main(argv):\n    sys.exit(1)\n")
    # Type as an editor does: delete "exit(1)", then insert a new block over two changes, one of
    # which spans lines, an emoji (two UTF-16 units) and a form feed (a line break to str.splitlines,
    # not to LSP) before the cursor.
    client.change(uri, 2, [(((4, 8), (4, 15)), "")])
    client.change(uri, 3, [(((4, 8), (4, 8)), "x = '\U0001f600'\n\x0c    if len(argv) < 2:\n"),
                           (((6, 0), (6, 0)), '        print("usage")\n        sys.ex')])
    text = "import sys\n\n\ndef main(argv):\n    sys.x = '\U0001f600'\n\x0c    if len(argv) < 2:\n" \
           '        print("usage")\n        sys.ex\n'
    line, character = 7, len("        sys.ex")
    before, after = text[:-1], "\n"
    answer = http_answer(http, before, after)
    assert answer["completion"] or answer["choices"], "the model said nothing here; nothing to compare"

    inline = client.inline(uri, line, character)
    assert [item.insert_text for item in inline or []] == ([answer["completion"]] if answer["completion"] else [])
    if inline:
        assert inline[0].range == types.Range(types.Position(line, character), types.Position(line, character))

    menu = client.complete(uri, line, character)
    assert menu.is_incomplete
    assert [text for text, _ in menu_texts(menu)] == expected_menu(answer, "ex")
    for item in menu.items:  # each replaces the word typed, so a menu filtering by "ex" keeps it
        assert item.text_edit.range == types.Range(types.Position(line, character - 2), types.Position(line, character))
        assert item.filter_text == item.text_edit.new_text and item.filter_text.startswith("ex")
        assert item.label_details.description == "python"
    probabilities = {"ex" + c["text"]: c["probability"] for c in answer["choices"]}
    for text, detail in menu_texts(menu):
        if text in probabilities:
            assert detail == f"{int(probabilities[text] * 100 + 0.5)}%" or detail == "<1%"


def test_a_cancelled_request_ends_cancelled_and_typing_supersedes_an_automatic_one(client, http):
    uri = "file:///p/cancel.py"
    client.open(uri, BUFFER)
    line, character = end_of(BUFFER)
    client.configure({"tabcomplete": {"debounceMs": 10000}})  # an automatic request waits for the next key
    msg_id, pending = client.inline_request(uri, line, character, automatic=True)
    client.cancel(msg_id)
    with pytest.raises(JsonRpcRequestCancelled):
        client.answer(pending)

    _, pending = client.inline_request(uri, line, character, automatic=True)
    client.change(uri, 2, [(((line, character), (line, character)), "i")])
    assert client.answer(pending) is None  # the keystroke came first: nothing, and at once
    # A request the user invoked does not wait, and answers for the text as it is now.
    inline = client.inline(uri, line, character + 1)
    expected = http_answer(http, BUFFER + "i")["completion"]
    assert [item.insert_text for item in inline or []] == ([expected] if expected else [])


def test_indentation_and_a_language_without_a_model_answer_nothing(client):
    client.open("file:///p/indent.py", "def f():\n    ")
    assert client.inline("file:///p/indent.py", 1, 4) is None
    assert client.complete("file:///p/indent.py", 1, 4).items == ()

    client.open("file:///p/notes.md", "# The plan\n\nFirst we ", language="markdown")
    assert client.inline("file:///p/notes.md", 2, 9) is None
    assert client.complete("file:///p/notes.md", 2, 9).items == ()
    said = client.wait_for_message(lambda m: "'markdown'" in m.message)
    assert said.type == types.MessageType.Info and "no model for language 'markdown'" in said.message


def test_the_other_open_files_of_the_language_go_with_the_request(client, http):
    other = "def quorvex_total(a, b):\n    return a + b\n"
    text = "import os\n\n\ndef main(argv):\n    return quorv"
    with_files = http_answer(http, text, files=[{"path": "/q/geometry.py", "text": other}])
    alone = http_answer(http, text)
    assert with_files != alone, "the other file changes nothing here; nothing to tell them apart"
    client.open("file:///q/geometry.py", other)
    client.open("file:///q/notes.md", "quorvex_total is a " * 10, language="markdown")  # not python: not sent
    client.open("file:///q/main.py", text)
    line, character = end_of(text)
    assert [t for t, _ in menu_texts(client.complete("file:///q/main.py", line, character))] == \
        expected_menu(with_files, "quorv")
    client.configure({"tabcomplete": {"filesBudget": 0}})
    assert [t for t, _ in menu_texts(client.complete("file:///q/main.py", line, character))] == \
        expected_menu(alone, "quorv")


def test_settings_from_the_client_shape_the_answers(client, http):
    client.open("file:///p/settings.py", BUFFER)
    where = end_of(BUFFER)
    client.configure({"tabcomplete": {"maxChars": 2, "stop": "none", "requestOptions": {"min_prob": 0}}})
    expected = http_answer(http, BUFFER, path="/p/settings.py", max_chars=2, stop="none", min_prob=0)
    assert len(expected["completion"]) == 2
    assert [item.insert_text for item in client.inline("file:///p/settings.py", *where)] == [expected["completion"]]
    client.configure({"enabled": False})  # at the top level, as some editors send them
    assert client.inline("file:///p/settings.py", *where) is None
    assert client.complete("file:///p/settings.py", *where).items == ()


def test_bad_input_is_refused_with_an_lsp_error_and_the_server_goes_on(client):
    with pytest.raises(JsonRpcInvalidParams, match="file:///nowhere.py is not open"):
        client.complete("file:///nowhere.py", 0, 0)
    where = types.Position(line=0, character=0)
    object.__setattr__(where, "line", "seven")  # what no editor should send
    _, pending = client.request(types.TEXT_DOCUMENT_COMPLETION, types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri="file:///p/main.py"), position=where))
    with pytest.raises(JsonRpcInvalidParams, match=r"expected int @ \$\.params\.position\.line"):
        client.answer(pending)
    client.open("file:///p/after.py", BUFFER)
    assert client.complete("file:///p/after.py", *end_of(BUFFER)).items


def test_bad_settings_are_named_in_the_log_and_the_old_values_stay(lsp):
    seen = len(lsp.messages)
    lsp.configure({"tabcomplete": {"maxChars": "many", "stop": "never", "colour": "red", "choices": 1}})
    said = lsp.wait_for_message(lambda m: "colour" in m.message)
    errors = [m.message for m in lsp.messages[seen:] if m.type == types.MessageType.Error]
    assert errors == ["tabcomplete: setting maxChars must be an integer 1..1000",
                      "tabcomplete: setting stop must be one of line, block, none",
                      said.message]
    lsp.open("file:///p/settings.py", BUFFER)
    assert len(lsp.complete("file:///p/settings.py", *end_of(BUFFER)).items) <= 2  # choices 1 was taken
    lsp.configure({"tabcomplete": {"choices": 3}})


def test_a_project_model_answers_for_files_under_its_root(tmp_path):
    """Two models of one language: the default one, and a project model (here a copy of the
    same network) for files under /home/me/proj. The menu names the model that answered."""
    models = tmp_path / "models"
    shutil.copytree(os.path.join(PRETRAINED, "python"), models / "myproj")
    meta = json.loads((models / "myproj" / "meta.json").read_text())
    meta["project"] = {"root": "/home/me/proj", "base": "model/pretrained/python", "files": 1}
    (models / "myproj" / "meta.json").write_text(json.dumps(meta))
    with LspClient(["--models", os.pathsep.join([PRETRAINED, str(models)])]) as client:
        for uri, model in (("file:///home/me/proj/app/main.py", "myproj"), ("file:///home/me/other/main.py", "python"),
                           ("file:///home/me/proj2/main.py", "python")):
            client.open(uri, BUFFER)
            items = client.complete(uri, *end_of(BUFFER)).items
            assert items and {item.label_details.description for item in items} == {model}, uri
        assert client.errors() == []


def test_with_url_it_forwards_to_a_running_server(http):
    with LspClient(["--url", http.url, "--token", TOKEN]) as client:
        client.open("file:///p/main.py", BUFFER)
        expected = http_answer(http, BUFFER)
        assert [t for t, _ in menu_texts(client.complete("file:///p/main.py", *end_of(BUFFER)))] == \
            expected_menu(expected, "ex")
        client.open("file:///p/notes.md", "# notes", language="markdown")
        assert client.complete("file:///p/notes.md", 0, 7).items == ()  # the server's 404: nothing, not an error
        assert client.errors() == []
    with LspClient(["--url", http.url, "--token", "wrong"]) as client:
        client.open("file:///p/main.py", BUFFER)
        assert client.inline("file:///p/main.py", *end_of(BUFFER)) is None
        said = client.wait_for_message(lambda m: m.type == types.MessageType.Error)
        assert "answered 401" in said.message


def test_over_tcp_it_answers_as_over_stdio(http):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LspClient(["--models", PRETRAINED], tcp=("127.0.0.1", port)) as client:
        client.open("file:///p/main.py", SURE)
        expected = http_answer(http, SURE)["completion"]
        assert expected, "the model said nothing here; nothing to compare"
        assert [item.insert_text for item in client.inline("file:///p/main.py", *end_of(SURE))] == [expected]
        assert client.errors() == []


def test_models_that_cannot_load_stop_the_server_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "server.lsp", "--models", str(tmp_path / "missing")], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and "no such models dir" in done.stderr


# -- the documents and the settings, directly --------------------------------------------------

def test_positions_count_lsp_line_breaks_and_the_encodings_units():
    text = "a\r\nb\x0cc\rd\ne\U0001f600f"
    assert offset_at(text, 1, 0) == 3 and offset_at(text, 1, 2) == 5  # \x0c is no line break
    assert offset_at(text, 2, 0) == 7 and offset_at(text, 3, 0) == 9
    assert offset_at(text, 3, 1) == 10 and offset_at(text, 3, 3) == 11  # the emoji is two UTF-16 units
    assert offset_at(text, 3, 5, UTF8) == 11 and offset_at(text, 3, 2, UTF32) == 11  # four UTF-8 ones, one UTF-32
    assert offset_at(text, 1, 99) == 6 and offset_at(text, 9, 0) == len(text)  # clamped, as LSP says
    assert position_at(text, 11) == (3, 3) and position_at(text, 7) == (2, 0)
    assert uri_path("file:///p/a%20b.py") == "/p/a b.py" and uri_path("untitled:Untitled-1") is None


def test_changes_apply_in_order_and_a_whole_text_change_replaces_it():
    docs = Documents()
    docs.open("file:///a.py", "python", 1, "one\ntwo\n")
    docs.change("file:///a.py", 2, [(((0, 3), (1, 0)), " and "), (((0, 0), (0, 0)), ">"), (None, "new")])
    assert docs.get("file:///a.py").text == "new"
    docs.change("file:///a.py", 3, [(((0, 1), (0, 2)), "o"), (((5, 0), (5, 0)), "!")])
    assert (docs.get("file:///a.py").text, docs.get("file:///a.py").version) == ("now!", 3)


def test_other_files_are_the_languages_most_recent_first_within_the_budget():
    docs = Documents()
    for name, text in (("a", "aaaa"), ("b", "bb"), ("c", "cccccc"), ("d", "d")):
        docs.open(f"file:///p/{name}.py", "python", 1, text)
    docs.open("file:///p/n.md", "markdown", 1, "notes")
    docs.open("untitled:Untitled-1", "python", 1, "unsaved")
    docs.open("file:///p/bin.py", "python", 1, "a\x00b")
    docs.touch(docs.get("file:///p/a.py"))  # used last
    current = docs.get("file:///p/d.py")
    files = docs.other_files(current, budget=8)
    assert [f["path"] for f in files] == ["/p/a.py", "/p/b.py"]  # c does not fit what is left
    assert [f["path"] for f in docs.other_files(current, budget=100, max_files=2)] == ["/p/a.py", "/p/c.py"]
    assert docs.other_files(current, budget=0) == []


def test_settings_take_known_keys_name_bad_ones_and_keep_the_old_value():
    settings, errors = updated(DEFAULTS, {"maxChars": 20, "otherTool": {"x": 1}})
    assert settings["maxChars"] == 20 and errors == []
    settings, errors = updated(settings, {"tabcomplete": {"maxChars": 0, "requestOptions": {"seed": 1, "top_k": 3}}})
    assert settings["maxChars"] == 20 and settings["requestOptions"] == {}
    assert errors == ["setting maxChars must be an integer 1..1000",
                      "setting requestOptions may only hold temperature, min_prob, seed, not top_k"]
    assert updated(settings, {"tabcomplete": {"maxChars": None}})[0]["maxChars"] == DEFAULTS["maxChars"]
    assert updated(settings, [1])[1] == ["settings must be an object, not list"]
