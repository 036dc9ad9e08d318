"""server/worker.py's parts on their own: the refusal table, the JSON answer, the strict chunked reader.
(The worker itself runs under a real gunicorn in test_server_gunicorn.py and test_servercheck_reliability.py.)"""
import json

import pytest
from gunicorn.http import errors
from gunicorn.http.unreader import IterUnreader
from werkzeug.exceptions import RequestEntityTooLarge

from server.worker import StrictChunkedReader, json_error, refusal


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
