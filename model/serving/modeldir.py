"""The model dir, and the only code that knows its files:

    model.keras   the network (the source of truth)
    vocab.json    characters <-> ids
    meta.json     network and training config, corpus manifest hash, metrics, versions, the language
                  and file extension its corpus was cleaned as, the match model's weights
    history.csv   loss and accuracy per epoch
    curves.png    the same, plotted
    checkpoints/  a training run's last.keras, best.keras and state.json (what --resume needs)

Loading checks that the files are there and agree with each other, and says what is wrong.
Every write here is atomic (a temp file renamed into place): a kill -9 leaves the old file whole.
A model dir is complete or absent: a run writes it in its work dir beside it (OUT.partial),
where meta.json waits as pending-meta.json, and install() puts meta.json in place last, then
renames the whole dir into place. The rule loading enforces: no meta.json, no model dir.
Reading the weights needs h5py, not TensorFlow, so serving never imports TensorFlow.
"""
import csv
import io
import json
import os
import re
import shutil
import zipfile

from model.serving.names import FEATURES
from model.text.vocab import Vocab

MODEL = "model.keras"
VOCAB = "vocab.json"
META = "meta.json"
HISTORY = "history.csv"
CURVES = "curves.png"
FILES = (MODEL, VOCAB, META, HISTORY, CURVES)
CHECKPOINTS = "checkpoints"
PENDING = "pending-meta.json"  # a work dir's meta.json until install() puts it in place
PARTIAL = ".partial"  # OUT's work dir is OUT + PARTIAL, beside it
# Dirs a write leaves beside a model dir until it is done: a run's work dir (start_work), and the
# new and old copies that copy() and install() swap. None of them is a model dir to serve.
WORK_DIR_SUFFIXES = (PARTIAL, ".tmp", ".old")
LAST, BEST, STATE = "last.keras", "best.keras", "state.json"  # in CHECKPOINTS
DEFAULT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained", "python")  # the shipped model


class ModelDirError(Exception):
    """A model dir is missing, incomplete or inconsistent; the message says what is wrong."""


def checkpoint(model_dir, name):
    return os.path.join(model_dir, CHECKPOINTS, name)


# -- Reading ----------------------------------------------------------------------------------

def partial_dir(out):
    """Where a run writes the model dir `out` until it is complete: a dir beside it."""
    return os.path.normpath(out) + PARTIAL


def load(model_dir, pending=False):
    """(meta, vocab, weights) of a model dir, checked against each other, or ModelDirError.
    weights: (embedding, [(kernel, recurrent, bias) per LSTM layer], dense kernel, dense bias).
    pending: read a work dir's pending meta (to measure it before it is installed)."""
    meta_name = PENDING if pending else META
    if not os.path.isdir(model_dir):
        raise ModelDirError(f"{model_dir}: no such model dir")
    if not pending and not os.path.exists(os.path.join(model_dir, META)) and (
            os.path.exists(os.path.join(model_dir, PENDING)) or os.path.exists(checkpoint(model_dir, STATE))):
        raise ModelDirError(f"{model_dir}: an unfinished run's work dir, not a model dir (no {META} yet); "
                            f"rerun its command with --resume to finish it")
    missing = [f for f in (MODEL, VOCAB, meta_name) if not os.path.exists(os.path.join(model_dir, f))]
    if missing:
        raise ModelDirError(f"{model_dir}: missing {', '.join(missing)} (train one with python -m model.training.train)")
    meta = read_meta(model_dir, pending)
    try:
        vocab = Vocab.load(os.path.join(model_dir, VOCAB))
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelDirError(f"{model_dir}/{VOCAB}: corrupt ({err})") from None
    weights = read_weights(os.path.join(model_dir, MODEL))
    embedding, lstms, _, dense_bias = weights
    units, layers = lstms[0][1].shape[0], len(lstms)
    net = meta["network"]
    if net.get("units") not in (None, units) or net.get("layers") not in (None, layers):
        raise ModelDirError(f"{model_dir}: {META} says {net.get('layers')}x{net.get('units')} "
                            f"but {MODEL} is {layers}x{units}")
    if len(vocab) != dense_bias.shape[0] or embedding.shape[0] != len(vocab):
        raise ModelDirError(f"vocab has {len(vocab)} ids but the network has {dense_bias.shape[0]}")
    check_meta(model_dir, meta, vocab_size=len(vocab), embedding_dim=embedding.shape[1])
    return meta, vocab, weights


def read_meta(model_dir, pending=False):
    """A model dir's meta.json (a work dir's pending one), unchecked against the weights (load()
    checks it), or ModelDirError when it is missing or corrupt."""
    meta_name = PENDING if pending else META
    try:
        with open(os.path.join(model_dir, meta_name), encoding="utf-8") as f:
            meta = json.load(f)
        if not isinstance(meta, dict) or "network" not in meta:
            raise ValueError("no 'network' section")
    except OSError as err:
        raise ModelDirError(f"{model_dir}/{meta_name}: unreadable ({err.strerror})") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelDirError(f"{model_dir}/{meta_name}: corrupt ({err})") from None
    return meta


