"""Run a sweep: hyperopt over a search space, one model.training.train.train() per trial, resumable.

Every finished trial is appended to OUT/trials.json (rewritten atomically) before it is reported,
so a killed sweep loses only the trials that were running; --resume rebuilds hyperopt's Trials
from that log and goes on. Outputs are brought up to date after every trial.
"""
import datetime
import functools
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
import zipfile

import numpy as np

from hypertune import report, spaces
from hypertune.trial import TRIALS_DIR, run_trial
from model.data import corpus as corpus_dir
from model.serving.modeldir import write_json

LOG = "trials.json"
CONFIG = "sweep.json"
ALGOS = ("tpe", "random")
# Fixed per-trial training settings (not searched); saved in sweep.json so --resume reuses them.
SETTING_DEFAULTS = {"epochs": 20, "patience": 3, "steps_per_epoch": None, "trial_minutes": 60.0,
                    "min_count": 20, "seed": 1337, "keep_checkpoints": False,
                    "mixed_precision": False}


class SweepError(Exception):
    """The sweep cannot start; the message says why."""


def _plain(value):
    """numpy scalars and tuples -> JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def rebuild_trials(trials, records):
    """Put logged trials back into a hyperopt Trials (or SparkTrials) as finished ones, numbered
    0..k-1 so new trial ids never collide with old ones."""
    from hyperopt import base

    docs = []
    for tid, record in enumerate(records):
        misc = {"tid": tid, "cmd": ("domain_attachment", "FMinIter_Domain"), "workdir": None,
                "idxs": {k: ([tid] if v else []) for k, v in record["misc"]["vals"].items()},
                "vals": {k: list(v) for k, v in record["misc"]["vals"].items()}}
        doc = trials.new_trial_docs([tid], [None], [record["result"]], [misc])[0]
        doc["state"] = base.JOB_STATE_DONE
        docs.append(doc)
    if docs:
        trials.insert_trial_docs(docs)
    trials.refresh()
    return trials


def _code_zip(tmpdir):
    """model/ (its sub-packages too) and hypertune/ as one zip, shipped to the Spark executors with addPyFile, so workers
    run exactly the driver's code."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(tmpdir, "tabcomplete_code.zip")
    with zipfile.ZipFile(path, "w") as z:
        for package in ("model", "hypertune"):
            for folder, dirs, files in os.walk(os.path.join(root, package)):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    if name.endswith(".py"):
                        path_in_zip = os.path.relpath(os.path.join(folder, name), root)
                        z.write(os.path.join(folder, name), path_in_zip.replace(os.sep, "/"))
    return path


def spark_trials(master, parallelism, conf, gpus_per_trial, tmpdir):
    """A SparkSession on MASTER (local[N], spark://host:7077, yarn, k8s://...) and SparkTrials."""
    if master.startswith("local"):
        # Local-mode workers are forked by Spark; make them this interpreter (the venv's).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        from hyperopt import SparkTrials
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise SweepError(f"--spark needs pyspark ({err}); pip install pyspark") from None
    # Spark's console progress bar would fight ours; --spark-conf can turn it back on.
    builder = SparkSession.builder.master(master).appName("tabcomplete-hypertune") \
        .config("spark.ui.showConsoleProgress", "false")
    if gpus_per_trial:
        # One trial = one Spark task holding this many GPUs; fresh Python workers, so a worker
        # never keeps TensorFlow bound to the GPU of an earlier task.
        builder = builder.config("spark.task.resource.gpu.amount", str(gpus_per_trial)) \
                         .config("spark.python.worker.reuse", "false")
    for key, value in conf:
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # noqa: BLE001 - pyspark raises bare Exceptions for a missing JVM
        raise SweepError(f"could not start Spark on {master} ({str(err).strip().splitlines()[0][:200]}); "
                         f"Spark needs Java 17 or 21 (java -version) and a reachable master") from None
    warnings.filterwarnings("ignore", message="Spark session is not provided")  # pyspark, harmless
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.addPyFile(_code_zip(tmpdir))
    return spark, SparkTrials(parallelism=parallelism, spark_session=spark)


