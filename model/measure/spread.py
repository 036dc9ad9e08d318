"""The benchmark's figures package by package: how much they vary from one kind of code to another.

    python -m model.measure.spread --model model/pretrained/python --set dev --positions 100
    python -m model.measure.spread --model DIR --model DIR2 --set benchmark --out runs/spread --json

For each package of the set on its own (model/unseen/dev.txt or benchmark.txt, fetched as the
benchmark fetches them), positions are drawn from that package's files alone (`--positions` of
each kind, the benchmark's seeded draw) and completed and scored exactly as the benchmark does
through the server's defaults (model.measure.benchmark: draw_positions, run_positions, score):
line precision, the share of line positions answered, identifier exact, keystroke savings. Then
the pooled figures (every package's positions together, so each package weighs by its positions,
not by its size as in the benchmark's own draw) and the spread across packages: min, median, max
and the standard deviation (numpy's, ddof=1) of each figure over the packages where it is defined.
--out writes spread.json, spread.md and spread.png (each package a point, precision against answered).
"""
import argparse
import json
import os
import sys

import numpy as np

from model.data import packages
from model.measure.benchmark import SETS, draw_positions, package_files, run_positions, score

FIGURES = (("line_precision", "line precision"), ("answered", "answered"),
           ("ident_exact", "identifier exact"), ("keystroke_savings", "keystroke savings"))


def by_package(files):
    """{package: its files [(name, raw, root)]}, in the order of `files` (names start with the package)."""
    groups = {}
    for entry in files:
        groups.setdefault(entry[0].split(os.sep)[0].split("/")[0], []).append(entry)
    return groups


def figures(ident_results, idents, line_results, lines):
    """The benchmark's figures through the server's defaults (benchmark.score), and the positions."""
    s = score(ident_results, idents, line_results, lines)
    return {**{key: s[key] for key, _ in FIGURES}, "positions": {"ident": len(idents), "line": len(lines)}}


