"""Time completions: the Completer (cold and warm) beside the seed's way, same model, same run.

    python -m model.measure.speed --model model/pretrained/python --json

Buffers are real code (the files of the interpreter's standard library, or --files), cut to
--context characters just before a line's first token. Cold: a buffer the Completer has never
seen. Warm: the same buffer again with --typed more characters typed. The seed's way is one
model.predict call on a --window-char window per generated character (the paper's sampling),
timed over --seed-chars characters and scaled to --chars. The `files` case sends --files-count
other files of --files-chars characters in all with the warm request: once new (each file
cleaned and indexed), then unchanged (a hash of each); both beside the same request without them.
"""
import argparse
import gc
import glob
import json
import os
import statistics
import time

import numpy as np

from model.data.corpus import stdlib_dir
from model.serving import modeldir
from model.serving.completer import REQUEST_CHARS, Completer
from model.serving.limits import FILES_BUDGET_DEFAULT, FILES_MAX
from model.serving.modeldir import ModelDirError


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def readable(files, min_chars):
    """(path, text) of each file that reads as UTF-8 and has at least min_chars characters."""
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) >= min_chars:
            yield path, text


def real_buffers(files, count, context, typed, seed):
    """(buffer, typed_text) pairs cut from real files, each a different place in the code."""
    rng = np.random.default_rng(seed)
    texts = [text for _, text in readable(files, context + 401)]
    if not texts:
        raise ValueError("no file is long enough to cut a buffer from")
    out = []
    order = rng.permutation(len(texts))
    for k in range(count):
        text = texts[order[k % len(texts)]]  # every file once before any file twice
        # Cursor just after a line's indentation, in the file's second half (real context before it).
        starts = [j + 1 for j in range(context, len(text) - 200) if text[j] == "\n"]
        if not starts:
            continue
        cut = starts[rng.integers(len(starts))]
        cut += len(text[cut:]) - len(text[cut:].lstrip(" "))
        out.append((text[cut - context:cut], text[cut:cut + typed]))
    return out


def project_texts(files, count, chars):
    """`count` real files cut to chars/count characters each: a project's other open files. Where
    fewer files are that long (C, Lua and TypeScript files are short), the longest of the rest
    fill in whole, so the case measures what a plug-in would send (its size is reported)."""
    each = chars // count
    long_enough, shorter = [], []
    for path, text in readable(files, 1):
        if len(text) < each:
            shorter.append((path, text))
            continue
        long_enough.append((path, text[:each]))
        if len(long_enough) == count:
            return long_enough
    chosen = long_enough + sorted(shorter, key=lambda item: -len(item[1]))[:count - len(long_enough)]
    if len(chosen) < count:
        raise ValueError(f"fewer than {count} readable files to send as files")
    return chosen


def percentile(values, q):
    return float(np.percentile(values, q))


def seed_way_ms(model_dir, buffers, window, chars):
    """The paper's sampling: Keras model.predict on the last `window` characters, per character."""
    import keras

    _, vocab, _ = modeldir.load(model_dir)
    model = keras.models.load_model(os.path.join(model_dir, modeldir.MODEL))
    times = []
    for buffer, _ in buffers:
        ids = list(vocab.encode(buffer)[-window:])
        model.predict(np.array([ids]), verbose=0)  # warm up (graph build), not timed
        t0 = time.perf_counter()
        for _ in range(chars):
            logits = model.predict(np.array([ids[-window:]]), verbose=0)[0, -1]
            ids.append(int(np.argmax(logits)))
        times.append((time.perf_counter() - t0) * 1000 / chars)
    return times


