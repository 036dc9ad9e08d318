"""Measure a model: next-character quality and completion quality, beside simple baselines.

    python -m model.measure.evaluate --model model/pretrained/python --corpus data/stdlib --split test --json
    python -m model.measure.evaluate --model model/pretrained/python 'src/**/*.py' --positions 200 --json
    python -m model.measure.evaluate --model runs/py --corpus data/stdlib --positions 0   # bits/char, accuracy only

Raw files are cleaned with the model's own cleaning, exactly as serving does. Completion
positions are drawn with a seed, in code (never inside strings; comments are cleaned away):
  ident_exact       cursor after the first 2 chars of an identifier >= 5 long; the completion,
                    cut at the end of the identifier, equals the rest of it
  line_exact        cursor at the start of a token inside a code line; the completion (stop=line)
                    equals the rest of the line
  keystroke_savings chars of completions that are exactly a prefix of the truth / chars of all rests
  line_precision    of the non-empty line completions, the share that are a prefix of the truth
The user is taken to be writing at the end of the buffer: no suffix is sent, and the buffer
before the cursor is cut as a request carries it (model.serving.completer.carried).
Baselines on the same text and positions: xz -9e per file (bits/char), and the editor's
buffer-word completion (most frequent word before the cursor with the typed prefix, nearest
on ties).
"""
import argparse
import glob
import io
import json
import lzma
import math
import os
import re
import sys
import time
import tokenize

import numpy as np

from model.data import corpus as corpus_dir
from model.data.corpus import CorpusError, read_source
from model.serving import modeldir
from model.serving.completer import Completer, carried, request_chars
from model.serving.hints import WORD, fit_match_weights, mix_match
from model.serving.lstm import Stepper
from model.serving.modeldir import ModelDirError
from model.text.clean import clean

DEFAULT_GATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)

LN2 = math.log(2)  # the loss is in nats; bits = nats / LN2


class EvaluationError(Exception):
    """Nothing to measure; the message says why."""


def load_documents(model_meta, corpus=None, split="test", paths=()):
    """The texts to measure on, as the model sees them: one cleaned document per file."""
    if corpus:
        return corpus_dir.documents(corpus, split)
    docs = []
    for pattern in paths:
        matches = sorted(glob.glob(pattern, recursive=True)) if any(c in pattern for c in "*?[") else [pattern]
        if not matches:
            raise EvaluationError(f"no file matches {pattern}")
        for p in matches:
            if not os.path.isfile(p):
                continue
            ext = os.path.splitext(p)[1]
            text, skip = read_source(p, ext, 5_000_000)
            if skip:
                print(f"skipping {p}: {skip}", file=sys.stderr)
                continue
            try:
                cleaned = clean(text, ext, model_meta.get("cleaning")).text
            except ValueError as err:
                print(f"skipping {p}: {err}", file=sys.stderr)
                continue
            if cleaned.strip():
                docs.append(cleaned)
    if not docs:
        raise EvaluationError("nothing to evaluate")
    return docs


def progress_bar(show):
    """A tqdm wrapper on stderr (or a quiet one), for the long loops below."""
    from tqdm import tqdm

    return lambda items, **kw: tqdm(items, file=sys.stderr, disable=not show, leave=False, **kw)


def _scores(logp, targets):
    target_logp = logp[np.arange(len(targets)), targets]
    return (-float(target_logp.sum()), int((logp.argmax(axis=1) == targets).sum()),
            int(((logp > target_logp[:, None]).sum(axis=1) < 5).sum()))  # fewer than 5 more likely


def next_char_metrics(completer, docs, progress):
    """Loss, accuracy and top-5 accuracy of the next character, each file read from its start:
    the network alone, and (when the model dir has match weights) mixed with the match model
    over the text before each character, as the Completer predicts."""
    totals = {"network": np.zeros(3), "completer": np.zeros(3)}
    count = 0
    for doc in progress(docs, desc="next-char", unit="file"):
        targets, logp, preds, lengths = completer.predictions(doc)
        totals["network"] += _scores(logp, targets)
        if completer.match_weights is not None:
            mixed = mix_match(np.exp(logp), preds, lengths, completer.match_weights)
            logp = np.log(np.maximum(mixed, 1e-30))
        totals["completer"] += _scores(logp, targets)
        count += len(targets)

    def metrics(nll, correct, top5):
        return {"nats_per_char": nll / count, "bpc": nll / count / LN2, "accuracy": correct / count,
                "top5_accuracy": top5 / count}

    result = {"chars": count, **metrics(*totals["network"])}
    result["completer"] = {"match_model": completer.match_weights is not None, **metrics(*totals["completer"])}
    return result


