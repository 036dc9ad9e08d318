"""The unseen-code benchmark through a running server: what a user of that server gets on a Tab.

    python -m servercheck.benchmark --url http://127.0.0.1:8000 --json
    python -m servercheck.benchmark --url http://old:8000 --url http://127.0.0.1:8000   # side by side
    python -m servercheck.benchmark --url http://127.0.0.1:8000 --project ~/code/myapp  # on your code
    python -m servercheck.benchmark --url http://127.0.0.1:8000 --language lua  # Lua's benchmark

model.measure.benchmark measures model dirs in this process; this sends the same requests, at the same
seeded positions, as JSON to POST /complete of any tabcomplete server, whatever its version, model
or settings (an older release, a project model, a server started with another MIN_PROB), and
scores the answers with the benchmark's own code. Each server is asked without `files`, then with
the package's other files as a plug-in sends them; a server that refuses `files` with a 400 (one
from before they existed) is measured without them only. With two or more servers, each later
one's change from the first in savings and line precision comes with a 95% paired interval.
--language measures another language's set (model/unseen/LANGUAGE-SET.txt), each request naming
its language as the plug-ins do.
With --project, the positions are drawn from a project's own files of the language (model.data.project's choice)
and each request carries the file's absolute `path`, as the plug-ins send it, so a server that has
learned the project (model.training.learn) answers with that model: what a Tab is worth on your own code.
"""
import argparse
import collections
import json
import os
import sys
import time
import urllib.error
import urllib.request

import numpy as np

from model.data import packages
from model.data.project import ProjectError, source_files
from model.measure.benchmark import MAX_CHARS, SETS, per_position, score, unseen_list, versus_first
from model.measure.evaluate import progress_bar
from model.measure.positions import benchmark_text, draw_positions, editor_request, package_files, project_files
from model.serving import modeldir
from model.text.clean import SOURCE_EXTENSIONS

RUNS = ("server_defaults", "with_files")


class ServerError(Exception):
    """The server could not be reached or did not answer a completion."""


def post_complete(url, body, token="", timeout=60):
    """POST /complete; the answer, or ServerError saying what the server said."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url.rstrip("/") + "/complete", data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as err:
        try:
            message = json.load(err).get("error", {}).get("message", "")
        except (ValueError, AttributeError):
            message = ""
        raise ServerError(f"{url} answered {err.code}: {message or err.reason}", err.code) from None
    except (urllib.error.URLError, OSError) as err:
        raise ServerError(f"cannot reach {url}: {getattr(err, 'reason', err)}") from None
    except ValueError:
        raise ServerError(f"{url} answered with a body that is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("completion"), str):
        raise ServerError(f"{url} answered without a completion: {str(answer)[:200]}")
    return answer


def project_source(root, language="python"):
    """A project's own files of the language as the benchmark takes them [(name, raw text, root)],
    and each one's absolute path {name: path}."""
    files, paths = [], {}
    for path, name in source_files(root, set(SOURCE_EXTENSIONS[language]))[0]:
        text = benchmark_text(path)
        if text is not None:
            files.append((name, text, os.path.abspath(root)))
            paths[name] = path
    if not files:
        raise ProjectError(f"{root}: no {language} files of the project's own")
    return files, paths


def run_positions(url, files, positions, with_files=False, token="", progress=progress_bar(False), desc="", paths=None,
                  models=None, language="python"):
    """Each position's request, as model.measure.benchmark.run_positions builds it, sent to the server:
    [(completion, [], ms)] (no probabilities cross HTTP; the round trip is the latency).
    paths: {file name: absolute path} to send as `path` (and as the `files` entries' paths);
    models: a Counter of the models that answered, added to. A language other than Python is named
    in each request (a Python request stays as servers from before `language` take it)."""
    out = []
    for f, pos, _, _ in progress(positions, desc=desc, unit="pos"):
        text, suffix = editor_request(files[f][1], pos)
        body = {"text": text, "suffix": suffix, "max_chars": MAX_CHARS, "stop": "line"}
        if language != "python":
            body["language"] = language
        if paths:
            body["path"] = paths[files[f][0]]
        if with_files:
            body["files"] = [{"path": (paths or {}).get(name, name), "text": raw} for name, raw in project_files(files, f)]
        started = time.perf_counter()
        answer = post_complete(url, body, token)
        out.append((answer["completion"], [], (time.perf_counter() - started) * 1000))
        if models is not None:
            models[str(answer.get("model"))] += 1
    return out


