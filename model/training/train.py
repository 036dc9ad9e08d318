"""Train the character-level LSTM on a corpus dir and write a complete model dir.

    python -m model.training.train --corpus data/stdlib --out runs/py --layers 2 --units 256 --max-minutes 120
    python -m model.training.train --corpus data/stdlib --out runs/py --resume      # after a crash or kill -9

Next-character loss at every position of every window. Batches are stateful streams (row b
of batch k+1 continues row b of batch k), the way char-rnn trained, so the LSTM learns to
carry context across the whole file, which is how the Completer uses it.
"""
import argparse
import json
import math
import os
import platform
import shutil
import sys
import time

import numpy as np

from model.data import corpus as corpus_dir
from model.data.corpus import CorpusError
from model.measure.evaluate import LN2, fit_match
from model.serving import modeldir
from model.serving.lstm import Stepper, generate
from model.serving.modeldir import ModelDirError
from model.text.clean import FILE_START, extension_of
from model.text.vocab import Vocab
from model.training import network
from model.training.curves import plot_curves
from model.training.transplant import TransplantError, shape_of, transplant

D = network.DEFAULTS
PRIMES = {".py": "import os\nimport sys\n\n\ndef main(argv):\n    ", ".c": "#include <stdio.h>\n\nint main(void)\n{\n    ",
          ".js": "const fs = require('fs');\n\nfunction main(args) {\n  ", ".lua": "local M = {}\n\nfunction M.new(t)\n  "}


class TrainingError(Exception):
    """Training cannot start or produced no model; the message says why."""


def stream_windows(n_ids, n_rows, seq_len):
    """How many windows of `seq_len` each of `n_rows` streams over `n_ids` ids holds (a pass over them)."""
    n_windows = (n_ids - 1) // n_rows // seq_len
    if n_windows < 1:
        raise TrainingError(f"split of {n_ids} chars is too small for {n_rows} streams x seq {seq_len}")
    return n_windows


def stream_dataset(ids, batch_size, seq_len, start_step=0, steps=None, mix_ids=None, mix_rows=0):
    """tf.data over stateful streams: `batch_size` contiguous rows of the text, cut in windows;
    the last `mix_rows` of them rows of `mix_ids` instead (another corpus, mixed in).

    Step k yields (x, y) with x[b] = stream b [k*T : (k+1)*T] and y the same shifted by one.
    Steps wrap around (each part on its own), so training can go on for any number of steps and
    resume at any step. The number of windows returned is the main text's: a pass over it.
    """
    import tensorflow as tf

    def rows(text_ids, n):
        per_row, n_windows = (len(text_ids) - 1) // n, stream_windows(len(text_ids), n, seq_len)
        return (tf.constant(text_ids[: per_row * n].reshape(n, per_row)),
                tf.constant(text_ids[1: per_row * n + 1].reshape(n, per_row)), n_windows)

    parts = [rows(ids, batch_size - mix_rows)] + ([rows(mix_ids, mix_rows)] if mix_rows else [])

    def window(k):
        xs, ys = [], []
        for x, y, n_windows in parts:
            s = tf.cast(k % n_windows, tf.int32) * seq_len
            xs.append(x[:, s:s + seq_len])
            ys.append(y[:, s:s + seq_len])
        return (tf.concat(xs, 0), tf.concat(ys, 0)) if mix_rows else (xs[0], ys[0])

    n_windows = parts[0][2]
    steps = n_windows if steps is None else steps
    ds = tf.data.Dataset.range(start_step, start_step + steps).map(window)
    return ds.prefetch(tf.data.AUTOTUNE), n_windows


def mix_config(mix, corpus_manifest, batch_size):
    """The run's record of a corpus mixed in: (corpus dir, share of the streams) -> its dir, share
    and number of streams; None for no mix (share 0). Raises TrainingError for a mix that cannot be."""
    if mix[1] == 0:
        return None
    path, share = mix
    manifest, sha = corpus_dir.read_manifest(path)
    if corpus_dir.cleaned_as(manifest) != corpus_dir.cleaned_as(corpus_manifest) or \
            manifest["cleaning"] != corpus_manifest["cleaning"]:
        raise TrainingError(f"--mix {path}: cleaned differently from the corpus (language, extension or options)")
    streams = round(share * batch_size)
    if not 0 < streams < batch_size:
        raise TrainingError(f"--mix share {share:g} of {batch_size} streams leaves no stream to one of the corpora")
    return {"corpus": os.path.abspath(path), "manifest_sha256": sha, "share": share, "streams": streams}


