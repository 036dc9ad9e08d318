"""gunicorn settings for the completion server. From the repo root:

    gunicorn -c server/gunicorn.conf.py --bind 127.0.0.1:8000 [--pid FILE]

New or replaced model dirs (make learn): kill -HUP <master pid> (the ready line prints it; or
--pid FILE writes it) reloads the models without dropping a request (on_reload below).

Every TABCOMPLETE_* setting is read in server/config.py: the app's (load_config) and the
processes' (process_settings: bind, workers, worker class, read deadlines, log level). Besides
them, PROMETHEUS_MULTIPROC_DIR.
"""
import os
import shutil
import sys
import tempfile

# One BLAS thread per worker. OpenBLAS would start a helper thread per worker that spins on the
# core the other worker needs: measured with the load test (servercheck.loadtest, 50 clients, 2
# workers, 2 cores), 190 requests/s with it, 480 without. Set here, in the master, so every
# worker inherits it before it imports numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

OWN_METRICS_DIR = "TABCOMPLETE_OWN_METRICS_DIR"  # the metrics dir made here, removed at exit (below)
# Metrics across workers: prometheus_client's multiprocess mode keeps each worker's values in
# files in this dir, and /metrics sums them whichever worker answers. It must be set before any
# worker imports prometheus_client (importing `server` below does), so here, in the master, first.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ[OWN_METRICS_DIR] = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix=f"tabcomplete-metrics-{os.getpid()}-")  # server.models.METRICS_PREFIX: whose dir it is

from server.config import process_settings  # noqa: E402 - after the BLAS and metrics settings

PROCESS = process_settings()

# Run from anywhere: import `server` from the repo this file is in.
chdir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The app factory is called in each worker after the fork, so each worker loads the models
# itself; it never preloads (state shared across a fork is not ours to share). What the workers
# load is a private copy of the model dirs that the master made and verified at start-up
# (on_starting below) or at the last kill -HUP (on_reload): a worker that restarts later reads
# exactly what was verified, even if a model dir was changed or broken meanwhile; a model that
# cannot load stops the server at start with the file named, and is not served after a HUP.
wsgi_app = "server:create_app()"
preload_app = False

bind = [PROCESS["BIND"]]  # this machine only, unless told otherwise
workers = PROCESS["WORKERS"]

# Slow clients. A sync worker reads each request on the process that computes completions, so a
# client that sends its headers or body slowly holds a worker: with 2 sync workers, two clients
# sending headers at a byte a second made every other request wait 29.6 s. The worker here
# (server/worker.py) is gunicorn's gevent worker: each connection is read in a greenlet, a
# stalled client waits on its own socket, and the process computes completions for whoever has
# sent a whole request. Measured with python -m servercheck.reliability (4 slow-header and 4
# slow-body connections open through a 50-client load test, 2 workers, 30 s, this 2-core VM
# shared with other jobs; docs/operations.md):
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
# just the one it was computing (docs/operations.md has the figure).
# TABCOMPLETE_WORKER_CLASS=sync (or gthread) brings back gunicorn's own class, without these
# guards (for measurements only).
worker_class = PROCESS["WORKER_CLASS"]
# gunicorn turns "sync" with more than one thread into gthread, so threads only for gthread.
threads = PROCESS["THREADS"] if worker_class == "gthread" else 1
# Connections a worker holds at once, slow ones included (TABCOMPLETE_MAX_CONNECTIONS). At gunicorn's
# 1000 a flood of 2,000 slow connections (each sending its request line a byte a second) filled
# both workers of 2: they stopped accepting, and a normal client's requests waited in the kernel's
# queue (p99 2.0 s in two runs; 10,000: 0.12 and 0.23 s, and 0.5 s with 4,500 slow connections;
# docs/operations.md). An idle greenlet costs a few kB, so the cap is high; server/worker.py sheds
# the connection waiting longest for its headers when it is reached, and raises the worker's
# open-files limit to fit it.
worker_connections = PROCESS["MAX_CONNECTIONS"]
# Answers are written by sendall only, so the write deadline (server/worker.py) bounds them all.
sendfile = False
# Read deadlines, per request (server/worker.py): line and headers within HEADER seconds of the
# worker starting to wait for them (an idle keep-alive connection ends then too), the body
# within BODY seconds after its headers (408 otherwise).
# gunicorn's keep-alive timer is what bounds the header read in a gevent worker, so it is the
# header deadline; server/worker.py closes each connection after its answer all the same.
keepalive = max(1, round(PROCESS["HEADER_TIMEOUT"]))
# Trust no proxy headers (X-Forwarded-*, SCRIPT_NAME) unless told which front-end sends them:
# gunicorn trusts 127.0.0.1 by default, i.e. any local process.
forwarded_allow_ips = PROCESS["FORWARDED_ALLOW_IPS"]
timeout = 30
graceful_timeout = 10
max_requests = 0
accesslog = None  # the app writes one JSON line per request to stdout instead
errorlog = "-"
loglevel = PROCESS["LOG_LEVEL"]
limit_request_line = 8190
limit_request_fields = 100
# gunicorn's control socket is one fixed path per user: several servers (tests, a load test)
# would fight over it, and nothing here uses it.
control_socket_disable = True

