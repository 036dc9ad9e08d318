"""The reliability suite (servercheck/reliability.py) in its bounded form: a real gunicorn with the shipped
model, real sockets, slow clients under a short load test, framing and Host probes, kill -9 of a
worker, a model dir broken on disk after start-up, and model dirs refused at start-up."""
import json
import os
import subprocess
import sys

import pytest

from servercheck import reliability

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def quick_run():
    out = subprocess.run([sys.executable, "-m", "servercheck.reliability", "--quick", "--verbose", "--json"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    return out.returncode, report, out.stderr


def test_quick_run_passes_every_check(quick_run):
    code, report, stderr = quick_run
    assert report["checks"] and all(report["checks"].values()), (report["checks"], stderr[-2000:])
    assert report["ok"] and code == 0


def test_every_framing_probe_is_answered_with_json_in_under_a_second(quick_run):
    _, report, _ = quick_run
    framing = report["framing"]
    assert framing["probes"] >= 40 and framing["failed"] == []
    results = framing["results"]
    assert all(r["ms"] < 1000 for r in results.values()), results
    assert not any(r["status"] >= 500 for r in results.values()), results
    for name in ("chunk_not_hex", "chunk_negative", "chunk_bare_lf", "chunk_no_terminator", "content_length_twice",
                 "content_length_not_a_number", "transfer_encoding_gzip", "tls_client_hello"):
        assert results[name]["status"] == 400, (name, results[name])
    assert results["chunked_oversized"] == {**results["chunked_oversized"], "status": 413, "error": "body_too_large"}
    assert results["content_length_lie_50mb"]["status"] == 413
    assert [results[n]["status"] for n in ("uri_too_long_414", "expect_417", "too_many_headers_431")] == [414, 417, 431]
    assert results["host_attacker"]["error"] == "host_not_allowed"
    assert [results[n]["status"] for n in ("host_127", "host_localhost", "host_ipv6")] == [200, 200, 200]
    assert results["token_missing_metrics"]["status"] == 401 and results["token_good_metrics"]["status"] == 200
    assert results["script_name_header"]["status"] < 500


def test_slow_clients_are_cut_and_hold_nobody_up(quick_run):
    _, report, _ = quick_run
    load = report["slow_load"]
    assert load["requests"] > 0 and load["5xx"] == 0 and load["timeouts"] == 0 and load["connection_errors"] == 0
    slow = load["slow"]
    ended = slow["ended_by_server"]
    # Both kinds were cut by the server's deadlines (headers: 1 s, body: 2 s in the quick run) ...
    assert any(k.startswith("header:") for k in ended) and ended.get("body:408", 0) >= 1, slow
    assert slow["longest_held_s"] < 2.0 + 1.5, slow
    # ... while the load test's requests went on (a bound for a loaded machine, not the target).
    assert load["max_ms"] < 3000, load


def test_faults(quick_run):
    _, report, _ = quick_run
    assert report["kill_worker"]["5xx"] == 0 and report["kill_worker"]["health_after"] == 200
    assert report["model_dir_broken"]["server_running"] and set(report["model_dir_broken"]["statuses"]) == {200}
    refused = report["refused_at_start"]
    assert set(refused) >= {"meta_language_5", "meta_not_json", "model_keras_truncated", "vocab_not_json"}
    for name, case in refused.items():
        assert case["exit"] == 1 and case["names_file"] and not case["traceback"], (name, case)
    assert "meta.json" in refused["meta_language_5"]["message"]
    assert report["logs"]["marker_found"] is False and report["logs"]["tracebacks"] == 0


def test_exchange_reads_one_answer_to_its_content_length():
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer():
        conn, _ = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")
            conn.recv(1024)  # keeps the connection open: exchange must stop at Content-Length

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        status, head, body, seconds = reliability.exchange(port, reliability.request("GET", "/"), seconds=5)
    finally:
        listener.close()
    assert (status, body) == (400, b"{}") and seconds < 5
