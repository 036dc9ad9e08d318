"""Reliability probes: what an adversarial local user can do to the server, and what must hold.

    python -m servercheck.reliability --json            # the full run (about 5 minutes)
    python -m servercheck.reliability --quick --json    # the bounded run `make test` does (about a minute)

It starts gunicorn itself (server/gunicorn.conf.py, loopback, a free port, a copy of the models
dir, a token set, a temp dir and a pid file of its own) and probes it over real sockets:
- framing: bad chunk sizes, Content-Length lies, oversized chunked bodies, stray SCRIPT_NAME,
  gunicorn's own refusals (414, 417, 431, bad Content-Length), TLS bytes, Host names, the token
  on /complete, /models and /metrics, a few malformed JSON bodies. Each must be answered with its
  JSON answer in under 1 s, and no probe's marker may reach a log line;
- hostile bodies (servercheck.hostile): every field with every kind of bad value, numbers of
  hundreds of digits, megabyte keys and languages: no 5xx, every error JSON and under 4 KB;
- clients that never read (servercheck.attacks): a megabyte of unknown keys posted, and an answer
  larger than the kernel holds asked for: none held past the write deadline, the workers' memory
  back within 10% of before;
- a flood: thousands of connections sending their request line a byte a second, beside one
  normal client: its p99 and errors;
- slow clients: SLOW connections sending headers at a byte a second and SLOW sending bodies at a
  byte a second (each reconnecting when the server cuts it) held open through a load test
  (servercheck.loadtest, clients typing through real code): no 5xx, no timeouts, p99 and the
  slowest request bounded;
- faults (servercheck.faults): kill -9 of a worker under load; the model copy removed from the
  temp dir, then a worker killed; the served model dir broken on disk, then a worker killed (the
  new worker must boot and serve); kill -9 of the master (no pid file, copy or metrics dir may be
  left); a full temp dir (a server on a small tmpfs of its own, filled: workers boot, completions
  go on); a model dir that cannot load at start-up (the server must refuse to start, naming the
  file, without a traceback).

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
import sys
import tempfile
import time

from servercheck import attacks, faults, hostile, loadtest
from servercheck.server import REPO, Server, exchange, request

ANSWER_SECONDS = 1.0  # every framing probe's answer must come within this


def say(*args):
    print(*args, file=sys.stderr, flush=True)


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
        except (TimeoutError, OSError):
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
                except TimeoutError:
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


# -- clients that never read, and a flood of connections ----------------------------------------

def never_reading(server, args, token):
    """The issue's attack (clients with a 4 KB receive buffer posting a megabyte of unknown keys,
    reading nothing), then clients of a real network's segment size asking for an answer larger
    than the kernel takes for them (GET /models, its meta.json padded): after the write deadline
    the server holds none of them, and its workers' memory is back within 10% of before."""
    wait = args.write_timeout + 1.5
    before = attacks.worker_rss_mb(server.proc.pid)
    posted = attacks.never_reading(server.port, args.never_reading, attacks.raw_request(
        "POST", "/complete", token, attacks.unknown_keys_body(args.never_reading_bytes)), wait)
    models = attacks.never_reading(server.port, args.never_reading, attacks.raw_request("GET", "/models", token),
                                   wait, mss=attacks.NETWORK_MSS)
    settled = time.monotonic() + 5  # the workers trim their heaps within a second of the last large body
    while time.monotonic() < settled and attacks.server_connections(server.port):
        time.sleep(0.1)
    time.sleep(1.5)
    after = attacks.worker_rss_mb(server.proc.pid)
    growth = {str(pid): round(after[pid] / before[pid] - 1, 3) for pid in before if pid in after}
    return {"write_timeout_s": args.write_timeout, "unknown_keys_posted": posted, "models_asked": models,
            "rss_mb_before": before, "rss_mb_after": after, "rss_growth": growth}


def never_reading_ok(r):
    return (r["unknown_keys_posted"]["held_by_server_after_wait"] == 0 and r["models_asked"]["held_by_server_after_wait"] == 0
            and r["models_asked"]["answers"]["complete"] == 0 and len(r["rss_growth"]) > 0
            and all(g <= 0.10 for g in r["rss_growth"].values()))


