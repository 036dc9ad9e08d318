"""Seconds per epoch of a space's grid points on this machine, before paying for a sweep.

    python -m hypertune.estimate --corpus data/stdlib                 # the paper grid's 6 sizes
    python -m hypertune.estimate --corpus data/stdlib --units 512 --batch-size 128 --layers 3 --json

Builds the network and the stateful data pipeline exactly as model.training.train does, times a few
training and validation steps after warm-up, and scales them to one pass over the corpus's
train and val splits (what one trial epoch costs). Learning rate does not change the cost.
"""
import argparse
import itertools
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model.data import corpus as corpus_dir  # noqa: E402 - after the TF log level
from model.training import network  # noqa: E402

D = network.DEFAULTS


def seconds_per_epoch(split_chars, units, batch_size, layers=D["layers"], embedding_dim=D["embedding_dim"],
                      seq_len=D["seq_len"], steps=8, vocab_size=100):
    import numpy as np

    from model.training.train import stream_dataset

    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab_size, size=batch_size * seq_len * (steps + 4) + 1).astype(np.int32)
    model = network.build_model(vocab_size=vocab_size, embedding_dim=embedding_dim, layers=layers, units=units,
                                dropout=D["dropout"], batch_size=batch_size, stateful=True)
    network.compile_model(model, learning_rate=1e-3)
    ds, _ = stream_dataset(ids, batch_size, seq_len)
    model.fit(ds.take(2), epochs=1, verbose=0)  # warm-up: tracing and compilation
    t = time.perf_counter()
    model.fit(ds.skip(2).take(steps), epochs=1, verbose=0)
    train_step = (time.perf_counter() - t) / steps
    network.reset_lstm_states(model)
    t = time.perf_counter()
    model.evaluate(ds.take(steps), verbose=0)
    val_step = (time.perf_counter() - t) / steps
    train_steps = (split_chars["train"] - 1) // batch_size // seq_len
    val_steps = (split_chars["val"] - 1) // batch_size // seq_len
    return {"units": units, "batch_size": batch_size, "layers": layers, "embedding_dim": embedding_dim,
            "seq_len": seq_len, "s_per_train_step": round(train_step, 3), "s_per_val_step": round(val_step, 3),
            "train_steps": train_steps, "val_steps": val_steps,
            "s_per_epoch": round(train_steps * train_step + val_steps * val_step, 1)}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m hypertune.estimate", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", required=True, help="corpus dir (only its manifest's split sizes are read)")
    p.add_argument("--units", type=int, nargs="+", default=[128, 256], help="(the paper's: 128 256)")
    p.add_argument("--batch-size", type=int, nargs="+", default=[128, 256, 512], help="(the paper's: 128 256 512)")
    p.add_argument("--layers", type=int, default=D["layers"])
    p.add_argument("--embedding-dim", type=int, default=D["embedding_dim"])
    p.add_argument("--seq-len", type=int, default=D["seq_len"])
    p.add_argument("--steps", type=int, default=8, help="timed steps per measurement")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = p.parse_args(argv)
    try:
        chars = {k: v["chars"] for k, v in corpus_dir.read_manifest(args.corpus)[0]["splits"].items()}
    except (corpus_dir.CorpusError, KeyError) as err:
        raise SystemExit(f"error: {args.corpus} is not a corpus dir ({err})")
    rows = []
    for units, batch in itertools.product(args.units, args.batch_size):
        row = seconds_per_epoch(chars, units, batch, args.layers, args.embedding_dim, args.seq_len, args.steps)
        rows.append(row)
        if not args.json:
            print(f"units {units:5d} batch {batch:4d}: {row['s_per_train_step']:.3f} s/step, "
                  f"{row['s_per_epoch']:,.0f} s/epoch", flush=True)
    if args.json:
        print(json.dumps({"corpus_chars": chars, "points": rows}))


if __name__ == "__main__":
    sys.exit(main())