class Sweep:
    def __init__(self, out, space_name, overrides, total, settings, quiet=False):
        self.out = out
        self.space = spaces.build(space_name, overrides)
        self.searched = spaces.describe(space_name, overrides)
        self.title = f"hypertune: {space_name} space" + (
            f" with --set {' '.join(f'{k}=' + ','.join(f'{x:g}' for x in v) for k, v in overrides.items())}" if overrides else "")
        self.total = total
        self.settings = settings
        self.quiet = quiet
        self.records = []
        self.seen = set()  # hyperopt tids handled in this run (logged or skipped)
        self.trials = None
        self.bar = None
        self.cancelled = 0

    @property
    def results(self):
        return [r["result"] for r in self.records]

    def load(self):
        path = os.path.join(self.out, LOG)
        if os.path.exists(path):
            with open(path) as f:
                self.records = json.load(f)["trials"]

    def remove_unfinished_dirs(self):
        """Dirs of trials that were running when the sweep was killed: not in the log, redone."""
        root = os.path.join(self.out, TRIALS_DIR)
        if not os.path.isdir(root):
            return []
        logged = {os.path.basename(os.path.normpath(r["result"]["dir"])) for r in self.records if r["result"].get("dir")}
        removed = [name for name in os.listdir(root) if name not in logged]
        for name in removed:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        return sorted(removed, key=lambda n: int(n) if n.isdigit() else 0)

    def save(self):
        write_json(os.path.join(self.out, LOG), {"trials": self.records})

    def update_outputs(self):
        results = self.results
        report.write_csv(self.out, results)
        report.write_md(self.out, results, self.searched, self.title)
        if results:
            report.plot(self.out, results, self.searched)
        winner = report.best(results)
        if winner:
            report.copy_best(self.out, winner)

    def _result_of(self, trial):
        """A finished hyperopt trial doc -> our result dict (a worker crash becomes a failed trial)."""
        from hyperopt import base, space_eval

        result = dict(trial["result"])
        if trial["state"] == base.JOB_STATE_ERROR or "params" not in result:
            vals = {k: v[0] for k, v in trial["misc"]["vals"].items() if v}
            err = trial["misc"].get("error") or ("", "")
            text = str(err[1] or err[0]).strip().splitlines()
            result = {"status": "fail", "params": spaces.concrete(space_eval(self.space, vals)),
                      "reason": f"the trial's worker failed: {text[-1][:300] if text else 'no message'}"}
        return _plain(result)

    def collect(self):
        """Log, report and print every trial that finished since the last call."""
        from hyperopt import base

        for trial in list(self.trials._dynamic_trials):
            if trial["tid"] in self.seen:
                continue
            if trial["state"] == base.JOB_STATE_CANCEL:
                self.seen.add(trial["tid"])
                self.cancelled += 1
                continue
            if trial["state"] not in (base.JOB_STATE_DONE, base.JOB_STATE_ERROR):
                continue
            self.seen.add(trial["tid"])
            result = self._result_of(trial)
            if result.get("skipped"):
                continue
            self.records.append({"tid": trial["tid"], "misc": {"vals": _plain(trial["misc"]["vals"])},
                                 "result": result})
            self.save()  # logged before it is reported: a reported trial is never redone
            self.update_outputs()
            self.say(self.summary_line(result))
            if self.bar is not None:
                self.bar.update(1)

    def say(self, line):
        if self.quiet:
            return
        from tqdm import tqdm
        tqdm.write(line, file=sys.stdout)
        sys.stdout.flush()

    def summary_line(self, r):
        p = r["params"]
        names = [n for n in report.PARAMS if n in self.searched] or ["units", "learning_rate", "batch_size"]
        params = " ".join(f"{n}={p.get(n):g}" if isinstance(p.get(n), float) else f"{n}={p.get(n)}" for n in names)
        head = f"trial {len(self.records)}/{self.total} (dir {r.get('trial', '-')}) {params}"
        if r["status"] != "ok":
            return f"{head} | FAILED: {r.get('reason')}"
        winner = report.best(self.results)
        return (f"{head} | ok: {r['epochs']} epochs, {r['seconds_per_epoch']:.1f} s/epoch, "
                f"loss {r['train_loss']:.4f} acc {r['train_accuracy']:.3f}, "
                f"val_loss {r['val_loss']:.4f} val_acc {r['val_accuracy']:.3f} | "
                f"best: dir {winner['trial']} val_loss {winner['val_loss']:.4f}")

    def progress(self, initial, total):
        """hyperopt calls update() on this after trials finish: the hook that logs each one."""
        sweep = self

        class Hook:
            postfix = None

            def __enter__(self):
                from tqdm import tqdm
                sweep.bar = tqdm(total=sweep.total, initial=len(sweep.records), unit="trial", desc="sweep",
                                 file=sys.stderr, dynamic_ncols=True, disable=sweep.quiet)
                return self

            def update(self, n):
                sweep.collect()

            def __exit__(self, *exc):
                sweep.collect()
                sweep.bar.close()
                sweep.bar = None

        return Hook()


