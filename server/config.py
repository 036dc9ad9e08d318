"""Server settings: defaults, overridden by environment variables, overridden by create_app(config)."""
import os

from model.cache import CACHE_ENTRIES
from model.sample import Completer
from server.validation import MAX_FILES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Without a "min_prob" in the request, the model's completion policy (model/policy.py, fitted on
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