def measure(url, files, positions=300, seed=0, token="", progress=progress_bar(False), paths=None, language="python"):
    """The benchmark's completion figures for one server: {run: score + latency + per_position +
    the models that answered}. ValueError where the files hold no position to measure."""
    idents, lines = draw_positions(files, positions, seed)
    if not idents or not lines:
        raise ValueError(f"the {language} files hold no {'identifier' if not idents else 'line'} positions to measure")
    result = {"url": url, "files": len(files), "positions": {"ident": len(idents), "line": len(lines)}}
    for run in RUNS:
        models = collections.Counter()
        try:
            i = run_positions(url, files, idents, run == "with_files", token, progress, f"{run} ident", paths, models,
                              language)
            l = run_positions(url, files, lines, run == "with_files", token, progress, f"{run} line", paths, models,
                              language)
        except ServerError as err:
            if run == "with_files" and err.args[1:] == (400,):  # a server from before `files`
                result[run] = {"refused": err.args[0]}
                continue
            raise
        ms = [r[2] for r in i + l]
        result[run] = {**score(i, idents, l, lines), "p50_ms": float(np.percentile(ms, 50)),
                       "p95_ms": float(np.percentile(ms, 95)), "models": dict(models),
                       "per_position": per_position(i, idents, l, lines)}
    return result


def table(results):
    """A markdown table: a column per server and run."""
    columns = [(r, run) for r in results for run in RUNS if "refused" not in r[run]]
    rows = [("identifier exact", "ident_exact"), ("line precision", "line_precision"), ("line positions answered", "answered"),
            ("keystroke savings", "keystroke_savings"), ("p50 ms (round trip)", "p50_ms")]
    lines = ["| | " + " | ".join(f"{r['url']} {run.replace('_', ' ')}" for r, run in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    for label, key in rows:
        digits = 0 if key.endswith("_ms") else 3
        cells = ["" if r[run][key] is None else f"{r[run][key]:.{digits}f}" for r, run in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| answered by (model: requests) | " + " | ".join(
        ", ".join(f"{m}: {n}" for m, n in r[run].get("models", {}).items()) for r, run in columns) + " |")
    for figure, label in (("keystroke_savings", "savings"), ("line_precision", "line precision")):
        differences = [r.get("versus_first", {}).get(run, {}).get(figure) for r, run in columns]
        cells = [f"{d[0]:+.3f} ({d[1]:+.3f} to {d[2]:+.3f})" if d else "" for d in differences]
        if any(cells):
            lines.append(f"| {label} - the first server's (95% paired interval) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m servercheck.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", action="append", required=True, help="a running server (repeat to compare in one run)")
    p.add_argument("--set", default="benchmark", choices=sorted(SETS))
    p.add_argument("--language", default="python", choices=sorted(SOURCE_EXTENSIONS),
                   help="the language measured: its set's list and files, named in each request")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--packages", default=None, help="a package list instead of the set's")
    where.add_argument("--project", default=None, help="a project dir instead: its own Python files, with their paths")
    p.add_argument("--positions", type=int, default=300, help="positions of each kind")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=packages.DEFAULT_CACHE)
    p.add_argument("--token", default=os.environ.get("TABCOMPLETE_TOKEN", ""),
                   help="the servers' API token (default: $TABCOMPLETE_TOKEN)")
    p.add_argument("--out", default=None, help="also write benchmark-server.json and .md here")
    p.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    args = p.parse_args(argv)
    if args.positions < 1:
        p.error("--positions must be positive")
    try:
        if args.project:
            files, paths = project_source(args.project, args.language)
            source = {"project": os.path.abspath(args.project)}
        else:
            package_list = args.packages or unseen_list(args.set, args.language)
            files, paths = package_files(package_list, args.cache, SOURCE_EXTENSIONS[args.language]), None
            source = {"set": args.set, "packages": [f"{pin.name}=={pin.version}" for pin in
                                                    packages.read_package_list(package_list)]}
            if not files:
                raise ValueError(f"no {args.language} files in {package_list}'s packages")
        results = [measure(url, files, args.positions, args.seed, args.token, progress_bar(True), paths, args.language)
                   for url in args.url]
    except (packages.PackageError, ProjectError, ServerError, ValueError) as err:
        raise SystemExit(f"error: {err.args[0]}")
    versus_first(results, [run for run in RUNS if all("refused" not in r[run] for r in results)])
    report = {**source, "language": args.language, "positions": args.positions, "seed": args.seed, "results": results}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        modeldir.write_json(os.path.join(args.out, "benchmark-server.json"), report)
        with open(os.path.join(args.out, "benchmark-server.md"), "w") as f:
            f.write(table(results))
    print(table(results), file=sys.stderr)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