def context_curve(completer, docs, lengths, count, seed, progress, span=256):
    """Bits/char of the `span` characters after a position given only the `length` characters
    before it (from a zero state), for each length: how much context the model really uses,
    which is what the Completer's context cap is chosen from."""
    stepper, vocab = completer.stepper, completer.vocab
    longest = max(lengths)
    long_docs = [vocab.encode(d) for d in docs if len(d) > longest + span]
    if not long_docs:
        return {"positions": 0, "span": span, "bpc": {}}
    rng = np.random.default_rng(seed)
    nll = {n: 0.0 for n in lengths}
    for _ in progress(range(count), desc="context", unit="pos"):
        ids = long_docs[rng.integers(len(long_docs))]
        pos = int(rng.integers(longest, len(ids) - span))
        for n in lengths:
            state = stepper.run(ids[pos - n:pos], stepper.zero_state())
            _, outputs = stepper.run(ids[pos:pos + span - 1], state, outputs=True)
            logp = stepper.log_probs(np.vstack([state[-1][0], outputs]))
            nll[n] -= float(logp[np.arange(span), ids[pos:pos + span]].sum())
    return {"positions": count, "span": span, "bpc": {str(n): nll[n] / (count * span) / LN2 for n in lengths}}


def xz_bpc(docs):
    bits = sum(8 * len(lzma.compress(d.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME)) for d in docs)
    return bits / sum(len(d) for d in docs)


def code_tokens(doc):
    """(start offset, type, string) of each token outside strings, in a cleaned Python document."""
    line_starts = [0]
    for line in doc.split("\n"):
        line_starts.append(line_starts[-1] + len(line) + 1)
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(doc).readline):
            if tok.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
                out.append((line_starts[tok.start[0] - 1] + tok.start[1], tok.type, tok.string))
    except (tokenize.TokenError, SyntaxError):
        pass  # keep the tokens read before the error
    return out


def draw_positions(docs, n, seed):
    """Seeded positions of each kind: (doc index, cursor offset, truth)."""
    rng = np.random.default_rng(seed)
    idents, lines = [], []
    for d, doc in enumerate(docs):
        for start, kind, string in code_tokens(doc):
            line_end = doc.find("\n", start)
            line_end = len(doc) if line_end < 0 else line_end
            line_start = doc.rfind("\n", 0, start) + 1
            if kind == tokenize.NAME and len(string) >= 5:
                idents.append((d, start + 2, string[2:]))
            if doc[line_start:start].strip():  # a token inside the line, not its first
                rest = doc[start:line_end].rstrip()
                if rest:
                    lines.append((d, start, rest))
    pick = lambda items: [items[i] for i in sorted(rng.choice(len(items), min(n, len(items)), replace=False))] \
        if items else []
    return pick(idents), pick(lines)


def buffer_words(before, after="", prefix="", k=1):
    """The editor's word completion: the k most frequent words of the file (before the cursor,
    less the word being typed, and after the cursor) that start with prefix, nearest first on
    ties; each less the prefix."""
    counts, nearest = {}, {}
    typed_from = len(before) - len(prefix)
    for text, offset in ((before[:typed_from], -len(before)), (after, 0)):
        for m in WORD.finditer(text):
            w = m.group()
            if w.startswith(prefix) and len(w) > len(prefix):
                counts[w] = counts.get(w, 0) + 1
                distance = abs(m.start() + offset) if offset == 0 else typed_from - m.start()
                nearest[w] = min(nearest.get(w, math.inf), distance)
    ranked = sorted(counts, key=lambda w: (-counts[w], nearest[w]))[:k]
    return [w[len(prefix):] for w in ranked]


def buffer_word(before, after="", prefix=""):
    """The word list's first word (what it inserts), or ""."""
    words = buffer_words(before, after, prefix)
    return words[0] if words else ""


def ident_part(text):
    m = re.match(r"[A-Za-z0-9_]*", text)
    return m.group()


def score_lines(pairs):
    """pairs: (completion, truth) -> line_exact, keystroke_savings, line_precision."""
    total = sum(len(t) for _, t in pairs)
    nonempty = [(c, t) for c, t in pairs if c]
    good = [(c, t) for c, t in nonempty if t.startswith(c)]
    return {"line_exact": sum(c == t for c, t in pairs) / max(len(pairs), 1),
            "keystroke_savings": sum(len(c) for c, _ in good) / max(total, 1),
            "line_precision": len(good) / len(nonempty) if nonempty else None,
            "answered": len(nonempty) / max(len(pairs), 1)}


