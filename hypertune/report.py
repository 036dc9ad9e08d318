"""Sweep outputs: results.csv, results.md (the paper's Table I plus val columns), sweep.png, best/."""
import csv
import io
import math
import os

from hypertune.spaces import TYPES
from model.serving import modeldir

PARAMS = list(TYPES)  # layers, units, embedding_dim, dropout, seq_len, learning_rate, batch_size
CSV_COLUMNS = (["trial", "status"] + PARAMS +
               ["seconds_per_epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_bits_per_char",
                "test_loss", "test_accuracy", "epochs", "best_epoch", "stopped_by", "train_seconds",
                "wall_seconds", "reason", "host", "dir"])
BEST_DIR = "best"


def row(result):
    """One flat table row from a trial result; losses are nats/char (Keras's), like the paper's."""
    r = {"trial": result.get("trial"), "status": "ok" if result.get("status") == "ok" else "failed"}
    r.update({name: result.get("params", {}).get(name) for name in PARAMS})
    val = result.get("val_loss")
    r.update(seconds_per_epoch=result.get("seconds_per_epoch"), loss=result.get("train_loss"),
             accuracy=result.get("train_accuracy"), val_loss=val, val_accuracy=result.get("val_accuracy"),
             val_bits_per_char=val / math.log(2) if val is not None else None,
             test_loss=result.get("test_loss"), test_accuracy=result.get("test_accuracy"),
             epochs=result.get("epochs"), best_epoch=result.get("best_epoch"), stopped_by=result.get("stopped_by"),
             train_seconds=result.get("train_seconds"), wall_seconds=result.get("wall_seconds"),
             reason=result.get("reason", ""), host=result.get("host"), dir=result.get("dir"))
    return r


def ranked(results):
    """Best first: successful trials by val loss, then failed ones in trial order."""
    ok = sorted((r for r in results if r.get("status") == "ok"), key=lambda r: r["val_loss"])
    failed = sorted((r for r in results if r.get("status") != "ok"), key=lambda r: r.get("trial") or 0)
    return ok + failed


def best(results):
    ok = [r for r in results if r.get("status") == "ok"]
    return min(ok, key=lambda r: r["val_loss"]) if ok else None


def write_csv(out, results):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for result in ranked(results):
        writer.writerow({k: ("" if v is None else v) for k, v in row(result).items()})
    modeldir.atomic_write(os.path.join(out, "results.csv"), buf.getvalue())


def _fmt(value, digits=4):
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def write_md(out, results, searched, title):
    """The paper's Table I columns (n_modules, lr, batch_size, time per epoch, loss, cat_acc), then
    val loss and accuracy, epochs and status; other searched hyperparameters after batch_size."""
    extra = [name for name in PARAMS if name in searched and name not in ("units", "learning_rate", "batch_size")]
    head = (["trial", "n_modules", "lr", "batch_size"] + extra +
            ["time per epoch (s)", "loss", "cat_acc", "val_loss", "val_acc", "epochs", "status"])
    lines = [f"# {title}", "",
             "Losses are cross-entropy in nats per character (Keras's loss, as in the paper's Table I); "
             "`loss`/`cat_acc` are the training figures and `val_loss`/`val_acc` the validation split's, "
             "all at the best epoch. Best first.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in ranked(results):
        r = row(result)
        status = r["status"] if r["status"] == "ok" else f"failed: {r['reason']}"
        cells = ([r["trial"], r["units"], r["learning_rate"], r["batch_size"]] + [r[name] for name in extra] +
                 [_fmt(r["seconds_per_epoch"], 3), _fmt(r["loss"]), _fmt(r["accuracy"], 3), _fmt(r["val_loss"]),
                  _fmt(r["val_accuracy"], 3), r["epochs"], status.replace("|", "/")])
        lines.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    winner = best(results)
    if winner:
        lines += ["", f"Best: trial {winner['trial']}, val loss {winner['val_loss']:.4f} nats/char "
                      f"({winner['val_loss'] / math.log(2):.4f} bits/char), val accuracy "
                      f"{winner['val_accuracy']:.3f}; its model dir is `{BEST_DIR}/`."]
    modeldir.atomic_write(os.path.join(out, "results.md"), "\n".join(lines) + "\n")


def plot(out, results, searched):
    """Val loss per trial (in the order they finished) with the running best, and val loss against
    each searched hyperparameter. Failed trials are red crosses along the top."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    names = [name for name in PARAMS if name in searched]
    panels = 1 + len(names)
    cols = min(panels, 4)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    axes = axes.ravel()
    ok = [r for r in results if r.get("status") == "ok"]
    failed = [r for r in results if r.get("status") != "ok"]
    top = max([r["val_loss"] for r in ok], default=1.0)
    fail_y = top * 1.05

    ax = axes[0]
    order = list(range(1, len(results) + 1))
    ok_x = [i for i, r in zip(order, results) if r.get("status") == "ok"]
    ax.plot(ok_x, [r["val_loss"] for r in ok], "o", label="val loss")
    running, line = float("inf"), []
    for r in results:
        if r.get("status") == "ok":
            running = min(running, r["val_loss"])
        line.append(running if math.isfinite(running) else None)
    ax.step(order, [v if v is not None else float("nan") for v in line], where="post", label="best so far")
    fail_x = [i for i, r in zip(order, results) if r.get("status") != "ok"]
    if fail_x:
        ax.plot(fail_x, [fail_y] * len(fail_x), "rx", label="failed")
    ax.set(xlabel="trial (order finished)", ylabel="val loss (nats/char)", title="val loss per trial")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.legend(fontsize=8)

    for ax, name in zip(axes[1:], names):
        ax.plot([r["params"][name] for r in ok], [r["val_loss"] for r in ok], "o")
        if failed:
            ax.plot([r["params"][name] for r in failed], [fail_y] * len(failed), "rx")
        if name in ("learning_rate", "units", "batch_size"):
            ax.set_xscale("log", base=10 if name == "learning_rate" else 2)
            if name != "learning_rate":
                ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
        elif TYPES[name] is int:
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set(xlabel=name, ylabel="val loss (nats/char)", title=f"val loss vs {name}")
    for ax in axes[panels:]:
        ax.axis("off")
    for ax in axes[:panels]:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = os.path.join(out, "sweep.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, os.path.join(out, "sweep.png"))


def copy_best(out, result):
    """OUT/best/ = the best trial's model dir (no checkpoints), swapped in whole."""
    dest = os.path.join(out, BEST_DIR)
    marker = os.path.join(dest, "trial.json")
    if os.path.exists(marker) and os.path.exists(os.path.join(dest, modeldir.MODEL)):
        import json
        with open(marker) as f:
            if json.load(f).get("trial") == result["trial"]:
                return dest
    return modeldir.copy(result["dir"], dest, extra=("trial.json",))
