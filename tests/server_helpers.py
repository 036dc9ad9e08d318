"""Helpers for the server tests: models dirs and project models made of the tiny model, and a real
HTTP server in a thread."""
import json
import os
import shutil
import threading

from werkzeug.serving import make_server


def make_models_dir(tiny_model, root, languages=("python",)):
    """A models dir with one copy of the tiny model per language (its meta.json says which),
    without the whole-name rule: the tiny network ends a name after a few letters more likely than
    a long name's characters' product, and these servers are for the plumbing (the rule has its
    own test in test_completer)."""
    os.makedirs(root, exist_ok=True)
    for language in languages:
        path = os.path.join(root, language)
        if not os.path.isdir(path):
            shutil.copytree(tiny_model, path, ignore=shutil.ignore_patterns("checkpoints"))
            meta_path = os.path.join(path, "meta.json")
            with open(meta_path) as f:
                meta = json.load(f)
            meta["language"], meta["whole_names"] = language, False
            with open(meta_path, "w") as f:
                json.dump(meta, f)
    return root


def make_project_model(tiny_model, models_dir, name, root, language="python"):
    """A project model in models_dir/name: a copy of the tiny model whose meta.json records the
    project root, as python -m model.training.learn writes it."""
    path = os.path.join(models_dir, name)
    shutil.copytree(tiny_model, path, ignore=shutil.ignore_patterns("checkpoints"))
    meta_path = os.path.join(path, "meta.json")
    with open(meta_path) as f:
        meta = json.load(f)
    meta["language"] = language
    meta["project"] = {"root": root, "base": "model/pretrained/python", "files": 1}
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return path


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
