"""The language server against the HTTP server, on the same buffers: what LSP costs, and whether
it stays right and quiet through a session of typing.

    python -m servercheck.lsp_speed --json
    python -m servercheck.lsp_speed --models model/pretrained --steps 500 --starts 3 --json

Three figures, the targets of the language server's issue:
- first completion after start: from spawning python -m server.lsp (models loaded in-process) to
  the answer of its first inline completion, through initialize and didOpen; --starts times.
- a completion's latency through the language server against gunicorn's POST /complete (one
  worker, make serve's configuration) for the same buffer, both timed as round trips from here:
  the p50 of each and the p50 of their paired difference.
- a scripted session of --steps edits and Tabs on real code (the standard library's files, or
  --files): each step types the file's next characters (or deletes one, or takes the last
  completion, or undoes that), and Tab asks inline or for the menu, alternately, both servers the
  same request; some steps also fire an automatic inline request that the next keystroke
  supersedes or that is cancelled. Counted: answers the same as the HTTP server's, errors in the
  client's log (window/logMessage and showMessage of type Error), error answers.
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys
import tempfile
import time

import numpy as np
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from model.data.corpus import stdlib_dir
from model.measure.evaluate import progress_bar
from model.measure.speed import percentile, readable
from server.lsp.documents import position_at
from servercheck.benchmark import post_complete
from servercheck.lsp_client import LspClient
from servercheck.server import Server

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT_CHARS = SUFFIX_CHARS = 4000  # what a plug-in sends around the cursor (editor-plugin/shared/limits.json)
TARGETS = {"overhead_p50_ms": 5.0, "first_completion_s": 2.0, "client_log_errors": 0}


def first_completion(models, starts, uri="file:///speed/first.py", text="import os\nfor name in os.li"):
    """Seconds from spawning the server to its first inline answer, and the server's CPU seconds by then."""
    wall, cpu = [], []
    for _ in range(starts):
        with LspClient(["--models", models]) as client:
            client.open(uri, text)
            client.inline(uri, 1, len("for name in os.li"))
            wall.append(time.perf_counter() - client.started)
            with open(f"/proc/{client.process.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return wall, cpu


def spans(texts, seed, span_chars=160):
    """Endless (path, before, typed, after) cut from (path, text) of real files: the user types
    `typed` at a line start in a file's second half."""
    rng = np.random.default_rng(seed)
    while True:
        path, text = texts[rng.integers(len(texts))]
        starts = [m.end() for m in re.finditer("\n", text[len(text) // 2:-span_chars - 1])]
        if starts:
            cut = len(text) // 2 + starts[rng.integers(len(starts))]
            yield path, text[:cut], text[cut:cut + span_chars], text[cut + span_chars:]


def http_body(text, cursor, path, choices):
    body = {"text": text[:cursor][-TEXT_CHARS:], "suffix": text[cursor:cursor + SUFFIX_CHARS], "max_chars": 80,
            "stop": "line", "language": "python", "path": path}
    if choices:
        body["choices"] = choices
    return body


def expected_menu(answer, word):
    first = [word + answer["completion"]] if answer["completion"] else []
    return first + [word + c["text"] for c in answer["choices"] if word + c["text"] not in first]


class Session:
    """One document being typed in, as the client sees it."""

    def __init__(self, client, number, path, before, typed, after):
        # The path of a file no project model claims, the same in both servers' requests.
        self.path = f"/speed/{number}/{os.path.basename(path)}"
        self.client, self.uri = client, "file://" + self.path
        self.text, self.cursor, self.to_type, self.version = before + after, len(before), typed, 1
        self.accepted = None  # (start, end) of a completion taken, undone at the next step
        client.open(self.uri, self.text)

    def edit(self, start, end, new_text):
        """Replace text[start:end] (the client's copy and the server's), cursor after the new text."""
        self.version += 1
        self.client.change(self.uri, self.version, [((position_at(self.text, start), position_at(self.text, end)),
                                                     new_text)])
        self.text = self.text[:start] + new_text + self.text[end:]
        self.cursor = start + len(new_text)

    def position(self):
        return position_at(self.text, self.cursor)

    def line_prefix(self):
        return self.text[self.text.rfind("\n", 0, self.cursor) + 1:self.cursor]


def step(session, rng, last_completion):
    """One edit: undo a completion taken, take the last one, delete a character, or type on."""
    if session.accepted:
        start, end = session.accepted
        session.accepted = None
        session.edit(start, end, "")
    elif last_completion and rng.random() < 0.3:
        start = session.cursor
        session.edit(start, start, last_completion)
        session.accepted = (start, session.cursor)
    elif rng.random() < 0.1 and session.line_prefix().strip() and session.cursor > 0:
        session.to_type = session.text[session.cursor - 1] + session.to_type
        session.edit(session.cursor - 1, session.cursor, "")
    else:
        count = int(rng.integers(1, 4))
        typed, session.to_type = session.to_type[:count], session.to_type[count:]
        session.edit(session.cursor, session.cursor, typed)


def scripted_run(models, texts, steps, seed, progress, debounce_ms=None):
    rng = np.random.default_rng(seed)
    counts = {name: 0 for name in ("inline_tabs", "menu_tabs", "tabs_in_indentation", "answers_compared",
                                   "answers_equal", "automatic_sent", "automatic_answered_nothing", "cancels_sent",
                                   "cancelled", "error_responses")}
    lsp_ms, http_ms = [], []
    with tempfile.TemporaryDirectory(prefix="lsp-speed-") as workdir:
        http = Server(models, workdir, workers=1, name="http").start()
        try:
            options = {"debounceMs": debounce_ms} if debounce_ms is not None else None
            with LspClient(["--models", models], options) as client:
                cuts, number, session, last_completion = spans(texts, seed), 0, None, ""
                for i in progress(range(steps), desc="edits and Tabs", unit="step"):
                    if session is None or not session.to_type:
                        if session is not None:
                            client.close_document(session.uri)
                        number += 1
                        session, last_completion = Session(client, number, *next(cuts)), ""
                    pending = None
                    if i % 5 == 4:  # typing goes on while an automatic request waits: superseded, or cancelled
                        msg_id, pending = client.inline_request(session.uri, *session.position(), automatic=True)
                        counts["automatic_sent"] += 1
                        if i % 10 == 9:
                            client.cancel(msg_id)
                            counts["cancels_sent"] += 1
                    step(session, rng, last_completion)
                    if pending is not None:
                        try:
                            counts["automatic_answered_nothing"] += client.answer(pending) is None
                        except JsonRpcRequestCancelled:
                            counts["cancelled"] += 1
                    last_completion = tab(client, session, http.url, i % 2 == 0, counts, lsp_ms, http_ms, i)
                errors = client.errors()
                warnings = [m for m in client.messages if m.type == types.MessageType.Warning]
                stderr = list(client.stderr)
        finally:
            http.stop()
    return {**counts, "lsp_ms": lsp_ms, "http_ms": http_ms, "client_log_errors": len(errors),
            "client_log_error_lines": errors[:5], "client_log_warnings": len(warnings),
            "server_stderr_lines": len(stderr)}


def tab(client, session, url, inline, counts, lsp_ms, http_ms, i):
    """Tab at the cursor through both servers (the order alternating); the completion, to take next step."""
    line, character = session.position()
    if not session.line_prefix().strip(" \t"):  # a Tab in indentation indents: the server says nothing
        counts["tabs_in_indentation"] += 1
        return ""
    counts["inline_tabs" if inline else "menu_tabs"] += 1
    body = http_body(session.text, session.cursor, session.path, 0 if inline else 3)
    for first in (i % 4 < 2, i % 4 >= 2):
        t0 = time.perf_counter()
        if first:
            try:
                got = client.inline(session.uri, line, character) if inline else client.complete(session.uri, line, character)
            except JsonRpcException:
                counts["error_responses"] += 1
                return ""
            lsp_ms.append((time.perf_counter() - t0) * 1000)
        else:
            answer = post_complete(url, body)
            http_ms.append((time.perf_counter() - t0) * 1000)
    word = re.search(r"\w*\Z", session.line_prefix()).group()
    if inline:
        mine = [item.insert_text for item in got or []]
        theirs = [answer["completion"]] if answer["completion"] else []
    else:
        mine = [item.text_edit.new_text for item in sorted(got.items, key=lambda item: item.sort_text)]
        theirs = expected_menu(answer, word)
    counts["answers_compared"] += 1
    counts["answers_equal"] += mine == theirs
    return answer["completion"] if inline else ""


def summary(wall, cpu, run):
    lsp, http = run.pop("lsp_ms"), run.pop("http_ms")
    paired = [a - b for a, b in zip(lsp, http)]
    report = {
        "first_completion_s": [round(s, 3) for s in wall], "first_completion_cpu_s": [round(s, 3) for s in cpu],
        "lsp_ms": {"p50": round(percentile(lsp, 50), 2), "p90": round(percentile(lsp, 90), 2), "count": len(lsp)},
        "http_ms": {"p50": round(percentile(http, 50), 2), "p90": round(percentile(http, 90), 2), "count": len(http)},
        "overhead_p50_ms": round(percentile(lsp, 50) - percentile(http, 50), 2),
        "paired_overhead_p50_ms": round(statistics.median(paired), 2) if paired else None,
        "paired_overhead_p90_ms": round(percentile(paired, 90), 2) if paired else None,
        **run,
        "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
    }
    report["targets_met"] = {"overhead_p50_ms": report["overhead_p50_ms"] <= TARGETS["overhead_p50_ms"],
                             "first_completion_s": max(wall, default=0) <= TARGETS["first_completion_s"],
                             "client_log_errors": run["client_log_errors"] == TARGETS["client_log_errors"]}
    return report


def table(report):
    rows = [("first completion after start (s)", ", ".join(map(str, report["first_completion_s"])), "<= 2"),
            ("completion p50, LSP / HTTP (ms)", f"{report['lsp_ms']['p50']} / {report['http_ms']['p50']}", ""),
            ("p50 overhead, LSP - HTTP (ms)", f"{report['overhead_p50_ms']} (paired {report['paired_overhead_p50_ms']})",
             "<= 5"),
            ("answers as the HTTP server's", f"{report['answers_equal']} / {report['answers_compared']}", "all"),
            ("errors in the client's log", str(report["client_log_errors"]), "0")]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value:<24} {target}" for name, value, target in rows)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m servercheck.lsp_speed", description=__doc__.split("\n")[0])
    p.add_argument("--models", default=os.path.join(REPO, "model", "pretrained"), help="models dir both servers serve")
    p.add_argument("--files", nargs="*", help="Python files to type in (default: the standard library's)")
    p.add_argument("--steps", type=int, default=500, help="edits and Tabs in the scripted session")
    p.add_argument("--starts", type=int, default=3, help="cold starts timed to the first completion")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--debounce-ms", type=int, help="the language server's debounceMs (default: its own)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON line at the end")
    args = p.parse_args(argv)
    if args.steps < 1 or args.starts < 0:
        p.error("--steps must be at least 1 and --starts at least 0")
    texts = list(readable(args.files or sorted(glob.glob(os.path.join(stdlib_dir(), "*.py"))), 2000))
    if not texts:
        p.error("no file of 2000 characters or more to type in")
    wall, cpu = first_completion(args.models, args.starts)
    run = scripted_run(args.models, texts, args.steps, args.seed, progress_bar(True), args.debounce_ms)
    report = {"models": args.models, "steps": args.steps, **summary(wall, cpu, run)}
    print(table(report), file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