def training_summary(meta):
    """What a model's meta.json says of its training, for people (GET /models): the run's
    epochs, or for the mean of several checkpoints (model.training.average) each one's epochs
    and weight, never the first one's epochs as if they were the model's."""
    training = meta.get("training") or {}
    summary = {k: training[k] for k in ("train_chars", "seq_len", "batch_size") if k in training}
    averaged = training.get("averaged")
    if averaged:
        summary["averaged"] = [{"epochs_run": a.get("epochs_run"), "weight": a.get("weight")} for a in averaged]
    else:
        summary.update({k: training[k] for k in ("epochs_run", "best_epoch") if k in training})
    return summary


def check_meta(model_dir, meta, vocab_size, embedding_dim):
    """Every meta.json field a figure or a decision depends on, against the weights and in type:
    a wrong one is refused with the file named (never served with false figures)."""
    where = os.path.join(model_dir, META)
    net = meta["network"]
    for field, actual in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim)):
        if net.get(field) is not None and net[field] != actual:
            raise ModelDirError(f"{where}: network.{field} is {net[field]!r} but {MODEL} has {actual}")
    for field in ("language", "extension"):
        if field in meta and not (isinstance(meta[field], str) and meta[field]):
            raise ModelDirError(f"{where}: '{field}' must be a non-empty string, not {meta[field]!r}")
    if "extension" in meta and not meta["extension"].startswith("."):
        raise ModelDirError(f"{where}: 'extension' must start with '.', not {meta['extension']!r}")
    for field in ("cleaning", "metrics", "match", "policy", "policy_files", "project_match", "project"):
        if meta.get(field) is not None and not isinstance(meta[field], dict):
            raise ModelDirError(f"{where}: '{field}' must be an object, not {type(meta[field]).__name__}")
    if meta.get("name_floor", "ranking") not in ("ranking", "calibrated", "decoder"):
        raise ModelDirError(f"{where}: 'name_floor' must be 'ranking', 'calibrated' or 'decoder', "
                            f"not {meta['name_floor']!r}")
    for field in ("rank_names", "whole_names"):  # a string "false" would read as true
        if field in meta and not isinstance(meta[field], bool):
            raise ModelDirError(f"{where}: '{field}' must be true or false, not {meta[field]!r}")
    adapt = meta.get("adapt")
    if adapt is not None and not (isinstance(adapt, dict) and set(adapt) <= {"rate", "fitted_on"} and isinstance(
            adapt.get("rate"), (int, float)) and not isinstance(adapt["rate"], bool) and 0 < adapt["rate"] <= 100):
        raise ModelDirError(f"{where}: 'adapt' must be {{\"rate\": R}} with 0 < R <= 100, not {adapt!r}")
    weights = meta.get("name_weights")
    if weights is not None and not (isinstance(weights, dict) and all(
            name in FEATURES and isinstance(w, (int, float)) and not isinstance(w, bool) for name, w in weights.items())):
        raise ModelDirError(f"{where}: 'name_weights' must map some of {', '.join(FEATURES)} to numbers")


def _snake_names(class_names):
    """Keras 3 stores layer weights under snake_case(class) with _1, _2... for repeats."""
    seen, names = {}, []
    for cls in class_names:
        base = re.sub(r"\W+", "", cls)
        base = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", base)
        base = re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()  # keras.src.utils.naming.to_snake_case
        n = seen.get(base, 0)
        names.append(base if n == 0 else f"{base}_{n}")
        seen[base] = n + 1
    return names


def read_weights(path):
    """The weights of a .keras file, read with h5py (a parity test holds this to Keras itself)."""
    import h5py

    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            weights = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise ModelDirError(f"{path}: not a readable .keras file ({err})") from None
    layers = config.get("config", {}).get("layers", [])
    classes = [layer["class_name"] for layer in layers]
    embedding, lstms, dense = None, [], None
    try:
        for cls, name in zip(classes, _snake_names(classes)):
            if cls == "Embedding":
                embedding = weights[f"layers/{name}/vars/0"][()]
            elif cls == "LSTM":
                lstms.append(tuple(weights[f"layers/{name}/cell/vars/{i}"][()] for i in range(3)))
            elif cls == "Dense":
                dense = (weights[f"layers/{name}/vars/0"][()], weights[f"layers/{name}/vars/1"][()])
    except KeyError as err:
        raise ModelDirError(f"{path}: weights do not match its config ({err})") from None
    if embedding is None or not lstms or dense is None:
        raise ModelDirError(f"{path}: expected Embedding -> LSTM... -> Dense, found {classes}")
    return embedding, lstms, *dense


