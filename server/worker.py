"""The gunicorn worker the server runs: gunicorn's gevent worker, with deadlines and JSON refusals.

    worker_class = "server.worker.Worker"      (server/gunicorn.conf.py)

Why gevent (measured; docs/operations.md, "Slow clients, hostile input and faults"): a sync worker reads a request on the process
that computes completions, so one client sending its headers at a byte a second holds that
worker until gunicorn kills it (30 s); two such clients stop a 2-worker server. A gevent
worker reads every connection in a greenlet: a client that stalls waits on its own socket and
costs nothing, while the worker computes other completions. The CPU work itself is not
cooperative (a completion runs to its end without yielding), which is what a CPU-bound
worker should do.

What this class adds to gunicorn's GeventWorker:
- one request per connection (Connection: close), as gunicorn's sync worker: a keep-alive
  connection stays with the worker that accepted it, and with them the load test's p99 doubled;
  a new connection goes to whichever worker accepts it first, i.e. one that is not computing;
- a header deadline: a connection's request line and headers must arrive within HEADER_SECONDS
  of its accept, else it is closed (no answer: the request is not known);
- a body deadline: the body must arrive within BODY_SECONDS of the headers, in all; a read past
  it raises TimeoutError, which the app answers with 408 (server/hooks.py);
- a chunked body is refused as soon as a size line cannot be valid (400) or announces more than
  the body limit (413), instead of waiting for what may never come;
- a connection whose first byte cannot start an HTTP request (a TLS handshake, binary junk) is
  answered 400 at once instead of waiting for a line ending;
- gunicorn's own refusals (400, 414, 417, 431) are JSON {"error": {code, message}} like the
  app's, and their log lines name the error, never the request's bytes;
- a write deadline: a client must take the whole answer within WRITE_SECONDS of its first byte,
  else the answer is dropped, the connection reset (the kernel frees what it still held) and the
  request's memory freed with its greenlet (a client that never reads held its connection, its
  body and its answer for ever);
- a connection cap with early refusal: at MAX_CONNECTIONS the connection that has waited longest
  for its headers is shed to make room, so a flood of slow connections never stops the worker
  accepting a request that is whole (gunicorn's own cap, worker_connections, stops accepting);
- memory handed back after large bodies and answers: glibc keeps the memory of freed megabyte
  buffers for itself (a worker that read 200 bodies of 1 MB stayed 18% larger for good), and a
  dropped answer waits in a reference cycle for a full collection (100 dropped answers of 400 kB
  kept a worker 25% larger); once a second at most, between requests, the worker collects and
  calls malloc_trim;
- threads are not monkey-patched: the Completer pipelines the LSTM layers of a long buffer on
  real threads (numba releases the GIL), and those keep running in parallel.
"""
import contextvars
import ctypes
import gc
import json
import logging
import os
import resource
import socket
import struct
import time

import gevent
from gevent import monkey
from gunicorn.http import errors
from gunicorn.http.body import Body, ChunkedReader
from gunicorn.workers.ggevent import GeventWorker
from werkzeug.exceptions import RequestEntityTooLarge

from server.config import process_settings

log = logging.getLogger("tabcomplete")

# Seconds (TABCOMPLETE_HEADER_TIMEOUT / TABCOMPLETE_BODY_TIMEOUT, read in server/config.py).
HEADER_SECONDS = process_settings()["HEADER_TIMEOUT"]
BODY_SECONDS = process_settings()["BODY_TIMEOUT"]
WRITE_SECONDS = process_settings()["WRITE_TIMEOUT"]        # TABCOMPLETE_WRITE_TIMEOUT
MAX_CONNECTIONS = process_settings()["MAX_CONNECTIONS"]    # TABCOMPLETE_MAX_CONNECTIONS
TRIM_AFTER_BYTES = 256 * 1024  # a body or an answer this large (or a chunked body) has the heap trimmed after it
SPARE_FILES = 256              # descriptors kept for what is not a connection (logs, models, metrics)
LINGER_SECONDS = 1.0          # after a refusal: time to read what the client still sends, then close
LINGER_MAX_BYTES = 256 * 1024

try:
    _LIBC = ctypes.CDLL(None)  # this process's C library, for malloc_trim
except OSError:
    _LIBC = None

