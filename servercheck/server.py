"""The server under test: gunicorn with server/gunicorn.conf.py started on a free loopback port,
its logs in files; and raw HTTP exchanges with it over real sockets (servercheck.reliability's
probes, servercheck.faults).

    server = Server(models_dir, workdir, workers=2, env={"TABCOMPLETE_TOKEN": token}).start()
    status, head, body, seconds = exchange(server.port, request("GET", "/health"))
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


class Server:
    """gunicorn with server/gunicorn.conf.py on a free loopback port; logs in files."""

    def __init__(self, models_dir, workdir, workers=2, env=None, name="server", args=(), wrap=()):
        """args: more gunicorn arguments (--pid FILE); wrap: the command gunicorn is run under
        (small_tmpfs_argv's, to give it a small file system of its own)."""
        self.models_dir, self.workers, self.args, self.wrap = models_dir, workers, list(args), list(wrap)
        self.out_path = os.path.join(workdir, f"{name}.out.log")
        self.err_path = os.path.join(workdir, f"{name}.err.log")
        self.env = {**os.environ, "TABCOMPLETE_MODELS": models_dir, **(env or {})}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.proc = None
        self.port = None
        self.loaded = 0  # workers that printed models_loaded so far

    def start(self, seconds=120):
        self._out, self._err = open(self.out_path, "w"), open(self.err_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([*self.wrap, GUNICORN, "-c", "server/gunicorn.conf.py", "--bind", "127.0.0.1:0",
                                      "--workers", str(self.workers), *self.args], cwd=REPO, env=self.env,
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
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, timeout=10,
                             check=False)
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
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
                if m and len(body) >= int(m.group(1)):
                    break
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
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