def make_callbacks(out, state, max_minutes, patience, vocab, sample_every, sample_chars, min_delta=0.0,
                   on_epoch=None, verbose=1, prime=FILE_START + PRIMES[".py"]):
    import keras

    started = time.time()

    class Streams(keras.callbacks.Callback):
        """Zero the LSTM state where a new pass starts: each epoch and before validation."""

        def on_epoch_begin(self, epoch, logs=None):
            network.reset_lstm_states(self.model)

        def on_test_begin(self, logs=None):
            network.reset_lstm_states(self.model)

    class TimeLimit(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if max_minutes and time.time() - started > max_minutes * 60:
                self.model.stop_training = True
                state["stopped_by"] = "max_minutes"

    class Sample(keras.callbacks.Callback):
        """Print a sample after each epoch: watching samples improve is how the paper judged."""

        def on_epoch_end(self, epoch, logs=None):
            if sample_every and (epoch + 1) % sample_every == 0:
                ids = generate(Stepper.from_keras(self.model), vocab.encode(prime), sample_chars, 0.5, seed=epoch)
                print(f"\n----- sample after epoch {epoch + 1} (temperature 0.5) -----\n"
                      f"{prime.lstrip(FILE_START)}{vocab.decode(ids)}\n-----", flush=True)

    # min_delta: a val loss that improves by less than this (nats/char) is a plateau, not progress.
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, min_delta=min_delta)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5,
                                                min_delta=min_delta, verbose=1 if verbose else 0)

    class Checkpoint(keras.callbacks.Callback):
        """Each epoch: last.keras (weights + optimizer) and the run's state; best.keras on a new best.

        On --resume the state puts early stopping and the LR schedule back where they were.
        """

        def on_train_begin(self, logs=None):
            for cb, key in ((early, "early_stopping"), (plateau, "plateau")):
                for attr, value in state.get(key, {}).items():
                    setattr(cb, attr, value)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            val = logs.get("val_loss")
            if val is not None and math.isfinite(val) and val < state.get("best_val_loss", float("inf")):
                state.update(best_val_loss=float(val), best_epoch=epoch)
                modeldir.save_keras(self.model, modeldir.checkpoint(out, modeldir.BEST))
            modeldir.save_keras(self.model, modeldir.checkpoint(out, modeldir.LAST))
            state["epoch"] = epoch
            # The rate each epoch ran at (the plateau schedule and a resume's --learning-rate change
            # it); None for epochs of a run checkpointed before this was kept.
            rates = state.get("learning_rates", [])
            state["learning_rates"] = (rates + [None] * epoch)[:epoch] + [self.rate]
            state["early_stopping"] = {"wait": early.wait, "best": float(early.best)}
            state["plateau"] = {"wait": plateau.wait, "best": float(plateau.best),
                                "cooldown_counter": plateau.cooldown_counter}
            state["train_seconds"] = state.get("train_seconds", 0.0) + time.time() - self.epoch_started
            modeldir.write_json(modeldir.checkpoint(out, modeldir.STATE), state)
            plot_curves(out)
            if on_epoch is not None:
                on_epoch(epoch, logs)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.time()
            self.rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    class StopOnNaN(keras.callbacks.TerminateOnNaN):
        def on_batch_end(self, batch, logs=None):
            super().on_batch_end(batch, logs)
            if self.model.stop_training:
                state["stopped_by"] = "nan"

    csv_logger = keras.callbacks.CSVLogger(os.path.join(out, modeldir.HISTORY), append=True)
    # Order matters: Checkpoint restores early/plateau after their own on_train_begin reset them.
    return [Streams(), StopOnNaN(), TimeLimit(), csv_logger, early, plateau, Checkpoint(), Sample()]