def read_state(model_dir):
    """The training run's state.json ({} when there is none), or ModelDirError when it is unreadable."""
    path = checkpoint(model_dir, STATE)
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise ModelDirError(f"{path}: unreadable ({err})") from None


def history(model_dir):
    """history.csv's rows (dicts, epoch 0 first), [] when there is none."""
    path = os.path.join(model_dir, HISTORY)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in csv.DictReader(f) if r.get("epoch", "").strip()]


# -- Writing ----------------------------------------------------------------------------------

def atomic_write(path, text):
    """Write via a temp file, fsynced and renamed: a kill -9 (or a power cut) leaves the previous file whole."""
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path, data):
    atomic_write(path, json.dumps(data, indent=2))


def write_meta(model_dir, meta, pending=False):
    write_json(os.path.join(model_dir, PENDING if pending else META), meta)


def write_vocab(model_dir, vocab):
    tmp = os.path.join(model_dir, VOCAB + ".tmp")
    vocab.save(tmp)
    os.replace(tmp, os.path.join(model_dir, VOCAB))


def save_keras(model, path):
    """model.save, atomically (Keras wants the .keras ending on the temp file too)."""
    tmp = path[: -len(".keras")] + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, path)


def truncate_history(model_dir, last_epoch):
    """Drop history rows past the last checkpointed epoch (a kill between the two writes)."""
    path = os.path.join(model_dir, HISTORY)
    if not os.path.exists(path):
        return
    with open(path) as f:
        rows = list(csv.reader(f))
    kept = io.StringIO()
    csv.writer(kept).writerows(rows[:1] + [r for r in rows[1:] if r and int(r[0]) <= last_epoch])
    atomic_write(path, kept.getvalue())


def prune_checkpoints(model_dir):
    """Drop the optimizer checkpoints (3x the model's size); model.keras is what serves."""
    ckpt = os.path.join(model_dir, CHECKPOINTS)
    if os.path.isdir(ckpt):
        for name in os.listdir(ckpt):
            if name.endswith(".keras"):
                os.remove(os.path.join(ckpt, name))


def copy(src, dest, extra=()):
    """dest = the model dir src (its files and the `extra` ones, not its checkpoints), swapped in
    whole: a reader finds the old copy or the new one, never half of each."""
    tmp, old = dest + ".tmp", dest + ".old"
    for path in (tmp, old):
        shutil.rmtree(path, ignore_errors=True)
    os.makedirs(tmp)
    for name in FILES + tuple(extra):
        if os.path.exists(os.path.join(src, name)):
            shutil.copy2(os.path.join(src, name), os.path.join(tmp, name))
    if os.path.exists(dest):
        os.replace(dest, old)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest


def start_work(out, resume):
    """The work dir of a run writing the model dir `out`: OUT.partial, made or resumed.
    A killed run's work dir is continued only with `resume`; resuming a finished run copies its
    model dir (checkpoints included) to the work dir, so `out` is served as it is until replaced."""
    work = partial_dir(out)
    if os.path.exists(checkpoint(work, STATE)):
        if not resume:
            raise ModelDirError(f"{work} holds an unfinished run of {out}; pass --resume to continue it "
                                f"or delete {work}")
        return work
    if os.path.exists(checkpoint(out, STATE)):
        if not resume:
            raise ModelDirError(f"{out} holds a training run; pass --resume to continue it or choose another --out")
        tmp = work + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(out, tmp, ignore=shutil.ignore_patterns(META, "*.tmp"))
        os.makedirs(work, exist_ok=True)
        for name in sorted(os.listdir(tmp), key=lambda n: n == CHECKPOINTS):  # the run's state last
            dest = os.path.join(work, name)
            if os.path.isdir(dest):
                shutil.rmtree(dest)
            os.replace(os.path.join(tmp, name), dest)
        os.rmdir(tmp)
    os.makedirs(os.path.join(work, CHECKPOINTS), exist_ok=True)
    return work


def install(work, out, drop=()):
    """Put the work dir's model dir in place as `out`: its pending meta becomes meta.json (the
    last file written), then the dir is renamed into place. Files already in `out` that the work
    dir lacks (a sweep trial's train.log) move along; `drop` names work files not to install."""
    if not os.path.exists(os.path.join(work, PENDING)):
        raise ModelDirError(f"{work}: nothing to install (no {PENDING})")
    for name in drop:
        path = os.path.join(work, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    if os.path.isdir(out):
        for name in os.listdir(out):
            if name not in FILES + (META, CHECKPOINTS) and not os.path.exists(os.path.join(work, name)):
                os.replace(os.path.join(out, name), os.path.join(work, name))
    os.replace(os.path.join(work, PENDING), os.path.join(work, META))
    old = os.path.normpath(out) + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(out):
        os.replace(out, old)
    os.replace(work, out)
    shutil.rmtree(old, ignore_errors=True)
    return out
