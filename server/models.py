"""Find and load the model dirs of a models dir: one model per language.

Each subdirectory holding a meta.json is one model dir; its meta.json "language" names it.
A models dir that is itself a model dir (has meta.json) serves that one model.
"""
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

from model.cache import CACHE_ENTRIES
from model.sample import Completer, ModelDirError


class ModelsError(Exception):
    """The models dir cannot be served; the message says why."""


@dataclass
class LoadedModel:
    name: str            # the model dir's name, returned as "model" in answers
    language: str
    path: str
    completer: Completer
    load_seconds: float
    warmup_seconds: float = 0.0

    def describe(self):
        """What GET /models shows: the model's metadata, without server paths."""
        meta = self.completer.meta
        corpus = meta.get("corpus") or {}
        training = meta.get("training") or {}
        return {
            "name": self.name,
            "language": self.language,
            "network": meta.get("network"),
            "metrics": meta.get("metrics"),
            "training": {k: training[k] for k in ("epochs_run", "best_epoch", "train_chars", "seq_len", "batch_size")
                         if k in training},
            "corpus_manifest_sha256": corpus.get("manifest_sha256"),
            "cleaning": meta.get("cleaning"),
            "versions": meta.get("versions"),
            "created": meta.get("created"),
            "context_chars": self.completer.context_chars,
            "load_seconds": round(self.load_seconds, 4),
        }


def model_dirs(models_dir):
    if not os.path.isdir(models_dir):
        raise ModelsError(f"{models_dir}: no such models dir (set TABCOMPLETE_MODELS or --models)")
    if os.path.isfile(os.path.join(models_dir, "meta.json")):
        return [models_dir]
    found = sorted(os.path.join(models_dir, d) for d in os.listdir(models_dir)
                   if os.path.isfile(os.path.join(models_dir, d, "meta.json")))
    if not found:
        raise ModelsError(f"{models_dir}: no model dirs in it (each needs a meta.json; train one with "
                          f"python -m model.train --out {models_dir}/python)")
    return found


def load_models(models_dir, context_chars=Completer.CONTEXT_CHARS, cache_entries=CACHE_ENTRIES,
                word_weight=Completer.WORD_WEIGHT):
    """language -> LoadedModel, or ModelsError naming the dir that is wrong."""
    models = {}
    for path in model_dirs(models_dir):
        t0 = time.perf_counter()
        try:
            completer = Completer.load(path, context_chars=context_chars, cache_entries=cache_entries,
                                       word_weight=word_weight)
        except ModelDirError as err:
            raise ModelsError(str(err)) from None
        except Exception as err:  # a model dir the checks let through: still name it, never a bare traceback
            raise ModelsError(unloadable(path, err)) from None
        loaded = LoadedModel(os.path.basename(os.path.normpath(path)), completer.language, path, completer,
                             time.perf_counter() - t0)
        if loaded.language in models:
            raise ModelsError(f"{path} and {models[loaded.language].path} are both for language "
                              f"{loaded.language!r}: keep one per language")
        models[loaded.language] = loaded
    return models


def unloadable(path, err):
    """The message for a model dir that raised something other than ModelDirError while loading."""
    try:
        with open(os.path.join(path, "meta.json"), encoding="utf-8") as f:
            language = json.load(f).get("language", "python")
    except (OSError, ValueError, AttributeError):
        language = "python"
    if not isinstance(language, str) or not language:
        return f"{os.path.join(path, 'meta.json')}: 'language' must be a non-empty string, not {language!r}"
    return (f"{path}: cannot load this model dir ({type(err).__name__}: {err}); "
            f"check its meta.json, vocab.json and model.keras")


def snapshot(models_dir, into=None):
    """Copy the files of each model dir under models_dir into a new private dir (mode 0700):
    (that dir, the path that serves the same models from it, {copy's path: original path}).
    What gunicorn's workers load, at start and whenever one restarts, so a model dir changed
    (or broken) after start-up never reaches a worker. Only regular files at a model dir's top
    level are copied (not checkpoints/). ModelsError as model_dirs() raises it."""
    dirs = model_dirs(models_dir)
    root = tempfile.mkdtemp(prefix="tabcomplete-models-", dir=into)
    originals = {}
    try:
        for src in dirs:
            dst = os.path.join(root, os.path.basename(os.path.normpath(src)))
            os.mkdir(dst, 0o700)
            originals[dst] = os.path.normpath(src)
            for name in sorted(os.listdir(src)):
                path = os.path.join(src, name)
                if os.path.isfile(path):
                    shutil.copyfile(path, os.path.join(dst, name))
    except OSError as err:
        shutil.rmtree(root, ignore_errors=True)
        raise ModelsError(f"{models_dir}: cannot read it ({err})") from None
    if os.path.isfile(os.path.join(models_dir, "meta.json")):  # a model dir served as the models dir
        return root, next(iter(originals)), originals
    return root, root, originals


def verified_snapshot(settings, into=None):
    """snapshot() of settings["MODELS_DIR"], loaded once here to verify it (as each worker will
    load it): (snapshot dir, path to serve). ModelsError names the original files."""
    root, path, originals = snapshot(settings["MODELS_DIR"], into)
    try:
        models = load_models(path, settings["CONTEXT_CHARS"], settings["CACHE_ENTRIES"], float(settings["WORD_WEIGHT"]))
        default_language(models, settings["DEFAULT_LANGUAGE"])
    except ModelsError as err:
        shutil.rmtree(root, ignore_errors=True)
        message = str(err)
        for copy, original in originals.items():
            message = message.replace(copy, original)
        raise ModelsError(message) from None
    return root, path


def warm_up(models):
    """One completion per model, timed: the first compiles the LSTM kernel (numba), at worker
    start rather than in a user's first request."""
    for m in models.values():
        t0 = time.perf_counter()
        m.completer.complete("def f(x):\n    return x", max_chars=4)
        m.warmup_seconds = time.perf_counter() - t0


def default_language(models, wanted=None):
    if wanted:
        if wanted not in models:
            raise ModelsError(f"default language {wanted!r} has no model (loaded: {', '.join(sorted(models))})")
        return wanted
    return "python" if "python" in models else sorted(models)[0]