def split_metrics(model, val_ids, corpus, vocab, batch_size, seq_len):
    """What a run is measured by: val's first val_chars (val_ids) and the whole test split."""
    return {"val": evaluate_split(model, val_ids, batch_size, seq_len),
            "test": evaluate_split(model, vocab.encode(corpus_dir.read_split(corpus, "test")), batch_size, seq_len)}


def evaluate_split(model, ids, batch_size, seq_len):
    """Loss (nats/char) and accuracy of a stateful model over a whole split, state carried."""
    if (len(ids) - 1) // batch_size < seq_len:
        return None  # split too small to measure (tiny corpora in tests)
    ds, n = stream_dataset(ids, batch_size, seq_len)
    network.reset_lstm_states(model)
    loss, acc = model.evaluate(ds, verbose=0)
    network.reset_lstm_states(model)
    return {"nats_per_char": float(loss), "bits_per_char": float(loss) / LN2, "accuracy": float(acc),
            "chars": int(n * seq_len * batch_size)}


def start_config(work, base, train_text, val_text, net, tc, learning_rate, manifest):
    """A new run's vocab (written to the work dir) and config: the network's, or the base
    model's network and vocab when fine-tuning (its corpus must be cleaned as the base was)."""
    if base is None:
        vocab = Vocab.from_text(train_text, min_count=tc["min_count"])
        net = {**net, "vocab_size": len(vocab)}
    else:
        base_meta, vocab, _ = modeldir.load(base)
        base_ext = base_meta.get("extension") or extension_of(base_meta.get("language", "python"))
        for key, mine, theirs in (("extension", corpus_dir.cleaned_as(manifest)[1], base_ext),
                                  ("cleaning", manifest["cleaning"], base_meta.get("cleaning"))):
            if theirs != mine:
                raise TrainingError(f"the corpus was cleaned with {key} {mine!r}, the base model {base} with "
                                    f"{theirs!r}; build the corpus with the base's cleaning")
        net = {**base_meta["network"], **({"dropout": net["dropout"]} if net["dropout"] is not None else {})}
        tc["base"] = os.path.abspath(base)
    net["dropout"] = D["dropout"] if net["dropout"] is None else net["dropout"]
    modeldir.write_vocab(work, vocab)
    try:
        tc["batch_size"], tc["seq_len"] = network.fit_shape(len(train_text), len(val_text[:tc["val_chars"]]),
                                                            tc["batch_size"], tc["seq_len"])
    except ValueError as err:
        raise TrainingError(str(err)) from None
    tc["learning_rate"] = learning_rate or D["learning_rate"]
    return vocab, {"network": net, "training": tc}


