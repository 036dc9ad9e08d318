"""server/worker.py: its parts on their own (the refusal table, the JSON answer, the strict chunked
reader), then the worker under a real gunicorn, over real sockets: the write deadline and the
connection cap. (More of it runs in test_server_gunicorn.py and test_servercheck_reliability.py.)"""
import json
import re
import socket
import time

import pytest
import requests
from gunicorn.http import errors
from gunicorn.http.unreader import IterUnreader
from werkzeug.exceptions import RequestEntityTooLarge

from server.worker import StrictChunkedReader, json_error, refusal
from servercheck import attacks
from servercheck.reliability import pad_models_answer
from servercheck.server import Server
from tests.server_helpers import make_models_dir


def test_gunicorn_refusals_map_to_4xx_json_without_the_request_bytes():
    secret = b"private code"
    cases = [(errors.LimitRequestLine(9000, 8190), 414), (errors.LimitRequestHeaders("too many"), 431),
             (errors.ExpectationFailed("x"), 417), (errors.InvalidChunkSize(secret), 400),
             (errors.InvalidHeader("CONTENT-LENGTH"), 400), (errors.UnsupportedTransferCoding("gzip"), 400),
             (errors.ConfigurationProblem("path"), 400), (errors.InvalidRequestLine(secret), 400)]
    for exc, status in cases:
        got, code, message = refusal(exc)
        assert got == status and code and "private" not in message
    assert refusal(ValueError("bug"))[0] == 500
    answer = json_error(431, "header_fields_too_large", "too many")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Connection: close" in head and b"Content-Type: application/json" in head
    assert json.loads(body) == {"error": {"code": "header_fields_too_large", "message": "too many"}}


class FakeRequest:
    trailers = None

    def parse_headers(self, data, from_trailer=False):
        return []


def read_all(chunks, max_bytes=1000):
    reader = StrictChunkedReader(FakeRequest(), IterUnreader(iter(chunks)), max_bytes)
    out = b""
    for _ in range(100):
        part = reader.read(64)
        if not part:
            return out
        out += part
    raise AssertionError("did not end")


def test_strict_chunked_reader_reads_valid_bodies():
    assert read_all([b"5\r\nhello\r\n0\r\n\r\n"]) == b"hello"
    assert read_all([b"5;ext=1\r\nhel", b"lo\r\n3 ;x\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"]) == b"helloabc"
    assert read_all([b"0000000000000003\r\nabc\r\n0\r\n\r\n"]) == b"abc"  # leading zeros are a small size
    assert read_all([b"3e8\r\n" + b"a" * 1000 + b"\r\n0\r\n\r\n"]) == b"a" * 1000  # exactly the limit


@pytest.mark.parametrize("first", [b"zz", b"5\n", b"-5", b"0x5", b"5 5"])
def test_strict_chunked_reader_refuses_a_bad_size_line_before_its_end(first):
    # Only these bytes ever arrive: the reader must refuse them, not wait for a line end.
    with pytest.raises(errors.InvalidChunkSize):
        read_all([first, b""])


@pytest.mark.parametrize("chunks", [[b"3e9"], [b"f" * 40], [b"200\r\n" + b"a" * 512 + b"\r\n200"]])
def test_strict_chunked_reader_refuses_sizes_over_the_limit_at_once(chunks):
    with pytest.raises(RequestEntityTooLarge):
        read_all(chunks + [b""])


# -- under a real gunicorn ---------------------------------------------------------------------------

def served(tiny_model, tmp_path, env, pad=0):
    """A gunicorn of one worker on a copy of the tiny model (its /models answer `pad` bytes longer)."""
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    if pad:
        pad_models_answer(models, pad)
    (tmp_path / "tmp").mkdir()
    return Server(models, str(tmp_path), 1, {"TMPDIR": str(tmp_path / "tmp"), **env}).start()


def wait_for(condition, what, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


def dropped(server, reason):
    return server.log_text().count(f'"event": "connection_dropped", "reason": "{reason}"')


def metric(server, name):
    text = requests.get(server.url + "/metrics", timeout=10).text
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def test_an_answer_the_client_does_not_take_in_time_is_dropped(tiny_model, tmp_path):
    """Clients of a real network's segment size ask for an answer larger than the kernel holds for
    them (400 kB of /models) and read nothing: past the write deadline the worker drops each one,
    resets the connection and holds nothing; the answers never arrive whole."""
    server = served(tiny_model, tmp_path, {"TABCOMPLETE_WRITE_TIMEOUT": "1"}, pad=400_000)
    try:
        socks = attacks.open_never_reading(server.port, 6, attacks.raw_request("GET", "/models"),
                                           mss=attacks.NETWORK_MSS)
        try:
            wait_for(lambda: dropped(server, "write_timeout") >= 6, "6 answers dropped at the write deadline")
            assert attacks.server_connections(server.port) == 0
        finally:
            answers = attacks.what_came(socks)
        assert answers["complete"] == 0 and answers["cut"] + answers["reset"] == 6, answers
        assert metric(server, 'tabcomplete_connections_dropped_total{reason="write_timeout"}') == 6
        # A client that reads gets the same answer whole.
        assert len(requests.get(server.url + "/models", timeout=30).content) > 400_000
    finally:
        server.stop()
    assert "Traceback" not in server.log_text()


def hold(port, count):
    """`count` connections that sent one byte of a request line and wait (oldest first)."""
    attacks.raise_open_files_limit(count + 200)
    conns = []
    try:
        for _ in range(count):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conns.append(conn)
            conn.sendall(b"P")
    except BaseException:
        for conn in conns:
            conn.close()
        raise
    return conns


def test_a_whole_request_is_answered_beside_more_slow_connections_than_gunicorn_held(tiny_model, tmp_path):
    """1,100 connections waiting for their headers (gunicorn's own cap was 1,000 a worker, and a
    worker at its cap stopped accepting): a whole request is still answered, at once."""
    server = served(tiny_model, tmp_path, {"TABCOMPLETE_HEADER_TIMEOUT": "60"})
    conns = hold(server.port, 1100)
    try:
        answer = requests.post(server.url + "/complete", json={"text": "x = "}, timeout=10)
        assert answer.status_code == 200
        assert dropped(server, "shed") == 0
    finally:
        for conn in conns:
            conn.close()
        server.stop()


def test_at_the_cap_the_connection_waiting_longest_for_its_headers_is_shed(tiny_model, tmp_path):
    server = served(tiny_model, tmp_path, {"TABCOMPLETE_HEADER_TIMEOUT": "60", "TABCOMPLETE_MAX_CONNECTIONS": "20"})
    conns = hold(server.port, 30)
    try:
        answer = requests.post(server.url + "/complete", json={"text": "x = "}, timeout=10)
        assert answer.status_code == 200
        conns[0].settimeout(10)
        assert conns[0].recv(1) == b""  # the oldest was shed: closed, nothing answered
        conns[-1].setblocking(False)
        with pytest.raises(BlockingIOError):
            conns[-1].recv(1)  # the newest still waits for the rest of its request
        assert dropped(server, "shed") >= 10
    finally:
        for conn in conns:
            conn.close()
        server.stop()
