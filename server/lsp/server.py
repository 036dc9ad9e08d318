"""The language server: pygls, its handlers, and when a request is answered.

    server = create_server(LocalModels())      # or RemoteServer(url, token)
    server.start_io()                           # stdio; server.start_tcp(host, port)

Requests are handled on pygls's event loop and the model runs on one thread of its own, so the
loop goes on reading the editor's messages while a completion is computed: a change, a
$/cancelRequest (the request then ends with RequestCancelled and nothing is computed after the
cancel), the next request. An automatic inline request first waits `debounceMs` for the next
keystroke; a keystroke in that document meanwhile answers it with nothing, and so does an answer
whose document changed while the model ran. Nothing here ever raises into the editor: bad
requests get an InvalidParams error, failures a line in the client's log (window/logMessage), a
language without a model an empty answer (and one line in the log saying so).
"""
import asyncio
import collections
import os
import stat
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

import cattrs
from lsprotocol import types
from pygls.capabilities import ServerCapabilitiesBuilder
from pygls.exceptions import FeatureRequestError, JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from server.lsp import items
from server.lsp.backend import BackendError, NoModel, request_body
from server.lsp.documents import Documents, UnknownDocument, position_at
from server.lsp.settings import DEFAULTS, updated

REFUSED = object()  # a request that could not be read, already answered with an error


class Protocol(LanguageServerProtocol):
    """pygls's protocol with the documents kept in server.lsp.documents (LSP's own line breaks),
    and a request whose params do not fit the protocol answered with InvalidParams naming the
    field (pygls alone would log it and leave the editor waiting)."""

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params):
        doc = params.text_document
        self._server.documents.open(doc.uri, doc.language_id, doc.version, doc.text)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params):
        changes = [(None, c.text) if isinstance(c, types.TextDocumentContentChangeWholeDocument) else
                   (((c.range.start.line, c.range.start.character), (c.range.end.line, c.range.end.character)), c.text)
                   for c in params.content_changes]
        try:
            self._server.documents.change(params.text_document.uri, params.text_document.version, changes)
        except UnknownDocument as err:
            self._server.log(types.MessageType.Error, f"didChange: {err}")
        self._server.typed(params.text_document.uri)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params):
        self._server.documents.close(params.text_document.uri)
        self._server.typed(params.text_document.uri)

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as err:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise
            cause = err.__cause__
            where = "; ".join(cattrs.transform_error(cause)[:3]) if isinstance(cause, cattrs.BaseValidationError) else ""
            message = f"{str(data['method'])[:100]}: params do not fit the protocol" + (f" ({where})" if where else "")
            self._send_response(data["id"], error=JsonRpcInvalidParams(message).to_response_error())
            return REFUSED

    def handle_message(self, message):
        if message is REFUSED:
            return
        if getattr(message, "method", None) in (types.TEXT_DOCUMENT_INLINE_COMPLETION, types.TEXT_DOCUMENT_COMPLETION):
            self._server.arrived(message.id, message.params.text_document.uri)
        super().handle_message(message)


