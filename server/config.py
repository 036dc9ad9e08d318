"""Server settings: defaults, overridden by environment variables, overridden by create_app(config)."""
import os

from model.serving.cache import CACHE_ENTRIES
from model.serving.completer import Completer
from server.validation import MAX_FILES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Without a "min_prob" in the request, the model's completion policy (model/serving/policy.py, fitted on
# unseen packages: finish the name being typed, extend while the whole extension is likely)
# decides how far to go. Setting MIN_PROB makes a per-character gate the default instead (the
# server's default before the policy was 0.75); a request's own "min_prob" overrides either,
# and 0 turns every cut off.
DEFAULT_MIN_PROB = None

DEFAULTS = {
    # One models dir (a subdir with meta.json per model), or several joined with os.pathsep
    # ("model/pretrained:models": the shipped models beside the ones make learn writes); server.models.
    "MODELS_DIR": os.path.join(REPO_ROOT, "model", "pretrained"),
    "DEFAULT_LANGUAGE": None,        # None: "python" if loaded, else the first language in name order
    "API_TOKEN": None,               # when set, /complete and /models need "Authorization: Bearer <token>"
    "MIN_PROB": DEFAULT_MIN_PROB,
    "MAX_BODY_BYTES": 1024 * 1024,   # larger bodies get 413 (room for 256 KiB of `files` text, escaped)
    "MAX_FILES": MAX_FILES,          # entries of `files` in one request (64); more get 400
    "CONTEXT_CHARS": Completer.CONTEXT_CHARS,  # cleaned characters the network reads (2000; why: there)
    "CACHE_ENTRIES": CACHE_ENTRIES,  # state-cache entries per model (4096)
    "WORD_WEIGHT": Completer.WORD_WEIGHT,      # buffer words inside an identifier (0.5; 0: network only)
    # Host names answered besides the loopback ones (127.0.0.1, localhost, [::1], any port), e.g.
    # the name a load balancer forwards; "*" answers any. Refusing other names stops DNS
    # rebinding: a web page whose name an attacker points at 127.0.0.1 still sends its own Host.
    "ALLOWED_HOSTS": (),
}

# environment variable -> (setting, parser)
ENVIRONMENT = {
    "TABCOMPLETE_MODELS": ("MODELS_DIR", str),
    "TABCOMPLETE_DEFAULT_LANGUAGE": ("DEFAULT_LANGUAGE", str),
    "TABCOMPLETE_TOKEN": ("API_TOKEN", str),
    "TABCOMPLETE_MIN_PROB": ("MIN_PROB", float),
    "TABCOMPLETE_MAX_BODY_BYTES": ("MAX_BODY_BYTES", int),
    "TABCOMPLETE_MAX_FILES": ("MAX_FILES", int),
    "TABCOMPLETE_CONTEXT_CHARS": ("CONTEXT_CHARS", int),
    "TABCOMPLETE_CACHE_ENTRIES": ("CACHE_ENTRIES", int),
    "TABCOMPLETE_WORD_WEIGHT": ("WORD_WEIGHT", float),
    "TABCOMPLETE_ALLOWED_HOSTS": ("ALLOWED_HOSTS", lambda raw: tuple(h.strip() for h in raw.split(",") if h.strip())),
}


