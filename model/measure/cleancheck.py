"""Do request windows clean like whole files? A plug-in sends the last 4000 characters before the
cursor, so a window starts mid-file (mid-line, mid-docstring, inside brackets); the network should
still read it as it read its training files, which were cleaned whole.

    python -m model.measure.cleancheck --json               # the unseen-code benchmark's positions
    python -m model.measure.cleancheck --set dev --json

At each of the benchmark's positions (model.measure.benchmark's draw, same seed), the request is built and
cut as the server cuts it (model.measure.benchmark.editor_request, model.serving.completer.carried) and cleaned as a
buffer (clean(partial=True)). Its first line, cut at the window's start, is dropped and the last
`context_chars` (what the network reads) are kept. The window matches when that text is exactly the
tail of the whole file cleaned up to the cursor. clean() is timed on each window (a second pass, so
warm), the cost each request pays.
"""
import argparse
import json
import sys
import time

import numpy as np

from model.data import packages
from model.measure import benchmark
from model.serving.completer import CONTEXT_CHARS, carried
from model.text.clean import clean


def request_window(raw, pos):
    """The text before the cursor that a request carries, cut as the server cuts it."""
    return carried(*benchmark.editor_request(raw, pos))[0]


def window_matches(raw, pos, context_chars=CONTEXT_CHARS, window=None):
    """(the window's cleaned text as the network reads it, the whole file's cleaned tail of the same
    length): equal when the window is cleaned as the whole file is. window: request_window(raw, pos),
    when the caller has it already."""
    window = request_window(raw, pos) if window is None else window
    seen = clean(window, partial=True).text
    seen = seen[seen.find("\n") + 1:][-context_chars:]
    whole = clean(raw[:pos], partial=True).text
    return seen, whole[len(whole) - len(seen):] if seen else ""


def check(files, positions=300, seed=0, context_chars=CONTEXT_CHARS):
    """Share of windows that match, the positions that do not, and clean()'s time per window."""
    idents, lines = benchmark.draw_positions(files, positions, seed)
    points = idents + lines
    windows = [request_window(files[f][1], pos) for f, pos, _, _ in points]
    mismatched = []
    for (f, pos, _, _), window in zip(points, windows):
        seen, whole = window_matches(files[f][1], pos, context_chars, window)
        if seen != whole:
            mismatched.append(f"{files[f][0]}:{pos}")
    ms = []
    for window in windows * 2:  # the first pass warms caches and imports; the second is timed
        t = time.perf_counter()
        clean(window, partial=True)
        ms.append((time.perf_counter() - t) * 1000)
    ms = ms[len(windows):]
    return {"windows": len(points), "matching": len(points) - len(mismatched),
            "share_matching": round((len(points) - len(mismatched)) / max(len(points), 1), 4),
            "clean_ms": {"p50": round(float(np.percentile(ms, 50)), 2) if ms else None,
                         "p95": round(float(np.percentile(ms, 95)), 2) if ms else None},
            "mismatched": mismatched}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.measure.cleancheck", description=__doc__.split("\n\n")[0])
    p.add_argument("--set", default="benchmark", choices=sorted(benchmark.SETS))
    p.add_argument("--packages", default=None, help="a package list instead of the set's")
    p.add_argument("--positions", type=int, default=300, help="positions of each kind")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=packages.DEFAULT_CACHE)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.positions < 1:
        p.error("--positions must be positive")
    try:
        files = benchmark.package_files(args.packages or benchmark.SETS[args.set], args.cache)
    except packages.PackageError as err:
        raise SystemExit(f"error: {err}")
    result = {"set": args.set, **check(files, args.positions, args.seed)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['matching']} of {result['windows']} windows clean like their whole file; "
              f"clean() p50 {result['clean_ms']['p50']} ms, p95 {result['clean_ms']['p95']} ms", file=sys.stderr)
        for where in result["mismatched"]:
            print(f"  differs: {where}", file=sys.stderr)


if __name__ == "__main__":
    main()
