"""Prometheus metrics for GET /metrics.

Under gunicorn each worker is a process with its own counters. gunicorn.conf.py sets
PROMETHEUS_MULTIPROC_DIR before any worker starts; prometheus_client then keeps every
worker's values in files there, and /metrics adds them up across workers, whichever worker
answers the scrape. Without that variable (python -m server, tests in one process) the
values live in this process.
"""
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


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
        # Per worker (pid label); gunicorn.conf.py drops dead workers' values.
        self.load_seconds = Gauge("tabcomplete_model_load_seconds", "Time this worker took to load a model",
                                  ["model", "language"], registry=r, multiprocess_mode="liveall")

    def observe_load(self, models):
        for m in models:
            self.load_seconds.labels(m.name, m.language).set(m.load_seconds)

    def observe_request(self, endpoint, method, status, seconds):
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def observe_completion(self, model, completion):
        self.completions.labels(model, completion.stop_reason or "none").inc()
        if completion.stop_reason == "in_comment":
            return  # answered without looking at the cache
        hit = completion.new_chars < completion.context_chars
        self.cache.labels(model, "hit" if hit else "miss").inc()
        self.chars_run.labels(model).inc(completion.new_chars)

    def exposition(self):
        """(body, content type) for GET /metrics."""
        path = multiprocess_dir()
        if path:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=path)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