def bench(model_dir, files=None, buffers=20, context=REQUEST_CHARS, chars=80, typed=3, window=40, seed_chars=10,
          seed_buffers=3, seed=0, model_context=Completer.CONTEXT_CHARS, files_count=FILES_MAX,
          files_chars=FILES_BUDGET_DEFAULT, choices=5, repeats=3):
    files = files or sorted(glob.glob(os.path.join(stdlib_dir(), "*.py")))
    pairs = real_buffers(files, buffers, context, typed, seed)
    rss_before = rss_mb()
    t0 = time.perf_counter()
    completer = Completer.load(model_dir, context_chars=model_context)
    load_ms = (time.perf_counter() - t0) * 1000
    completer.complete("import os\n", max_chars=chars)  # first-call costs (imports, allocations)
    gc.freeze()  # as a server worker does once the app is loaded (gunicorn.conf.py, post_worker_init)
    rss_loaded = rss_mb()

    cold, warm, lengths, read = [], [], [], []
    for buffer, more in pairs:
        t0 = time.perf_counter()
        first = completer.complete(buffer, max_chars=chars, stop="line")
        cold.append((time.perf_counter() - t0) * 1000)
        read.append(first.context_chars)
        t0 = time.perf_counter()
        second = completer.complete(buffer + more, max_chars=chars, stop="line")
        warm.append((time.perf_counter() - t0) * 1000)
        lengths += [len(first.text), len(second.text)]
    # Also time a full 80-character generation (stop=none, no cut), the bench's fixed amount of work.
    full = []
    for buffer, more in pairs:
        completer.complete(buffer, max_chars=chars, stop="none", min_prob=0.0)
        t0 = time.perf_counter()
        completer.complete(buffer + more, max_chars=chars, stop="none", min_prob=0.0)
        full.append((time.perf_counter() - t0) * 1000)
    # Ranked choices (the plug-ins ask for them on every Tab): the warm request again with and
    # without them, after an untimed one that caches its states, taking turns which goes first;
    # each buffer's time is the median of `repeats` (one timing of a few ms is mostly noise).
    plain, ranked = [], []
    for i, (buffer, more) in enumerate(pairs):
        completer.complete(buffer + more, max_chars=chars, stop="line")  # warm: its states cached
        times = {0: [], choices: []}
        for r in range(repeats):
            for k in (0, choices) if (i + r) % 2 == 0 else (choices, 0):
                t0 = time.perf_counter()
                completer.complete(buffer + more, max_chars=chars, stop="line", choices=k)
                times[k].append((time.perf_counter() - t0) * 1000)
        plain.append(statistics.median(times[0]))
        ranked.append(statistics.median(times[choices]))
    ratios = np.divide(ranked, plain)
    # The project's files: new ones (a marker makes each set new), then the same again, then none.
    project = project_texts(files, files_count, files_chars)
    files_new, files_warm, files_none = [], [], []
    for k, (buffer, more) in enumerate(pairs):
        fresh = [(path, f"# bench {k}\n" + text) for path, text in project]
        for times, sent in ((files_new, fresh), (files_warm, fresh), (files_none, ())):
            t0 = time.perf_counter()
            completer.complete(buffer + more, max_chars=chars, stop="line", files=sent)
            times.append((time.perf_counter() - t0) * 1000)
    rss_after = rss_mb()

    seed_per_char = seed_way_ms(model_dir, pairs[:seed_buffers], window, seed_chars)
    seed_80 = statistics.median(seed_per_char) * chars
    result = {
        "model": model_dir,
        "context_chars": context, "max_chars": chars, "typed_chars": typed, "buffers": len(pairs),
        "model_context_chars": model_context, "mean_chars_read_cold": float(np.mean(read)),
        "cold_p50_ms": percentile(cold, 50), "cold_p95_ms": percentile(cold, 95),
        "warm_p50_ms": percentile(warm, 50), "warm_p95_ms": percentile(warm, 95),
        "warm_80_chars_p50_ms": percentile(full, 50), "warm_80_chars_p95_ms": percentile(full, 95),
        "mean_completion_chars": float(np.mean(lengths)),
        "choices": choices, "warm_plain_p50_ms": percentile(plain, 50), "warm_choices_p50_ms": percentile(ranked, 50),
        "warm_choices_p95_ms": percentile(ranked, 95),
        "choices_over_plain_p50": percentile(ranked, 50) / max(percentile(plain, 50), 1e-9),
        "choices_over_plain_paired_p50": percentile(ratios, 50),
        "choices_over_plain_paired_90": [percentile(ratios, 5), percentile(ratios, 95)],
        "choices_repeats": repeats,
        "files_count": len(project), "files_chars": sum(len(t) for _, t in project),
        "files_new_p50_ms": percentile(files_new, 50), "files_warm_p50_ms": percentile(files_warm, 50),
        "files_warm_p95_ms": percentile(files_warm, 95), "files_none_p50_ms": percentile(files_none, 50),
        "files_new_extra_p50_ms": percentile(np.subtract(files_new, files_none), 50),
        "files_new_extra_p95_ms": percentile(np.subtract(files_new, files_none), 95),
        "seed_way_ms_per_char": statistics.median(seed_per_char),
        "seed_way_80_chars_ms": seed_80, "seed_window_chars": window,
        "speedup_vs_seed_warm": seed_80 / percentile(full, 50),
        "speedup_vs_seed_cold": seed_80 / percentile(cold, 50),
        "load_ms": load_ms,
        "completer_rss_mb": rss_after - rss_before,
        "process_rss_mb": rss_after,
        "rss_after_load_mb": rss_loaded,
    }
    return {k: round(v, 3) if isinstance(v, float) else [round(x, 3) for x in v] if isinstance(v, list) else v
            for k, v in result.items()}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.measure.speed", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=modeldir.DEFAULT)
    p.add_argument("--files", nargs="*", help="real code to cut buffers from (default: the stdlib's top level)")
    p.add_argument("--buffers", type=int, default=20)
    p.add_argument("--context", type=int, default=REQUEST_CHARS,
                   help="characters of code before the cursor (default: what a request carries)")
    p.add_argument("--model-context", type=int, default=Completer.CONTEXT_CHARS,
                   help="the Completer's context cap (cleaned characters it reads of each buffer)")
    p.add_argument("--chars", type=int, default=80, help="characters to complete")
    p.add_argument("--typed", type=int, default=3, help="characters typed between the cold and the warm Tab")
    p.add_argument("--window", type=int, default=40, help="the seed's window (Keras text-generation example: 40)")
    p.add_argument("--seed-chars", type=int, default=10, help="characters to time the seed's way over")
    p.add_argument("--seed-buffers", type=int, default=3)
    p.add_argument("--files-count", type=int, default=FILES_MAX, help="project files sent with the files case")
    p.add_argument("--files-chars", type=int, default=FILES_BUDGET_DEFAULT, help="their characters in all")
    p.add_argument("--choices", type=int, default=5, help="ranked choices asked for in the choices case")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.files_count < 1 or args.files_chars < args.files_count:
        p.error("--files-count must be positive and --files-chars at least one character a file")
    if not 1 <= args.choices <= 10:
        p.error("--choices must be between 1 and 10")
    if args.model_context < 1:
        p.error("--model-context must be a positive number of characters")
    try:
        result = bench(args.model, args.files, args.buffers, args.context, args.chars, args.typed, args.window,
                       args.seed_chars, args.seed_buffers, model_context=args.model_context,
                       files_count=args.files_count, files_chars=args.files_chars, choices=args.choices)
    except (ModelDirError, ValueError) as err:
        raise SystemExit(f"error: {err}")
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()
