"""Reliability probes: what an adversarial local user can do to the server, and what must hold.

    python -m servercheck.reliability --json            # the full run (about 2 minutes)
    python -m servercheck.reliability --quick --json    # the bounded run `make test` does (seconds)

It starts gunicorn itself (server/gunicorn.conf.py, loopback, a free port, a copy of the models
dir, a token set) and probes it over real sockets:
- framing: bad chunk sizes, Content-Length lies, oversized chunked bodies, stray SCRIPT_NAME,
  gunicorn's own refusals (414, 417, 431, bad Content-Length), TLS bytes, Host names, the token
  on /complete, /models and /metrics, a few malformed JSON bodies. Each must be answered with its
  JSON answer in under 1 s, and no probe's marker may reach a log line;
- slow clients: SLOW connections sending headers at a byte a second and SLOW sending bodies at a
  byte a second (each reconnecting when the server cuts it) held open through a load test
  (servercheck.loadtest): no 5xx, no timeouts, p99 and the slowest request bounded;
- faults: kill -9 of a worker under load; the served model dir broken on disk, then a worker
  killed (the new worker must boot and serve); a model dir that cannot load at start-up (the
  server must refuse to start, naming the file, without a traceback).

Prints progress on stderr and ONE JSON object on the last line of stdout; exits 1 when a check
fails. Only loopback addresses are used; every loop is bounded in count and time.
"""
import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from servercheck import loadtest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
ANSWER_SECONDS = 1.0  # every framing probe's answer must come within this


def say(*args):
    print(*args, file=sys.stderr, flush=True)


# -- the server under test ---------------------------------------------------------------------

class Server:
    """gunicorn with server/gunicorn.conf.py on a free loopback port; logs in files."""

    def __init__(self, models_dir, workdir, workers=2, env=None, name="server"):
        self.models_dir, self.workers = models_dir, workers
        self.out_path = os.path.join(workdir, f"{name}.out.log")
        self.err_path = os.path.join(workdir, f"{name}.err.log")
        self.env = {**os.environ, "TABCOMPLETE_MODELS": models_dir, **(env or {})}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.proc = None
        self.port = None
        self.loaded = 0  # workers that printed models_loaded so far

    def start(self, seconds=120):
        self._out, self._err = open(self.out_path, "w"), open(self.err_path, "w")
        self.proc = subprocess.Popen([GUNICORN, "-c", "server/gunicorn.conf.py", "--bind", "127.0.0.1:0",
                                      "--workers", str(self.workers)], cwd=REPO, env=self.env,
                                     stdout=self._out, stderr=self._err)
        self.port = int(self.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)", seconds=seconds)[0].group(1))
        self.wait_loaded(self.workers, seconds)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def access_ms(self, start=0):
        """Server-side times (ms) of the requests the app logged after byte `start` of its access log;
        (those times, the log's size now)."""
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            f.seek(start)
            text = f.read()
        times = []
        for line in text.splitlines():
            if line.startswith("{") and '"ms": ' in line:
                try:
                    record = json.loads(line)
                    if record["status"] != 408:  # a slow client's own wait, not the server's work
                        times.append(float(record["ms"]))
                except (ValueError, KeyError, TypeError):
                    pass
        return times, start + len(text.encode("utf-8"))

    def log_text(self):
        text = ""
        for path in (self.out_path, self.err_path):
            with open(path, encoding="utf-8", errors="replace") as f:
                text += f.read()
        return text

    def wait_for(self, pattern, count=1, seconds=60):
        """Poll the error log (bounded) until `pattern` matched `count` times; the matches."""
        deadline = time.monotonic() + seconds
        while True:
            with open(self.err_path, encoding="utf-8", errors="replace") as f:
                found = list(re.finditer(pattern, f.read()))
            if len(found) >= count:
                return found
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn did not print {pattern!r} x{count}:\n" + self.log_text()[-3000:])
            time.sleep(0.05)

    def wait_loaded(self, count, seconds=120):
        self.wait_for(r'"event": "models_loaded"', count=count, seconds=seconds)
        self.loaded = count

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, timeout=10)
        return sorted(int(p) for p in out.stdout.split())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f:
                f.close()


