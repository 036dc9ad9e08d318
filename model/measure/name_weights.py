"""Fit the names' ranking (model.serving.names.NAME_WEIGHTS) on the dev sets of several languages.

    python -m model.measure.name_weights --languages python,c,javascript,typescript,lua --json

At each identifier position of each language's dev set (the benchmark's draw: the cursor after
the first two characters of a name), the shipped Completer of that language ranks the names that
could finish the typed part, as the plug-ins ask (`choices: 3`). This records each candidate's
FEATURES and which name the file has, and fits a conditional logit (a softmax over each position's
candidates, the right name's log-probability maximised) pooled over the languages. Reported per
language: how often the right name ranks first and among the first three with the weights in use
and with weights fitted on the other languages only (held out), then the pooled fit's weights, to
copy into NAME_WEIGHTS. Positions whose right name is no candidate count as misses everywhere.
"""
import argparse
import json
import os
import sys

import numpy as np

from model.data import packages
from model.measure.benchmark import MAX_CHARS, TOP_CHOICES, unseen_list
from model.measure.evaluate import ident_part, progress_bar
from model.measure.positions import draw_positions, editor_request, package_files
from model.serving.completer import Completer, carried
from model.serving.modeldir import ModelDirError
from model.serving.names import FEATURES, NAME_WEIGHTS, name_features, name_probs
from model.text.clean import SOURCE_EXTENSIONS

L2 = 0.01  # on the standardised features: enough to keep a feature seen a few times finite


def collect(completer, files, idents, progress):
    """[(candidates' feature matrix, index of the right name or None)], one per position where
    the Completer ranked names."""
    out = []
    completer.names_seen = seen = []
    for f, pos, _, name in progress(idents, desc="names", unit="pos"):
        before = len(seen)
        text, suffix = carried(*editor_request(files[f][1], pos))
        completer.complete(text, suffix, max_chars=MAX_CHARS, stop="line", choices=TOP_CHOICES)
        if len(seen) == before:
            continue  # the decoder ended the name at the cursor: nothing was ranked
        scored, context = seen[-1]
        probs = name_probs(scored)
        names = list(probs)
        rows = [name_features(rest, prob, context) for rest, prob in probs.items()]
        right = next((i for i, rest in enumerate(names) if ident_part(rest) == name), None)
        out.append((np.array(rows), right))
    completer.names_seen = None
    return out


def fit(positions, l2=L2, steps=500, rate=0.5):
    """{feature: weight} maximising the right names' softmax log-probability (gradient ascent on
    standardised features)."""
    usable = [(x, right) for x, right in positions if right is not None and len(x) > 1]
    stacked = np.concatenate([x for x, _ in usable])
    mean, scale = stacked.mean(0), stacked.std(0) + 1e-9
    weights = np.zeros(len(FEATURES))
    for _ in range(steps):
        grad = np.zeros_like(weights)
        for x, right in usable:
            z = (x - mean) / scale
            s = z @ weights
            p = np.exp(s - s.max())
            grad += z[right] - (p / p.sum()) @ z
        weights += rate * (grad / len(usable) - l2 * weights)
    return dict(zip(FEATURES, (weights / scale).tolist()))


def ranks(positions, weights):
    """(share ranked first, share among the first TOP_CHOICES) of the positions."""
    w = np.array([weights[f] for f in FEATURES])
    first = top = 0
    for x, right in positions:
        if right is None:
            continue
        s = x @ w
        better = int((s > s[right]).sum())
        first += better == 0
        top += better < TOP_CHOICES
    n = max(len(positions), 1)
    return round(first / n, 3), round(top / n, 3)


def report(by_language):
    """Per language: first / top-3 with NAME_WEIGHTS and held out; the pooled fit."""
    out = {"languages": {}}
    for language, positions in by_language.items():
        others = [p for other, ps in by_language.items() if other != language for p in ps]
        # One language alone has no other to hold it out of its fit: no held-out figure then.
        out["languages"][language] = {"positions": len(positions), "in_use": ranks(positions, NAME_WEIGHTS),
                                      "held_out": ranks(positions, fit(others)) if others else None}
    out["fitted"] = {f: round(w, 4) for f, w in fit([p for ps in by_language.values() for p in ps]).items()}
    out["in_use"] = dict(NAME_WEIGHTS)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--languages", default="python,c,javascript,typescript,lua")
    p.add_argument("--set", default="dev", help="the package set (fit on dev only)")
    p.add_argument("--positions", type=int, default=300, help="identifier positions drawn per language")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=packages.DEFAULT_CACHE)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    progress = progress_bar(not args.json)
    languages = args.languages.split(",")
    unknown = [language for language in languages if language not in SOURCE_EXTENSIONS]
    if unknown:
        sys.exit(f"error: no such language: {', '.join(unknown)} (known: {', '.join(sorted(SOURCE_EXTENSIONS))})")
    by_language = {}
    try:
        for language in languages:
            completer = Completer.load(os.path.join("model", "pretrained", language))
            files = package_files(unseen_list(args.set, language), args.cache, SOURCE_EXTENSIONS[language])
            if not files:
                sys.exit(f"error: no files for {language}'s {args.set} set in {args.cache}: fetch them first")
            idents, _ = draw_positions(files, args.positions, args.seed)
            by_language[language] = collect(completer, files, idents, progress)
    except (packages.PackageError, ModelDirError) as err:
        sys.exit(f"error: {err}")
    out = report(by_language)
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{'language':12} {'positions':>9} {'first / top-3 in use':>22} {'held out':>14}")
    for language, row in out["languages"].items():
        held_out = f"{row['held_out'][0]:6.3f} / {row['held_out'][1]:.3f}" if row["held_out"] else "  (none)"
        print(f"{language:12} {row['positions']:9} {row['in_use'][0]:11.3f} / {row['in_use'][1]:.3f} {held_out}")
    print("fitted on all:", json.dumps(out["fitted"]))


if __name__ == "__main__":
    main()
