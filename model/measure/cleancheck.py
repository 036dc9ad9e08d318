"""Do request windows clean like whole files? A plug-in sends the last 4000 characters before the
cursor, so a window starts mid-file (mid-line, mid-docstring, inside brackets); the network should
still read it as it read its training files, which were cleaned whole.

    python -m model.measure.cleancheck --json               # the unseen-code benchmark's positions
    python -m model.measure.cleancheck --set dev --json
    python -m model.measure.cleancheck --files DIR --language c --json   # a language's files in DIR

At each of the benchmark's positions (model.measure.benchmark's draw, same seed), the request is built and
cut as the server cuts it (model.measure.benchmark.editor_request, model.serving.completer.carried) and cleaned as a
buffer (clean(partial=True)). Its first line, cut at the window's start, is dropped and the last
`context_chars` (what the network reads) are kept. The window matches when that text is exactly the
tail of the whole file cleaned up to the cursor. clean() is timed on each window (a second pass, so
warm), the cost each request pays. Each file is cleaned as its extension says.

The cursor rule: none of those windows (all end in code) may be judged to end in a comment; in C,
JavaScript, TypeScript and Lua, windows ending at as many seeded positions inside the whole file's
comments (after the opening `//`, `/*`, `--`, `--[[`, before the closing `*/`, `]]`) must be.
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np

from model.data import packages
from model.measure import benchmark
from model.measure.positions import benchmark_text
from model.serving.completer import CONTEXT_CHARS, carried
from model.text import lexed
from model.text.clean import LANGUAGES, SOURCE_EXTENSIONS, clean


def request_window(raw, pos):
    """The text before the cursor that a request carries, cut as the server cuts it."""
    return carried(*benchmark.editor_request(raw, pos))[0]


def window_matches(raw, pos, context_chars=CONTEXT_CHARS, window=None, ext=".py"):
    """(the window's cleaned text as the network reads it, the whole file's cleaned tail of the same
    length): equal when the window is cleaned as the whole file is. window: request_window(raw, pos),
    when the caller has it already."""
    window = request_window(raw, pos) if window is None else window
    seen = clean(window, ext, partial=True).text
    seen = seen[seen.find("\n") + 1:][-context_chars:]
    whole = clean(raw[:pos], ext, partial=True).text
    return seen, whole[len(whole) - len(seen):] if seen else ""


def ext_of(name):
    return os.path.splitext(name)[1] or ".py"


def check(files, positions=300, seed=0, context_chars=CONTEXT_CHARS):
    """Share of windows that match, the positions that do not, clean()'s time per window, and the
    cursor rule's verdicts."""
    idents, lines = benchmark.draw_positions(files, positions, seed)
    points = [(f, pos) for f, pos, _, _ in idents + lines]
    windows = [request_window(files[f][1], pos) for f, pos in points]
    mismatched, in_comment = [], 0
    for (f, pos), window in zip(points, windows):
        seen, whole = window_matches(files[f][1], pos, context_chars, window, ext_of(files[f][0]))
        if seen != whole:
            mismatched.append(f"{files[f][0]}:{pos}")
        in_comment += clean(window, ext_of(files[f][0]), partial=True).cursor_in_removed
    ms = []
    for (f, _), window in zip(points * 2, windows * 2):  # the first pass warms caches and imports; the second is timed
        t = time.perf_counter()
        clean(window, ext_of(files[f][0]), partial=True)
        ms.append((time.perf_counter() - t) * 1000)
    ms = ms[len(windows):]
    result = {"windows": len(points), "matching": len(points) - len(mismatched),
              "share_matching": round((len(points) - len(mismatched)) / max(len(points), 1), 4),
              "clean_ms": {"p50": round(float(np.percentile(ms, 50)), 2) if ms else None,
                           "p95": round(float(np.percentile(ms, 95)), 2) if ms else None},
              "code_judged_in_comment": in_comment}
    inside = comment_positions(files, positions, seed)
    if inside:
        missed = [f"{files[f][0]}:{pos}" for f, pos in inside
                  if not clean(request_window(files[f][1], pos), ext_of(files[f][0]), partial=True).cursor_in_removed]
        result["comment_windows"] = {"windows": len(inside), "judged_in_comment": len(inside) - len(missed),
                                     "missed": missed}
    return {**result, "mismatched": mismatched}


