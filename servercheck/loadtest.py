"""Load test: many concurrent clients posting completions, as editors do, and malformed requests.

    python -m servercheck.loadtest --url http://127.0.0.1:8000 --clients 20 --seconds 60              # typing
    python -m servercheck.loadtest --url http://127.0.0.1:8000 --clients 20 --seconds 60 --mode files
    python -m servercheck.loadtest --url http://127.0.0.1:8000 --clients 50 --seconds 60 --mode cache

Modes (what each valid request is):
- typing (the default): each client types through buffers of real code (2,000-4,000 characters
  of a Python file of the standard library on this machine, from a line start): BURST requests
  in one buffer, the cursor 1-8 characters further each time, then another buffer. Each request
  is what the plug-ins send for such a buffer: all of it before the cursor as the text, the lines
  after the cursor's line as the suffix, 3 choices. The server's state cache hits only what
  typing gives it;
- files: the same, with `files`: up to 16 other files of the same package, 16,000 characters of
  each (the plug-ins' default budget, 256,000 characters);
- cache: short primes of 60 characters, a few characters varied: nearly every request hits the
  state cache. Its figure is the cache-hit figure, the server's ceiling, not what editors see.

Prints progress on stderr and ONE JSON object on the last line of stdout: requests, status
counts, 5xx, connection errors, timeouts, p50/p99/max latency in ms (all requests, and valid
completions alone), requests slower than 1 s, and requests per second. Exits 1 when any 5xx or
connection error was seen. Send it only to a server of your own (loopback).
"""
import argparse
import asyncio
import functools
import json
import os
import random
import sys
import sysconfig
import time

import aiohttp

MODES = ("typing", "files", "cache")
BURST = 40                  # requests a typing client makes at one place before it moves on
BUFFER_CHARS = (2000, 4000)  # the buffer a typing client types in (the text before the cursor is all of it)
FILES_MAX, FILE_CHARS = 16, 16_000  # what files mode sends (limits.json: files_max, files_budget_default)
# Not code anyone types: installed packages, generated codec tables, pydoc's topics, test suites.
SKIPPED_DIRS = ("site-packages", "dist-packages", "__pycache__", "encodings", "pydoc_data", "test", "tests")

PRIMES = [
    "import os\nimport sys\n\n\ndef main(argv):\n    for name in os.li",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.",
    "def add(a, b):\n    return a",
    "import json\n\n\ndef load(path):\n    with open(path) as f:\n        return json.",
    "for i in range(10):\n    if i % 2 == 0:\n        print(",
    "x = [1, 2, 3]\ny = {",
]


def valid_body(rng):
    prime = rng.choice(PRIMES)
    # Vary the buffer, as typing does: some requests hit the state cache, some do not.
    prime += "".join(rng.choice("abcdefghij_ (") for _ in range(rng.randrange(0, 6)))
    body = {"text": prime, "max_chars": rng.choice([20, 40, 80])}
    if rng.random() < 0.3:
        body["stop"] = rng.choice(["line", "block", "none"])
    if rng.random() < 0.2:
        body.update(temperature=0.7, seed=rng.randrange(1000), n=rng.randrange(1, 4))
    if rng.random() < 0.3:
        body["suffix"] = ")\n"
    return body


@functools.cache
def real_code(root=None):
    """{path: text} of the Python files of the standard library (or under `root`) long enough to
    type through, in name order."""
    root = root or sysconfig.get_paths()["stdlib"]
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                try:
                    with open(path, encoding="utf-8") as f:
                        text = f.read()
                except (OSError, UnicodeDecodeError):
                    continue
                if len(text) >= 2 * BUFFER_CHARS[1]:
                    found[path] = text
    if not found:
        raise RuntimeError(f"no Python files to type through under {root}")
    return found