def train(corpus, out, layers=D["layers"], units=D["units"], embedding_dim=D["embedding_dim"],
          dropout=None, batch_size=None, seq_len=None, learning_rate=None, epochs=None,
          steps_per_epoch=None, max_minutes=None, patience=3, resume=False, mixed_precision=False, min_count=20,
          seed=1337, sample_every=1, sample_chars=240, verbose=1, val_chars=None, base=None, install=True,
          min_delta=0.002, mix=None, keep="best", on_epoch=None, warm_start=None):
    """Train on the corpus dir `corpus` into the model dir `out`; returns its meta. The run works
    in OUT.partial (checkpoints in OUT.partial/checkpoints) and, with `install`, renames it into
    place as `out` once complete (else the caller installs it: modeldir.install).
    base: a model dir to fine-tune (its network, vocab and weights). batch_size, seq_len: None
    fits them to the corpus (fit_shape). mix: (corpus dir, share): that share of the streams reads
    the other corpus's train split (share 0: none; a resumed run keeps its own unless given one).
    keep: the checkpoint the model dir is made of, "best" (by val) or "last" (e.g. after annealing
    on a mix, whose aim the main val does not measure). on_epoch(epoch, logs): called after each
    epoch's checkpoint (a caller's progress). warm_start: a model dir of another language (or
    cleaning) whose network this run takes and whose weights it starts from, for the characters
    both vocabs share (model.training.transplant). Raises TrainingError, CorpusError or ModelDirError."""
    import keras
    import tensorflow as tf

    if keep not in ("best", "last"):
        raise TrainingError(f"keep must be 'best' or 'last', not {keep!r}")
    manifest, manifest_sha = corpus_dir.read_manifest(corpus)
    language, extension = corpus_dir.cleaned_as(manifest)
    train_text = corpus_dir.read_split(corpus, "train")
    val_text = corpus_dir.read_split(corpus, "val")
    work = modeldir.start_work(out, resume)
    state = modeldir.read_state(work)
    keras.utils.set_random_seed(seed)
    try:
        network.set_mixed_precision(mixed_precision)
    except ValueError as err:
        raise TrainingError(str(err)) from None

    resuming = resume and bool(state) and os.path.exists(modeldir.checkpoint(work, modeldir.LAST))
    if resuming:
        vocab = Vocab.load(os.path.join(work, modeldir.VOCAB))
        config = state["config"]
        modeldir.truncate_history(work, state["epoch"])
        print(f"resuming {out} after epoch {state['epoch'] + 1}", file=sys.stderr)
    else:
        if resume:
            print(f"nothing to resume in {out}; starting a new run", file=sys.stderr)
        if os.path.exists(os.path.join(work, modeldir.HISTORY)):
            os.remove(os.path.join(work, modeldir.HISTORY))
        tc = {"batch_size": batch_size, "seq_len": seq_len, "epochs": epochs, "steps_per_epoch": steps_per_epoch,
              "patience": patience, "min_delta": min_delta, "mixed_precision": mixed_precision,
              "min_count": min_count, "seed": seed, "val_chars": val_chars}
        try:
            if warm_start is not None:  # its network, with the corpus's own vocab
                tc["warm_start"], (layers, units, embedding_dim) = os.path.abspath(warm_start), shape_of(warm_start)
            vocab, config = start_config(work, base, train_text, val_text,
                                         {"embedding_dim": embedding_dim, "layers": layers, "units": units,
                                          "dropout": dropout}, tc, learning_rate, manifest)
        except (TrainingError, ModelDirError):
            shutil.rmtree(work, ignore_errors=True)  # a run that cannot start leaves nothing behind
            raise
        if (batch_size, seq_len) != (tc["batch_size"], tc["seq_len"]):
            print(f"fitted to the corpus: {tc['batch_size']} streams x {tc['seq_len']}-char windows "
                  f"({len(train_text):,} train chars, {len(val_text[:val_chars]):,} val chars)", file=sys.stderr)
        state = {"config": config, "epoch": -1}
        learning_rate = None  # set in the config; a resumed run's --learning-rate replaces the checkpoint's
    net, tc = config["network"], config["training"]
    # A resumed run keeps its own epoch length and count unless told otherwise.
    epochs = tc["epochs"] = epochs or tc.get("epochs") or 30
    steps_per_epoch = tc["steps_per_epoch"] = steps_per_epoch or tc.get("steps_per_epoch")
    batch_size, seq_len = tc["batch_size"], tc["seq_len"]
    val_chars = tc["val_chars"] = val_chars or tc.get("val_chars")
    if mix is not None:
        tc["mix"] = mix_config(mix, manifest, batch_size)
    mixed = tc.get("mix")

    train_ids = vocab.encode(train_text)
    # A big corpus's val split can take as long to read as an epoch to train: its first
    # val_chars (files in hash order, so a fair sample) are enough to see where training is.
    val_ids = vocab.encode(val_text[:val_chars])
    del train_text, val_text
    streams = {"mix_ids": vocab.encode(corpus_dir.read_split(mixed["corpus"], "train")) if mixed else None,
               "mix_rows": mixed["streams"] if mixed else 0}
    if mixed:
        print(f"{mixed['streams']} of {batch_size} streams read {mixed['corpus']} "
              f"({len(streams['mix_ids']):,} train chars)", file=sys.stderr)
    n_windows = stream_windows(len(train_ids), batch_size - streams["mix_rows"], seq_len)
    per_epoch = min(steps_per_epoch or n_windows, n_windows)
    initial_epoch = state["epoch"] + 1
    if initial_epoch >= epochs:
        print(f"already trained {initial_epoch} epochs (--epochs {epochs}); writing the model dir", file=sys.stderr)
    train_ds, _ = stream_dataset(train_ids, batch_size, seq_len, start_step=initial_epoch * per_epoch,
                                 steps=max(epochs - initial_epoch, 0) * per_epoch, **streams)
    val_ds, _ = stream_dataset(val_ids, batch_size, seq_len)

    with network.distribution_strategy().scope():
        if resuming:
            model = keras.models.load_model(modeldir.checkpoint(work, modeldir.LAST))
            if learning_rate:  # a new rate for the rest of the run (e.g. to anneal by hand)
                model.optimizer.learning_rate.assign(learning_rate)
                print(f"learning rate set to {learning_rate}", file=sys.stderr)
        else:
            model = network.build_from(net, stateful=True, batch_size=batch_size)
            if tc.get("base"):  # fine-tuning starts from the base model's weights
                model.set_weights(keras.models.load_model(os.path.join(tc["base"], modeldir.MODEL)).get_weights())
            elif tc.get("warm_start"):
                shared = transplant(model, vocab.chars, tc["warm_start"])
                print(f"warm start from {tc['warm_start']}: {shared} of {len(vocab.chars)} characters' rows "
                      f"carried over", file=sys.stderr)
            network.compile_model(model, learning_rate=tc["learning_rate"])
    if verbose:
        model.summary(print_fn=lambda s, **_: print(s, file=sys.stderr))
        print(f"{len(train_ids):,} train chars, {len(val_ids):,} val chars; {per_epoch} steps of "
              f"{batch_size}x{seq_len} per epoch", file=sys.stderr)

    callbacks = make_callbacks(work, state, max_minutes, tc["patience"], vocab, sample_every, sample_chars,
                               tc.get("min_delta", 0.0), on_epoch, verbose, FILE_START + PRIMES.get(extension, ""))
    t0 = time.time()
    if initial_epoch < epochs:
        model.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=per_epoch,
                  validation_data=val_ds, callbacks=callbacks, verbose=verbose)
    elapsed = time.time() - t0

    if not os.path.exists(modeldir.checkpoint(work, modeldir.BEST)):
        if state.get("stopped_by") == "nan":
            raise TrainingError("the loss diverged (NaN) before the first epoch ended; lower --learning-rate")
        raise TrainingError("no epoch finished, so there is no model to write (raise --max-minutes)")
    kept = keras.models.load_model(modeldir.checkpoint(work, modeldir.BEST if keep == "best" else modeldir.LAST))
    metrics = split_metrics(kept, val_ids, corpus, vocab, batch_size, seq_len)
    chars_per_second = ((state["epoch"] + 1 - initial_epoch) * per_epoch * batch_size * seq_len / elapsed
                        if elapsed > 0 and state["epoch"] >= initial_epoch else None)

    # The served model is stateless (any batch, any length); the Completer carries the state.
    inference = network.build_from(net)
    inference.set_weights(kept.get_weights())
    modeldir.save_keras(inference, os.path.join(work, modeldir.MODEL))
    meta = {
        "format": 1,
        "language": language,
        "extension": extension,  # what the Completer cleans requests as: what the corpus was cleaned as
        "network": net,
        "training": {**tc, "learning_rates": state.get("learning_rates"), "epochs_run": state["epoch"] + 1,
                     "best_epoch": state.get("best_epoch", 0) + 1, "kept": keep,
                     "stopped_by": state.get("stopped_by", "epochs_or_early_stopping"),
                     "train_seconds": round(state.get("train_seconds", 0.0), 1),
                     "chars_per_second_last_run": round(chars_per_second) if chars_per_second else None,
                     "train_chars": len(train_ids)},
        "corpus": {"path": os.path.abspath(corpus), "manifest_sha256": manifest_sha,
                   "sources": manifest.get("sources"), "files": manifest.get("files"),
                   "splits": {k: {"chars": v["chars"], "sha256": v["sha256"]} for k, v in manifest["splits"].items()}},
        "cleaning": manifest["cleaning"],
        "file_start": manifest.get("file_start", FILE_START),
        "metrics": metrics,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    modeldir.write_meta(work, meta, pending=True)
    # The match model's weights depend on how good this network is: fit them on the val split
    # now, so the model dir is complete.
    meta["match"] = fit_match(work, corpus_dir.documents(corpus, "val"), show_progress=verbose != 0,
                              fitted_on=f"{os.path.abspath(corpus)}:val", pending=True)
    plot_curves(work)
    if install:
        modeldir.install(work, out)
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.training.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", required=True, help="corpus dir from python -m model.data.corpus")
    p.add_argument("--out", required=True, help="model dir to write (it is written in OUT.partial, then "
                                                "renamed into place; checkpoints go in OUT/checkpoints)")
    p.add_argument("--layers", type=int, default=D["layers"])
    p.add_argument("--units", type=int, default=D["units"])
    p.add_argument("--embedding-dim", type=int, default=D["embedding_dim"])
    p.add_argument("--dropout", type=float, default=None, help=f"default {D['dropout']:g}")
    p.add_argument("--batch-size", type=int, default=None,
                   help=f"streams a step (default {D['batch_size']}, fewer when the corpus is small)")
    p.add_argument("--seq-len", type=int, default=None,
                   help=f"window for truncated backprop (state carries across); default {D['seq_len']}, "
                        f"shorter when the corpus is small")
    p.add_argument("--learning-rate", type=float, default=None,
                   help=f"default {D['learning_rate']:g}; with --resume, replaces the checkpoint's current rate")
    p.add_argument("--epochs", type=int, default=None, help="default 30; a resumed run keeps its own")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="default: one pass over the train split; a resumed run keeps its own")
    p.add_argument("--max-minutes", type=float, default=None, help="stop training after this long")
    p.add_argument("--patience", type=int, default=3, help="early stopping patience (epochs)")
    p.add_argument("--min-delta", type=float, default=0.002,
                   help="a val loss better by less than this (nats/char) does not count as progress")
    p.add_argument("--min-count", type=int, default=20, help="rarer characters map to the unknown id")
    p.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--val-chars", type=int, default=None, help="validate on the val split's first N chars (default all)")
    p.add_argument("--mix", metavar="CORPUS=SHARE", default=None,
                   help="a second corpus dir, read by this share of the streams (e.g. data/stdlib=0.25); "
                        "a resumed run keeps its own unless given one (=0: none)")
    p.add_argument("--warm-start", metavar="MODEL", default=None,
                   help="start from this model dir's weights (another language's: its network, rows of the "
                        "characters both vocabs share), with the corpus's own vocab")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--keep", default="best", choices=["best", "last"], help="the checkpoint the model is made of")
    p.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras progress: 0 none, 1 bar, 2 line")
    args = p.parse_args(argv)
    network.quiet_tensorflow()
    mix = None
    if args.mix is not None:
        path, _, share = args.mix.rpartition("=")
        try:
            mix = (path, float(share))
        except ValueError:
            p.error(f"--mix {args.mix}: expected CORPUS=SHARE, e.g. data/stdlib=0.25")
        if not path or not 0 <= mix[1] < 1:
            p.error(f"--mix {args.mix}: expected CORPUS=SHARE with a share from 0 up to (not) 1")
    try:
        meta = train(args.corpus, args.out, layers=args.layers, units=args.units, embedding_dim=args.embedding_dim,
                     dropout=args.dropout, batch_size=args.batch_size, seq_len=args.seq_len,
                     learning_rate=args.learning_rate, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                     max_minutes=args.max_minutes, patience=args.patience, resume=args.resume,
                     mixed_precision=args.mixed_precision, min_count=args.min_count, seed=args.seed,
                     verbose=args.verbose, val_chars=args.val_chars, min_delta=args.min_delta, mix=mix,
                     keep=args.keep, warm_start=args.warm_start)
    except (TrainingError, CorpusError, ModelDirError, TransplantError) as err:
        raise SystemExit(f"error: {err}")
    print(json.dumps({"out": args.out, "metrics": meta["metrics"], "training": meta["training"]}))


if __name__ == "__main__":
    main()
