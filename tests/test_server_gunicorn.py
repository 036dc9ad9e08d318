"""A real gunicorn (server/gunicorn.conf.py, 2 workers) started by the test, over real sockets."""
import contextlib
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.server_helpers import make_models_dir, make_project_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
SECRET = "very_private_code_marker"
WORKERS = 2


def stop(proc):
    """Stop a gunicorn master the way an operator would, killing it if it hangs."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def read_until(proc, pattern, count=1, seconds=90):
    """Read proc.stderr lines until `count` lines matched `pattern`; return the matches."""
    matches, seen, deadline = [], [], time.monotonic() + seconds
    while len(matches) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise AssertionError(f"gunicorn did not print {pattern!r} x{count}:\n" + "".join(seen[-40:]))
        ready, _, _ = select.select([proc.stderr], [], [], remaining)
        if ready:
            line = proc.stderr.readline()
            seen.append(line)
            m = re.search(pattern, line)
            if m:
                matches.append(m)
    return matches


def read_response(sock):
    """One HTTP response with a Content-Length, read whole (a bounded number of reads)."""
    data = b""
    for _ in range(100):
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = int(re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE).group(1))
            if len(body) >= length:
                return data.decode()
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode()


@pytest.fixture(scope="module")
def gunicorn(tiny_model, tmp_path_factory):
    models = make_models_dir(tiny_model, str(tmp_path_factory.mktemp("gmodels")), ("python", "javascript"))
    log_dir = tmp_path_factory.mktemp("glog")
    access_log = open(log_dir / "access.log", "w")
    env = {**os.environ, "TABCOMPLETE_MODELS": models, "TABCOMPLETE_MIN_PROB": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([GUNICORN, "-c", "server/gunicorn.conf.py", "--bind", "127.0.0.1:0",
                             "--workers", str(WORKERS)], cwd=REPO, env=env, stdout=access_log,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = read_until(proc, r"Listening at: http://127\.0\.0\.1:(\d+)")[0].group(1)
        read_until(proc, r'"event": "models_loaded"', count=WORKERS)  # each worker loaded, after its fork
        yield {"url": f"http://127.0.0.1:{port}", "port": int(port), "access_log": log_dir / "access.log",
               "proc": proc}
    finally:
        stop(proc)
        access_log.close()


def test_serves_completions_and_each_worker_loaded_its_own_models(gunicorn):
    response = requests.post(gunicorn["url"] + "/complete", json={"text": "def add(a, b):\n    return a"}, timeout=30)
    assert response.status_code == 200 and response.json()["model"] == "python"
    assert requests.get(gunicorn["url"] + "/health", timeout=10).json()["models"] == ["javascript", "python"]
    metrics = requests.get(gunicorn["url"] + "/metrics", timeout=10).text
    pids = set(re.findall(r'tabcomplete_model_load_seconds\{[^}]*pid="(\d+)"', metrics))
    assert len(pids) == WORKERS and str(gunicorn["proc"].pid) not in pids  # loaded in the workers, not the master


def test_answers_while_another_request_is_in_flight(gunicorn):
    # A client that sent half a request and waits: one worker thread is busy reading it.
    slow = socket.create_connection(("127.0.0.1", gunicorn["port"]), timeout=30)
    try:
        body = b'{"text": "def f(", "n": 1, "x": 12}'
        slow.sendall(b"POST /complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:12])
        answers = [requests.post(gunicorn["url"] + "/complete", json={"text": f"x = {i}\ny = "}, timeout=30)
                   for i in range(2 * WORKERS)]
        assert [a.status_code for a in answers] == [200] * (2 * WORKERS)
        slow.sendall(body[12:])  # the rest of the body: it is answered too
        reply = read_response(slow)
        assert reply.startswith("HTTP/1.1 400") and "unknown_field" in reply  # "x" is not a field
    finally:
        slow.close()


@pytest.mark.parametrize("version, answer", [("1.1", "HTTP/1.1 200"), ("1.0", "HTTP/1.0 200"),
                                             ("1.2", "HTTP/1.1 505"), ("1.9", "HTTP/1.1 505")])
def test_only_the_http_versions_it_speaks_are_answered(gunicorn, version, answer):
    with socket.create_connection(("127.0.0.1", gunicorn["port"]), timeout=30) as conn:
        conn.sendall(f"GET /health HTTP/{version}\r\nHost: 127.0.0.1\r\n\r\n".encode())
        reply = read_response(conn)
    assert reply.startswith(answer), reply[:80]  # never answered as a version it does not speak
    if "505" in answer:
        assert "http_version_not_supported" in reply


def test_metrics_add_up_across_workers(gunicorn):
    url = gunicorn["url"]

    def count():
        text = requests.get(url + "/metrics", timeout=10).text
        m = re.search(r'tabcomplete_requests_total\{endpoint="health",method="GET",status="200"\} (\S+)', text)
        return float(m.group(1)) if m else 0.0

    before = count()
    for _ in range(20):  # fresh connections: both workers answer some
        requests.get(url + "/health", timeout=10, headers={"Connection": "close"})
    assert count() == before + 20


def test_access_log_is_json_without_the_code(gunicorn):
    url = gunicorn["url"]
    requests.post(url + "/complete", json={"text": f"{SECRET} = 1\n", "suffix": SECRET}, timeout=30)
    requests.post(url + "/complete", json={"text": 5, "suffix": SECRET}, timeout=30)
    project = {"path": f"/home/{SECRET}/main.py", "files": [{"path": f"/home/{SECRET}/util.py", "text": SECRET}]}
    requests.post(url + "/complete", json={"text": "x = ", **project}, timeout=30)
    requests.post(url + "/complete", json={"text": "x = ", "path": SECRET,
                                           "files": [{"path": SECRET, "text": f"{SECRET}\x00"}]}, timeout=30)
    requests.get(url + "/health", timeout=10)  # a later line, so the lines above are flushed
    lines = gunicorn["access_log"].read_text().splitlines()
    pid = gunicorn["proc"].pid  # the master's
    assert lines[0] == f"tabcomplete serving at {url}/ ({WORKERS} workers; kill -HUP {pid} reloads the models)"
    records = [json.loads(line) for line in lines[1:]]  # the access log: every line is JSON
    assert any(r["path"] == "/complete" and r["status"] == 200 for r in records)
    assert any(r["path"] == "/complete" and r.get("error") == "invalid_field" for r in records)
    assert any(r["path"] == "/complete" and r["status"] == 200 and r.get("files") == 1 for r in records)
    assert SECRET not in gunicorn["access_log"].read_text()


def test_a_buffer_one_worker_read_is_not_read_again_from_the_start_by_the_other(gunicorn):
    # The same buffer, once a fresh connection, until both workers have answered it: the second
    # worker to see it starts from the states the first stored (SharedStates, made in the master).
    url, marker = gunicorn["url"], "shared_states_marker"
    code = open(os.path.join(REPO, "tests", "conftest.py")).read()[:1500]
    buffer = f"{marker} = 1\n" + code
    log = gunicorn["access_log"]
    for _ in range(40):
        requests.post(url + "/complete", json={"text": buffer}, headers={"Connection": "close"}, timeout=30)
        requests.get(url + "/health", timeout=10)  # flushes the access log
        records = [json.loads(line) for line in log.read_text().splitlines()[1:]]
        mine = [r for r in records if r["path"] == "/complete" and r.get("text_chars") == len(buffer)]
        first_by_pid = {}
        for r in mine:
            first_by_pid.setdefault(r["pid"], r)
        if len(first_by_pid) == WORKERS:
            break
    else:
        pytest.skip("one worker accepted all 40 connections")
    first, second = sorted(first_by_pid.values(), key=mine.index)
    assert first["new_chars"] > 1000 and second["new_chars"] < 100


@pytest.mark.parametrize("mode", ["typing", "files", "cache"])
def test_short_load_test_has_no_5xx_and_no_dropped_connections(gunicorn, mode):
    out = subprocess.run([sys.executable, "-m", "servercheck.loadtest", "--url", gunicorn["url"], "--clients", "8",
                          "--seconds", "4", "--max-requests", "300", "--malformed", "0.3", "--mode", mode],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["requests"] > 0 and result["mode"] == mode
    assert result["5xx"] == 0 and result["connection_errors"] == 0 and result["timeouts"] == 0, result
    assert result["unexpected_status"] == {} and result["non_json_errors"] == 0, result
    assert "200" in result["status"] and set(result["status"]) <= {"200", "400", "404", "405", "413", "415"}, result
    if mode == "cache":  # fast enough for every kind of malformed request to come up in 4 s
        assert {"200", "400", "404", "405", "415"} <= set(result["status"]), result
    assert out.returncode == 0


def test_a_typing_client_sends_what_a_plug_in_sends_typing_through_real_code():
    import random

    from servercheck.loadtest import BURST, FILE_CHARS, FILES_MAX, Typist, real_code

    code = real_code()
    typist = Typist(random.Random(3), code, with_files=True)
    bodies = [typist.body() for _ in range(2 * BURST)]
    for before, after in itertools.pairwise(bodies[:BURST]):  # one burst: the cursor moves on in one buffer
        assert after["path"] == before["path"] and after["text"].startswith(before["text"])
        assert 1 <= len(after["text"]) - len(before["text"]) <= 8
        assert after["text"] in code[after["path"]]
    for body in bodies:
        assert 500 <= len(body["text"]) and len(body["text"]) + len(body["suffix"]) <= 4000
        assert body["choices"] == 3 and body["stop"] == "line"
        assert 0 < len(body["files"]) <= FILES_MAX and all(len(f["text"]) <= FILE_CHARS for f in body["files"])
        assert body["path"] not in {f["path"] for f in body["files"]}
    assert not bodies[BURST]["text"].startswith(bodies[BURST - 1]["text"])  # then another buffer


def test_bad_models_dir_stops_gunicorn_with_the_reason(tmp_path):
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TABCOMPLETE_MODELS": str(tmp_path / "missing"), "TMPDIR": str(tmp_path / "tmp")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.run([GUNICORN, "-c", "server/gunicorn.conf.py", "--bind", "127.0.0.1:0", "--workers", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "no such models dir" in proc.stderr
    assert os.listdir(tmp_path / "tmp") == []  # nor is its metrics dir left behind


# -- reloading the models on kill -HUP ------------------------------------------------------------

def wait_for(condition, what, seconds=90):
    """Poll condition() until it is true, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