class Typist:
    """A client typing through real code: request bodies as the plug-ins build them."""

    def __init__(self, rng, code, with_files):
        self.rng, self.code, self.paths, self.with_files = rng, code, sorted(code), with_files
        self.left = 0

    def move(self):
        """A new place: a buffer of 2,000-4,000 characters of a file from a line start, the cursor in
        it (BURST requests of typing still fit)."""
        self.path = self.rng.choice(self.paths)
        source, size = self.code[self.path], self.rng.randint(*BUFFER_CHARS)
        start = source.find("\n", self.rng.randrange(len(source) - size)) + 1
        self.buffer = source[start:start + size]
        self.cursor = self.rng.randint(size // 4, size - 8 * BURST)
        self.left = BURST
        if self.with_files:
            folder = os.path.dirname(self.path)
            others = [p for p in self.paths if os.path.dirname(p) == folder and p != self.path]
            self.files = [{"path": p, "text": self.code[p][:FILE_CHARS]} for p in others[:FILES_MAX]]

    def body(self):
        if self.left == 0:
            self.move()
        else:
            self.cursor += self.rng.randint(1, 8)  # typed since the last Tab
        self.left -= 1
        line_end = self.buffer.find("\n", self.cursor)
        body = {"text": self.buffer[:self.cursor], "suffix": self.buffer[line_end:] if line_end >= 0 else "",
                "max_chars": 80, "stop": "line", "language": "python", "path": self.path, "choices": 3}
        if self.with_files and self.files:
            body["files"] = self.files
        return body


def malformed(rng):
    """(method, path, data, content type, expected status) of a request the server must refuse."""
    kind = rng.randrange(9)
    json_type = "application/json"
    if kind == 0:
        return "POST", "/complete", b'{"text": "def f(', json_type, 400           # broken JSON
    if kind == 1:
        return "POST", "/complete", json.dumps({"text": 5}).encode(), json_type, 400
    if kind == 2:
        return "POST", "/complete", json.dumps({"text": "x", "max_chars": 0}).encode(), json_type, 400
    if kind == 3:
        return "POST", "/complete", json.dumps({"text": "x", "language": "cobol"}).encode(), json_type, 404
    if kind == 4:
        return "POST", "/complete", b"text=def+f(", "application/x-www-form-urlencoded", 415
    if kind == 5:
        return "GET", "/complete", None, None, 405
    if kind == 6:
        return "POST", "/complete", bytes(rng.randrange(256) for _ in range(64)), json_type, 400
    if kind == 7:  # larger than the default 1 MiB limit
        return "POST", "/complete", json.dumps({"text": "a" * (2 * 1024 * 1024)}).encode(), json_type, 413
    return "POST", "/complete", json.dumps([1, 2, 3]).encode(), json_type, 400


class Stats:
    def __init__(self):
        self.statuses = {}
        self.latencies = []
        self.valid_latencies = []
        self.connection_errors = 0
        self.timeouts = 0
        self.unexpected = {}      # "expected->got" counts for refusals answered with another status
        self.non_json_errors = 0  # error answers whose body was not {"error": {...}}

    def record(self, status, seconds, valid):
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        self.latencies.append(seconds)
        if valid and status == 200:
            self.valid_latencies.append(seconds)


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def client(session, base, deadline, stats, rng, malformed_share, max_requests, counter, token=None,
                 typist=None):
    while time.monotonic() < deadline and counter[0] < max_requests:
        counter[0] += 1
        valid = rng.random() >= malformed_share
        if valid:
            body = typist.body() if typist else valid_body(rng)
            method, path, data, ctype, expected = "POST", "/complete", json.dumps(body).encode(), \
                "application/json", 200
        else:
            method, path, data, ctype, expected = malformed(rng)
        headers = {"Content-Type": ctype} if ctype else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        t0 = time.perf_counter()
        try:
            async with session.request(method, base + path, data=data, headers=headers) as response:
                body = await response.read()
                stats.record(response.status, time.perf_counter() - t0, valid)
                if response.status != expected:
                    key = f"{expected}->{response.status}"
                    stats.unexpected[key] = stats.unexpected.get(key, 0) + 1
                if response.status >= 400:
                    try:
                        error = json.loads(body)["error"]
                        assert isinstance(error["code"], str) and isinstance(error["message"], str)
                    except (ValueError, KeyError, TypeError, AssertionError):
                        stats.non_json_errors += 1
        except TimeoutError:
            stats.timeouts += 1
        except aiohttp.ClientError:
            stats.connection_errors += 1


async def run(url, clients, seconds, malformed_share, timeout, seed, max_requests, token=None, mode="typing",
              code=None):
    """The load test's figures. mode: "typing", "files" or "cache"; code: {path: text} to type
    through (default: real_code())."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    base = url.rstrip("/")
    stats = Stats()
    counter = [0]
    if mode != "cache" and code is None:
        code = real_code()
    typists = [Typist(random.Random(seed * 1000 + i + 500), code, mode == "files") if mode != "cache" else None
               for i in range(clients)]
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        t0 = time.monotonic()
        deadline = t0 + seconds
        await asyncio.gather(*(client(session, base, deadline, stats, random.Random(seed * 1000 + i),
                                      malformed_share, max_requests, counter, token, typists[i])
                               for i in range(clients)))
        wall = time.monotonic() - t0
    total = sum(stats.statuses.values()) + stats.connection_errors + stats.timeouts
    return {
        "url": base, "mode": mode, "clients": clients, "seconds": round(wall, 2),
        "requests": total,
        "status": dict(sorted(stats.statuses.items())),
        "5xx": sum(n for s, n in stats.statuses.items() if s.startswith("5")),
        "connection_errors": stats.connection_errors,
        "timeouts": stats.timeouts,
        "unexpected_status": stats.unexpected,
        "non_json_errors": stats.non_json_errors,
        "p50_ms": percentile(stats.latencies, 0.50),
        "p99_ms": percentile(stats.latencies, 0.99),
        "max_ms": round(max(stats.latencies) * 1000, 2) if stats.latencies else None,
        "over_1s": sum(1 for t in stats.latencies if t > 1.0),
        "complete_p50_ms": percentile(stats.valid_latencies, 0.50),
        "complete_p99_ms": percentile(stats.valid_latencies, 0.99),
        "requests_per_second": round(total / wall, 1) if wall > 0 else None,
        "completions_per_second": round(len(stats.valid_latencies) / wall, 1) if wall > 0 else None,
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m servercheck.loadtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--max-requests", type=int, default=10_000_000, help="stop after this many requests in all")
    p.add_argument("--mode", choices=MODES, default="typing", help="what a valid request is (see above)")
    p.add_argument("--malformed", type=float, default=0.0, help="share of malformed requests (0..1)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before a request counts as timed out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--token", help="send Authorization: Bearer TOKEN (a server with TABCOMPLETE_TOKEN)")
    args = p.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or not 0 <= args.malformed <= 1:
        p.error("--clients must be >= 1, --seconds > 0, --malformed in 0..1")
    print(f"load test: {args.clients} clients ({args.mode}) for {args.seconds:g} s against {args.url}", file=sys.stderr)
    result = asyncio.run(run(args.url, args.clients, args.seconds, args.malformed, args.timeout, args.seed,
                             args.max_requests, args.token, args.mode))
    print(json.dumps(result))
    return 0 if result["5xx"] == 0 and result["connection_errors"] == 0 and result["timeouts"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
