"""Find and load the model dirs a server serves, and pick the one that completes a request.

The MODELS_DIR setting (TABCOMPLETE_MODELS, --models) names one models dir or several joined
with os.pathsep ("model/pretrained:models"). Each subdirectory holding a meta.json is a model
dir, named by its dir name (names are unique across the models dirs: answers and metrics name a
model by it); a models dir that is itself a model dir (has meta.json) serves that one model.

Per language: one default model (meta.json without "project") and any number of project models
(meta.json "project" with the project's absolute "root", as python -m model.training.learn writes it). A
request whose path lies under a project root is completed by that project's model of the
request's language (the deepest root when roots nest), any other by the language's default. A
language with project models only answers requests under their roots (404 otherwise).

A run's work dir (NAME.partial) and the swap copies beside a model dir (NAME.tmp, NAME.old) are
skipped with a logged note: a killed model.training.train or model.training.learn is never served.
"""
import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

from model.serving.cache import CACHE_ENTRIES, SharedStates
from model.serving.completer import Completer, ModelDirError
from model.serving.modeldir import META, MODEL, VOCAB, WORK_DIR_SUFFIXES, read_meta, training_summary
from server.hooks import event


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
    root: str = None     # a project model's project root (normalised); None for a default model

    @functools.cached_property
    def root_parts(self):  # read at every request that names a path: computed once
        return path_parts(self.root)

    def describe(self):
        """What GET /models shows: the model's metadata and project root, without server paths."""
        meta = self.completer.meta
        corpus = meta.get("corpus") or {}
        return {
            "name": self.name,
            "language": self.language,
            "serves": list(self.completer.serves),
            "root": self.root,
            "network": meta.get("network"),
            "metrics": meta.get("metrics"),
            "training": training_summary(meta),
            "corpus_manifest_sha256": corpus.get("manifest_sha256"),
            "cleaning": meta.get("cleaning"),
            "versions": meta.get("versions"),
            "created": meta.get("created"),
            "context_chars": self.completer.context_chars,
            "load_seconds": round(self.load_seconds, 4),
        }


def path_parts(path):
    """An absolute path's components, normalised as text ('..' resolved, repeated and trailing
    slashes dropped); None for a relative or empty path. The file system is not asked: a request's
    path is the editor's, which may name a file on another machine."""
    if not path or not os.path.isabs(path):
        return None
    return tuple(part for part in os.path.normpath(path).split(os.sep) if part)


def holds(root_parts, parts):
    """Whether a path lies under a root, component by component (/a/proj2 is not under /a/proj)."""
    return parts is not None and parts[:len(root_parts)] == root_parts


class ModelSet:
    """The models a server serves: per language a default model and project models."""

    def __init__(self, models):
        self.defaults = {}   # language -> LoadedModel
        self.served = {}     # language -> the default model that serves it besides its own (meta.json "serves")
        self.projects = {}   # language -> [LoadedModel], the deepest root first
        for model in models:
            self.add(model)
        for found in self.projects.values():
            found.sort(key=lambda m: (-len(m.root_parts), m.name))

    def add(self, model):
        """Add a model; ModelsError naming both dirs when it would be a second default for its
        language, or a second model of the same project root and language."""
        language = model.language
        if model.root is None:
            other = self.defaults.get(language)
            if other is not None:
                raise ModelsError(f"{other.path} and {model.path} are both for language {language!r} as default "
                                  f"models (no \"project\" in their meta.json): keep one per language")
            self.defaults[language] = model
            for other_language in model.completer.serves:  # a model of that language's own comes first
                if self.served.setdefault(other_language, model) is not model:
                    raise ModelsError(f"{self.served[other_language].path} and {model.path} both serve language "
                                      f"{other_language!r} (meta.json \"serves\"): keep one")
            return
        for other in self.projects.get(language, ()):
            if other.root == model.root:
                raise ModelsError(f"{other.path} and {model.path} are both for language {language!r} and "
                                  f"project root {model.root}: keep one per project and language")
        self.projects.setdefault(language, []).append(model)

    def all(self):
        """Every model: by language, the default first, then the projects by root."""
        models = list(self.defaults.values()) + [m for found in self.projects.values() for m in found]
        return sorted(models, key=lambda m: (m.language, m.root is not None, m.root or "", m.name))

    def languages(self):
        return sorted(set(self.defaults) | set(self.projects) | set(self.served))

    def pick(self, language, path=None):
        """The model that completes a request of this language for the file at `path`; None if none does."""
        parts = path_parts(path)
        for model in self.projects.get(language, ()):
            if holds(model.root_parts, parts):
                return model
        return self.defaults.get(language) or self.served.get(language)


