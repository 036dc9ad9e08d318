"""One trial: train a model with model.training.train.train() and report what happened.

This is the hyperopt objective. Under SparkTrials it runs in a Spark worker, so it is a plain
module-level function (pickled by reference) that imports what it needs inside, and it never
raises: any failure comes back as a STATUS_FAIL result with its reason.
"""
import contextlib
import math
import os
import shutil
import socket
import sys
import time
import traceback

from model.serving import modeldir

TRIALS_DIR = "trials"


def claim_trial_dir(out):
    """Trial dirs are numbered 1, 2, ...; mkdir is atomic, so parallel workers never share one."""
    root = os.path.join(out, TRIALS_DIR)
    os.makedirs(root, exist_ok=True)
    n = sum(name.isdigit() for name in os.listdir(root)) + 1  # not counting a running trial's work dir
    while True:
        path = os.path.join(root, str(n))
        try:
            os.mkdir(path)
            return n, path
        except FileExistsError:
            n += 1


def use_spark_task_gpus():
    """On a Spark cluster with GPU scheduling, train on the GPU(s) Spark gave this task."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return None
    ctx = TaskContext.get()
    gpus = ctx.resources().get("gpu") if ctx is not None else None
    if not gpus:
        return None
    if "tensorflow" not in sys.modules:  # CUDA_VISIBLE_DEVICES only counts before TF starts
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus.addresses)
    return list(gpus.addresses)


def _history_row(trial_dir, epoch_index):
    matching = [r for r in modeldir.history(trial_dir) if int(r["epoch"]) == epoch_index]
    return matching[-1] if matching else None


def _number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _state(trial_dir):
    """The trial's training state: in its model dir, or in the work dir of a run that failed."""
    try:
        return modeldir.read_state(trial_dir) or modeldir.read_state(modeldir.partial_dir(trial_dir))
    except modeldir.ModelDirError:
        return {}


def _failure_reason(err, trial_dir):
    """A short, specific reason: divergence, out of memory, or the error itself."""
    state = _state(trial_dir)
    if state.get("stopped_by") == "nan":
        return f"diverged: loss became NaN in epoch {state.get('epoch', 0) + 1} (no finite epoch to keep)"
    name = type(err).__name__
    first_line = (str(err).strip().splitlines() or [""])[0][:300]
    if name == "ResourceExhaustedError" or isinstance(err, MemoryError):
        return f"out of memory ({name}): {first_line}"
    if name == "TrainingError":
        return first_line
    return f"{name}: {first_line}"


def run_trial(params, settings):
    """Train one model with `params` (the space's point); `settings` are the sweep's fixed ones:
    corpus, out, epochs, patience, steps_per_epoch, trial_minutes, deadline (epoch seconds or None),
    min_count, seed, keep_checkpoints, mixed_precision."""
    try:
        return _run_trial(params, settings)
    except Exception as err:  # noqa: BLE001 - e.g. OUT not writable on this worker: still a result
        return {"status": "fail", "params": dict(params), "host": socket.gethostname(), "pid": os.getpid(),
                "reason": f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:300]}"}


def _run_trial(params, settings):
    from hyperopt import STATUS_FAIL, STATUS_OK

    from hypertune.spaces import concrete

    params = concrete(params)
    started = time.time()
    result = {"params": params, "host": socket.gethostname(), "pid": os.getpid(), "started": started}
    budget = settings.get("trial_minutes")
    deadline = settings.get("deadline")
    if deadline is not None:
        left = (deadline - started) / 60
        if left <= 0:  # launched after the sweep's budget ran out: not a real trial, not logged
            return {**result, "status": STATUS_FAIL, "skipped": True, "reason": "sweep time budget spent"}
        budget = min(budget, left) if budget else left
    result["gpus"] = use_spark_task_gpus()
    n, trial_dir = claim_trial_dir(settings["out"])
    result.update(trial=n, dir=trial_dir)

    meta, err = None, None
    with open(os.path.join(trial_dir, "train.log"), "w") as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            from model.training.train import train

            # Settings the sweep leaves out take train()'s own defaults.
            optional = {k: settings[k] for k in ("steps_per_epoch", "min_count", "seed", "mixed_precision")
                        if k in settings}
            meta = train(settings["corpus"], trial_dir, **params, epochs=settings["epochs"],
                         patience=settings["patience"], max_minutes=budget, sample_every=0, verbose=2, **optional)
        except Exception as e:  # noqa: BLE001 - every failure is a result, the sweep goes on
            err = e
            traceback.print_exc(file=log)
        finally:
            try:
                import keras
                keras.backend.clear_session()  # a long sweep in one process must not pile up graphs
            except Exception:  # noqa: BLE001
                pass

    result["wall_seconds"] = round(time.time() - started, 1)
    if meta is not None:
        tr = meta["training"]
        best = _history_row(trial_dir, tr["best_epoch"] - 1) or {}
        val = meta["metrics"].get("val") or {}
        test = meta["metrics"].get("test") or {}
        val_loss = _number(val.get("nats_per_char", best.get("val_loss")))
        result.update(
            epochs=tr["epochs_run"], best_epoch=tr["best_epoch"], stopped_by=tr["stopped_by"],
            train_seconds=tr["train_seconds"],
            seconds_per_epoch=round(tr["train_seconds"] / max(tr["epochs_run"], 1), 2),
            train_loss=_number(best.get("loss")), train_accuracy=_number(best.get("accuracy")),
            val_loss=val_loss, val_accuracy=_number(val.get("accuracy", best.get("val_accuracy"))),
            test_loss=_number(test.get("nats_per_char")), test_accuracy=_number(test.get("accuracy")))
        if tr["stopped_by"] == "nan":
            result.update(status=STATUS_FAIL, reason=f"diverged: loss became NaN in epoch {tr['epochs_run']} "
                                                     f"(the model of epoch {tr['best_epoch']} is in the trial dir)")
        elif val_loss is None:
            result.update(status=STATUS_FAIL, reason="no finite validation loss")
        else:
            result.update(status=STATUS_OK, loss=val_loss)  # hyperopt minimises "loss": val nats/char
    else:
        state = _state(trial_dir)
        epochs = state.get("epoch", -1) + 1
        result.update(status=STATUS_FAIL, reason=_failure_reason(err, trial_dir), epochs=epochs,
                      stopped_by=state.get("stopped_by"))
        if state.get("train_seconds") and epochs:
            result["seconds_per_epoch"] = round(state["train_seconds"] / epochs, 2)
    shutil.rmtree(modeldir.partial_dir(trial_dir), ignore_errors=True)  # a failed run's work dir, read above
    if not settings.get("keep_checkpoints"):
        modeldir.prune_checkpoints(trial_dir)  # the optimizer checkpoints are 3x the model's size
    result["finished"] = time.time()
    modeldir.write_json(os.path.join(trial_dir, "trial.json"), result)
    return result
