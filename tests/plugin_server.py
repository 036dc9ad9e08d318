"""Starts the real completion server (python -m server) for the editor plug-in tests."""
import contextlib
import json
import os
import subprocess
import sys
import threading
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def running_server(models_dir, token):
    """Yields the server's URL once it prints its ready line; stops it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", "0", "--models", str(models_dir), "--token", token],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(120, proc.kill)  # a server that never gets ready must not hang the suite
    watchdog.start()
    url, seen = None, []
    try:
        for _ in range(200):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "serving at " in line:
                url = line.split("serving at ", 1)[1].split()[0].rstrip("/")
                break
    finally:
        watchdog.cancel()
    if url is None:
        proc.kill()
        raise RuntimeError("server did not start:\n" + "".join(seen))
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its log
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def post_complete(url, body, token):
    req = urllib.request.Request(url + "/complete", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)