def model_name(path):
    return os.path.basename(os.path.normpath(path))


def models_dirs(setting):
    """The models dirs a MODELS_DIR setting names: a list, or one string of them joined with os.pathsep."""
    listed = setting if isinstance(setting, (list, tuple)) else str(setting).split(os.pathsep)
    found = [os.path.normpath(d) for d in listed if d]
    if not found:
        raise ModelsError("no models dir given (set TABCOMPLETE_MODELS or --models)")
    return found


def model_dirs_in(models_dir):
    """The model dirs of one models dir (or the model dir it is), skipping work dirs with a note."""
    if not os.path.isdir(models_dir):
        raise ModelsError(f"{models_dir}: no such models dir (set TABCOMPLETE_MODELS or --models)")
    if os.path.isfile(os.path.join(models_dir, META)):
        return [models_dir]
    found = []
    for name in sorted(os.listdir(models_dir)):
        path = os.path.join(models_dir, name)
        if not os.path.isdir(path):
            continue
        if name.endswith(WORK_DIR_SUFFIXES):
            event(event="model_dir_skipped", path=path,
                  reason="the work dir of a run or copy that has not finished: never served")
        elif os.path.isfile(os.path.join(path, META)):
            found.append(path)
    return found


def model_dirs(setting):
    """The model dirs of the models dirs a MODELS_DIR setting names, in name order, or
    ModelsError: a models dir missing, none holding a model dir, or two model dirs of one name."""
    dirs = models_dirs(setting)
    found = {}
    for models_dir in dirs:
        for path in model_dirs_in(models_dir):
            name = model_name(path)
            if name in found:
                raise ModelsError(f"{found[name]} and {path} are both named {name!r}: rename one (answers, "
                                  f"/models and the metrics name a model by its dir's name)")
            found[name] = path
    if not found:
        where = dirs[0] if len(dirs) == 1 else os.pathsep.join(dirs)
        raise ModelsError(f"{where}: no model dirs in it (each needs a meta.json; train one with "
                          f"python -m model.training.train --out {dirs[0]}/python)")
    return [found[name] for name in sorted(found)]


def project_root(path, meta):
    """The normalised project root a project model's meta.json records; None for a default model."""
    project = meta.get("project")
    if project is None:
        return None
    root = project.get("root")  # modeldir.check_meta has made sure "project" is an object
    if not (isinstance(root, str) and os.path.isabs(root)):
        raise ModelsError(f"{os.path.join(path, META)}: 'project.root' must be an absolute path, not {root!r}")
    return os.path.normpath(root)


# The LSTM states every worker reads and stores (model.serving.cache.SharedStates): made by
# share_states() in the gunicorn master before it forks (gunicorn.conf.py), so the workers
# inherit one table; None in a process of its own (tests, the language server), which needs none.
SHARED_STATES = None


def share_states(megabytes):
    """Make, once, the table of states that the models this process and its children load from
    now on share (megabytes <= 0: none); return it."""
    global SHARED_STATES
    if SHARED_STATES is None and megabytes > 0:
        SHARED_STATES = SharedStates(megabytes)
    return SHARED_STATES


def load_model(path, context_chars, cache_entries, word_weight, shared_states=None):
    """One model dir as a LoadedModel, or ModelsError naming what is wrong."""
    t0 = time.perf_counter()
    try:
        completer = Completer.load(path, context_chars=context_chars, cache_entries=cache_entries,
                                   word_weight=word_weight, shared_states=shared_states)
    except ModelDirError as err:
        raise ModelsError(str(err)) from None
    except Exception as err:  # a model dir the checks let through: still name it, never a bare traceback
        raise ModelsError(unloadable(path, err)) from None
    return LoadedModel(model_name(path), completer.language, path, completer, time.perf_counter() - t0,
                       root=project_root(path, completer.meta))


def load_models(setting, context_chars=Completer.CONTEXT_CHARS, cache_entries=CACHE_ENTRIES,
                word_weight=Completer.WORD_WEIGHT, shared_states=None):
    """The ModelSet of the models dirs a MODELS_DIR setting names, or ModelsError naming the dir that is wrong."""
    return ModelSet([load_model(path, context_chars, cache_entries, word_weight, shared_states)
                     for path in model_dirs(setting)])


