"""Average the networks of model dirs from one training run (checkpoint averaging).

    python -m model.training.average runs/py3-e14 runs/py3-e15 --corpus data/py3 --out runs/py3-avg
    python -m model.training.average runs/py3-e14 runs/py3-e15 --weights 1 3 --corpus data/py3 --out runs/py3-avg

Late in a run, at a low learning rate, the weights of consecutive epochs lie in one basin, and
their mean often predicts better than any of them (Izmailov et al. 2018, "Averaging Weights
Leads to Wider Optima"; Vaswani et al. 2017 average their last checkpoints). Averaging epochs
that annealed on different mixes also blends what each learned (docs/training.md, "Averaging checkpoints").

1. Loads each model dir; refuses dirs whose network shape, vocab, language or cleaning differ:
   only networks trained along one run (or from one base) average into a working network.
2. The weighted mean of their weights (equal weights by default) becomes OUT's network.
3. Measures it as model.training.train does (the corpus's val and test splits, stateful streams) and fits
   the match model's weights on val: they depend on how good the network is.
4. meta.json is the first dir's, with training.averaged naming each dir, its weight and epochs.
   history.csv and curves.png are those of the dir that trained longest. The policies are the
   first dir's: refit them with python -m model.measure.benchmark --model OUT --set dev --fit-policy.
Everything is written in OUT.partial beside OUT, then renamed into place.
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np

from model.data import corpus as corpus_dir
from model.serving import modeldir
from model.training import network
from model.training.train import fit_match, split_metrics

SAME = ("language", "extension", "cleaning", "file_start")  # meta fields every averaged dir must share


class AverageError(Exception):
    """The model dirs cannot be averaged (the message says why)."""


def _shape(meta):
    return {k: v for k, v in meta["network"].items() if k != "dropout"}  # dropout: training only


def check_compatible(metas, vocabs, dirs):
    """Raise AverageError unless every dir has the first's network shape, vocab and cleaning."""
    first_net = _shape(metas[0])
    for meta, vocab, d in zip(metas[1:], vocabs[1:], dirs[1:]):
        net = _shape(meta)
        if net != first_net:
            raise AverageError(f"{d}: network {net} differs from {dirs[0]}'s {first_net}")
        if vocab.chars != vocabs[0].chars:
            raise AverageError(f"{d}: its vocab differs from {dirs[0]}'s (ids would mean other characters)")
        for field in SAME:
            if meta.get(field) != metas[0].get(field):
                raise AverageError(f"{d}: {field} {meta.get(field)!r} differs from {dirs[0]}'s "
                                   f"{metas[0].get(field)!r}")


def keras_order(weights):
    """modeldir.load's weights (embedding, [(kernel, recurrent, bias)...], dense kernel, dense bias)
    as the flat list keras' set_weights takes."""
    embedding, lstms, kernel, bias = weights
    return [embedding, *(array for layer in lstms for array in layer), kernel, bias]


def mean_weights(weight_lists, weights):
    """The weighted mean, array by array, of several networks' weight lists (keras order)."""
    total = float(sum(weights))
    return [sum(w * arrays[i] for w, arrays in zip(weights, weight_lists)) / total
            for i in range(len(weight_lists[0]))]


def average(dirs, corpus, out, weights=None, verbose=True):
    """Write the model dir `out` whose network is the weighted mean of the model dirs `dirs`
    (see the module's docstring); returns its meta. Raises AverageError, ModelDirError or CorpusError."""
    if len(dirs) < 2:
        raise AverageError("give at least two model dirs to average")
    weights = [1.0] * len(dirs) if weights is None else [float(w) for w in weights]
    if len(weights) != len(dirs):
        raise AverageError(f"{len(weights)} weights for {len(dirs)} model dirs")
    if any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise AverageError(f"weights must be >= 0 and not all 0, not {weights}")
    loaded = [modeldir.load(d) for d in dirs]
    metas, vocabs = [m for m, _, _ in loaded], [v for _, v, _ in loaded]
    check_compatible(metas, vocabs, dirs)
    manifest, _ = corpus_dir.read_manifest(corpus)
    if manifest["cleaning"] != metas[0].get("cleaning"):
        raise AverageError(f"{corpus} was cleaned with {manifest['cleaning']}, the models with "
                           f"{metas[0].get('cleaning')}; measure them on a corpus cleaned as they were")

    net, vocab = metas[0]["network"], vocabs[0]
    mean = mean_weights([keras_order(w) for _, _, w in loaded], weights)
    work = modeldir.partial_dir(out)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    inference = network.build_from(net)
    inference.set_weights(mean)
    modeldir.save_keras(inference, os.path.join(work, modeldir.MODEL))
    modeldir.write_vocab(work, vocab)
    longest = max(range(len(dirs)), key=lambda i: metas[i].get("training", {}).get("epochs_run") or 0)
    for name in (modeldir.HISTORY, modeldir.CURVES):
        if os.path.exists(os.path.join(dirs[longest], name)):
            shutil.copy2(os.path.join(dirs[longest], name), os.path.join(work, name))

    # Measured as model.training.train measures a run: stateful streams over val's first val_chars and all of test.
    tc = metas[0]["training"]
    stateful = network.build_from(net, stateful=True, batch_size=tc["batch_size"])
    stateful.set_weights(mean)
    network.compile_model(stateful)
    val_ids = vocab.encode(corpus_dir.read_split(corpus, "val")[:tc.get("val_chars")])
    metrics = split_metrics(stateful, val_ids, corpus, vocab, tc["batch_size"], tc["seq_len"])
    averaged = [{"model": os.path.abspath(d), "weight": w, "epochs_run": m.get("training", {}).get("epochs_run"),
                 "mix": m.get("training", {}).get("mix"), "val": (m.get("metrics") or {}).get("val")}
                for d, w, m in zip(dirs, weights, metas)]
    meta = {**metas[0], "training": {**tc, "averaged": averaged}, "metrics": metrics,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    meta.pop("project", None)  # a learned model's before/after figures were of its own network
    modeldir.write_meta(work, meta, pending=True)
    meta["match"] = fit_match(work, corpus_dir.documents(corpus, "val"), show_progress=verbose,
                              fitted_on=f"{os.path.abspath(corpus)}:val", pending=True)
    modeldir.install(work, out)
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.training.average", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="model dirs of one run (or fine-tuned from one base)")
    p.add_argument("--weights", nargs="+", type=float, default=None, help="one per model dir (default: equal)")
    p.add_argument("--corpus", required=True, help="corpus dir to measure on and fit the match weights on (its val)")
    p.add_argument("--out", required=True, help="model dir to write")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    network.quiet_tensorflow()
    try:
        meta = average(args.models, args.corpus, args.out, weights=args.weights, verbose=not args.quiet)
    except (AverageError, modeldir.ModelDirError, corpus_dir.CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    val = meta["metrics"]["val"]
    print(f"wrote {args.out}" + (f": val {val['bits_per_char']:.3f} bits/char, accuracy {val['accuracy']:.3f}"
                                 if val else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