# The server's processes: what gunicorn.conf.py and server/worker.py read (here, so every
# setting is read in one place). Environment variable -> (setting, default, parser).
PROCESS_ENVIRONMENT = {
    "TABCOMPLETE_BIND": ("BIND", "127.0.0.1:8000", str),  # this machine only, unless told otherwise
    "TABCOMPLETE_WORKERS": ("WORKERS", None, int),       # None: $WEB_CONCURRENCY, else one per CPU
    # gunicorn's gevent worker with read deadlines (server/worker.py); "sync" or "gthread" bring
    # back gunicorn's own classes, without those guards (for measurements only).
    "TABCOMPLETE_WORKER_CLASS": ("WORKER_CLASS", "server.worker.Worker", str),
    "TABCOMPLETE_THREADS": ("THREADS", 4, int),          # gthread only
    "TABCOMPLETE_HEADER_TIMEOUT": ("HEADER_TIMEOUT", 5.0, float),  # seconds for a request's line and headers
    "TABCOMPLETE_BODY_TIMEOUT": ("BODY_TIMEOUT", 10.0, float),     # seconds for its body, after the headers
    # seconds for the client to take a whole answer, from its first byte; then it is dropped
    "TABCOMPLETE_WRITE_TIMEOUT": ("WRITE_TIMEOUT", 10.0, float),
    # connections a worker holds at once; at the cap the one waiting longest for its headers is shed
    "TABCOMPLETE_MAX_CONNECTIONS": ("MAX_CONNECTIONS", 10000, int),
    # LSTM states the workers share (model.serving.cache.SharedStates), made before they fork: a
    # buffer one worker has read is not read again from the start by another (0: none)
    "TABCOMPLETE_SHARED_STATES_MB": ("SHARED_STATES_MB", 64, int),
    "TABCOMPLETE_FORWARDED_ALLOW_IPS": ("FORWARDED_ALLOW_IPS", "", str),  # proxies trusted for X-Forwarded-*
    "TABCOMPLETE_LOG_LEVEL": ("LOG_LEVEL", "info", str),
}


class ConfigError(Exception):
    """A setting is malformed; the message names it."""


def _host_name(host):
    """A host name without a port: "example.com", "10.0.0.5", "[fe80::1]", or "*"."""
    return isinstance(host, str) and bool(host) and (":" not in host or host.startswith("[") and host.endswith("]"))


def load_config(overrides=None, environ=None):
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for var, (key, parse) in ENVIRONMENT.items():
        raw = environ.get(var)
        if raw is None or raw == "":
            continue
        try:
            settings[key] = parse(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a valid {getattr(parse, '__name__', 'value')}") from None
    settings.update(overrides or {})
    min_prob = settings["MIN_PROB"]
    if min_prob is not None and not 0.0 <= float(min_prob) <= 1.0:
        raise ConfigError(f"MIN_PROB must be between 0 and 1, not {min_prob}")
    if not 0.0 <= float(settings["WORD_WEIGHT"]) <= 1.0:
        raise ConfigError(f"WORD_WEIGHT must be between 0 and 1, not {settings['WORD_WEIGHT']}")
    for key in ("MAX_BODY_BYTES", "MAX_FILES", "CONTEXT_CHARS", "CACHE_ENTRIES"):
        if int(settings[key]) < 1:
            raise ConfigError(f"{key} must be a positive integer, not {settings[key]}")
    hosts = settings["ALLOWED_HOSTS"]
    if isinstance(hosts, str) or not all(_host_name(h) for h in hosts):
        raise ConfigError(f"ALLOWED_HOSTS must be host names without ports (a list, or comma-separated "
                          f"in TABCOMPLETE_ALLOWED_HOSTS), not {hosts!r}")
    settings["ALLOWED_HOSTS"] = tuple(h.lower() for h in hosts)
    return settings


def process_settings(environ=None):
    """The settings of the server's processes (PROCESS_ENVIRONMENT) from the environment, or
    ConfigError naming the variable that is malformed."""
    environ = os.environ if environ is None else environ
    settings = {}
    for var, (key, default, parse) in PROCESS_ENVIRONMENT.items():
        raw = environ.get(var)
        try:
            settings[key] = default if raw is None or raw == "" else parse(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a valid {parse.__name__}") from None
    if settings["WORKERS"] is None:
        concurrency = environ.get("WEB_CONCURRENCY")
        settings["WORKERS"] = int(concurrency) if concurrency else os.cpu_count() or 1
    for key in ("WORKERS", "THREADS", "MAX_CONNECTIONS"):
        if settings[key] < 1:
            raise ConfigError(f"{key} must be a positive integer, not {settings[key]}")
    if not 0 <= settings["SHARED_STATES_MB"] <= 65536:
        raise ConfigError(f"SHARED_STATES_MB must be between 0 and 65536, not {settings['SHARED_STATES_MB']}")
    for key in ("HEADER_TIMEOUT", "BODY_TIMEOUT", "WRITE_TIMEOUT"):
        if not settings[key] > 0:
            raise ConfigError(f"{key} must be a positive number of seconds, not {settings[key]}")
    return settings
