"""Hyperparameter sweep: hyperopt over the LSTM's hyperparameters, one model.training.train run per trial.

    python -m hypertune --corpus data/stdlib --out sweeps/paper --trials 18 --space paper
    python -m hypertune --corpus data/stdlib --out sweeps/wide --space wide --trials 60 --max-minutes 600
    python -m hypertune --corpus data/stdlib --out sweeps/wide --trials 80 --resume     # after a kill
    python -m hypertune --corpus /shared/stdlib --out /shared/sweep --spark spark://head:7077 --parallelism 8 \\
        --gpus-per-trial 1

Writes OUT/results.csv, OUT/results.md (best first), OUT/sweep.png, OUT/best/ (the best trial's
model dir, ready to serve), OUT/trials/<n>/ (each trial's model dir and train.log), OUT/trials.json
(the log --resume continues from) and OUT/sweep.json (the sweep's settings).
"""
import argparse
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _key_value(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def parse_args(argv=None):
    from hypertune.spaces import SPACES
    from hypertune.sweep import ALGOS
    from hypertune.sweep import SETTING_DEFAULTS as D

    p = argparse.ArgumentParser(prog="python -m hypertune", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--corpus", required=True, help="corpus dir from python -m model.data.corpus")
    p.add_argument("--out", required=True, help="sweep dir to write")
    p.add_argument("--trials", type=int, default=20, help="finished trials to reach, counting resumed ones (20)")
    p.add_argument("--space", choices=sorted(SPACES), default=None,
                   help="paper: units {128,256} x lr {0.001,0.01,0.1} x batch {128,256,512}, 2 layers; "
                        "wide: layers 1-3, units 128-1024, dropout, seq len, embedding, log-uniform lr, batch "
                        "(default paper)")
    p.add_argument("--algo", choices=ALGOS, default=None, help="tpe (default) or random search")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=V[,V...]",
                   help="replace one hyperparameter of the space: one value fixes it, several make a choice "
                        "(e.g. --set layers=1 --set units=512,1024); names: layers, units, embedding_dim, "
                        "dropout, seq_len, learning_rate, batch_size")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="budget of the whole sweep (this run); running trials stop at it, no new one starts")
    p.add_argument("--trial-minutes", type=float, default=None,
                   help=f"time budget of each trial ({D['trial_minutes']:g}); it keeps its best epoch")
    p.add_argument("--epochs", type=int, default=None, help=f"max epochs per trial ({D['epochs']})")
    p.add_argument("--patience", type=int, default=None, help=f"early stopping patience in epochs ({D['patience']})")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    p.add_argument("--min-count", type=int, default=None, help=f"vocab: rarer chars are unknown ({D['min_count']})")
    p.add_argument("--seed", type=int, default=None, help=f"seeds the search and each trial ({D['seed']})")
    p.add_argument("--keep-checkpoints", action="store_true", default=None,
                   help="keep each trial's optimizer checkpoints (by default only its model dir is kept)")
    p.add_argument("--mixed-precision", action="store_true", default=None,
                   help="train each trial in float16 on its GPU (trials fail without one)")
    p.add_argument("--spark", metavar="MASTER", default=None,
                   help="run trials through hyperopt's SparkTrials on this Spark master: local[P], "
                        "spark://host:7077, yarn, k8s://...")
    p.add_argument("--parallelism", type=int, default=None, help="trials at once under --spark")
    p.add_argument("--spark-conf", type=_key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="Spark configuration, repeatable (e.g. spark.executor.memory=24g)")
    p.add_argument("--gpus-per-trial", type=int, default=None,
                   help="under --spark: GPUs each trial's task holds (sets spark.task.resource.gpu.amount)")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-trial lines")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from hypertune import spaces
    from hypertune.sweep import SweepError, run_sweep
    from model.data.corpus import CorpusError

    for name in ("hyperopt", "hyperopt-spark"):  # its INFO lines would break up the progress bar
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        overrides = dict(spaces.parse_set(text) for text in args.overrides)
        sweep = run_sweep(args.corpus, args.out, trials=args.trials, space=args.space, algo=args.algo,
                          overrides=overrides, max_minutes=args.max_minutes, spark=args.spark,
                          parallelism=args.parallelism, spark_conf=args.spark_conf,
                          gpus_per_trial=args.gpus_per_trial, resume=args.resume, quiet=args.quiet,
                          epochs=args.epochs, patience=args.patience, steps_per_epoch=args.steps_per_epoch,
                          trial_minutes=args.trial_minutes, min_count=args.min_count, seed=args.seed,
                          keep_checkpoints=args.keep_checkpoints, mixed_precision=args.mixed_precision)
    except (SweepError, CorpusError, ValueError) as err:
        raise SystemExit(f"error: {err}")
    from hypertune import report

    results = sweep.results
    winner = report.best(results)
    failed = sum(r["status"] != "ok" for r in results)
    if not args.quiet:
        with open(os.path.join(sweep.out, "results.md")) as f:
            print("\n" + f.read(), flush=True)
    print(f"{len(results)} trials ({failed} failed"
          + (f", {sweep.cancelled} cancelled by the time budget" if sweep.cancelled else "") + f"); "
          f"results in {os.path.join(sweep.out, 'results.md')}", flush=True)
    if winner is None:
        reasons = sorted({r.get("reason", "") for r in results if r["status"] != "ok"})
        raise SystemExit(f"error: every trial failed ({len(results)} of {len(results)}), so there is no best model; "
                         + ("the reason: " + reasons[0] if len(reasons) == 1 else
                            f"{len(reasons)} different reasons, in the table above"))
    print(f"best: trial {winner['trial']} {winner['params']} val_loss {winner['val_loss']:.4f} nats/char, "
          f"val_acc {winner['val_accuracy']:.3f}; model dir {os.path.join(sweep.out, report.BEST_DIR)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