# When the connection's headers must have arrived (greenlet-local: one connection per greenlet).
_header_deadline = contextvars.ContextVar("header_deadline", default=None)

# A request starts with a method token; gunicorn's methods are upper case letters.
_METHOD_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# gunicorn error -> (status, code, message). Messages describe the fault, never quote the bytes.
REFUSALS = [
    (errors.LimitRequestLine, 414, "uri_too_long", "the request line is too long"),
    (errors.LimitRequestHeaders, 431, "header_fields_too_large",
     "too many header fields, or one is too long"),
    (errors.ExpectationFailed, 417, "expectation_failed", "only 'Expect: 100-continue' is supported"),
    ((errors.InvalidChunkSize, errors.ChunkMissingTerminator, errors.InvalidChunkExtension), 400,
     "invalid_chunked_body", "the chunked body is malformed"),
    (errors.UnsupportedTransferCoding, 400, "unsupported_transfer_coding",
     "Transfer-Encoding must be chunked (nothing else is supported)"),
    (errors.InvalidHeader, 400, "invalid_header",
     "a header is malformed or conflicts with another (Content-Length, Transfer-Encoding)"),
    (errors.InvalidHeaderName, 400, "invalid_header", "a header name is malformed"),
    (errors.ObsoleteFolding, 400, "invalid_header", "folded header lines are not accepted"),
    ((errors.InvalidRequestLine, errors.InvalidRequestMethod, errors.InvalidHTTPVersion), 400,
     "invalid_request_line", "the request line is malformed"),
    (errors.ConfigurationProblem, 400, "bad_request", "the request's path does not fit its SCRIPT_NAME"),
    (errors.ForbiddenProxyRequest, 403, "forbidden", "PROXY protocol is not accepted from this address"),
    (errors.ParseException, 400, "bad_request", "the request is malformed"),
]
REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 414: "URI Too Long",
           417: "Expectation Failed", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
           505: "HTTP Version Not Supported"}
SPOKEN = ((1, 0), (1, 1))  # HTTP versions answered; gunicorn parses any 1.x and would echo it back


def refusal(exc):
    """(status, code, message) for an error gunicorn raised before the app saw the request."""
    for kinds, status, code, message in REFUSALS:
        if isinstance(exc, kinds):
            return status, code, message
    return 500, "internal", "internal server error (a bug; see the log)"


