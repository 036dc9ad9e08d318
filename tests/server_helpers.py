"""Helpers for the server tests: a models dir from the tiny model, a real HTTP server in a thread."""
import json
import os
import shutil
import threading

from werkzeug.serving import make_server


def make_models_dir(tiny_model, root, languages=("python",)):
    """A models dir with one copy of the tiny model per language (its meta.json says which)."""
    os.makedirs(root, exist_ok=True)
    for language in languages:
        path = os.path.join(root, language)
        if not os.path.isdir(path):
            shutil.copytree(tiny_model, path, ignore=shutil.ignore_patterns("checkpoints"))
            meta_path = os.path.join(path, "meta.json")
            with open(meta_path) as f:
                meta = json.load(f)
            meta["language"] = language
            with open(meta_path, "w") as f:
                json.dump(meta, f)
    return root


class LiveServer:
    """create_app(config) served over real HTTP by werkzeug, threaded, on a free loopback port."""

    def __init__(self, config):
        from server import create_app

        self.app = create_app(config)
        self.httpd = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
