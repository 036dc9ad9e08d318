"""Faults a server must survive, probed on a real gunicorn (servercheck.server.Server):

- kill -9 of a worker under load; the model copy the workers load removed (as a temp cleaner
  does), then a worker killed; the served model dir broken on disk, then a worker killed;
- a full temp dir: the server runs on a small file system of its own (a tmpfs in a mount
  namespace of its own, `unshare`), which is filled while it serves;
- kill -9 of the master: what it leaves (pid file, model copy, metrics dir);
- model dirs that cannot load, at start-up.

Each returns a JSON-able dict for servercheck.reliability's report; every wait is bounded.
"""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import time

from servercheck import loadtest
from servercheck.server import GUNICORN, REPO, Server, exchange, request

JSON = ["Content-Type: application/json"]
COMPLETE = json.dumps({"text": "import os\nimport sy", "max_chars": 8}).encode()


def wait_until(condition, seconds):
    """Poll condition() (bounded); whether it came true."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def load_after(server, clients, seconds, token):
    """A short load test (valid requests only): what a client saw."""
    load = asyncio.run(loadtest.run(server.url, clients, seconds, 0.0, 10.0, 3, 10_000_000, token))
    return {k: load[k] for k in ("requests", "5xx", "connection_errors", "timeouts", "p99_ms")}


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
                                   "--workers", "1"], cwd=REPO, env=env, capture_output=True, text=True, timeout=90,
                                  check=False)
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


def lost_model_copy(server, temp, token, clients, seconds):
    """Remove the verified model copy from the server's temp dir (as a temp cleaner does), kill -9
    a worker: its replacement must boot (the master makes the copy again) and every request after
    it be answered."""
    copies = [name for name in os.listdir(temp) if name.startswith("tabcomplete-models-")]
    for name in copies:
        shutil.rmtree(os.path.join(temp, name))
    os.kill(server.worker_pids()[0], signal.SIGKILL)
    server.wait_loaded(server.loaded + 1)
    after = load_after(server, clients, seconds, token)
    return {"removed": len(copies), "server_running": server.proc.poll() is None,
            "copy_made_again": "was gone" in server.log_text(), "load_after_replacement": after}


def kill_master(server, temp, pid_file):
    """kill -9 of the master: its workers see it gone and exit, removing what it would have at
    exit: the pid file, its model copies and its metrics dir."""
    workers = server.worker_pids()
    master = server.proc.pid
    os.kill(master, signal.SIGKILL)
    server.proc.wait(timeout=30)
    gone = wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in workers), 30)
    for pid in workers:  # bounded: what did not exit by itself is ended here
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)
    left = sorted(name for name in os.listdir(temp)
                  if name.startswith((f"tabcomplete-models-{master}-", f"tabcomplete-metrics-{master}-")))
    return {"workers_exited": gone, "pid_file_left": os.path.exists(pid_file), "left_in_temp": left}


# -- a full temp dir ---------------------------------------------------------------------------------

def small_tmpfs_argv(mount_point, size_bytes):
    """The command prefix that runs a program with a tmpfs of `size_bytes` mounted on `mount_point`,
    in a mount namespace of its own (root: `unshare --mount`; anyone else: in a user namespace
    too, where the kernel allows it). Outside, the dir stays as it was; the file system goes with
    the last process."""
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    script = 'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec "$@"'
    return ["unshare", "--mount", *user, "sh", "-c", script, "sh", str(size_bytes), mount_point]


def tmpfs_unavailable(workdir):
    """None when small_tmpfs_argv works here, else why not (no unshare, no permission)."""
    probe = os.path.join(workdir, "tmpfs-probe")
    os.makedirs(probe, exist_ok=True)
    try:
        out = subprocess.run([*small_tmpfs_argv(probe, 1 << 20), "true"], capture_output=True, text=True,
                             timeout=30, check=False)
    except OSError as err:
        return f"{err.strerror}: unshare"
    return None if out.returncode == 0 else (out.stderr.strip().splitlines() or ["failed"])[-1][:200]


def fill(pid, mount_point):
    """Fill the file system that process `pid` sees on `mount_point` (through /proc/PID/root, from
    outside its mount namespace) until it is full; the bytes written."""
    path = os.path.join(f"/proc/{pid}/root{mount_point}", "filler")
    written, block = 0, bytes(1 << 16)
    with open(path, "wb", buffering=0) as f:
        for _ in range(1 << 16):  # bounded: 4 GiB
            try:
                written += f.write(block)
            except OSError:  # ENOSPC: full
                break
    return written


def full_temp_dir(models_dir, workdir, token, clients, seconds, workers=2, size_bytes=64 << 20):
    """A server whose temp dir (its model copy, its metrics files) is a small tmpfs of its own,
    filled while it serves; then a worker killed: its replacement must boot, completions go on,
    /metrics answers and counts the failures."""
    temp = os.path.join(workdir, "small-tmp")
    os.makedirs(temp, exist_ok=True)
    server = Server(models_dir, workdir, workers, {"TABCOMPLETE_TOKEN": token, "TMPDIR": temp}, name="full-tmp",
                    wrap=small_tmpfs_argv(temp, size_bytes))
    report = {"tmpfs_bytes": size_bytes}
    try:
        server.start()
        report["filled_bytes"] = fill(server.proc.pid, temp)
        os.kill(server.worker_pids()[0], signal.SIGKILL)
        try:
            server.wait_loaded(server.loaded + 1, seconds=30)
            report["replacement_booted"] = True
        except RuntimeError:
            report["replacement_booted"] = False
            return report
        report["load_while_full"] = load_after(server, clients, seconds, token)
        status, _, body, _ = exchange(server.port, request("GET", "/metrics", token=token), seconds=30)
        failures = [line for line in body.decode("utf-8", "replace").splitlines()
                    if line.startswith("tabcomplete_metrics_failures_total ")]
        report["metrics_status"] = status
        report["metrics_failures"] = float(failures[0].split()[1]) if failures else None
        report["sigbus"] = "SIGBUS" in server.log_text() or "signal 7" in server.log_text()
        report["server_running"] = server.proc.poll() is None
    finally:
        server.stop()
    return report