def spread(rows):
    """{figure: {"min", "median", "max", "std", "packages"}} over the package rows where it is defined."""
    out = {}
    for key, _ in FIGURES:
        values = np.array([r[key] for r in rows if r[key] is not None], dtype=float)
        out[key] = {"packages": len(values)} | ({
            "min": float(values.min()), "median": float(np.median(values)), "max": float(values.max()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0} if len(values) else
            {"min": None, "median": None, "max": None, "std": None})
    return out


def measure(completer, files, positions=100, seed=0, progress=None):
    """Per-package figures, the pooled figures and their spread, for one Completer on raw files
    [(package/path, text, root)]. progress: called once with the total number of positions, it
    returns the `progress` wrapper run_positions takes (one bar for the whole run), or None."""
    groups = by_package(files)
    drawn = {name: draw_positions(group, positions, seed) for name, group in groups.items()}
    total = sum(len(i) + len(l) for i, l in drawn.values())
    wrap = progress(total) if progress else (lambda items, **_: items)
    rows, pooled = [], ([], [], [], [])
    for name, group in groups.items():
        idents, lines = drawn[name]
        i = run_positions(completer, group, idents, wrap, f"{name} ident")
        l = run_positions(completer, group, lines, wrap, f"{name} line")
        rows.append({"package": name, "files": len(group), **figures(i, idents, l, lines)})
        for part, values in zip(pooled, (i, idents, l, lines)):
            part.extend(values)
    return {"packages": rows, "pooled": figures(*pooled), "spread": spread(rows)}


def one_bar(total):
    """A single tqdm bar on stderr across every call of run_positions."""
    from tqdm import tqdm

    bar = tqdm(total=total, file=sys.stderr, unit="pos", leave=False)

    def wrap(items, desc="", **_):
        bar.set_description(desc)
        for item in items:
            yield item
            bar.update(1)
    return wrap


def _cell(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def table(results, title=""):
    """Markdown: a row per package, then pooled, then min / median / max / std over the packages;
    each model's four figures side by side, and the positions (ident/line) once."""
    heads = [label for _, label in FIGURES]
    names = [r["name"] for r in results]
    cols = [f"{h} ({n})" if len(results) > 1 else h for n in names for h in heads]
    lines = ([title, ""] if title else []) + ["| package | positions (ident/line) | " + " | ".join(cols) + " |",
                                              "| --- | --- |" + " --- |" * len(cols)]

    def row(label, n, per_model):
        return f"| {label} | {n} | " + " | ".join(_cell(f.get(k)) for f in per_model for k, _ in FIGURES) + " |"

    first = results[0]
    for k, pkg in enumerate(first["packages"]):
        n = f"{pkg['positions']['ident']}/{pkg['positions']['line']}"
        lines.append(row(pkg["package"], n, [r["packages"][k] for r in results]))
    pooled = first["pooled"]["positions"]
    lines.append(row("**pooled**", f"{pooled['ident']}/{pooled['line']}", [r["pooled"] for r in results]))
    for stat in ("min", "median", "max", "std"):
        lines.append(row(stat, "", [{k: r["spread"][k][stat] for k, _ in FIGURES} for r in results]))
    return "\n".join(lines) + "\n"


def plot(results, path, title=""):
    """Each package a point (share of line positions answered, line precision), named; the pooled
    figures a star; with several models, each its own colour and a line joining a package's points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6), dpi=110)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k in (range(len(results[0]["packages"])) if len(results) > 1 else ()):
        pts = [(r["packages"][k]["answered"], r["packages"][k]["line_precision"]) for r in results]
        pts = [p for p in pts if p[1] is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color="0.8", lw=0.8, zorder=1)
    for m, r in enumerate(results):
        c = colours[m % len(colours)]
        pts = [(p["answered"], p["line_precision"], p["package"]) for p in r["packages"] if p["line_precision"] is not None]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], color=c, s=36, zorder=2, label=r["name"])
        for x, y, name in (pts if m == 0 else ()):
            ax.annotate(name, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8)
        pooled = r["pooled"]
        if pooled["line_precision"] is not None:
            ax.scatter([pooled["answered"]], [pooled["line_precision"]], marker="*", s=220, color=c,
                       edgecolor="black", zorder=3, label=f"{r['name']}: pooled")
    ax.set_xlabel("share of line positions answered")
    ax.set_ylabel("line precision (answers right)")
    ax.set_xlim(left=0)
    ax.set_ylim(top=1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title or "per package: precision against answered", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.measure.spread", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", required=True, help="model dir (repeat to show side by side)")
    p.add_argument("--set", default="dev", choices=sorted(SETS), help="dev (default) or benchmark")
    p.add_argument("--packages", default=None, help="a package list instead of the set's")
    p.add_argument("--positions", type=int, default=100, help="positions of each kind, per package")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=packages.DEFAULT_CACHE)
    p.add_argument("--out", default=None, help="write spread.json, spread.md and spread.png there")
    p.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    args = p.parse_args(argv)
    if args.positions < 1:
        p.error("--positions must be positive")
    from model.serving.completer import Completer
    from model.serving.modeldir import ModelDirError

    list_path = args.packages or SETS[args.set]
    try:
        pins = packages.read_package_list(list_path)
        files = package_files(list_path, args.cache)
        results = []
        for model_dir in args.model:
            completer = Completer.load(model_dir)
            r = measure(completer, files, args.positions, args.seed, one_bar)
            results.append({"name": os.path.basename(os.path.normpath(model_dir)), "model": model_dir, **r})
    except (packages.PackageError, ModelDirError, ValueError) as err:
        raise SystemExit(f"error: {err}")
    title = (f"{args.packages or args.set}: {len(pins)} packages, server defaults, {args.positions} positions "
             f"of each kind per package, seed {args.seed}")
    text = table(results, title)
    report = {"set": args.packages or args.set, "packages": [f"{pin.name}=={pin.version}" for pin in pins],
              "positions": args.positions, "seed": args.seed, "results": results}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "spread.json"), "w") as f:
            json.dump(report, f, indent=1)
        with open(os.path.join(args.out, "spread.md"), "w") as f:
            f.write(text)
        plot(results, os.path.join(args.out, "spread.png"), title)
    print(text, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
