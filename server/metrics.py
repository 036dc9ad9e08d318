"""Prometheus metrics for GET /metrics; a failure to keep them never fails a request.

Under gunicorn each worker is a process with its own counters. gunicorn.conf.py sets
PROMETHEUS_MULTIPROC_DIR before any worker starts; prometheus_client then keeps every
worker's values in files there, and /metrics adds them up across workers, whichever worker
answers the scrape. Without that variable (python -m server, tests in one process) the
values live in this process.

Those files are memory-mapped, in the temp dir. prometheus_client makes each one sparse and maps
it, so on a full file system the first write to a page with no block behind it killed the worker
with SIGBUS (every new worker died within a second, and the master restarted it, for as long as
the disk stayed full). Here the blocks are allocated before they are mapped (AllocatedMmapedDict):
a full disk is then an OSError, which every Metrics method catches, logs (once a minute) and
counts; the request goes on. The count of failures cannot live in the files that fail: it lives
in memory the master maps before it forks (FAILURES), one slot per worker.
"""
import functools
import json
import logging
import mmap
import os
import struct
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily
from prometheus_client.mmap_dict import _INITIAL_MMAP_SIZE, MmapedDict

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LOG_EVERY_SECONDS = 60.0  # a failing disk fails every request: one log line a minute, not one a request

log = logging.getLogger("tabcomplete")


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


class AllocatedMmapedDict(MmapedDict):
    """prometheus_client's per-process values file, with the blocks of every page allocated
    (posix_fallocate) before the page is mapped: a full file system raises OSError (ENOSPC) here
    instead of SIGBUS at the first write. Written against prometheus_client 0.26 (its _capacity,
    _used and _f; tests/test_metrics.py fills a real file system under it)."""

    def __init__(self, filename, read_mode=False):
        if not read_mode:
            allocate(filename, _INITIAL_MMAP_SIZE)
        super().__init__(filename, read_mode)

    def _init_value(self, key):
        encoded = key.encode("utf-8")
        entry = 4 + len(encoded) + (8 - (len(encoded) + 4) % 8) + 16  # as the parent packs it
        capacity = self._capacity
        while self._used + entry > capacity:
            capacity *= 2  # as the parent grows it
        if capacity != self._capacity:
            os.posix_fallocate(self._f.fileno(), 0, capacity)
        super()._init_value(key)


def allocate(filename, size):
    """Create `filename` with `size` bytes of allocated blocks (or leave a larger one as it is).
    On failure a file made here is removed: an empty values file would break every scrape."""
    fd = os.open(filename, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        had = os.fstat(fd).st_size
        if had < size:
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError:
                if had == 0:
                    os.remove(filename)
                raise
    finally:
        os.close(fd)


values.MmapedDict = AllocatedMmapedDict  # the name prometheus_client's multiprocess values open their files by


class Failures:
    """Metric failures, counted in anonymous shared memory mapped at import: in the gunicorn
    master, before any fork, so every worker writes its own slot (handed out by gunicorn.conf.py's
    pre_fork; a replacement continues its predecessor's count) and any worker reads them all."""

    SLOTS = 512

    def __init__(self):
        self.shared = mmap.mmap(-1, self.SLOTS * 8)  # MAP_SHARED | MAP_ANONYMOUS: no file to fill
        self.shared.write(bytes(self.SLOTS * 8))    # its pages made now, not at a first count
        self.slot = None                            # None: this process counts in `local`
        self.local = 0

    def use_slot(self, slot):
        self.slot = slot if slot is not None and 0 <= slot < self.SLOTS else None

    def add(self):
        if self.slot is None:
            self.local += 1
            return self.local
        count = struct.unpack_from("q", self.shared, self.slot * 8)[0] + 1
        struct.pack_into("q", self.shared, self.slot * 8, count)
        return count

    def total(self):
        return self.local + sum(struct.unpack_from(f"{self.SLOTS}q", self.shared))

    def collect(self):  # a prometheus_client collector
        yield CounterMetricFamily("tabcomplete_metrics_failures", "Metric updates that failed (the metrics dir "
                                  "full or unwritable); the requests went on", value=self.total())


FAILURES = Failures()
FAILURES_REGISTRY = CollectorRegistry()
FAILURES_REGISTRY.register(FAILURES)


def guarded(method):
    """A Metrics method that never raises: a failure is logged (once a minute) and counted."""
    @functools.wraps(method)
    def call(self, *args):
        try:
            return method(self, *args)
        except Exception as err:  # noqa: BLE001 - metrics must never take a request (or a worker) down
            self.failed(err)
    return call


class Metrics:
    def __init__(self):
        # A registry per app, so that several apps in one process (tests) do not collide.
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tabcomplete_requests", "HTTP requests by endpoint, method and status",
                                ["endpoint", "method", "status"], registry=r)
        self.latency = Histogram("tabcomplete_request_seconds", "Time to answer a request",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.completions = Counter("tabcomplete_completions", "Completions answered, by model and stop reason",
                                   ["model", "stop_reason"], registry=r)
        self.cache = Counter("tabcomplete_state_cache", "State-cache lookups of the Completer (hit: the LSTM "
                             "only ran the characters after a cached prefix)", ["model", "result"], registry=r)
        self.chars_run = Counter("tabcomplete_context_chars_run", "Context characters the LSTM had to run "
                                 "(not served from the state cache)", ["model"], registry=r)
        self.dropped = Counter("tabcomplete_connections_dropped", "Connections the worker ended before their "
                               "answer was taken: write_timeout (not read in time), shed (waiting for their "
                               "headers when the worker was at its connection cap)", ["reason"], registry=r)
        # Per worker (pid label); gunicorn.conf.py drops dead workers' values.
        self.load_seconds = Gauge("tabcomplete_model_load_seconds", "Time this worker took to load a model",
                                  ["model", "language"], registry=r, multiprocess_mode="liveall")
        self.last_logged = None

    def failed(self, err):
        count = FAILURES.add()
        now = time.monotonic()
        if self.last_logged is None or now - self.last_logged >= LOG_EVERY_SECONDS:
            self.last_logged = now
            log.error(json.dumps({"ts": round(time.time(), 3), "pid": os.getpid(), "event": "metrics_failed",
                                  "error": f"{type(err).__name__}: {err}"[:200], "failures_in_this_slot": count}))

    @guarded
    def observe_load(self, models):
        for m in models:
            self.load_seconds.labels(m.name, m.language).set(m.load_seconds)

    @guarded
    def observe_request(self, endpoint, method, status, seconds):
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    @guarded
    def observe_completion(self, model, completion):
        self.completions.labels(model, completion.stop_reason or "none").inc()
        if completion.stop_reason == "in_comment":
            return  # answered without looking at the cache
        hit = completion.new_chars < completion.context_chars
        self.cache.labels(model, "hit" if hit else "miss").inc()
        self.chars_run.labels(model).inc(completion.new_chars)

    @guarded
    def observe_dropped(self, reason):
        self.dropped.labels(reason).inc()

    def exposition(self):
        """(body, content type) for GET /metrics, with the failures counted so far."""
        path = multiprocess_dir()
        if path:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=path)
        else:
            registry = self.registry
        return generate_latest(registry) + generate_latest(FAILURES_REGISTRY), CONTENT_TYPE_LATEST