def run_sweep(corpus, out, trials=20, space=None, algo=None, overrides=None, max_minutes=None, spark=None,
              parallelism=None, spark_conf=(), gpus_per_trial=None, resume=False, quiet=False, **settings):
    """Run (or resume) a sweep until `trials` trials have finished; returns the Sweep (.results).

    settings: epochs, patience, steps_per_epoch, trial_minutes, min_count, seed, keep_checkpoints,
    mixed_precision (None or missing: the default, or on --resume the sweep's own).
    """
    from hyperopt import Trials, fmin, rand, tpe
    from hyperopt.exceptions import AllTrialsFailed

    corpus, out = os.path.abspath(corpus), os.path.abspath(out)
    corpus_dir.check(corpus)
    if trials < 1:
        raise SweepError("--trials must be at least 1")
    if parallelism is not None and not spark:
        raise SweepError("--parallelism needs --spark MASTER (for trials in parallel on this machine: --spark local[P])")
    if parallelism is not None and parallelism < 1:
        raise SweepError("--parallelism must be at least 1")
    if max_minutes is not None and max_minutes <= 0:
        raise SweepError("--max-minutes must be above 0")

    config_path = os.path.join(out, CONFIG)
    given = {"space": space, "algo": algo, "overrides": overrides or None, "corpus": corpus,
             **{k: v for k, v in settings.items() if v is not None}}
    resuming = resume and os.path.exists(config_path)
    if os.path.exists(config_path) and not resume:
        raise SweepError(f"{out} holds a sweep; pass --resume to continue it or choose another --out")
    if os.path.exists(config_path):
        with open(config_path) as f:
            config = json.load(f)
        clash = [k for k, v in given.items() if v is not None and k in ("space", "algo", "overrides", "corpus")
                 and v != config[k]]
        clash += [k for k, v in given.items() if k in SETTING_DEFAULTS and v != config["settings"][k]]
        if clash:
            raise SweepError(f"{out} was started with other {', '.join(clash)}; --resume continues it as it was "
                             f"(see {config_path}) - leave those flags out or start a new --out")
    else:
        if resume and not quiet:
            print(f"nothing to resume in {out}; starting a new sweep", file=sys.stderr)
        config = {"space": space or "paper", "algo": algo or "tpe", "overrides": overrides or {},
                  "corpus": corpus,
                  "settings": {k: settings[k] if settings.get(k) is not None else v
                               for k, v in SETTING_DEFAULTS.items()},
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        if config["algo"] not in ALGOS:
            raise SweepError(f"unknown --algo {config['algo']!r}; choose from {', '.join(ALGOS)}")
        spaces.build(config["space"], config["overrides"])  # fail on a bad space before writing anything
        os.makedirs(out, exist_ok=True)
        write_json(config_path, config)

    sweep = Sweep(out, config["space"], config["overrides"], trials, config["settings"], quiet=quiet)
    sweep.load()
    removed = sweep.remove_unfinished_dirs() if resuming else []
    if resuming and not quiet:
        print(f"resuming {out}: {len(sweep.records)} of {trials} trials done"
              + (f"; removed the unfinished trial dirs {', '.join(removed)}" if removed else ""), file=sys.stderr)
    deadline = time.time() + max_minutes * 60 if max_minutes else None
    objective = functools.partial(run_trial, settings={**config["settings"], "corpus": corpus, "out": out,
                                                       "deadline": deadline})
    session = None
    with tempfile.TemporaryDirectory() as tmpdir:
        if spark:
            session, sweep.trials = spark_trials(spark, parallelism or 1, spark_conf, gpus_per_trial, tmpdir)
        else:
            sweep.trials = Trials()
        rebuild_trials(sweep.trials, sweep.records)
        sweep.seen = set(sweep.trials.tids)
        try:
            if len(sweep.records) < trials:
                # Spark: give running trials a grace period to stop at the deadline and save, before
                # SparkTrials cancels them.
                timeout = None if not max_minutes else max_minutes * 60 + (120 if spark else 0)
                try:
                    fmin(objective, sweep.space, algo=tpe.suggest if config["algo"] == "tpe" else rand.suggest,
                         max_evals=trials, trials=sweep.trials, timeout=timeout, return_argmin=False,
                         rstate=np.random.default_rng([config["settings"]["seed"], len(sweep.records)]),
                         max_queue_len=parallelism or 1, show_progressbar=sweep.progress, verbose=True)
                except AllTrialsFailed:
                    pass  # hyperopt's way to say no trial succeeded; the caller reports it from the log
        finally:
            if session is not None:
                session.stop()
    sweep.update_outputs()
    return sweep
