"""For the editor plug-in tests: starts the real completion server (python -m server), and reads the
shared table of Tab cases (editor-plugin/shared/tab-cases.json) that every implementation runs."""
import contextlib
import json
import os
import subprocess
import sys
import threading
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ServerLog:
    """What the server prints after its ready line (the access log: JSON lines), as it arrives."""

    def __init__(self):
        self.records = []
        self.changed = threading.Condition()

    def add(self, line):
        try:
            record = json.loads(line)
        except ValueError:
            return
        with self.changed:
            self.records.append(record)
            self.changed.notify_all()

    def wait_for(self, predicate, after=0, timeout=60):
        """The first record from index `after` on matching predicate, waiting for the server's output to
        arrive (bounded)."""
        def found():
            return next((r for r in self.records[after:] if predicate(r)), None)

        with self.changed:
            assert self.changed.wait_for(lambda: found() is not None, timeout), self.records[-5:]
            return found()


@contextlib.contextmanager
def running_server(models_dir, token, log=None):
    """Yields the server's URL once it prints its ready line; stops it afterwards. With a ServerLog,
    its later output goes there."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", "0", "--models", str(models_dir), "--token", token],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(120, proc.kill)  # a server that never gets ready must not hang the suite
    watchdog.start()
    url, seen = None, []
    try:
        for _ in range(200):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "serving at " in line:
                url = line.split("serving at ", 1)[1].split()[0].rstrip("/")
                break
    finally:
        watchdog.cancel()
    if url is None:
        proc.kill()
        raise RuntimeError("server did not start:\n" + "".join(seen))
    def drain():  # keep draining its log
        for line in proc.stdout:
            if log is not None:
                log.add(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def post_complete(url, body, token):
    req = urllib.request.Request(url + "/complete", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


SHARED = os.path.join(ROOT, "editor-plugin", "shared")
with open(os.path.join(SHARED, "limits.json"), encoding="utf-8") as f:
    LIMITS = json.load(f)
with open(os.path.join(SHARED, "tab-cases.json"), encoding="utf-8") as f:
    TAB_CASES = json.load(f)


def expand(value):
    """The table's shorthand for long strings: {"repeat": S, "count": N or a limit's name, "plus": K}
    and {"concat": [...]}; everything else as it is."""
    if isinstance(value, list):
        return [expand(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "repeat" in value:
        count = LIMITS[value["count"]] if isinstance(value["count"], str) else value["count"]
        return value["repeat"] * (count + value.get("plus", 0))
    if "concat" in value:
        return "".join(expand(v) for v in value["concat"])
    return {k: expand(v) for k, v in value.items()}


def tab_cases(*groups):
    """(group, input, settings, expect) for each case of the groups, expanded, named for pytest ids."""
    import pytest

    params = []
    for group in groups:
        table = TAB_CASES[group]
        for case in table["cases"]:
            inp = case["input"] if "defaults" not in table else {**table["defaults"], **case["input"]}
            settings = {**table.get("settings_defaults", {}), **case.get("settings", {})}
            params.append(pytest.param(group, expand(inp), settings, expand(case["expect"]), id=f"{group}: {case['name']}"))
    return params