def json_error(status, code, message):
    """A complete HTTP/1.1 error answer that closes the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


class StrictChunkedReader(ChunkedReader):
    """gunicorn's reader of a chunked body, refusing at once what can only end badly instead of
    waiting (up to the body deadline) for a line end that may never come: a chunk-size line with
    a bare LF or a character that cannot be part of a size (400), and chunks adding up to more
    than max_bytes, known from the size line alone (413, as werkzeug's RequestEntityTooLarge)."""

    def __init__(self, req, unreader, max_bytes):
        super().__init__(req, unreader)
        self.max_bytes, self.total, self.in_size_line = max_bytes, 0, False

    def parse_chunk_size(self, unreader, data=None):
        self.in_size_line = True
        try:
            if data:
                self.check_size_line(data)
            size, rest = super().parse_chunk_size(unreader, data)
        finally:
            self.in_size_line = False
        self.total += size
        if self.total > self.max_bytes:
            raise RequestEntityTooLarge()
        return size, rest

    def parse_trailers(self, unreader, data):
        self.in_size_line = False
        return super().parse_trailers(unreader, data)

    def read_into(self, unreader, buf):
        super().read_into(unreader, buf)
        if self.in_size_line:
            self.check_size_line(buf)

    def check_size_line(self, buf):
        line = bytes(buf).split(b"\r\n", 1)[0]
        if b"\n" in line:
            raise errors.InvalidChunkSize(b"bare LF")
        digits = line.split(b";", 1)[0].rstrip(b" \t\r")  # BWS may precede ";", CR starts the line end
        if any(c not in b"0123456789abcdefABCDEF" for c in digits):
            raise errors.InvalidChunkSize(b"not a hex size")
        if digits and self.total + int(digits, 16) > self.max_bytes:
            raise RequestEntityTooLarge()  # more digits only make it larger


class DeadlineBody:
    """A request body (gunicorn's Body) whose reads all end by `deadline` (time.monotonic()), in
    all: a read still waiting then raises TimeoutError, however the bytes trickle in (a socket
    timeout would only bound the wait for each next byte)."""

    def __init__(self, body, deadline):
        self._body, self._deadline = body, deadline

    def _bounded(self, read, *args):
        left = self._deadline - time.monotonic()
        if left <= 0:
            self._body.failed = True  # the rest of the body is unknown: the connection must close
            raise TimeoutError("request body deadline passed")
        with gevent.Timeout(left, TimeoutError("request body deadline passed")):
            return read(*args)

    def read(self, size=None):
        return self._bounded(self._body.read, size)

    def readline(self, size=None):
        return self._bounded(self._body.readline, size)

    def readlines(self, size=None):
        return self._bounded(self._body.readlines, size)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration()
        return line

    def __getattr__(self, name):  # failed, reader, ... of the wrapped Body
        return getattr(self._body, name)


class WriteTimeout(TimeoutError):
    """The client did not take its answer within the write deadline."""


class DeadlineSocket:
    """A connection whose writes of one answer all end by `seconds` after its first byte, in all
    (a socket timeout would bound only each wait, and a client taking a byte now and then would
    hold it for ever): a write still waiting then raises WriteTimeout."""

    def __init__(self, sock, seconds):
        self._sock, self._seconds, self._deadline = sock, seconds, None
        self.written = 0  # bytes handed to sendall, taken or not

    def sendall(self, data, *flags):
        self.written += len(data)
        if self._deadline is None:
            self._deadline = time.monotonic() + self._seconds
        late = WriteTimeout(f"the client did not take the answer within {self._seconds:g} s")
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise late
        with gevent.Timeout(left, late):
            return self._sock.sendall(data, *flags)

    def sendfile(self, *args, **kwargs):  # gunicorn.conf.py turns sendfile off: every write is a sendall
        raise NotImplementedError("sendfile would pass the write deadline by")

    def __getattr__(self, name):  # recv, send, fileno, ... of the socket
        return getattr(self._sock, name)


def trim_heap():
    """Hand the heap's free memory back to the system (glibc's malloc_trim; elsewhere nothing)."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def reset_on_close(sock):
    """Close `sock` with a reset: the kernel drops the answer it still holds for the client."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def body_is_large(req):
    if isinstance(req.body.reader, ChunkedReader):
        return True
    length = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), "0")
    return length.isdigit() and int(length) >= TRIM_AFTER_BYTES