def pad_models_answer(models_dir, size):
    """Give every meta.json of the served copy `size` bytes more of "metrics": GET /models then
    answers more than a client of a real network's segment size lets the kernel hold."""
    for root, _, files in os.walk(models_dir):
        if "meta.json" in files:
            path = os.path.join(root, "meta.json")
            with open(path) as f:
                meta = json.load(f)
            meta.setdefault("metrics", {})["reliability_padding"] = "p" * size
            with open(path, "w") as f:
                json.dump(meta, f)


# -- the run ---------------------------------------------------------------------------------------

def run(args):
    workdir = tempfile.mkdtemp(prefix="tabcomplete-reliability-")
    token = secrets.token_urlsafe(16)
    marker = "RELIABILITY_MARKER_" + secrets.token_hex(6)  # in probe bytes; must never reach a log
    models = os.path.join(workdir, "models")
    shutil.copytree(args.models, models, ignore=shutil.ignore_patterns("checkpoints"))
    temp, pid_file = os.path.join(workdir, "tmp"), os.path.join(workdir, "server.pid")
    os.makedirs(temp)
    env = {"TABCOMPLETE_TOKEN": token, "TABCOMPLETE_HEADER_TIMEOUT": str(args.header_timeout),
           "TABCOMPLETE_BODY_TIMEOUT": str(args.body_timeout), "TABCOMPLETE_WRITE_TIMEOUT": str(args.write_timeout),
           "TMPDIR": temp}
    if args.worker_class:
        env["TABCOMPLETE_WORKER_CLASS"] = args.worker_class
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
    pad_models_answer(models, 400_000)
    server = Server(models, workdir, args.workers, env, args=["--pid", pid_file])
    try:
        say(f"starting gunicorn ({args.workers} workers) on {args.models}")
        server.start()
        from server.config import load_config

        max_body = load_config()["MAX_BODY_BYTES"]
        say("framing, Host and token probes")
        framing = run_framing(server, marker, token, max_body)
        report["framing"] = {k: v for k, v in framing.items() if k != "results" or args.verbose}
        checks["framing"] = not framing["failed"]
        say("hostile bodies: every field's bad values, huge numbers, megabyte keys")
        report["hostile"] = hostile.run(server.port, token)
        checks["hostile"] = not report["hostile"]["failed"] and report["hostile"]["cases"] >= 300
        say(f"{args.never_reading} clients that never read, twice")
        report["never_reading"] = never_reading(server, args, token)
        checks["never_reading"] = never_reading_ok(report["never_reading"])
        say(f"{args.flood} slow connections beside a normal client for {args.flood_seconds:g} s")
        attacks.raise_open_files_limit(args.flood + 200)
        flood = attacks.flood(server.port, args.flood, args.flood_seconds, token=token, ramp_seconds=args.flood_ramp)
        report["flood"] = flood
        checks["flood"] = (flood["normal"]["errors"] == 0 and flood["normal"]["requests"] > 0
                           and set(flood["normal"]["statuses"]) == {"200"} and flood["normal"]["p99_ms"] <= args.flood_p99_ms)
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
            killed = faults.kill_worker_under_load(server, args.fault_clients, args.fault_seconds, token)
            report["kill_worker"] = killed
            checks["kill_worker"] = killed["5xx"] == 0 and killed["health_after"] == 200
            say("the model copy removed from the temp dir, then a worker killed")
            lost = faults.lost_model_copy(server, temp, token, args.fault_clients, args.fault_seconds / 2)
            report["lost_model_copy"] = lost
            after = lost["load_after_replacement"]
            checks["lost_model_copy"] = (lost["server_running"] and lost["copy_made_again"] and after["requests"] > 0
                                         and after["5xx"] + after["connection_errors"] + after["timeouts"] == 0)
            say("the served model dir broken on disk, then a worker restarted")
            broken = faults.break_model_then_restart_worker(server, token)
            report["model_dir_broken"] = broken
            checks["model_dir_broken"] = broken["server_running"] and set(broken["statuses"]) == {200}
        logs = server.log_text()
        report["logs"] = {"lines": logs.count("\n"), "marker_found": marker in logs,
                          "tracebacks": logs.count("Traceback")}
        checks["logs"] = marker not in logs and "Traceback" not in logs
        if not args.skip_faults:
            say("kill -9 of the master")
            report["kill_master"] = faults.kill_master(server, temp, pid_file)
            checks["kill_master"] = report["kill_master"] == {**report["kill_master"], "workers_exited": True,
                                                              "pid_file_left": False, "left_in_temp": []}
    finally:
        server.stop()
    if not args.skip_faults:
        say("a full temp dir")
        why_not = faults.tmpfs_unavailable(workdir)
        if why_not:
            report["full_temp_dir"] = {"not_run": f"no small file system of its own here: {why_not}"}
        else:
            full = faults.full_temp_dir(args.models, workdir, token, args.fault_clients, args.fault_seconds / 2,
                                        workers=args.full_temp_workers)
            report["full_temp_dir"] = full
            load_full = full.get("load_while_full") or {}
            checks["full_temp_dir"] = (full["replacement_booted"] and full["server_running"] and not full["sigbus"]
                                       and load_full.get("requests", 0) > 0 and full["metrics_status"] == 200
                                       and (full["metrics_failures"] or 0) > 0
                                       and load_full["5xx"] + load_full["connection_errors"] + load_full["timeouts"] == 0)
        say("model dirs that cannot load, at start-up")
        refused = faults.refused_at_start(args.models, workdir)
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
    p.add_argument("--clients", type=int, default=20, help="load test clients, typing through real code")
    p.add_argument("--seconds", type=float, default=60.0, help="slow clients + load test duration")
    p.add_argument("--slow", type=int, default=4, help="slow-header connections, and as many slow-body ones")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between a slow client's bytes")
    p.add_argument("--header-timeout", type=float, default=5.0, help="TABCOMPLETE_HEADER_TIMEOUT for the server")
    p.add_argument("--body-timeout", type=float, default=10.0, help="TABCOMPLETE_BODY_TIMEOUT for the server")
    p.add_argument("--write-timeout", type=float, default=10.0, help="TABCOMPLETE_WRITE_TIMEOUT for the server")
    p.add_argument("--p99-ms", type=float, default=500.0, help="the load test's p99 must not exceed this")
    p.add_argument("--max-ms", type=float, default=1000.0, help="no request may take longer than this")
    p.add_argument("--never-reading", type=int, default=200, help="clients that never read (each attack)")
    p.add_argument("--never-reading-bytes", type=int, default=1_000_000, help="the body each of them posts")
    p.add_argument("--flood", type=int, default=2000, help="slow connections held open beside a normal client")
    p.add_argument("--flood-seconds", type=float, default=30.0)
    p.add_argument("--flood-ramp", type=float, default=3.0, help="seconds to open the flood's connections")
    p.add_argument("--flood-p99-ms", type=float, default=1000.0, help="the normal client's p99 under the flood")
    p.add_argument("--fault-clients", type=int, default=20)
    p.add_argument("--fault-seconds", type=float, default=20.0)
    p.add_argument("--full-temp-workers", type=int, default=2, help="workers of the server on a full temp dir")
    p.add_argument("--skip-faults", action="store_true")
    p.add_argument("--compare-sync", action="store_true",
                   help="first run the same load test on sync workers without slow clients (a baseline)")
    p.add_argument("--quick", action="store_true", help="the bounded run: fewer clients and connections, short "
                                                        "deadlines (about a minute)")
    p.add_argument("--verbose", action="store_true", help="every framing probe's answer in the JSON")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs) and print its path")
    p.add_argument("--json", action="store_true", help="(the JSON line is always printed)")
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.slow, args.interval = 8, 4.0, 2, 0.25
        args.header_timeout, args.body_timeout, args.write_timeout = 1.0, 2.0, 1.0
        args.fault_clients, args.fault_seconds, args.full_temp_workers = 8, 3.0, 1
        args.never_reading, args.flood, args.flood_seconds, args.flood_ramp = 40, 500, 3.0, 1.0
        # A loaded CI machine: bounds, not the targets.
        args.p99_ms, args.max_ms, args.flood_p99_ms = 2000.0, 3000.0, 3000.0
    report = run(args)
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