# On kill -HUP gunicorn executes this file again (its globals start afresh), runs on_reload, starts
# new workers and stops the old ones gracefully. What must outlive a reload is therefore kept in
# the master's environment (which the workers inherit), under these names:
MODELS_SOURCE = "TABCOMPLETE_MODELS_SOURCE"    # the models dirs as configured at start
SNAPSHOT = "TABCOMPLETE_SNAPSHOT"              # the verified copy that workers started from now load
RETIRED = "TABCOMPLETE_RETIRED_SNAPSHOTS"      # earlier copies (os.pathsep-joined), until their workers are gone


def on_starting(server):
    # Values left by an earlier run would be added to this one's.
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    # Settings and models are checked here, in the master, before it binds or forks: a bad one
    # stops the server with its reason (exit status 1), never a worker's traceback.
    from server.config import ConfigError, load_config
    from server.hooks import setup_logging
    from server.models import ModelsError, remove_stale_temp_dirs, share_states, verified_snapshot

    setup_logging()  # the notes on model dirs skipped
    for name in remove_stale_temp_dirs():
        server.log.info("removed %s, left in the temp dir by a server that was killed", name)
    for name in (SNAPSHOT, RETIRED):
        os.environ.pop(name, None)
    try:
        settings = load_config()
        serve(verified_snapshot(settings))
    except (ConfigError, ModelsError) as err:
        on_exit(server)  # gunicorn does not run it when on_starting stops the server: the metrics dir
        sys.exit(f"error: {err}")
    os.environ[MODELS_SOURCE] = settings["MODELS_DIR"]  # TABCOMPLETE_MODELS now names the copy
    share_states(PROCESS["SHARED_STATES_MB"])  # before any fork: every worker inherits the one table


def on_reload(server):
    # A new verified copy of the models dirs as configured at start (never of the copy in use):
    # the new workers load it. When it cannot be made (a model dir that does not load, two
    # defaults for a language...), the server keeps serving the copy in use and says why.
    from server.config import ConfigError, load_config
    from server.models import ModelsError, verified_snapshot

    source = os.environ[MODELS_SOURCE]
    try:
        serve(verified_snapshot(load_config({"MODELS_DIR": source})))
    except Exception as err:  # noqa: BLE001 - gunicorn would stop the server on any error raised here
        reason = err if isinstance(err, (ConfigError, ModelsError)) else f"{type(err).__name__}: {err}"
        server.log.error("models not reloaded from %s, still serving the ones loaded before: %s", source, reason)
        return
    server.log.info("models reloaded from %s", source)
    remove_unused_snapshots(server)


def serve(snapshot):
    """Make `snapshot` the models of every worker started from now on; retire the copy in use."""
    if os.environ.get(SNAPSHOT):
        os.environ[RETIRED] = os.pathsep.join(retired_snapshots() + [os.environ[SNAPSHOT]])
    os.environ[SNAPSHOT] = snapshot
    os.environ["TABCOMPLETE_MODELS"] = snapshot  # what each worker's create_app() loads


