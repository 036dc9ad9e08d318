"""Attacks on a running server by many connections at once, and what they cost it: clients that
never read their answers, and floods of slow connections beside one normal client.

    never_reading(port, 200, ...)      # -> how long the server held them, what they got
    flood(port, 2000, 20, ...)         # -> the normal client's latency while 2000 connections trickle
    worker_rss_mb(master_pid)          # -> {worker pid: resident MB}

Used by servercheck.reliability (which starts the server); loopback only. Every loop is bounded
in count and time. A flood's slow connections are held by another process (this module run as
`python -m servercheck.attacks PORT CONNECTIONS SECONDS INTERVAL RAMP`), so that the normal
client's latency is the server's, not that of an event loop busy with thousands of sockets.
"""
import asyncio
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time

RECEIVE_BUFFER = 4096  # a never-reading client's receive buffer (the kernel doubles it)
NETWORK_MSS = 1460     # the segment size of an Ethernet path: what a loopback client announces to act remote


def worker_rss_mb(master_pid):
    """{worker pid: resident memory in MB} of a gunicorn master's children."""
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True, timeout=10,
                         check=False).stdout
    sizes = {}
    for pid in out.split():
        try:
            with open(f"/proc/{pid}/status") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue  # gone meanwhile
        sizes[int(pid)] = round(kb / 1024, 1)
    return sizes


def server_connections(port):
    """Connections the server on `port` holds open now (its side established, or closed by the
    client and not yet by the server), by `ss`. What the kernel keeps after the server closed
    (FIN-WAIT, TIME-WAIT) is not counted: no process holds it."""
    out = subprocess.run(["ss", "-tnH", "state", "established", "state", "close-wait", f"( sport = :{port} )"],
                         capture_output=True, text=True, timeout=10, check=False).stdout
    return len(out.splitlines())


def unknown_keys_body(size):
    """A JSON body of about `size` bytes: a valid text and unknown keys (answered 400)."""
    keys, chunk = {}, max(1, (size - 20) // 32)
    for i in range(chunk):
        keys[f"unknown_key_{i:08d}_padding"] = 0
    return json.dumps({"text": "x", **keys}).encode()


def raw_request(method, path, token=None, body=b"", content_type="application/json"):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- clients that never read ------------------------------------------------------------------

def open_never_reading(port, clients, request_bytes, mss=None):
    """`clients` connections, each with a small receive buffer (and segment size `mss`, if given),
    that send `request_bytes` whole and never read: [(socket, bytes sent)]."""
    socks = []
    try:
        for _ in range(clients):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append([s, 0])
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            if mss:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
        deadline, pending = time.monotonic() + 60, list(socks)
        while pending and time.monotonic() < deadline:  # every request out, without reading anything
            for item in list(pending):
                try:
                    item[1] += item[0].send(request_bytes[item[1]:item[1] + 65536])
                except BlockingIOError:
                    continue
                except OSError:
                    pending.remove(item)
                    continue
                if item[1] >= len(request_bytes):
                    pending.remove(item)
            time.sleep(0.001)
    except BaseException:
        for s, _ in socks:
            s.close()
        raise
    return socks


def what_came(socks):
    """Read each never-reading connection to its end, close it: {"complete", "cut", "reset", "none"} counts."""
    answers = {"complete": 0, "cut": 0, "reset": 0, "none": 0}
    for s, _ in socks:
        with s:
            answers[read_what_came(s)] += 1
    return answers


def never_reading(port, clients, request_bytes, wait_seconds, mss=None):
    """open_never_reading(...); after `wait_seconds` (the server's write deadline and a margin),
    how many the server still holds, then what reached each client.
    {"clients", "sent", "waited_s", "held_by_server_after_wait", "answers"}"""
    socks = open_never_reading(port, clients, request_bytes, mss)
    try:
        sent = sum(1 for _, n in socks if n >= len(request_bytes))
        time.sleep(wait_seconds)
        held = server_connections(port)
    finally:
        answers = what_came(socks)
    return {"clients": clients, "sent": sent, "waited_s": wait_seconds, "held_by_server_after_wait": held,
            "answers": answers}


def read_what_came(sock, seconds=10.0):
    """Read a connection to its end: "complete" (an answer as long as its Content-Length), "cut"
    (shorter: the server dropped it), "reset" (the server aborted it), "none" (nothing came)."""
    sock.setblocking(True)
    got, deadline = b"", time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        if not got:
            return "reset"
    except OSError:
        pass
    head, sep, body = got.partition(b"\r\n\r\n")
    if not sep:
        return "none" if not got else "cut"
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    return "complete" if m and len(body) >= int(m.group(1)) else "cut"


# -- a flood of slow connections beside a normal client ----------------------------------------

class SlowConnection(asyncio.Protocol):
    """One connection's end as the server decides it: an answer or a close (`done` is set)."""

    def __init__(self):
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data):
        if not self.done.done():
            self.done.set_result("answered")

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result("closed")


