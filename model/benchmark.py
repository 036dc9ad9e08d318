"""The unseen-code benchmark: what a Tab is worth on real code the model never saw.

    python -m model.benchmark --model model/pretrained/python --json
    python -m model.benchmark --model runs/a --model runs/b --out runs/benchmark   # side by side
    python -m model.benchmark --model DIR --set dev --fit-policy                    # fit the policy

The files are the pinned packages of model/unseen/benchmark.txt (or dev.txt), fetched with pip
into the package cache; no corpus may include them (model.corpus refuses them by name).
Positions are drawn with a fixed seed, in code (never in comments or strings):
  ident   the cursor after the first 2 characters of a name of 5 or more; right when the
          completion, cut at the end of the name, is the rest of the name
  line    the cursor at a token start inside a code line; the completion (stop=line) is
          scored against the rest of the line (less a trailing comment)
Each request carries what a plug-in sends while the user writes that line: the last 4000
characters before the cursor and, as `suffix`, the file after the current line; the
Completer runs it as the server does (model.sample.request_args, the server's defaults).
Baselines on the same positions: the editor's word completion (the file's words before and
after the cursor), Jedi (top 1, with the package as its project), and xz for bits/char.
"""
import argparse
import json
import math
import os
import sys
import time
import tokenize

import numpy as np

from model import packages
from model.corpus import read_source
from model.evaluate import (LN2, WORD, _progress, gate, ident_part, load_cleaned, next_char_metrics, score_lines,
                            xz_bpc)
from model.policy import Policy, gate_cut, tidy
from model.sample import Completer, ModelDirError, request_args

SETS = {"benchmark": os.path.join(packages.UNSEEN_DIR, "benchmark.txt"),
        "dev": os.path.join(packages.UNSEEN_DIR, "dev.txt")}
OLD_GATE = 0.75  # the server's per-character gate before the policy: the baseline to beat
PRECISION_TARGET = 0.75
GATES = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
LINE_FLOORS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9)
IDENT_FLOORS = (0.0, 0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


# -- The files and the positions ------------------------------------------------------------

def package_files(list_path, cache=packages.DEFAULT_CACHE):
    """(package/relative path, raw text, package root) of every Python file of the listed packages."""
    files = []
    for pin in packages.read_package_list(list_path):
        root = packages.unpack(packages.fetch(pin, cache), cache)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.endswith((".dist-info", ".data", "__pycache__")))
            for name in sorted(filenames):
                if name.endswith(".py"):
                    path = os.path.join(dirpath, name)
                    text, skip = read_source(path, ".py", 2_000_000)
                    if not skip and text.strip():
                        files.append((os.path.join(pin.key, os.path.relpath(path, root)), text, root))
    return files


def code_positions(raw):
    """Candidate positions in one raw file: identifiers [(offset, truth)] and line positions
    [(offset, truth)], from Python's tokenizer, so none is inside a string or a comment."""
    line_starts = [0]
    for line in raw.split("\n"):
        line_starts.append(line_starts[-1] + len(line) + 1)
    idents, lines, comment_at = [], [], {}
    tokens = []
    try:
        for tok in tokenize.generate_tokens(iter(raw.splitlines(keepends=True)).__next__):
            if tok.type == tokenize.COMMENT:
                comment_at[tok.start[0]] = tok.start[1]
            elif tok.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
                tokens.append(tok)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [], []
    for tok in tokens:
        row, col = tok.start
        start = line_starts[row - 1] + col
        line = raw[line_starts[row - 1]:line_starts[row] - 1]
        if tok.type == tokenize.NAME and len(tok.string) >= 5:
            idents.append((start + 2, tok.string[2:]))
        if line[:col].strip():  # a token inside the line, not its first
            rest = line[col:comment_at.get(row, len(line))].rstrip()
            if rest and (row not in comment_at or comment_at[row] > col):
                lines.append((start, rest))
    return idents, lines


def draw_positions(files, n, seed):
    """Seeded positions of each kind, sorted by file and offset: (file index, offset, truth)."""
    idents, lines = [], []
    for f, (_, raw, _) in enumerate(files):
        i, l = code_positions(raw)
        idents += [(f, pos, truth) for pos, truth in i]
        lines += [(f, pos, truth) for pos, truth in l]
    rng = np.random.default_rng(seed)

    def pick(items):
        return [items[i] for i in sorted(rng.choice(len(items), min(n, len(items)), replace=False))] if items else []
    return pick(idents), pick(lines)


def editor_request(raw, pos, chars=4000):
    """What a plug-in sends while the user writes the cursor's line: the last `chars` characters
    before the cursor, and the file after the current line as the suffix."""
    line_end = raw.find("\n", pos)
    after = raw[line_end:] if line_end >= 0 else ""
    return raw[max(0, pos - chars):pos], after[:chars]


# -- Baselines -----------------------------------------------------------------------------

def buffer_word(before, after, prefix):
    """The editor's word completion: the most frequent word of the file (before the cursor, less
    the word being typed, and after the current line) that starts with prefix; nearest on ties."""
    counts, nearest = {}, {}
    typed_from = len(before) - len(prefix)
    for text, offset in ((before[:typed_from], -len(before)), (after, 0)):
        for m in WORD.finditer(text):
            w = m.group()
            if w.startswith(prefix) and len(w) > len(prefix):
                counts[w] = counts.get(w, 0) + 1
                distance = abs(m.start() + offset) if offset == 0 else typed_from - m.start()
                nearest[w] = min(nearest.get(w, math.inf), distance)
    if not counts:
        return ""
    best = max(counts, key=lambda w: (counts[w], -nearest[w]))
    return best[len(prefix):]


