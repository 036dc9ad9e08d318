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

It fits the name floor's calibrated confidence too (NAME_CONFIDENCE: a logistic over the
CONFIDENCE_FEATURES of the name the completion takes, whether it is the file's), and reports for
each language, held out as above, how many positions a floor types the right name at when it
types a wrong one at WRONG_SHARE of them: reading the ranking's probability, and the confidence.
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
from model.serving.names import (CONFIDENCE_FEATURES, FEATURES, NAME_CONFIDENCE, NAME_WEIGHTS, confidence_features,
                                 name_confidence, name_features, name_probs, rank_names)
from model.text.clean import SOURCE_EXTENSIONS

L2 = 0.01  # on the standardised features: enough to keep a feature seen a few times finite
WRONG_SHARE = 0.10  # of the positions: the wrong names typed at which floors are compared


def collect(completer, files, idents, progress):
    """[(candidates' feature matrix, index of the right name or None, (the taken name's
    CONFIDENCE_FEATURES, whether it is right) or None where the name ended at the cursor)], one per
    position where the Completer ranked names."""
    out = []
    completer.names_seen = seen = []
    for f, pos, _, name in progress(idents, desc="names", unit="pos"):
        before = len(seen)
        text, suffix = carried(*editor_request(files[f][1], pos))
        completer.complete(text, suffix, max_chars=MAX_CHARS, stop="line", choices=TOP_CHOICES)
        if len(seen) == before:
            continue  # the decoder ended the name at the cursor: nothing was ranked
        scored, context, taken = seen[-1]
        probs = name_probs(scored)
        names = list(probs)
        rows = [name_features(rest, prob, context) for rest, prob in probs.items()]
        right = next((i for i, rest in enumerate(names) if ident_part(rest) == name), None)
        ranked = rank_names(scored, context, completer.name_weights)
        confidence = None
        if taken in probs:
            confidence = (confidence_features(taken, probs, ranked, context), ident_part(taken) == name)
        out.append((np.array(rows), right, confidence))
    completer.names_seen = None
    return out


def fit(positions, l2=L2, steps=500, rate=0.5):
    """{feature: weight} maximising the right names' softmax log-probability (gradient ascent on
    standardised features)."""
    usable = [(x, right) for x, right, _ in positions if right is not None and len(x) > 1]
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
    for x, right, _ in positions:
        if right is None:
            continue
        s = x @ w
        better = int((s > s[right]).sum())
        first += better == 0
        top += better < TOP_CHOICES
    n = max(len(positions), 1)
    return round(first / n, 3), round(top / n, 3)


def fit_confidence(positions, l2=L2, steps=2000, rate=0.5):
    """NAME_CONFIDENCE's {feature: weight, "bias": b}: a logistic regression of whether the taken
    name is right on its CONFIDENCE_FEATURES (gradient ascent on standardised features); None
    where the positions have no taken name both right and wrong."""
    rows = [c for _, _, c in positions if c is not None]
    if len({right for _, right in rows}) < 2:
        return None  # no name taken, or all right or all wrong: nothing tells them apart
    x = np.array([features for features, _ in rows])
    y = np.array([right for _, right in rows], dtype=float)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    weights, bias = np.zeros(len(CONFIDENCE_FEATURES)), 0.0
    for _ in range(steps):
        error = y - 1 / (1 + np.exp(-(z @ weights + bias)))
        weights += rate * (z.T @ error / len(y) - l2 * weights)
        bias += rate * error.mean()
    weights = weights / scale
    return {"bias": float(bias - weights @ mean), **dict(zip(CONFIDENCE_FEATURES, weights.tolist()))}


def right_at_wrong(positions, confidence, wrong_share=WRONG_SHARE):
    """The share of positions a floor on confidence(features) types the right name at, the
    lowest floor that types a wrong one at no more than wrong_share of them."""
    rows = sorted((-confidence(features), right) for features, right in (c for _, _, c in positions if c))
    right = wrong = best = 0
    for _, is_right in rows:
        right, wrong = right + is_right, wrong + (not is_right)
        if wrong <= wrong_share * len(positions):
            best = right
    return round(best / max(len(positions), 1), 3)


def ranking_prob(features):
    """The ranking's own probability of the name (what the floor reads unless "calibrated"): its
    share of the ranking times the model's probability of all the candidates."""
    share, total = (features[CONFIDENCE_FEATURES.index(f)] for f in ("log_share", "log_total"))
    return float(np.exp(share + total))


def report(by_language):
    """Per language: first / top-3 with NAME_WEIGHTS and held out; the pooled fit."""
    out = {"languages": {}}
    for language, positions in by_language.items():
        others = [p for other, ps in by_language.items() if other != language for p in ps]
        # One language alone has no other to hold it out of its fit: no held-out figure then.
        held_out = fit_confidence(others) if others else None
        out["languages"][language] = {
            "positions": len(positions), "in_use": ranks(positions, NAME_WEIGHTS),
            "held_out": ranks(positions, fit(others)) if others else None,
            "right_at_wrong": {"ranking": right_at_wrong(positions, ranking_prob),
                               "confidence_in_use": right_at_wrong(positions, name_confidence),
                               "confidence_held_out": right_at_wrong(
                                   positions, lambda x: name_confidence(x, held_out)) if held_out else None}}
    everything = [p for ps in by_language.values() for p in ps]
    out["fitted"] = {f: round(w, 4) for f, w in fit(everything).items()}
    out["in_use"] = dict(NAME_WEIGHTS)
    confidence = fit_confidence(everything)
    out["confidence_fitted"] = {f: round(w, 4) for f, w in confidence.items()} if confidence else None
    out["confidence_in_use"] = dict(NAME_CONFIDENCE)
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
    print(f"{'language':12} {'positions':>9} {'first / top-3 in use':>22} {'held out':>14}   "
          f"right at {WRONG_SHARE:.0%} wrong: ranking / confidence in use / held out")
    for language, row in out["languages"].items():
        held_out = f"{row['held_out'][0]:6.3f} / {row['held_out'][1]:.3f}" if row["held_out"] else "  (none)"
        at = row["right_at_wrong"]
        confidence_held_out = "(none)" if at["confidence_held_out"] is None else f"{at['confidence_held_out']:.3f}"
        print(f"{language:12} {row['positions']:9} {row['in_use'][0]:11.3f} / {row['in_use'][1]:.3f} {held_out}   "
              f"{at['ranking']:.3f} / {at['confidence_in_use']:.3f} / {confidence_held_out}")
    print("fitted on all:", json.dumps(out["fitted"]))
    print("confidence fitted on all:", json.dumps(out["confidence_fitted"]))


if __name__ == "__main__":
    main()