def gate(completion, probs, min_prob):
    """The greedy completion under a confidence gate is the ungated one cut at the first unsure char."""
    for i, p in enumerate(probs):
        if p < min_prob:
            return completion[:i].rstrip(" ") if completion[:i].strip() else ""
    return completion


def completion_metrics(completer, docs, idents, lines, min_prob, gates, progress):
    def complete(d, pos, max_chars):
        # Positions are sorted by file and offset, so the state cache makes this incremental.
        # The text is what a request carries, as the server keeps it.
        text, _ = carried(docs[d][:pos], limit=request_chars(completer.context_chars))
        r = completer.complete(text, max_chars=max_chars, stop="line")
        return r.text, r.probs

    ident_results, line_results = [], []
    for d, pos, truth in progress(idents, desc="identifiers", unit="pos"):
        text, probs = complete(d, pos, max(len(truth) + 8, 24))
        ident_results.append((text, probs, truth, buffer_word(docs[d][:pos], prefix=docs[d][pos - 2:pos])))
    for d, pos, truth in progress(lines, desc="lines", unit="pos"):
        text, probs = complete(d, pos, 80)
        line_results.append((text, probs, truth, buffer_word(docs[d][:pos])))

    def at_gate(g):
        ident = [ident_part(gate(t, p, g)) == truth for t, p, truth, _ in ident_results]
        scores = score_lines([(gate(t, p, g), truth) for t, p, truth, _ in line_results])
        return {"min_prob": g, "ident_exact": float(np.mean(ident)) if ident else None, **scores}

    chosen = at_gate(min_prob)
    baseline = {"ident_exact": float(np.mean([w == truth for _, _, truth, w in ident_results])) if idents else None,
                **{k: v for k, v in score_lines([(w, truth) for _, _, truth, w in line_results]).items()
                   if k in ("line_exact", "keystroke_savings", "line_precision")}}
    return chosen, baseline, [at_gate(g) for g in gates]


def evaluate(model_dir, corpus=None, split="test", paths=(), positions=300, min_prob=0.0, seed=0,
             gates=DEFAULT_GATES, max_chars_total=None, context_lengths=(), word_weight=None, show_progress=True):
    progress = progress_bar(show_progress)
    started = time.time()
    completer = Completer.load(model_dir) if word_weight is None else Completer.load(model_dir, word_weight=word_weight)
    docs = load_documents(completer.meta, corpus, split, paths)
    if max_chars_total:  # a quick look at a big split: the first files up to this many chars
        kept, total = [], 0
        for doc in docs:
            if total >= max_chars_total:
                break
            kept.append(doc)
            total += len(doc)
        docs = kept
    result = {"model": model_dir, "source": f"{corpus}:{split}" if corpus else list(paths), "files": len(docs)}
    result.update(next_char_metrics(completer, docs, progress))
    result["baselines"] = {"xz_bpc": xz_bpc(docs)}
    if positions:  # 0: the network's figures alone (a quick screen of a checkpoint)
        idents, lines = draw_positions(docs, positions, seed)
        chosen, baseline, sweep = completion_metrics(completer, docs, idents, lines, min_prob, gates, progress)
        result["baselines"]["buffer_words"] = baseline
        result.update({"positions": {"ident": len(idents), "line": len(lines)}, "min_prob": min_prob,
                       "word_weight": completer.word_weight,
                       "ident_exact": chosen["ident_exact"], "line_exact": chosen["line_exact"],
                       "keystroke_savings": chosen["keystroke_savings"], "line_precision": chosen["line_precision"],
                       "answered": chosen["answered"], "gate_sweep": sweep})
        if context_lengths:
            result["context_curve"] = context_curve(completer, docs, sorted(context_lengths), positions, seed,
                                                    progress)
    result["seconds"] = round(time.time() - started, 1)
    return result