class Worker(GeventWorker):

    def patch(self):
        monkey.patch_all(thread=False)  # real threads for the Completer's layer pipeline
        sockets = []
        for s in self.sockets:  # as GeventWorker.patch: gevent sockets on the inherited listeners
            sockets.append(socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach()))
        self.sockets = sockets

    def init_process(self):
        from server.config import load_config

        self.max_body_bytes = int(load_config()["MAX_BODY_BYTES"])
        self.max_connections = min(MAX_CONNECTIONS, open_files_limit(MAX_CONNECTIONS + SPARE_FILES) - SPARE_FILES)
        self.open_connections = 0
        self.waiting = {}  # connections still waiting for their headers, oldest first (a dict as an ordered set)
        self.trim_due = False
        super().init_process()

    def notify(self):  # every second, from the worker's main loop
        super().notify()
        if self.trim_due:
            # A dropped answer is freed with the exception that dropped it, whose traceback's frames
            # (the answer among their locals) form a cycle: collect it, then hand the heap back.
            self.trim_due = False
            gc.collect()
            trim_heap()

    def timeout_ctx(self):
        # Wraps the read of the request line and headers (gunicorn's keep-alive loop): what is
        # left of the header deadline, counted from the accept.
        deadline = _header_deadline.get()
        left = HEADER_SECONDS if deadline is None else deadline - time.monotonic()
        return gevent.Timeout(max(left, 0.001), False)

    def handle(self, listener, client, addr):
        self.open_connections += 1
        self.waiting[client] = None
        try:
            if self.open_connections >= self.max_connections:
                self.shed_oldest_waiting()
            self.handle_connection(listener, client, addr)
        finally:
            self.open_connections -= 1
            self.waiting.pop(client, None)

    def shed_oldest_waiting(self):
        """Make room: end the connection that has waited longest for its headers (a slow or idle
        client), never one whose request is whole."""
        for sock in self.waiting:  # oldest first
            del self.waiting[sock]
            try:
                sock.shutdown(socket.SHUT_RDWR)  # its greenlet's read ends (no answer: nothing was asked yet)
            except OSError:
                pass
            self.dropped("shed")
            return

    def dropped(self, reason):
        """A connection this worker ended before its answer was taken: logged and counted."""
        log.info(json.dumps({"ts": round(time.time(), 3), "pid": os.getpid(), "event": "connection_dropped",
                             "reason": reason}))
        self.wsgi.extensions["tabcomplete"]["metrics"].observe_dropped(reason)

    def handle_connection(self, listener, client, addr):
        _header_deadline.set(time.monotonic() + HEADER_SECONDS)
        client.setblocking(1)
        first = b""
        with gevent.Timeout(HEADER_SECONDS, False):
            try:
                first = client.recv(1, socket.MSG_PEEK)
            except OSError:
                first = b""
        if not first:  # closed, or silent past the header deadline
            client.close()
            return
        if first[0] not in _METHOD_START:
            self.refuse(client, 400, "not_http", "this port speaks plain HTTP/1.1 (no TLS, no binary protocols)")
            return
        super().handle(listener, client, addr)

    def handle_request(self, listener_name, req, sock, addr):
        # One request per connection, as gunicorn's sync worker: a keep-alive connection stays
        # with the worker that accepted it, and the load test's p99 doubled with them (docs/operations.md).
        # A new connection goes to whichever worker accepts first, i.e. one not computing.
        req.must_close = True
        self.waiting.pop(sock, None)  # its headers are in: never shed now
        if tuple(req.version) not in SPOKEN:
            self.refuse(sock, 505, "http_version_not_supported", "this server speaks HTTP/1.1 and HTTP/1.0")
            return False
        if req.body is not None and isinstance(req.body.reader, ChunkedReader):
            req.body = Body(StrictChunkedReader(req, req.unreader, self.max_body_bytes))
        large = req.body is not None and body_is_large(req)
        if req.body is not None:
            req.body = DeadlineBody(req.body, time.monotonic() + BODY_SECONDS)
        answer = DeadlineSocket(sock, WRITE_SECONDS)
        try:
            return super().handle_request(listener_name, req, answer, addr)
        except WriteTimeout:
            reset_on_close(sock)  # gunicorn closes it after this
            self.dropped("write_timeout")
            raise StopIteration() from None  # gunicorn's way to end a connection quietly
        finally:  # a large body or answer is freed now: the next notify() trims the heap
            self.trim_due = self.trim_due or large or answer.written >= TRIM_AFTER_BYTES

    def handle_error(self, req, client, addr, exc):
        status, code, message = refusal(exc)
        if status >= 500:
            # A bug: where it happened, without the exception's text (it may quote the request).
            log.error(json.dumps({"ts": round(time.time(), 3), "pid": os.getpid(), "event": "worker_error",
                                  "error": type(exc).__name__}), exc_info=(type(exc), None, exc.__traceback__))
        self.refuse(client, status, code, message, type(exc).__name__)

    def refuse(self, client, status, code, message, reason=None):
        record = {"ts": round(time.time(), 3), "pid": os.getpid(), "method": None, "path": None,
                  "status": status, "error": code, "refused_by": "worker"}
        if reason:
            record["reason"] = reason
        logging.getLogger("tabcomplete.access").info(json.dumps(record))
        try:
            client.settimeout(LINGER_SECONDS)
            client.sendall(json_error(status, code, message))
            # Lingering close: closing with unread bytes would send a reset, which can destroy the
            # answer before the client reads it. So stop writing, read what is left (bounded), close.
            client.shutdown(socket.SHUT_WR)
            deadline, drained = time.monotonic() + LINGER_SECONDS, 0
            while drained < LINGER_MAX_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                client.settimeout(left)
                chunk = client.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass
        finally:
            client.close()


def open_files_limit(wanted):
    """This process's limit on open descriptors, raised towards `wanted` within the hard limit
    (one descriptor a connection; many systems start at a soft limit of 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return wanted if soft == resource.RLIM_INFINITY else soft