async def slow_connection(port, deadline, interval, stats):
    """Hold one connection that sends a request line a byte every `interval` s; when the server
    cuts it, open the next, until `deadline`."""
    loop = asyncio.get_running_loop()
    line = b"POST /complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    for _ in range(100_000):  # bounded: one connection per pass
        if time.monotonic() >= deadline:
            return
        try:
            transport, conn = await asyncio.wait_for(loop.create_connection(SlowConnection, "127.0.0.1", port), 10)
        except (TimeoutError, OSError):
            stats["connect_errors"] += 1
            await asyncio.sleep(interval)
            continue
        stats["opened"] += 1
        stats["open_now"] += 1
        t0 = time.monotonic()
        try:
            for byte in line:
                if conn.done.done() or time.monotonic() >= deadline:
                    break
                transport.write(bytes([byte]))
                await asyncio.wait([conn.done], timeout=interval)
            if conn.done.done():
                stats["cut"] += 1
                stats["held_s"].append(time.monotonic() - t0)
        finally:
            stats["open_now"] -= 1
            transport.abort()


async def hold_slow_connections(port, connections, seconds, interval, ramp_seconds):
    stats = {"opened": 0, "open_now": 0, "cut": 0, "connect_errors": 0, "held_s": []}
    t0 = time.monotonic()
    deadline = t0 + ramp_seconds + seconds
    tasks = []
    for i in range(connections):  # opened over ramp_seconds, not all in one burst
        tasks.append(asyncio.create_task(slow_connection(port, deadline, interval, stats)))
        if i % 100 == 99:
            await asyncio.sleep(ramp_seconds * 100 / connections)
    await asyncio.sleep(max(0.0, t0 + ramp_seconds - time.monotonic()))
    open_at_start = stats["open_now"]
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"slow_connections": connections, "byte_interval_s": interval, "slow_open_after_ramp": open_at_start,
            "slow_opened": stats["opened"], "slow_cut_by_server": stats["cut"],
            "slow_connect_errors": stats["connect_errors"],
            "slow_longest_held_s": round(max(stats["held_s"]), 1) if stats["held_s"] else None}


def timed_request(port, data, seconds):
    """One request on a fresh connection, blocking: (status or None, seconds)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(data)
        answer = b""
        while True:
            sock.settimeout(max(0.01, seconds - (time.monotonic() - t0)))
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return (int(m.group(1)) if m else None), time.monotonic() - t0


def percentile_ms(values, q):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1) if ordered else None


def flood(port, connections, seconds, interval=1.0, body=None, token=None, ramp_seconds=3.0, pause=0.05):
    """`connections` slow connections held open by another process (each sending its request line
    a byte every `interval` s, reopened when the server cuts it) while a normal client here posts
    `body` to /complete for `seconds`, one request after another on fresh connections: its latency
    and errors, and what became of the slow connections."""
    body = body or json.dumps({"text": "import os\n\n\ndef main(argv):\n    for name in os.li"}).encode()
    data = raw_request("POST", "/complete", token, body)
    holder = subprocess.Popen([sys.executable, "-m", "servercheck.attacks", str(port), str(connections),
                               str(seconds), str(interval), str(ramp_seconds)], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        time.sleep(ramp_seconds)  # the slow connections are in place before the normal client starts
        latencies, statuses, errors = [], {}, 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                status, took = timed_request(port, data, 10.0)
                latencies.append(took)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            except OSError:
                errors += 1
            time.sleep(pause)
        out, _ = holder.communicate(timeout=seconds + 60)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    report = json.loads(out.strip().splitlines()[-1])
    report["normal"] = {"requests": len(latencies) + errors, "statuses": statuses, "errors": errors,
                        "p50_ms": percentile_ms(latencies, 0.5), "p99_ms": percentile_ms(latencies, 0.99),
                        "max_ms": percentile_ms(latencies, 1.0), "seconds": seconds}
    return report


def raise_open_files_limit(needed):
    """The soft limit on open files raised to `needed` (within the hard limit): a flood's client
    holds one descriptor per connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


if __name__ == "__main__":  # the flood's other process: PORT CONNECTIONS SECONDS INTERVAL RAMP_SECONDS
    port, connections, seconds, interval, ramp = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:6])
    raise_open_files_limit(connections + 100)
    print(json.dumps(asyncio.run(hold_slow_connections(port, connections, seconds, interval, ramp))), flush=True)