# -- one raw request -----------------------------------------------------------------------------

def exchange(port, data, seconds=5.0, shutdown=False):
    """Send raw bytes, read one HTTP answer (to its Content-Length). (status or None, headers
    text, body bytes, seconds to the whole answer). Bounded: `seconds` in all."""
    t0 = time.monotonic()
    deadline = t0 + seconds
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        try:
            sock.sendall(data)
            if shutdown:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before taking all of it
        got = b""
        while time.monotonic() < deadline:
            head, sep, body = got.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                if m and len(body) >= int(m.group(1)):
                    break
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
    elapsed = time.monotonic() - t0
    head, _, body = got.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(m.group(1)) if m else None), head.decode("latin-1"), body, elapsed


def request(method, path, host="127.0.0.1", headers=(), body=b"", token=None):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", *headers]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body and not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- framing, Host, token -----------------------------------------------------------------------

def framing_probes(marker, token, max_body):
    """(name, raw request, expected statuses, expected error code or None)."""
    json_h = ["Content-Type: application/json"]
    chunked = [*json_h, "Transfer-Encoding: chunked"]
    valid = json.dumps({"text": "def f(x):\n    return x", "max_chars": 4}).encode()
    m = marker.encode()
    bad_chunks = {
        "not_hex": b"zz " + m + b"\r\n",
        "negative": b"-5\r\n" + m + b"\r\n0\r\n\r\n",
        "hex_prefix": b"0x5\r\n" + m[:5] + b"\r\n0\r\n\r\n",
        "too_long": b"f" * 40 + b"\r\n" + m + b"\r\n",
        "bad_extension": b"5;" + m + b"=\x01\r\nabcde\r\n0\r\n\r\n",
        "no_terminator": b"5\r\nabcde" + m + b"\r\n0\r\n\r\n",
        "bare_lf": b"5\nabcde\n0\n\n" + m,
    }
    probes = [(f"chunk_{name}", request("POST", "/complete", headers=chunked, body=body, token=token),
               {413} if name == "too_long" else {400}, None) for name, body in bad_chunks.items()]
    big = b'{"text": "' + b"a" * (max_body + 10) + b'"}'
    probes += [
        ("chunked_oversized", request("POST", "/complete", headers=chunked, token=token,
                                      body=b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n"), {413}, "body_too_large"),
        ("content_length_lie_50mb", request("POST", "/complete", headers=[*json_h, "Content-Length: 52428800"],
                                            token=token, body=b"{"), {413}, "body_too_large"),
        ("content_length_short", request("POST", "/complete", headers=[*json_h, f"Content-Length: {len(valid) - 5}"],
                                         token=token, body=valid + m), {400}, None),
        ("script_name_header", request("GET", "/health", headers=["SCRIPT_NAME: /foo"]), {200, 400}, None),
        ("script_name_post", request("POST", "/complete", headers=[*json_h, "SCRIPT_NAME: /complete"], token=token,
                                     body=valid), {200, 400}, None),
        ("uri_too_long_414", request("GET", "/" + "a" * 9000), {414}, "uri_too_long"),
        ("expect_417", request("GET", "/health", headers=["Expect: " + marker]), {417}, "expectation_failed"),
        ("too_many_headers_431", request("GET", "/health", headers=[f"X-{i}: {marker}" for i in range(120)]),
         {431}, "header_fields_too_large"),
        ("header_too_long_431", request("GET", "/health", headers=["X-Long: " + marker + "a" * 9000]), {431},
         "header_fields_too_large"),
        ("content_length_not_a_number", request("POST", "/complete", headers=[*json_h, "Content-Length: abc"],
                                                token=token, body=b"{}"), {400}, None),
        ("content_length_negative", request("POST", "/complete", headers=[*json_h, "Content-Length: -1"],
                                            token=token), {400}, None),
        ("content_length_twice", request("POST", "/complete", headers=[*json_h, "Content-Length: 2",
                                                                        "Content-Length: 3"], token=token,
                                         body=b"{}"), {400}, None),
        ("content_length_and_chunked", request("POST", "/complete", headers=[*chunked, "Content-Length: 5"],
                                               token=token, body=b"0\r\n\r\n"), {400}, None),
        ("transfer_encoding_gzip", request("POST", "/complete", headers=[*json_h, "Transfer-Encoding: gzip"],
                                           token=token, body=m), {400}, None),
        ("tls_client_hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + m, {400}, "not_http"),
        ("binary_junk", b"\x00\xff" + m + os.urandom(200), {400}, "not_http"),
        ("bad_request_line", ("GET /health HTTP/1.1 extra " + marker + "\r\nHost: 127.0.0.1\r\n\r\n").encode(),
         {400}, None),
        ("host_attacker", request("GET", "/health", host="attacker.example"), {400}, "host_not_allowed"),
        ("host_attacker_complete", request("POST", "/complete", host="attacker.example:8000", headers=json_h,
                                           token=token, body=valid), {400}, "host_not_allowed"),
        ("host_loopback_suffix", request("GET", "/models", host="127.0.0.1.attacker.example", token=token), {400},
         "host_not_allowed"),
        ("host_localhost_suffix", request("GET", "/", host="localhost.attacker.example:80"), {400}, "host_not_allowed"),
        ("host_bad_port", request("GET", "/health", host="localhost:x"), {400}, "host_not_allowed"),
        ("host_127", request("GET", "/health", host="127.0.0.1:8000"), {200}, None),
        ("host_localhost", request("GET", "/health", host="LocalHost"), {200}, None),
        ("host_ipv6", request("GET", "/health", host="[::1]:8000"), {200}, None),
        ("token_missing_complete", request("POST", "/complete", headers=json_h, body=valid), {401}, "unauthorized"),
        ("token_missing_models", request("GET", "/models"), {401}, "unauthorized"),
        ("token_missing_metrics", request("GET", "/metrics"), {401}, "unauthorized"),
        ("token_wrong_metrics", request("GET", "/metrics", token=marker), {401}, "unauthorized"),
        ("token_good_metrics", request("GET", "/metrics", token=token), {200}, None),
        ("token_good_complete", request("POST", "/complete", headers=json_h, token=token, body=valid), {200}, None),
        # A few of the malformed bodies that held before (the fuzz tests have the rest).
        ("json_nan", request("POST", "/complete", headers=json_h, token=token, body=b'{"text": "x", "min_prob": NaN}'),
         {400}, None),
        ("json_huge_number", request("POST", "/complete", headers=json_h, token=token,
                                     body=b'{"text": "x", "max_chars": 1' + b"0" * 5000 + b"}"), {400}, None),
        ("json_deep", request("POST", "/complete", headers=json_h, token=token,
                              body=b'{"text": ' + b"[" * 100000 + b"]" * 100000 + b"}"), {400}, None),
        ("json_nul", request("POST", "/complete", headers=json_h, token=token,
                             body=json.dumps({"text": "x\x00" + marker}).encode()), {200, 400}, None),
    ]
    return probes


def run_framing(server, marker, token, max_body):
    results, failed = {}, []
    for name, data, statuses, code in framing_probes(marker, token, max_body):
        status, head, body, seconds = exchange(server.port, data)
        error = None
        if status is not None and status >= 400:
            try:
                error = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                error = "NOT_JSON"
        ok = status in statuses and seconds < ANSWER_SECONDS and error != "NOT_JSON" and (code is None or error == code)
        if status is not None and status >= 400 and "application/json" not in head.lower():
            ok = False
        results[name] = {"status": status, "error": error, "ms": round(seconds * 1000, 1)}
        if not ok:
            failed.append(name)
    return {"probes": len(results), "failed": failed,
            "max_ms": max(r["ms"] for r in results.values()),
            "statuses": dict(sorted({str(r["status"]): sum(1 for x in results.values() if x["status"] == r["status"])
                                     for r in results.values()}.items())),
            "results": results}


# -- slow clients under load -----------------------------------------------------------------------

async def slow_client(port, kind, deadline, stats, interval, marker, token):
    """Keep one slow connection open until `deadline`: headers (kind "header") or a body (kind
    "body") sent a byte every `interval` s; when the server cuts it, note how, reconnect."""
    head = ["POST /complete HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
            f"Authorization: Bearer {token}", "Content-Length: 100000", "X-Marker: " + marker]
    for _ in range(10000):  # bounded: one connection per pass
        if time.monotonic() >= deadline:
            return
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        except (OSError, asyncio.TimeoutError):
            stats["connect_errors"] += 1
            await asyncio.sleep(interval)
            continue
        stats["connections"] += 1
        full = ("\r\n".join(head) + "\r\n\r\n").encode()
        if kind == "body":
            writer.write(full)
            trickle = (marker * 10000).encode()
        else:
            trickle = full
        status = None
        try:
            for byte in trickle:
                if time.monotonic() >= deadline:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    line = await asyncio.wait_for(reader.readline(), interval)
                except asyncio.TimeoutError:
                    continue  # nothing from the server yet: send the next byte
                m = re.match(rb"HTTP/1\.[01] (\d{3})", line)
                status = int(m.group(1)) if m else "closed"
                break
        except (ConnectionError, OSError):
            status = "reset"
        finally:
            writer.close()
        if status is not None:
            key = f"{kind}:{status}"
            stats["ended"][key] = stats["ended"].get(key, 0) + 1
            stats["held_s"].append(time.monotonic() - t0)


async def slow_and_load(server, clients, seconds, slow, interval, marker, token):
    deadline = time.monotonic() + seconds
    stats = {"connections": 0, "connect_errors": 0, "ended": {}, "held_s": []}
    slow_tasks = [asyncio.create_task(slow_client(server.port, kind, deadline, stats, interval, marker, token))
                  for kind in ("header", "body") for _ in range(slow)]
    await asyncio.sleep(min(2.0, seconds / 4))  # the slow connections are in place before the load starts
    load = await loadtest.run(server.url, clients, max(1.0, deadline - time.monotonic()), 0.2, 10.0, 1,
                              10_000_000, token)
    for task in slow_tasks:
        task.cancel()
    await asyncio.gather(*slow_tasks, return_exceptions=True)
    held = sorted(stats["held_s"])
    load["slow"] = {"header_connections": slow, "body_connections": slow, "byte_interval_s": interval,
                    "connections_opened": stats["connections"], "ended_by_server": dict(sorted(stats["ended"].items())),
                    "longest_held_s": round(held[-1], 1) if held else None}
    return load


# -- faults ------------------------------------------------------------------------------------------

def kill_worker_under_load(server, clients, seconds, token):
    """kill -9 one worker in the middle of a load test; the master starts another."""
    async def go():
        task = asyncio.create_task(loadtest.run(server.url, clients, seconds, 0.2, 10.0, 2, 10_000_000, token))
        await asyncio.sleep(seconds / 2)
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        return victim, await task
    victim, load = asyncio.run(go())
    server.wait_loaded(server.loaded + 1)  # the replacement loaded its models
    status, _, _, _ = exchange(server.port, request("GET", "/health"))
    return {"killed": victim, "requests": load["requests"], "5xx": load["5xx"],
            "connection_errors": load["connection_errors"], "timeouts": load["timeouts"],
            "replacement_booted": True, "health_after": status}


def break_model_then_restart_worker(server, token):
    """Break the served model dir on disk, kill a worker: its replacement loads what the master
    verified at start-up, so it boots and serves."""
    for root, _, files in os.walk(server.models_dir):
        for name in files:
            if name in ("model.keras", "meta.json", "vocab.json"):
                with open(os.path.join(root, name), "wb") as f:
                    f.write(b"corrupted")
    os.kill(server.worker_pids()[0], signal.SIGKILL)
    server.wait_loaded(server.loaded + 1)
    body = json.dumps({"text": "import os\nimport sy", "max_chars": 8}).encode()
    answers = [exchange(server.port, request("POST", "/complete", headers=["Content-Type: application/json"],
                                             token=token, body=body), seconds=30)[0] for _ in range(6)]
    return {"replacement_booted": True, "server_running": server.proc.poll() is None, "statuses": answers}


def refused_at_start(models_src, workdir):
    """Start gunicorn on model dirs that cannot load: it must exit non-zero at once, naming the file."""
    cases = {}

    def case(name, mutate, must_name):
        bad = os.path.join(workdir, "bad-" + name)
        shutil.copytree(models_src, bad, ignore=shutil.ignore_patterns("checkpoints"))
        target = next(os.path.join(r, "meta.json") for r, _, fs in os.walk(bad) if "meta.json" in fs)
        mutate(os.path.dirname(target))
        t0 = time.monotonic()
        env = {**os.environ, "TABCOMPLETE_MODELS": bad}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        try:
            proc = subprocess.run([GUNICORN, "-c", "server/gunicorn.conf.py", "--bind", "127.0.0.1:0",
                                   "--workers", "1"], cwd=REPO, env=env, capture_output=True, text=True, timeout=90)
            code, err = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            code, err = "still running", ""
        named = os.path.join(os.path.dirname(target), must_name)
        cases[name] = {"exit": code, "seconds": round(time.monotonic() - t0, 1), "names_file": named in err,
                       "traceback": "Traceback" in err, "message": err.strip().splitlines()[-1][:200] if err.strip() else ""}

    def meta_edit(**changes):
        def mutate(d):
            path = os.path.join(d, "meta.json")
            with open(path) as f:
                meta = json.load(f)
            meta.update(changes)
            with open(path, "w") as f:
                json.dump(meta, f)
        return mutate

    def write(name, data):
        def mutate(d):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        return mutate

    case("meta_language_5", meta_edit(language=5), "meta.json")
    case("meta_not_json", write("meta.json", b"{not json"), "meta.json")
    case("model_keras_truncated", write("model.keras", b"PK\x03\x04 truncated"), "model.keras")
    case("vocab_not_json", write("vocab.json", b"[1, 2"), "vocab.json")
    return cases


# -- the run ---------------------------------------------------------------------------------------

def run(args):
    workdir = tempfile.mkdtemp(prefix="tabcomplete-reliability-")
    token = secrets.token_urlsafe(16)
    marker = "RELIABILITY_MARKER_" + secrets.token_hex(6)  # in probe bytes; must never reach a log
    models = os.path.join(workdir, "models")
    shutil.copytree(args.models, models, ignore=shutil.ignore_patterns("checkpoints"))
    env = {"TABCOMPLETE_TOKEN": token, "TABCOMPLETE_HEADER_TIMEOUT": str(args.header_timeout),
           "TABCOMPLETE_BODY_TIMEOUT": str(args.body_timeout)}
    if args.worker_class:
        env["TABCOMPLETE_WORKER_CLASS"] = args.worker_class
    server = Server(models, workdir, args.workers, env)
    report = {"workers": args.workers, "worker_class": args.worker_class or "server.worker.Worker",
              "cores": os.cpu_count(), "load_average_at_start": round(os.getloadavg()[0], 2)}
    checks = {}
    if args.compare_sync:
        # The same load test on gunicorn's sync worker with no slow client, just before: what this
        # machine gives today without the attack, to read the figures below against.
        say(f"baseline: sync workers, no slow clients, {args.clients} clients for {args.seconds:g} s")
        base = Server(models, workdir, args.workers, {**env, "TABCOMPLETE_WORKER_CLASS": "sync"}, name="sync")
        try:
            base.start()
            report["sync_without_slow_clients"] = asyncio.run(
                loadtest.run(base.url, args.clients, args.seconds, 0.2, 10.0, 1, 10_000_000, token))
        finally:
            base.stop()
    try:
        say(f"starting gunicorn ({args.workers} workers) on {args.models}")
        server.start()
        from server.config import load_config

        max_body = load_config()["MAX_BODY_BYTES"]
        say("framing, Host and token probes")
        framing = run_framing(server, marker, token, max_body)
        report["framing"] = {k: v for k, v in framing.items() if k != "results" or args.verbose}
        checks["framing"] = not framing["failed"]
        say(f"{args.slow}+{args.slow} slow connections under a {args.clients}-client load test for {args.seconds:g} s")
        _, mark = server.access_ms()
        load = asyncio.run(slow_and_load(server, args.clients, args.seconds, args.slow, args.interval, marker, token))
        times, _ = server.access_ms(mark)
        times.sort()
        # In the app, from the request's headers to its answer (no queueing, no client): what
        # separates the server's own time from a busy machine's. (Its max would be a slow client's.)
        load["server_side"] = {"requests": len(times),
                               "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))] if times else None}
        report["slow_load"] = load
        checks["slow_load"] = (load["5xx"] == 0 and load["timeouts"] == 0 and load["connection_errors"] == 0
                               and load["requests"] > 0 and load["p99_ms"] <= args.p99_ms
                               and load["max_ms"] <= args.max_ms and load["non_json_errors"] == 0)
        if not args.skip_faults:
            say("kill -9 of a worker under load")
            killed = kill_worker_under_load(server, args.fault_clients, args.fault_seconds, token)
            report["kill_worker"] = killed
            checks["kill_worker"] = killed["5xx"] == 0 and killed["health_after"] == 200
            say("the served model dir broken on disk, then a worker restarted")
            broken = break_model_then_restart_worker(server, token)
            report["model_dir_broken"] = broken
            checks["model_dir_broken"] = broken["server_running"] and set(broken["statuses"]) == {200}
        logs = server.log_text()
        report["logs"] = {"lines": logs.count("\n"), "marker_found": marker in logs,
                          "tracebacks": logs.count("Traceback")}
        checks["logs"] = marker not in logs and "Traceback" not in logs
    finally:
        server.stop()
    if not args.skip_faults:
        say("model dirs that cannot load, at start-up")
        refused = refused_at_start(args.models, workdir)
        report["refused_at_start"] = refused
        checks["refused_at_start"] = all(c["exit"] not in (0, "still running") and c["names_file"]
                                         and not c["traceback"] for c in refused.values())
    report["checks"] = checks
    report["ok"] = all(checks.values())
    if args.keep:
        report["workdir"] = workdir
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m servercheck.reliability", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=os.path.join(REPO, "model", "pretrained"), help="models dir to serve (copied)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", help="gunicorn worker class (default: server/gunicorn.conf.py's)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60.0, help="slow clients + load test duration")
    p.add_argument("--slow", type=int, default=4, help="slow-header connections, and as many slow-body ones")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between a slow client's bytes")
    p.add_argument("--header-timeout", type=float, default=5.0, help="TABCOMPLETE_HEADER_TIMEOUT for the server")
    p.add_argument("--body-timeout", type=float, default=10.0, help="TABCOMPLETE_BODY_TIMEOUT for the server")
    p.add_argument("--p99-ms", type=float, default=250.0, help="the load test's p99 must not exceed this")
    p.add_argument("--max-ms", type=float, default=1000.0, help="no request may take longer than this")
    p.add_argument("--fault-clients", type=int, default=50)
    p.add_argument("--fault-seconds", type=float, default=20.0)
    p.add_argument("--skip-faults", action="store_true")
    p.add_argument("--compare-sync", action="store_true",
                   help="first run the same load test on sync workers without slow clients (a baseline)")
    p.add_argument("--quick", action="store_true", help="the bounded run: 8 clients, 2+2 slow, short deadlines")
    p.add_argument("--verbose", action="store_true", help="every framing probe's answer in the JSON")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs) and print its path")
    p.add_argument("--json", action="store_true", help="(the JSON line is always printed)")
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.slow, args.interval = 8, 4.0, 2, 0.25
        args.header_timeout, args.body_timeout = 1.0, 2.0
        args.fault_clients, args.fault_seconds = 8, 3.0
        args.p99_ms, args.max_ms = 2000.0, 3000.0  # a loaded CI machine: a bound, not the target
    report = run(args)
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
