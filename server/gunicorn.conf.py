"""gunicorn settings for the completion server. From the repo root:

    gunicorn -c server/gunicorn.conf.py --bind 127.0.0.1:8000

Environment: TABCOMPLETE_MODELS (models dir, default model/pretrained), TABCOMPLETE_TOKEN,
TABCOMPLETE_MIN_PROB, TABCOMPLETE_MAX_BODY_BYTES, TABCOMPLETE_ALLOWED_HOSTS (see server/config.py),
TABCOMPLETE_WORKERS, TABCOMPLETE_HEADER_TIMEOUT, TABCOMPLETE_BODY_TIMEOUT,
TABCOMPLETE_FORWARDED_ALLOW_IPS, TABCOMPLETE_WORKER_CLASS, TABCOMPLETE_THREADS, PROMETHEUS_MULTIPROC_DIR.
"""
import multiprocessing
import os
import shutil
import sys
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
# itself; it never preloads (state shared across a fork is not ours to share). What the workers
# load is a private copy of the model dirs that the master made and verified at start-up
# (on_starting below): a worker that restarts later reads exactly what was verified, even if
# the model dir was changed or broken meanwhile, and a model that cannot load stops the server
# at start with the file named.
wsgi_app = "server:create_app()"
preload_app = False

bind = [os.environ.get("TABCOMPLETE_BIND", "127.0.0.1:8000")]  # this machine only, unless told otherwise
workers = int(os.environ.get("TABCOMPLETE_WORKERS") or os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())

# Slow clients. A sync worker reads each request on the process that computes completions, so a
# client that sends its headers or body slowly holds a worker: with 2 sync workers, two clients
# sending headers at a byte a second made every other request wait 29.6 s. The worker here
# (server/worker.py) is gunicorn's gevent worker: each connection is read in a greenlet, a
# stalled client waits on its own socket, and the process computes completions for whoever has
# sent a whole request. Measured with python -m server.reliability (4 slow-header and 4
# slow-body connections open through a 50-client load test, 2 workers, 30 s, this 2-core VM
# shared with other jobs; README, "Slow clients"):
#   sync                          4.7 requests/s, 100 of 150 requests timed out (10 s)
#   gthread, 4 threads            5.2 requests/s, 100 of 150 timed out
#   gevent, keep-alive            155 requests/s, 0 timed out, p99 1040 ms
#   gevent, one request a conn.   233 requests/s, 0 timed out, p99 965 ms (machine busy; 304-376/s,
#                                 p99 244-617 ms in 20 s runs right after)
# Without slow clients, 15 s runs taken in turns: sync 240-278/s, p99 255-905 ms; gevent with
# one request a connection 272-282/s, p99 243-280 ms; gevent keep-alive 284-319/s, p99 634-660 ms
# (a keep-alive connection stays with the worker that accepted it, so one worker's queue grows
# while the other's is short). Hence one request per connection, as sync did.
# The trade-offs: a completion is CPU work and does not yield, so a worker computes one at a
# time (as sync did) and parallelism still comes from the workers; a worker holds the
# connections it has accepted, so a worker killed (kill -9) drops every request it held, not
# just the one it was computing (README has the figure).
# TABCOMPLETE_WORKER_CLASS=sync (or gthread) brings back gunicorn's own class, without these
# guards (for measurements only).
worker_class = os.environ.get("TABCOMPLETE_WORKER_CLASS", "server.worker.Worker")
# gunicorn turns "sync" with more than one thread into gthread, so threads only for gthread.
threads = int(os.environ.get("TABCOMPLETE_THREADS", "4")) if worker_class == "gthread" else 1
worker_connections = 1000  # per worker: connections held at once (slow ones included)
# Read deadlines, per request (server/worker.py): line and headers within HEADER seconds of the
# worker starting to wait for them (an idle keep-alive connection ends then too), the body
# within BODY seconds after its headers (408 otherwise).
os.environ.setdefault("TABCOMPLETE_HEADER_TIMEOUT", "5")
os.environ.setdefault("TABCOMPLETE_BODY_TIMEOUT", "10")
# gunicorn's keep-alive timer is what bounds the header read in a gevent worker, so it is the
# header deadline; server/worker.py closes each connection after its answer all the same.
keepalive = max(1, round(float(os.environ["TABCOMPLETE_HEADER_TIMEOUT"])))
# Trust no proxy headers (X-Forwarded-*, SCRIPT_NAME) unless told which front-end sends them:
# gunicorn trusts 127.0.0.1 by default, i.e. any local process.
forwarded_allow_ips = os.environ.get("TABCOMPLETE_FORWARDED_ALLOW_IPS", "")
timeout = 30
graceful_timeout = 10
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


_snapshot_dir = None


def on_starting(server):
    # Values left by an earlier run would be added to this one's.
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    # Settings and models are checked here, in the master, before it binds or forks: a bad one
    # stops the server with its reason (exit status 1), never a worker's traceback.
    global _snapshot_dir
    from server.config import ConfigError, load_config
    from server.models import ModelsError, verified_snapshot

    try:
        _snapshot_dir, serve = verified_snapshot(load_config())
    except (ConfigError, ModelsError) as err:
        sys.exit(f"error: {err}")
    os.environ["TABCOMPLETE_MODELS"] = serve  # the workers inherit it


def when_ready(server):
    import socket

    # Hand a connection to accept() only once its first bytes are in (Linux): a gevent worker
    # then never takes a connection it cannot serve yet while the other worker sits idle. In
    # 3000-request load tests taken in turns: 185 / 304 requests/s, p99 431 / 219 ms with it,
    # 176 / 276 and 708 / 259 ms without. A client that sends nothing is accepted after about
    # a second anyway, and the header deadline runs from there.
    if hasattr(socket, "TCP_DEFER_ACCEPT"):
        for listener in server.LISTENERS:
            if listener.sock.family in (socket.AF_INET, socket.AF_INET6):
                listener.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
    for listener in server.LISTENERS:
        print(f"tabcomplete serving at {listener}/ ({server.cfg.workers} workers)", flush=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # drop its per-worker gauges (model load time)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
    if _snapshot_dir:
        shutil.rmtree(_snapshot_dir, ignore_errors=True)
