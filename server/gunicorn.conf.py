"""gunicorn settings for the completion server. From the repo root:

    gunicorn -c server/gunicorn.conf.py --bind 127.0.0.1:8000

Environment: TABCOMPLETE_MODELS (models dir, default model/pretrained), TABCOMPLETE_TOKEN,
TABCOMPLETE_MIN_PROB, TABCOMPLETE_MAX_BODY_BYTES (see server/config.py), TABCOMPLETE_WORKERS,
TABCOMPLETE_WORKER_CLASS, TABCOMPLETE_THREADS, PROMETHEUS_MULTIPROC_DIR.
"""
import multiprocessing
import os
import shutil
import tempfile

# One BLAS thread per worker. OpenBLAS would start a helper thread per worker that spins on the
# core the other worker needs: measured with the load test (server.loadtest, 50 clients, 2
# workers, 2 cores), 190 requests/s with it, 480 without. Set here, in the master, so every
# worker inherits it before it imports numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Run from anywhere: import `server` from the repo this file is in.
chdir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The app factory is called in each worker after the fork, so each worker loads the models
# once, itself. Never preload: TensorFlow is not fork-safe and state shared across a fork
# (locks, caches) is not ours to share, even though serving only needs numpy.
wsgi_app = "server:create_app()"
preload_app = False

bind = [os.environ.get("TABCOMPLETE_BIND", "127.0.0.1:8000")]  # this machine only, unless told otherwise
workers = int(os.environ.get("TABCOMPLETE_WORKERS") or os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# A completion is CPU work, so parallelism comes from the workers, one request each at a time
# ("sync", which takes connections from the shared listening socket in order): on the load
# test, p99 170-200 ms at 370-480 requests/s, where gthread with 4 threads per worker gave
# 210-590 ms at similar rates (a worker's threads fight over the GIL and the caches, and each
# worker serves the connections it happened to accept). The price: a client that sends its
# body slowly holds a worker (up to `timeout`). The server is for loopback; exposed to a
# network, put a buffering proxy (nginx) in front, as gunicorn advises, or set
# TABCOMPLETE_WORKER_CLASS=gthread (with TABCOMPLETE_THREADS, default 4).
worker_class = os.environ.get("TABCOMPLETE_WORKER_CLASS", "sync")
# gunicorn turns "sync" with more than one thread into gthread, so threads only for gthread.
threads = int(os.environ.get("TABCOMPLETE_THREADS", "4")) if worker_class == "gthread" else 1
timeout = 30
graceful_timeout = 10
keepalive = 5
max_requests = 0
accesslog = None  # the app writes one JSON line per request to stdout instead
errorlog = "-"
loglevel = os.environ.get("TABCOMPLETE_LOG_LEVEL", "info")
limit_request_line = 8190
limit_request_fields = 100
# gunicorn's control socket is one fixed path per user: several servers (tests, a load test)
# would fight over it, and nothing here uses it.
control_socket_disable = True

# Metrics across workers: prometheus_client's multiprocess mode keeps each worker's values in
# files in this dir, and /metrics sums them whichever worker answers. It must be set before any
# worker imports prometheus_client, so here, in the master, at config time.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = tempfile.mkdtemp(prefix="tabcomplete-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def on_starting(server):
    # Values left by an earlier run would be added to this one's.
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def when_ready(server):
    for listener in server.LISTENERS:
        print(f"tabcomplete serving at {listener}/ ({server.cfg.workers} workers)", flush=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # drop its per-worker gauges (model load time)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