class TabcompleteServer(LanguageServer):
    def __init__(self, backend):
        try:
            version = metadata.version("tabcomplete")
        except metadata.PackageNotFoundError:
            version = "unknown"
        super().__init__("tabcomplete", version, protocol_cls=Protocol)
        self.backend = backend
        self.documents = Documents()
        self.settings = dict(DEFAULTS)
        self.pending_errors = []
        self.model_thread = ThreadPoolExecutor(1, thread_name_prefix="tabcomplete-model")
        self.next_change = {}          # uri -> future set by that document's next change
        # request id -> its document's version when it arrived: a handler starts on a later turn
        # of the loop, after changes read meanwhile, and must know it was overtaken.
        self.versions_at_arrival = collections.OrderedDict()
        self.said_no_model = set()     # languages already logged as having no model

    def start_io(self, stdin=None, stdout=None):
        """pygls's stdio loop, with stdin read on the event loop itself: pygls reads each header
        line and body on a thread of its pool, four thread switches a message, which a busy
        machine turns into milliseconds of wait. A stdin that is neither a pipe nor a socket (as
        libuv's editors give) is left to pygls."""
        stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer

        async def serve():
            reader = asyncio.StreamReader()
            await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
            await run_async(stop_event=self._stop_event, reader=reader, protocol=self.protocol,
                            error_handler=self.report_server_error)

        mode = os.fstat(stdin.fileno()).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return super().start_io(stdin, stdout)
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))
        try:
            asyncio.run(serve())
        except (BrokenPipeError, KeyboardInterrupt, SystemExit):
            pass  # the editor went away, or asked us to exit
        finally:
            self.shutdown()

    def log(self, kind, message):
        self.window_log_message(types.LogMessageParams(type=kind, message=f"tabcomplete: {message}"))

    def report_server_error(self, error, source):
        # A request's error is its answer; anything else (a notification that failed) goes to the log.
        if source is not FeatureRequestError:
            self.log(types.MessageType.Error, f"{type(error).__name__}: {error}")

    def configure(self, raw):
        self.settings, errors = updated(self.settings, raw)
        return errors

    def arrived(self, msg_id, uri):
        document = self.documents.open_documents.get(uri)
        if document is not None:
            self.versions_at_arrival[msg_id] = document.version
            while len(self.versions_at_arrival) > 256:  # requests cancelled before they began leave theirs
                self.versions_at_arrival.popitem(last=False)

    def typed(self, uri):
        """A document changed (or closed): requests waiting on it for a keystroke are superseded."""
        waiter = self.next_change.pop(uri, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def superseded_within(self, uri, seconds):
        """Whether the document changes within `seconds` (returns as soon as it does)."""
        waiter = self.next_change.get(uri)
        if waiter is None:
            waiter = self.next_change[uri] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), seconds)
            return True
        except TimeoutError:
            return False

    async def answer(self, params, automatic, choices):
        """The /complete answer and the cursor for a request, or None: nothing to say."""
        try:
            document = self.documents.get(params.text_document.uri)
        except UnknownDocument as err:
            raise JsonRpcInvalidParams(str(err)) from None
        settings = {**self.settings, "choices": choices if choices is not None else self.settings["choices"]}
        if not settings["enabled"]:
            return None
        self.documents.touch(document)
        version = self.versions_at_arrival.pop(self.protocol.msg_id, document.version)
        if document.version != version:
            return None  # typed since the request was sent
        if automatic and settings["debounceMs"] and await self.superseded_within(document.uri,
                                                                                 settings["debounceMs"] / 1000):
            return None
        if self.documents.open_documents.get(document.uri) is not document:
            return None  # closed (and maybe opened again) meanwhile
        offset = self.documents.offset(document, params.position.line, params.position.character)
        line_start = max(document.text.rfind("\n", 0, offset), document.text.rfind("\r", 0, offset)) + 1
        line_prefix = document.text[line_start:offset]
        if not line_prefix.strip(" \t"):
            return None  # the plug-ins' rule: in indentation a Tab indents, no completion
        files = self.documents.other_files(document, settings["filesBudget"]) if settings["filesBudget"] else []
        body = request_body(document, offset, settings, files)
        try:
            answer = await asyncio.get_running_loop().run_in_executor(
                self.model_thread, self.backend.complete, body, settings["timeoutMs"])
        except NoModel as err:
            if document.language not in self.said_no_model:
                self.said_no_model.add(document.language)
                self.log(types.MessageType.Info, f"nothing to complete in {document.language!r} documents: {err}")
            return None
        except BackendError as err:
            self.log(types.MessageType.Error, str(err))
            return None
        except Exception as err:  # noqa: BLE001 - a bug must reach the editor as a line in its log, no more
            self.log(types.MessageType.Error, f"completion failed ({type(err).__name__}: {err})")
            return None
        if document.version != version or self.documents.open_documents.get(document.uri) is not document:
            return None  # typed meanwhile: the answer is for text that is gone
        return answer, document, offset, line_prefix


def create_server(backend):
    """The language server, its features registered, completing with backend (server.lsp.backend)."""
    server = TabcompleteServer(backend)

    @server.feature(types.INITIALIZE)
    def initialize(ls, params):
        ls.documents.encoding = ServerCapabilitiesBuilder.choose_position_encoding(params.capabilities)
        ls.pending_errors = ls.configure(params.initialization_options)

    @server.feature(types.INITIALIZED)
    def initialized(ls, params):
        ls.log(types.MessageType.Info, ls.backend.describe())
        for error in ls.pending_errors:
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"tabcomplete: {error}"))
        ls.pending_errors = []

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls, params):
        for error in ls.configure(params.settings):
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"tabcomplete: {error}"))

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions(work_done_progress=False))
    async def inline_completion(ls, params):
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
        found = await ls.answer(params, automatic, choices=0)
        return items.inline_items(found[0], params.position) if found else None

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
    async def completion(ls, params):
        automatic = (params.context is not None and params.context.trigger_kind ==
                     types.CompletionTriggerKind.TriggerForIncompleteCompletions)
        found = await ls.answer(params, automatic, choices=None)
        if not found:
            return types.CompletionList(is_incomplete=True, items=[])
        answer, document, offset, line_prefix = found
        word = items.word_before(line_prefix)
        encoding = ls.documents.encoding
        start = types.Position(*position_at(document.text, offset - len(word), encoding))
        cursor = types.Position(*position_at(document.text, offset, encoding))
        return items.menu(answer, word, start, cursor)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls, params):
        ls.model_thread.shutdown(wait=False, cancel_futures=True)

    return server
