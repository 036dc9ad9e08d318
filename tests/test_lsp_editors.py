"""The language server in real editors' own LSP clients: headless Neovim (vim.lsp.start_client and
its omnifunc, Neovim 0.7+) and Emacs in batch mode (eglot, completion-at-point). Each editor gets
the menu the server gives pygls's client for the same buffer and settings, and inserts from it."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from servercheck.lsp_client import LspClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRETRAINED = os.path.join(ROOT, "model", "pretrained")
SERVER = [sys.executable, "-m", "server.lsp", "--models", PRETRAINED]
# `exit` is 0.94 likely at `sys.exi` (0.48 at `sys.ex`, where only the menu would offer it): a
# completion is inserted even with choices 0.
TYPED = "exi"
BUFFER = 'import sys\n\n\ndef main(argv):\n    if len(argv) < 2:\n        print("usage")\n        sys.' + TYPED
LAST_LINE = BUFFER.split("\n")[-1]
WAIT_MS = 30000


@pytest.fixture(scope="module")
def menu_for():
    """choices -> the menu's new texts (best first) and details that the server gives pygls's client
    at the end of BUFFER with that setting."""
    menus = {}
    with LspClient(["--models", PRETRAINED]) as client:
        client.open("file:///p/main.py", BUFFER)
        for choices in (0, 2, 3):
            client.configure({"tabcomplete": {"choices": choices}})
            items = sorted(client.complete("file:///p/main.py", 6, len(LAST_LINE)).items, key=lambda i: i.sort_text)
            assert items, "the shipped model offers nothing here; nothing for an editor to show"
            menus[choices] = [item.text_edit.new_text for item in items], [item.detail for item in items]
    return menus


@pytest.mark.skipif(shutil.which("nvim") is None, reason="needs Neovim 0.7+ (apt-get install neovim)")
def test_neovim_start_client_and_omnifunc_get_the_menu(menu_for, tmp_path):
    pynvim = pytest.importorskip("pynvim")
    texts, details = menu_for[2]
    nvim = pynvim.attach("child", argv=["nvim", "--embed", "--headless", "-u", "NONE", "-i", "NONE", "-n", "--noplugin"])
    try:
        nvim.command(f"edit {tmp_path / 'main.py'}")
        nvim.current.buffer[:] = BUFFER.split("\n")
        nvim.command("setfiletype python")
        # As docs/editors.md configures it: the settings (choices 2) override initializationOptions
        # (choices 3) once on_init sends them, which Neovim 0.7 leaves to the configuration.
        ready = nvim.exec_lua("""
            local cmd, root, wait_ms = ...
            local id = vim.lsp.start_client({
              name = 'tabcomplete', cmd = cmd, root_dir = root,
              init_options = { choices = 3 }, settings = { tabcomplete = { choices = 2 } },
              on_init = function(client)
                client.notify('workspace/didChangeConfiguration', { settings = client.config.settings })
              end,
            })
            vim.lsp.buf_attach_client(0, id)
            vim.bo.omnifunc = 'v:lua.vim.lsp.omnifunc'
            return vim.wait(wait_ms, function()
              local client = vim.lsp.get_client_by_id(id)
              return client ~= nil and client.initialized
            end, 10)
        """, SERVER, str(tmp_path), WAIT_MS)
        assert ready, "Neovim's client never got the server initialized"
        nvim.input("GA<C-x><C-o>")
        shown = nvim.exec_lua("return vim.wait(..., function() return #vim.fn.complete_info({'items'}).items > 0 end, 10)",
                              WAIT_MS)
        assert shown, "no completion menu"
        info = nvim.call("complete_info", ["items", "selected"])
        assert [item["word"] for item in info["items"]] == texts
        assert [item["menu"] for item in info["items"]] == details
        # The first item is selected and typed in: it replaced the word before the cursor.
        assert nvim.current.buffer[-1] == LAST_LINE[:-len(TYPED)] + texts[0]
        assert nvim.exec_lua("return #vim.lsp.get_active_clients()") == 1
    finally:
        nvim.close()


ELISP = r"""
(require 'package)
(package-initialize)
(require 'eglot)
(require 'json)
(setq eglot-sync-connect t)
(find-file (getenv "LSP_FILE"))
(eglot '(python-mode) (cons 'transient (file-name-directory (getenv "LSP_FILE"))) 'eglot-lsp-server
       (append (json-read-from-string (getenv "LSP_SERVER")) '(:initializationOptions (:choices 3)))
       "python")
(goto-char (point-max))
;; The menu as completion-at-point sees it: the candidates for the word typed, in the table's order.
(let* ((capf (eglot-completion-at-point))
       (table (nth 2 capf))
       (typed (buffer-substring (nth 0 capf) (nth 1 capf)))
       (sort (cdr (assq 'display-sort-function (cdr (funcall table "" nil 'metadata))))))
  (princ (format "CANDIDATES:%s\n" (json-encode (vconcat (funcall sort (all-completions typed table)))))))
;; The completion alone (choices 0, sent as didChangeConfiguration), typed in by completion-at-point.
(setq-default eglot-workspace-configuration '((:tabcomplete . (:choices 0))))
(eglot-signal-didChangeConfiguration (eglot-current-server))
(completion-at-point)
(princ (format "LINE:%s\n" (json-encode (buffer-substring (line-beginning-position) (line-end-position)))))
(eglot-shutdown (eglot-current-server))
(kill-emacs 0)
"""


@pytest.mark.skipif(shutil.which("emacs") is None, reason="needs Emacs with eglot (apt-get install emacs-nox elpa-eglot)")
def test_emacs_eglot_completion_at_point_types_the_completion(menu_for, tmp_path):
    texts, _ = menu_for[3]
    completion, _ = menu_for[0]
    source = tmp_path / "main.py"
    source.write_text(BUFFER)
    script = tmp_path / "check.el"
    script.write_text(ELISP)
    # -q, not -Q: Debian's site start-up puts its elpa-* packages (eglot) where package-initialize finds them.
    done = subprocess.run(["emacs", "-q", "--batch", "-l", str(script)], capture_output=True, text=True, timeout=120,
                          check=False, stdin=subprocess.DEVNULL,
                          env={**os.environ, "LSP_FILE": str(source), "LSP_SERVER": json.dumps(SERVER)})
    if "Cannot open load file" in done.stderr and "eglot" in done.stderr:
        pytest.skip("Emacs is here but eglot is not (apt-get install elpa-eglot)")
    assert done.returncode == 0, done.stderr[-3000:]
    said = dict(line.split(":", 1) for line in done.stdout.splitlines() if line.startswith(("CANDIDATES:", "LINE:")))
    assert json.loads(said["CANDIDATES"]) == texts
    assert json.loads(said["LINE"]) == LAST_LINE[:-len(TYPED)] + completion[0]
