"""The reliability suite (servercheck/reliability.py) in its bounded form: a real gunicorn with the shipped
model, real sockets: framing and Host probes, hostile bodies (huge numbers, megabyte echoes), clients
that never read, a flood of slow connections, slow clients under a short load test, kill -9 of a
worker, the model copy lost, a model dir broken on disk after start-up, kill -9 of the master, a
full temp dir (a real tmpfs), and model dirs refused at start-up."""
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


def test_hostile_bodies_get_small_json_errors_and_never_a_5xx(quick_run):
    _, report, _ = quick_run
    hostile = report["hostile"]
    assert hostile["cases"] >= 300 and hostile["failed"] == [], hostile
    assert not any(status.startswith("5") for status in hostile["statuses"]), hostile
    assert 0 < hostile["largest_error_bytes"] < 4096, hostile


def test_clients_that_never_read_are_let_go_and_their_memory_with_them(quick_run):
    _, report, _ = quick_run
    never = report["never_reading"]
    for attack in ("unknown_keys_posted", "models_asked"):
        assert never[attack]["sent"] == never[attack]["clients"] > 0, never
        assert never[attack]["held_by_server_after_wait"] == 0, never
    assert never["models_asked"]["answers"]["complete"] == 0, never  # dropped at the write deadline
    assert never["rss_growth"] and all(g <= 0.10 for g in never["rss_growth"].values()), never


def test_a_flood_of_slow_connections_leaves_a_normal_client_served(quick_run):
    _, report, _ = quick_run
    flood = report["flood"]
    assert flood["slow_opened"] >= flood["slow_connections"] and flood["slow_cut_by_server"] > 0, flood
    assert flood["normal"]["errors"] == 0 and flood["normal"]["requests"] > 0, flood
    assert set(flood["normal"]["statuses"]) == {"200"}, flood


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
    lost = report["lost_model_copy"]
    assert lost["removed"] == 1 and lost["server_running"] and lost["copy_made_again"], lost
    after = lost["load_after_replacement"]
    assert after["requests"] > 0 and after["5xx"] + after["connection_errors"] + after["timeouts"] == 0, lost
    assert report["kill_master"] == {"workers_exited": True, "pid_file_left": False, "left_in_temp": []}


def test_a_full_temp_dir_stops_neither_workers_nor_completions(quick_run):
    _, report, _ = quick_run
    full = report["full_temp_dir"]
    if "not_run" in full:
        assert os.geteuid() != 0, full  # root can always mount a tmpfs of its own
        pytest.skip(full["not_run"])
    assert full["filled_bytes"] > 0 and full["replacement_booted"] and full["server_running"], full
    assert not full["sigbus"] and full["metrics_status"] == 200 and full["metrics_failures"] > 0, full
    load = full["load_while_full"]
    assert load["requests"] > 0 and load["5xx"] + load["connection_errors"] + load["timeouts"] == 0, full


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