def unloadable(path, err):
    """The message for a model dir that raised something other than ModelDirError while loading."""
    try:
        language = read_meta(path).get("language", "python")
    except ModelDirError:
        language = "python"
    if not isinstance(language, str) or not language:
        return f"{os.path.join(path, 'meta.json')}: 'language' must be a non-empty string, not {language!r}"
    return (f"{path}: cannot load this model dir ({type(err).__name__}: {err}); "
            f"check its meta.json, vocab.json and model.keras")


def snapshot(setting, into=None):
    """Copy the files of each model dir that a MODELS_DIR setting names into a new private dir
    (mode 0700), one subdir per model dir under its own name: (that dir, which serves the same
    models, {copy's path: original path}). What gunicorn's workers load, at start and whenever one
    restarts, so a model dir changed (or broken) after start-up never reaches a worker. Only
    regular files at a model dir's top level are copied (not checkpoints/). ModelsError as
    model_dirs() raises it."""
    dirs = model_dirs(setting)
    root = tempfile.mkdtemp(prefix=f"{SNAPSHOT_PREFIX}{os.getpid()}-", dir=into)
    originals = {}
    try:
        for src in dirs:
            dst = os.path.join(root, model_name(src))
            os.mkdir(dst, 0o700)
            originals[dst] = os.path.normpath(src)
            for name in sorted(os.listdir(src)):
                path = os.path.join(src, name)
                if os.path.isfile(path):
                    shutil.copyfile(path, os.path.join(dst, name))
    except OSError as err:
        shutil.rmtree(root, ignore_errors=True)
        raise ModelsError(f"{setting}: cannot read it ({err})") from None
    return root, originals


SNAPSHOT_PREFIX = "tabcomplete-models-"  # + the master's pid + "-": whose copy it is
METRICS_PREFIX = "tabcomplete-metrics-"


def remove_stale_temp_dirs(temp=None):
    """Remove the model copies and metrics dirs that a master killed with kill -9 left in the temp
    dir (its pid in their names, and no such process now); the names removed."""
    temp = temp or tempfile.gettempdir()
    removed = []
    for name in sorted(os.listdir(temp)):
        prefix = next((p for p in (SNAPSHOT_PREFIX, METRICS_PREFIX) if name.startswith(p)), None)
        pid = name[len(prefix):].split("-", 1)[0] if prefix else ""
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(temp, name), ignore_errors=True)
            removed.append(name)
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to clean
        return True
    return True


def snapshot_intact(path):
    """True while a snapshot dir still holds every file its models load (a temp cleaner may have
    taken some or all of it)."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return bool(names) and all(os.path.isfile(os.path.join(path, name, f)) for name in names
                               for f in (MODEL, VOCAB, META))


def verified_snapshot(settings, into=None):
    """snapshot() of settings["MODELS_DIR"], loaded once here to verify it (as each worker will
    load it): the snapshot dir, to serve. ModelsError names the original files."""
    root, originals = snapshot(settings["MODELS_DIR"], into)
    try:
        models = load_models(root, settings["CONTEXT_CHARS"], settings["CACHE_ENTRIES"], float(settings["WORD_WEIGHT"]))
        default_language(models, settings["DEFAULT_LANGUAGE"])
    except ModelsError as err:
        shutil.rmtree(root, ignore_errors=True)
        message = str(err)
        for copy in sorted(originals, key=len, reverse=True):  # root/proj_sub before root/proj
            message = message.replace(copy, originals[copy])
        raise ModelsError(message) from None
    return root


def warm_up(models):
    """One completion per model, timed: the first compiles the LSTM kernel and the hints'
    (numba), choices' path too, at worker start rather than in a user's first request."""
    for m in models.all():
        t0 = time.perf_counter()
        m.completer.complete("def f(x):\n    return x", max_chars=4, choices=3)
        m.warmup_seconds = time.perf_counter() - t0


def default_language(models, wanted=None):
    """The language of requests that name none: `wanted`, else python, else the first in name order."""
    languages = models.languages()
    if wanted:
        if wanted not in languages:
            raise ModelsError(f"default language {wanted!r} has no model (loaded: {', '.join(languages)})")
        return wanted
    return "python" if "python" in languages else languages[0]