def fit_match(model_dir, documents, show_progress=True, fitted_on="files", pending=False):
    """Fit the match model's weights on documents (the val split: never the test split you
    report) and store them in the model dir's meta.json (its pending meta, for a work dir),
    where the Completer finds them."""
    from tqdm import tqdm

    # The network alone: the weights in meta.json (if any, even unusable ones) are replaced.
    meta, vocab, weights = modeldir.load(model_dir, pending=pending)
    completer = Completer(Stepper(*weights), vocab, meta, word_weight=0.0, use_match=False)
    docs = tqdm(documents, desc="fit match", unit="file", file=sys.stderr, disable=not show_progress, leave=False)
    match = fit_match_weights(completer.predictions(doc) for doc in docs)
    match["fitted_on"] = fitted_on
    meta["match"] = match
    modeldir.write_meta(model_dir, meta, pending=pending)
    return match


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.measure.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="*", metavar="FILE_OR_GLOB")
    p.add_argument("--model", required=True)
    p.add_argument("--corpus", help="a corpus dir (its split is already cleaned)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--positions", type=int, default=300,
                   help="completion positions of each kind (0: bits/char and accuracy only)")
    p.add_argument("--min-prob", type=float, default=0.0, help="confidence gate for the completion metrics")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-chars", type=int, default=None, help="measure only the first files up to this many chars")
    p.add_argument("--word-weight", type=float, default=None,
                   help="weight of the buffer's words inside an identifier (default: the Completer's; 0: model only)")
    p.add_argument("--context-curve", default="", metavar="N,N,...",
                   help="also measure bits/char given only N chars of context, e.g. 250,500,1000,2000,4000,8000")
    p.add_argument("--fit-match", action="store_true",
                   help="instead of measuring, fit the match model's weights on this split (use val) "
                        "and store them in the model dir's meta.json")
    p.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    args = p.parse_args(argv)
    if args.word_weight is not None and not 0 <= args.word_weight <= 1:
        p.error("--word-weight must be between 0 and 1")
    try:
        lengths = [int(n) for n in args.context_curve.split(",") if n.strip()]
    except ValueError:
        p.error("--context-curve takes comma-separated character counts")
    if any(n < 1 for n in lengths):
        p.error("--context-curve lengths must be positive")
    if args.positions < 0:
        p.error("--positions must be 0 or more")
    if lengths and args.positions == 0:
        p.error("--context-curve draws its positions too: give --positions more than 0")
    if bool(args.corpus) == bool(args.files):
        p.error("give either --corpus DIR or files, not both")
    if args.fit_match and args.corpus and args.split == "test":
        p.error("--fit-match on the test split would tune on what you report: use --split val")
    try:
        if args.fit_match:
            docs = load_documents(modeldir.load(args.model)[0], args.corpus, args.split, args.files)
            fitted_on = f"{os.path.abspath(args.corpus)}:{args.split}" if args.corpus else "files"
            print(json.dumps(fit_match(args.model, docs, fitted_on=fitted_on)))
            return
        result = evaluate(args.model, args.corpus, args.split, args.files, args.positions, args.min_prob,
                          args.seed, max_chars_total=args.max_chars, context_lengths=lengths,
                          word_weight=args.word_weight)
    except (ModelDirError, CorpusError, EvaluationError) as err:
        raise SystemExit(f"error: {err}")
    if args.json:
        print(json.dumps(result))
    else:
        b = result["baselines"]
        print(f"{result['chars']:,} chars in {result['files']} files")
        print(f"bits/char {result['bpc']:.3f} (xz -9e: {b['xz_bpc']:.3f}), accuracy {result['accuracy']:.3f}, "
              f"top-5 {result['top5_accuracy']:.3f} (the network alone)")
        c = result["completer"]
        print(f"bits/char {c['bpc']:.3f}, accuracy {c['accuracy']:.3f}, top-5 {c['top5_accuracy']:.3f} "
              f"(the Completer: {'network + match model' if c['match_model'] else 'network only, no match weights'})")
        if "ident_exact" not in result:
            return
        print(f"ident_exact {result['ident_exact']:.3f} (buffer words: {b['buffer_words']['ident_exact']:.3f})")
        print(f"line_exact {result['line_exact']:.3f}, keystroke savings {result['keystroke_savings']:.3f}, "
              f"line precision {result['line_precision']} at min_prob {result['min_prob']}")
        print("min_prob  ident_exact  line_exact  savings  precision  answered")
        for row in result["gate_sweep"]:
            print(f"{row['min_prob']:8.2f}  {row['ident_exact'] or 0:11.3f}  {row['line_exact']:10.3f}  "
                  f"{row['keystroke_savings']:7.3f}  {row['line_precision'] or 0:9.3f}  {row['answered']:8.3f}")
        if "context_curve" in result:
            curve = result["context_curve"]
            print(f"context chars -> bits/char of the next {curve['span']} chars ({curve['positions']} positions)")
            for n, bpc in curve["bpc"].items():
                print(f"{n:>13}  {bpc:.4f}")


if __name__ == "__main__":
    main()