def jedi_completion(raw, pos, suffix, path, root):
    """Jedi's first completion at the cursor, with the package as its project."""
    import jedi

    before = raw[:pos]
    row = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1)
    try:
        script = jedi.Script(code=before + raw[pos:raw.find("\n", pos) if raw.find("\n", pos) >= 0 else len(raw)]
                             [:0] + suffix, path=path, project=jedi.Project(root))
        found = script.complete(row, col)
    except Exception:  # noqa: BLE001 - Jedi's own failures count as no answer, as in an editor
        return ""
    return found[0].complete if found else ""


# -- Measuring -----------------------------------------------------------------------------

def run_positions(completer, files, positions, max_chars, progress, desc, **options):
    """Complete each position as the server would; returns [(completion, probs, ms)]."""
    out = []
    for f, pos, truth in progress(positions, desc=desc, unit="pos"):
        text, suffix = editor_request(files[f][1], pos)
        started = time.perf_counter()
        r = completer.complete(**request_args(text, suffix, max_chars=max_chars, stop="line", **options))
        out.append((r.text, list(r.probs), (time.perf_counter() - started) * 1000))
    return out


def score(ident_results, idents, line_results, lines):
    ident = [ident_part(c) == truth for (c, _, _), (_, _, truth) in zip(ident_results, idents)]
    return {"ident_exact": float(np.mean(ident)) if ident else None,
            **score_lines([(c, truth) for (c, _, _), (_, _, truth) in zip(line_results, lines)])}


def sweeps(ident_raw, idents, line_raw, lines, in_word):
    """Precision/savings of the per-character gate and of the policy at each threshold, derived
    from the ungated completions (each rule only ever cuts the greedy proposal)."""
    def apply(results, cut):
        return [(tidy(c[:cut(c, p, w)]), p, ms) for (c, p, ms), w in results]

    ident_w = [(r, True) for r in ident_raw]
    line_w = [(r, w) for r, w in zip(line_raw, in_word)]
    gate_rows = []
    for g in GATES:
        cut = lambda c, p, w: gate_cut(p, g)  # noqa: E731
        gate_rows.append({"min_prob": g, **score(apply(ident_w, cut), idents, apply(line_w, cut), lines)})
    policy_rows = []
    for ident_floor in IDENT_FLOORS:
        for line_floor in LINE_FLOORS:
            policy = Policy(ident_floor, line_floor)
            policy_rows.append({"ident_floor": ident_floor, "line_floor": line_floor,
                                **score(apply(ident_w, policy.cut), idents, apply(line_w, policy.cut), lines)})
    return gate_rows, policy_rows


def measure(completer, files, positions=300, seed=0, progress=_progress(False), baselines=True):
    """Every figure of the benchmark for one Completer on raw files [(name, text, root)]."""
    idents, lines = draw_positions(files, positions, seed)
    docs = load_cleaned(completer.meta, [(name, raw) for name, raw, _ in files])
    result = {"files": len(files), "chars": sum(len(d) for d in docs),
              "positions": {"ident": len(idents), "line": len(lines)}}
    nc = next_char_metrics(completer, docs, progress)
    result["network"] = {k: nc[k] for k in ("bpc", "accuracy", "top5_accuracy")}
    result["completer"] = {k: nc["completer"][k] for k in ("bpc", "accuracy", "top5_accuracy")}

    def kind_sizes(max_chars_ident):
        return max_chars_ident

    runs = {}
    for name, options in (("server_defaults", {}), ("old_gate", {"min_prob": OLD_GATE}), ("ungated", {"min_prob": 0.0})):
        i = run_positions(completer, files, idents, None, progress, f"{name} ident", **options)
        l = run_positions(completer, files, lines, 80, progress, f"{name} line", **options)
        runs[name] = (i, l)
        ms = [r[2] for r in i + l]
        result[name] = {**score(i, idents, l, lines), "p50_ms": float(np.percentile(ms, 50)),
                        "p95_ms": float(np.percentile(ms, 95))}
    result["old_gate"]["min_prob"] = OLD_GATE
    in_word = [bool(WORD.search(files[f][1][max(0, pos - 1):pos])) for f, pos, _ in lines]
    result["gate_sweep"], result["policy_sweep"] = sweeps(runs["ungated"][0], idents, runs["ungated"][1], lines, in_word)
    if baselines:
        words_i = [buffer_word(*editor_request(files[f][1], pos), files[f][1][pos - 2:pos]) for f, pos, _ in idents]
        words_l = [buffer_word(*editor_request(files[f][1], pos), "") for f, pos, _ in lines]
        jedi_i = [jedi_completion(files[f][1], pos, editor_request(files[f][1], pos)[1], files[f][0], files[f][2])
                  for f, pos, _ in progress(idents, desc="jedi", unit="pos")]
        result["baselines"] = {
            "xz_bpc": xz_bpc(docs),
            "buffer_words": score([(w, [], 0) for w in words_i], idents, [(w, [], 0) for w in words_l], lines),
            "jedi": {"ident_exact": float(np.mean([ident_part(j) == t for j, (_, _, t) in zip(jedi_i, idents)]))}}
    return result


def fit_policy(policy_rows, target=PRECISION_TARGET):
    """The floors that save the most keystrokes with line precision >= target (ties: more
    identifiers right, then the lower floors)."""
    ok = [r for r in policy_rows if r["line_precision"] is not None and r["line_precision"] >= target]
    if not ok:
        raise ValueError(f"no policy in the sweep reaches line precision {target}")
    best = max(ok, key=lambda r: (round(r["keystroke_savings"], 4), r["ident_exact"] or 0, -r["line_floor"], -r["ident_floor"]))
    return Policy(best["ident_floor"], best["line_floor"]), best
