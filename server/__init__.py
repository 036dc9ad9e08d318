"""The completion server: a Flask app factory.

    app = create_app()                                  # settings from TABCOMPLETE_* variables
    app = create_app({"MODELS_DIR": "runs/models", "API_TOKEN": "s3cret"})

Models load when the app is created: under gunicorn that is in each worker, after the fork
(gunicorn.conf.py does not preload the app), from the copy of the model dirs that the master
made and verified at start-up (server.models.verified_snapshot). No TensorFlow here: the Completer reads the
weights with h5py and steps the network in numpy. The views are in server.views; what runs
around them (token, access log, metrics, error answers) in server.hooks.
"""
from flask import Flask

from server import hooks, models as models_module, views
from server.config import load_config
from server.metrics import Metrics
from server.models import default_language, load_models, warm_up


def create_app(config=None):
    """The Flask app, with its models loaded (a server.models.ModelSet). config: settings overriding
    the environment's (see server.config.DEFAULTS). Raises ModelsError / ConfigError with a clear message."""
    hooks.setup_logging()
    settings = load_config(config)
    models = load_models(settings["MODELS_DIR"], settings["CONTEXT_CHARS"], settings["CACHE_ENTRIES"],
                         float(settings["WORD_WEIGHT"]), models_module.SHARED_STATES)
    default = default_language(models, settings["DEFAULT_LANGUAGE"])
    warm_up(models)
    metrics = Metrics()
    metrics.observe_load(models.all())

    app = Flask(__name__, static_folder=None)  # the blueprint serves /static/
    app.config.update(settings, MAX_CONTENT_LENGTH=settings["MAX_BODY_BYTES"])
    app.json.sort_keys = False
    # A doubled slash is no path of ours: a JSON 404 (errors handled in one place), not
    # Werkzeug's HTML redirect to the merged path.
    app.url_map.merge_slashes = False
    app.extensions["tabcomplete"] = {"models": models, "default": default, "metrics": metrics}
    hooks.init_app(app)
    app.register_blueprint(views.bp)
    timings = {m.name: {"language": m.language, "project": m.root is not None,
                        "load_seconds": round(m.load_seconds, 3), "warmup_seconds": round(m.warmup_seconds, 3)}
               for m in models.all()}
    hooks.event(event="models_loaded", models=timings, default=default)
    return app