class Traffic(threading.Thread):
    """POST /complete on fresh connections, one after another, until stopped: every status and error."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.statuses, self.errors, self.stopped = url, [], [], threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                answer = requests.post(self.url + "/complete", json={"text": "def add(a, b):\n    return a"},
                                       headers={"Connection": "close"}, timeout=30)
                self.statuses.append(answer.status_code)
            except requests.RequestException as err:
                self.errors.append(repr(err))

    def stop(self):
        self.stopped.set()
        self.join(timeout=60)


@contextlib.contextmanager
def reloadable_gunicorn(models, tmp_path, make_temp=True):
    """A gunicorn of its own on the models dir `models`, its temp dirs (the models' copies, the
    metrics) in tmp_path/tmp, its log in tmp_path/gunicorn.log."""
    temp, log = tmp_path / "tmp", tmp_path / "gunicorn.log"
    if make_temp:
        temp.mkdir()
    env = {**os.environ, "TABCOMPLETE_MODELS": models, "TABCOMPLETE_MIN_PROB": "0", "TMPDIR": str(temp)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "w") as err:
        proc = subprocess.Popen([GUNICORN, "-c", "server/gunicorn.conf.py", "--bind", "127.0.0.1:0",
                                 "--workers", str(WORKERS)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
    server = {"proc": proc, "log": log, "temp": temp}
    try:
        wait_for(lambda: logged(server).count('"event": "models_loaded"') >= WORKERS, "the workers to load")
        port = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", logged(server)).group(1)
        yield {**server, "url": f"http://127.0.0.1:{port}"}
    finally:
        stop(proc)


def logged(server):
    return server["log"].read_text()


def copies(server):
    """The verified copies of the models dir that exist now."""
    return sorted(p.name for p in server["temp"].iterdir() if p.name.startswith("tabcomplete-models-"))


def listed(server):
    return [m["name"] for m in requests.get(server["url"] + "/models", timeout=10).json()["models"]]


def test_kill_hup_serves_a_new_project_model_without_dropping_a_request(tiny_model, tmp_path):
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    root = str(tmp_path / "code" / "proj")
    in_project = {"text": "x = ", "path": os.path.join(root, "main.py")}
    with reloadable_gunicorn(models, tmp_path) as server:
        first_copy = copies(server)
        assert listed(server) == ["python"] and len(first_copy) == 1
        traffic = Traffic(server["url"])
        traffic.start()
        try:
            # What model.training.learn leaves: a killed run's work dir, and a finished model dir.
            make_project_model(tiny_model, models, "half.partial", root)
            make_project_model(tiny_model, models, "proj", root)
            os.kill(server["proc"].pid, signal.SIGHUP)
            wait_for(lambda: "proj" in listed(server), "the new model in GET /models")
            # The old workers gone, so is their copy: one copy left, the new one.
            wait_for(lambda: len(copies(server)) == 1, "the old copy to be removed")
            assert copies(server) != first_copy and listed(server) == ["python", "proj"]
            answer = requests.post(server["url"] + "/complete", json=in_project, timeout=30)
            assert answer.status_code == 200 and answer.json()["model"] == "proj"
            assert '"event": "model_dir_skipped"' in logged(server) and "half.partial" in logged(server)

            # A model dir that cannot load, added before the next HUP: refused, the server keeps
            # serving what it served (its workers are still replaced, from the same copy).
            broken = make_project_model(tiny_model, models, "broken", str(tmp_path / "code" / "other"))
            os.remove(os.path.join(broken, "model.keras"))
            loads = logged(server).count('"event": "models_loaded"')
            os.kill(server["proc"].pid, signal.SIGHUP)
            wait_for(lambda: "models not reloaded" in logged(server), "the reload's error")
            wait_for(lambda: logged(server).count('"event": "models_loaded"') >= loads + WORKERS, "new workers")
            assert f"{broken}: missing model.keras" in logged(server)
            assert listed(server) == ["python", "proj"] and len(copies(server)) == 1
            answer = requests.post(server["url"] + "/complete", json=in_project, timeout=30)
            assert answer.status_code == 200 and answer.json()["model"] == "proj"
        finally:
            traffic.stop()
        assert server["proc"].poll() is None
    assert traffic.statuses and set(traffic.statuses) == {200} and traffic.errors == []
    assert os.listdir(server["temp"]) == []  # the copies and the metrics dir are removed at exit


def test_a_lost_model_copy_is_made_again_when_a_worker_restarts(tiny_model, tmp_path):
    """A temp cleaner removes the verified copy the workers load, then a worker dies: its
    replacement boots from a copy made again from the models dir, and the server goes on."""
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    with reloadable_gunicorn(models, tmp_path) as server:
        [lost] = copies(server)
        shutil.rmtree(server["temp"] / lost)
        workers = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server["proc"].pid)], capture_output=True,
                                 text=True, check=True).stdout.split()
        loads = logged(server).count('"event": "models_loaded"')
        os.kill(int(workers[0]), signal.SIGKILL)
        wait_for(lambda: logged(server).count('"event": "models_loaded"') > loads, "a new worker to load")
        assert server["proc"].poll() is None and "was gone" in logged(server)
        assert len(copies(server)) == 1 and copies(server) != [lost]
        for _ in range(2 * WORKERS):
            assert requests.post(server["url"] + "/complete", json={"text": "x = "}, timeout=30).status_code == 200


def test_kill_9_of_the_master_leaves_no_pid_file_no_model_copy_no_metrics_dir(tiny_model, tmp_path):
    """Nothing of the master runs after kill -9: its workers see it gone and remove what it would
    have at exit, the pid file first (a stale one could name another process by the next HUP)."""
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    temp, pid_file = tmp_path / "tmp", tmp_path / "gunicorn.pid"
    temp.mkdir()
    env = {**os.environ, "TABCOMPLETE_MODELS": models, "TMPDIR": str(temp)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(tmp_path / "gunicorn.log", "w") as err:
        proc = subprocess.Popen([GUNICORN, "-c", "server/gunicorn.conf.py", "--bind", "127.0.0.1:0", "--workers",
                                 str(WORKERS), "--pid", str(pid_file)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=err)
    server, workers = {"log": tmp_path / "gunicorn.log", "temp": temp}, []
    try:
        wait_for(lambda: logged(server).count('"event": "models_loaded"') >= WORKERS, "the workers to load")
        assert pid_file.read_text().strip() == str(proc.pid) and len(os.listdir(temp)) == 2  # copy, metrics
        workers += subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True,
                                  check=True).stdout.split()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        wait_for(lambda: not pid_file.exists() and os.listdir(temp) == [], "the pid file and temp dirs to go")
        wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in workers), "the workers to exit")
    finally:
        if proc.poll() is None:
            stop(proc)
        for pid in workers:  # bounded: what did not exit by itself
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def test_what_a_killed_server_left_in_the_temp_dir_is_removed_at_the_next_start(tiny_model, tmp_path):
    """kill -9 of a master leaves its model copy and metrics dir behind (nothing of its own runs
    then); the next server removes those whose master is gone, and no one else's."""
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    temp = tmp_path / "tmp"
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid no process has now
    left = [temp / f"tabcomplete-models-{dead.pid}-x1", temp / f"tabcomplete-metrics-{dead.pid}-x2"]
    live = temp / f"tabcomplete-models-{os.getpid()}-x3"  # a running server's (this process is alive)
    for path in left + [live]:
        path.mkdir(parents=True)
    with reloadable_gunicorn(models, tmp_path, make_temp=False) as server:
        assert not any(p.exists() for p in left) and live.exists()
        assert f"removed tabcomplete-models-{dead.pid}-x1" in logged(server)
        master = server["proc"].pid
        assert any(name.startswith(f"tabcomplete-models-{master}-") for name in copies(server))