def comment_positions(files, n, seed):
    """Seeded (file index, offset) strictly inside the comments of the files model.text.lexed reads."""
    rng = np.random.default_rng(seed)
    spans = []
    for f, (name, raw, _) in enumerate(files):
        if ext_of(name) in lexed.EXTENSIONS:
            for start, end in lexed.comments(raw, ext_of(name)):
                opener = re.match(r"--\[(=*)\[|/\*|..", raw[start:end])
                closing = len(opener.group(1)) + 2 if opener.group(1) is not None else 2 * (opener.group() == "/*")
                if start + opener.end() < end - closing:
                    spans.append((f, start + opener.end(), end - closing))
    picked = sorted(rng.choice(len(spans), min(n, len(spans)), replace=False)) if spans else []
    return [(spans[i][0], int(rng.integers(spans[i][1], spans[i][2] + 1))) for i in picked]


def directory_files(root, language, sample=None, seed=0):
    """(path under root, raw text, root) of the language's files under root (as the benchmark takes
    them: no minified or generated ones), or a seeded sample of `sample` of them."""
    exts = SOURCE_EXTENSIONS[language]
    paths = sorted(os.path.join(d, name) for d, _, names in os.walk(root) for name in names
                   if os.path.splitext(name)[1] in exts)
    if sample is not None and sample < len(paths):
        paths = [paths[i] for i in sorted(np.random.default_rng(seed).choice(len(paths), sample, replace=False))]
    texts = ((os.path.relpath(path, root), benchmark_text(path, os.path.splitext(path)[1])) for path in paths)
    return [(name, text, root) for name, text in texts if text is not None]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.measure.cleancheck", description=__doc__.split("\n\n")[0])
    p.add_argument("--set", default="benchmark", choices=sorted(benchmark.SETS))
    p.add_argument("--packages", default=None, help="a package list instead of the set's")
    p.add_argument("--files", default=None, help="a directory of source files instead of packages")
    p.add_argument("--language", default="python", choices=sorted(LANGUAGES), help="the language of --files")
    p.add_argument("--sample-files", type=int, default=None, help="a seeded sample of this many of --files")
    p.add_argument("--positions", type=int, default=300, help="positions of each kind")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=packages.DEFAULT_CACHE)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.positions < 1:
        p.error("--positions must be positive")
    if args.files is not None:
        if not os.path.isdir(args.files):
            raise SystemExit(f"error: --files {args.files}: not a directory")
        files = directory_files(args.files, args.language, args.sample_files, args.seed)
        if not files:
            raise SystemExit(f"error: no {args.language} files under {args.files}")
        source = {"files": args.files, "language": args.language, "file_count": len(files)}
    else:
        try:
            files = benchmark.package_files(args.packages or benchmark.SETS[args.set], args.cache)
        except packages.PackageError as err:
            raise SystemExit(f"error: {err}")
        source = {"set": args.set}
    result = {**source, **check(files, args.positions, args.seed)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['matching']} of {result['windows']} windows clean like their whole file; "
              f"clean() p50 {result['clean_ms']['p50']} ms, p95 {result['clean_ms']['p95']} ms; "
              f"{result['code_judged_in_comment']} judged in a comment", file=sys.stderr)
        if "comment_windows" in result:
            print(f"{result['comment_windows']['judged_in_comment']} of {result['comment_windows']['windows']} windows "
                  "ending inside a comment judged so", file=sys.stderr)
        for where in result["mismatched"]:
            print(f"  differs: {where}", file=sys.stderr)


if __name__ == "__main__":
    main()
