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


@contextlib.contextmanager
def running_server(models_dir, token):
    """Yields the server's URL once it prints its ready line; stops it afterwards."""
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
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its log
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