def retired_snapshots():
    return [path for path in os.environ.get(RETIRED, "").split(os.pathsep) if path]


def pre_fork(server, worker):
    snapshot = os.environ.get(SNAPSHOT)
    if snapshot:
        from server.models import snapshot_intact

        if not snapshot_intact(snapshot):
            remake_snapshot(server, snapshot)
    worker.tabcomplete_snapshot = os.environ.get(SNAPSHOT)  # which copy it loads (remove_unused_snapshots)
    # Its slot for counting metric failures (server/metrics.py): one no live worker writes.
    taken = {getattr(other, "tabcomplete_failure_slot", None) for other in server.WORKERS.values()}
    worker.tabcomplete_failure_slot = next(slot for slot in range(len(taken) + 1) if slot not in taken)


def post_fork(server, worker):
    from server.metrics import FAILURES

    FAILURES.use_slot(worker.tabcomplete_failure_slot)


def remake_snapshot(server, lost):
    """The verified copy the workers load is gone or broken (a temp cleaner took it): make and
    verify a new one from the models dirs as configured, so a worker that starts now (one
    replacing a crashed worker) can boot; the workers already running keep what they loaded."""
    from server.config import load_config
    from server.models import verified_snapshot

    source = os.environ[MODELS_SOURCE]
    try:
        fresh = verified_snapshot(load_config({"MODELS_DIR": source}))
    except Exception as err:  # noqa: BLE001 - the worker's own boot error will say the rest
        server.log.error("the verified copy of the models %s is gone and cannot be made again from %s: %s",
                         lost, source, err)
        return
    shutil.rmtree(lost, ignore_errors=True)
    os.environ[SNAPSHOT] = os.environ["TABCOMPLETE_MODELS"] = fresh
    server.log.warning("the verified copy of the models %s was gone (a temp cleaner?): made %s from %s",
                       lost, fresh, source)


def post_worker_init(worker):
    import gc

    # What the worker made loading the app (numba's compiler, the models, their tables) lives as
    # long as it does: moved out of the collector's way, a full collection no longer scans it in
    # the middle of a request (40-50 ms pauses; python -m model.measure.speed's warm p95, docs/benchmarks.md).
    gc.freeze()


def remove_unused_snapshots(server):
    """Remove the retired copies that no live worker loaded. An old worker may still be starting
    from its copy when the reload comes (one that replaced a crashed worker): its copy stays until
    it is gone (child_exit)."""
    in_use = {getattr(worker, "tabcomplete_snapshot", None) for worker in server.WORKERS.values()}
    kept = []
    for path in retired_snapshots():
        if path in in_use:
            kept.append(path)
        else:
            shutil.rmtree(path, ignore_errors=True)
    os.environ[RETIRED] = os.pathsep.join(kept)


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
        print(f"tabcomplete serving at {listener}/ ({server.cfg.workers} workers; "
              f"kill -HUP {server.pid} reloads the models)", flush=True)


def worker_exit(server, worker):
    # In the worker, as it exits. When the master was killed (kill -9: none of its own clean-up
    # runs), its workers see their parent change and exit within a second: they remove what the
    # master would have at exit, the pid file (only while it still names the dead master), the
    # model copies and its metrics dir. Were every process killed at once, the next server still
    # removes the copies and the metrics dir (on_starting); gunicorn overwrites a pid file naming
    # no live process.
    if os.getpid() != worker.pid or os.getppid() == worker.ppid:
        return  # in the master (gunicorn calls this there too), or the master lives: it cleans up itself
    if server.pidfile is not None:
        server.pidfile.unlink()
    on_exit(server)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # drop its per-worker gauges (model load time)
    remove_unused_snapshots(server)  # the last worker of a reloaded copy gone: remove the copy


def on_exit(server):
    own_metrics_dir = os.environ.get(OWN_METRICS_DIR)
    if own_metrics_dir and own_metrics_dir == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(own_metrics_dir, ignore_errors=True)
    for path in retired_snapshots() + [os.environ.get(SNAPSHOT)]:
        if path:
            shutil.rmtree(path, ignore_errors=True)
