"""curves.png in a model dir: what a person looks at to see how a training run went."""
import math
import os

from model.serving.modeldir import CURVES, history


def plot_curves(out):
    """curves.png in a model (or work) dir: loss (bits/char) and accuracy per epoch, train and val,
    from its history.csv."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = history(out)
    if not rows:
        return
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "train"), ("val_loss", "val")):
        if key in rows[0]:
            ax1.plot(epochs, [float(r[key]) / math.log(2) for r in rows], marker="o", label=label)
    ax1.set(xlabel="epoch", ylabel="bits / char", title="loss")
    for key, label in (("accuracy", "train"), ("val_accuracy", "val")):
        if key in rows[0]:
            ax2.plot(epochs, [float(r[key]) for r in rows], marker="o", label=label)
    ax2.set(xlabel="epoch", ylabel="next-char accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, CURVES), dpi=100)
    plt.close(fig)
