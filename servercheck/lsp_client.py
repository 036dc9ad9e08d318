"""A language client for python -m server.lsp: pygls's client on an event loop of its own, called
from plain (synchronous) code, as tests and servercheck.lsp_speed drive it.

    with LspClient(["--models", "model/pretrained"], {"choices": 3}) as client:
        client.open("file:///p/main.py", "import o")
        client.inline("file:///p/main.py", 0, 8)           # [InlineCompletionItem(...)] or None

Everything the server says in the client's log (window/logMessage, window/showMessage) is kept in
`messages`; what it prints on stderr in `stderr`. Every wait is bounded by `timeout` seconds.
"""
import asyncio
import os
import sys
import threading
import time
import uuid

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def position(line, character):
    return types.Position(line=line, character=character)


def span(start, end):
    """An LSP range from two (line, character) pairs."""
    return types.Range(position(*start), position(*end))


class LspClient:
    def __init__(self, args=(), init_options=None, timeout=60, capabilities=None, env=None, tcp=None):
        """args: python -m server.lsp's; tcp: (host, port) to start it with --tcp and connect there."""
        self.timeout = timeout
        self.messages, self.stderr = [], []
        self.open_uris = set()  # documents opened and not closed
        self.arrived = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = LanguageClient("tabcomplete-check", "1")
        for method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):  # pygls marks the function
            self.client.feature(method)(lambda ls, params: self._keep(params))
        self.started = time.perf_counter()
        command, env = [sys.executable, "-m", "server.lsp", *args], {**os.environ, **(env or {})}
        if tcp is None:
            self.run(self.client.start_io(*command, cwd=REPO, env=env))
            self.process = self.client._server
        else:
            self.process = self.run(self._start_tcp(command, env, *tcp))
        self.stderr_task = asyncio.run_coroutine_threadsafe(self._drain_stderr(), self.loop)
        try:
            self.capabilities = self.run(self.client.initialize_async(types.InitializeParams(
                capabilities=capabilities or types.ClientCapabilities(), process_id=os.getpid(),
                initialization_options=init_options))).capabilities
        except Exception:
            self.close()
            raise
        self.call(self.client.initialized, types.InitializedParams())

    async def _start_tcp(self, command, env, host, port):
        """Start the server on host:port, wait for the line saying it is about to listen, connect
        (again while the port refuses, within the timeout)."""
        process = await asyncio.create_subprocess_exec(*command, "--tcp", f"{host}:{port}", cwd=REPO, env=env,
                                                       stdin=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.PIPE)
        line = await process.stderr.readline()
        if b"serving LSP on" not in line:
            process.kill()
            raise RuntimeError(f"the server did not start: {line.decode('utf-8', 'replace')}")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                await self.client.start_tcp(host, port)
                return process
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    process.kill()
                    raise
                await asyncio.sleep(0.02)

    def _keep(self, params):
        with self.arrived:
            self.messages.append(params)
            self.arrived.notify_all()

    async def _drain_stderr(self):
        async for line in self.process.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))

    def run(self, coroutine):
        """Run a coroutine on the client's loop; its result (bounded wait)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(self.timeout)

    def call(self, function, *args):
        """Call a client method on the client's loop (its writes belong to that loop); what it returns."""
        async def on_loop():
            return function(*args)
        return self.run(on_loop())

    def request(self, method, params, msg_id=None):
        """Send a request; (its id, a concurrent Future of the answer)."""
        msg_id = msg_id or str(uuid.uuid4())
        return msg_id, self.call(self.client.protocol.send_request, method, params, None, msg_id)

    def answer(self, future):
        return future.result(self.timeout)

    def cancel(self, msg_id):
        self.call(self.client.protocol.notify, types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    # -- what an editor sends ----------------------------------------------------------------

    def open(self, uri, text, language="python", version=1):
        self.open_uris.add(uri)
        self.call(self.client.text_document_did_open, types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)))

    def change(self, uri, version, edits):
        """edits: [(((line, character), (line, character)), new text)], applied in order."""
        changes = [types.TextDocumentContentChangePartial(range=span(*where), text=text) for where, text in edits]
        self.call(self.client.text_document_did_change, types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version), changes))

    def close_document(self, uri):
        self.open_uris.discard(uri)
        self.call(self.client.text_document_did_close,
                  types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))

    def configure(self, settings):
        self.call(self.client.workspace_did_change_configuration,
                  types.DidChangeConfigurationParams(settings=settings))

    def inline_request(self, uri, line, character, automatic=False):
        kind = types.InlineCompletionTriggerKind.Automatic if automatic else types.InlineCompletionTriggerKind.Invoked
        return self.request(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=kind),
            text_document=types.TextDocumentIdentifier(uri=uri), position=position(line, character)))

    def inline(self, uri, line, character, automatic=False):
        return self.answer(self.inline_request(uri, line, character, automatic)[1])

    def complete(self, uri, line, character):
        _, future = self.request(types.TEXT_DOCUMENT_COMPLETION, types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position(line, character)))
        return self.answer(future)

    def errors(self):
        """The client's log lines of type Error."""
        return [m.message for m in self.messages if m.type == types.MessageType.Error]

    def wait_for_message(self, predicate):
        """The first message in the client's log matching predicate, polled within the timeout."""
        def found():
            return next((m for m in self.messages if predicate(m)), None)

        with self.arrived:
            if not self.arrived.wait_for(lambda: found() is not None, self.timeout):
                raise TimeoutError(f"no such message in the client's log: {[m.message for m in self.messages]}")
            return found()

    def close(self):
        """Shut the server down as an editor does (shutdown, exit), then stop the loop."""
        try:
            if self.process.returncode is None:
                self.run(self.client.shutdown_async(None))
                self.call(self.client.exit, None)
                if self.process.stdin is not None:
                    self.call(self.process.stdin.close)  # as an editor ends: the server's reader sees the end
                self.run(asyncio.wait_for(self.process.wait(), self.timeout))
        except Exception:
            if self.process.returncode is None:
                self.process.kill()
            raise
        finally:
            self.run(self.client.stop())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(self.timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
