"""server/metrics.py on a full file system: a real tmpfs of a few pages (mounted in a mount
namespace of its own by `unshare`, servercheck.faults.small_tmpfs_argv), filled for real; the
metrics in a process of their own, then under a real gunicorn. Before, the first write to a page
of a values file the disk had no room for killed the process with SIGBUS."""
import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from servercheck import faults
from servercheck.server import REPO, Server
from tests.server_helpers import make_models_dir

FILL = """
import os, sys
path = os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "filler")
with open(path, "wb", buffering=0) as f:
    try:
        while True:
            f.write(bytes(4096))
    except OSError:
        pass  # full
"""


@pytest.fixture
def small_fs(tmp_path):
    why_not = faults.tmpfs_unavailable(str(tmp_path))
    if why_not:
        pytest.skip(f"no tmpfs of its own here: {why_not}")
    mount = tmp_path / "small"
    mount.mkdir()
    return str(mount)


def run_on(mount, size, script):
    """Run `script` in a Python whose PROMETHEUS_MULTIPROC_DIR is a tmpfs of `size` bytes."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": mount}
    return subprocess.run([*faults.small_tmpfs_argv(mount, size), sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_metrics_on_a_full_disk_are_counted_and_logged_not_a_crash(small_fs):
    script = FILL + """
from server.hooks import setup_logging
from server.metrics import Metrics
setup_logging()
metrics = Metrics()
metrics.observe_request("complete", "POST", 200, 0.01)   # a new values file: no room for it (was SIGBUS)
metrics.observe_dropped("shed")
from server.metrics import FAILURES
print("failures", FAILURES.total())
body, _ = metrics.exposition()                            # the scrape still works
print(body.decode().count("tabcomplete_metrics_failures_total 2.0"))
"""
    out = run_on(small_fs, 1 << 20, script)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])  # -7: SIGBUS
    assert out.stdout.split() == ["failures", "2", "1"], out.stdout
    assert out.stderr.count('"event": "metrics_failed"') == 1  # logged once, not once a failure
    assert "No space left on device" in out.stderr


def test_a_values_file_that_must_grow_on_a_full_disk_fails_cleanly(small_fs):
    script = """
from server.metrics import Metrics
metrics = Metrics()
metrics.observe_request("complete", "POST", 200, 0.01)     # the counter's file: 64 kB, allocated
""" + FILL + """
for status in range(2000):                                  # new keys, past 64 kB: the file must grow (was SIGBUS)
    metrics.observe_request("complete", "POST", status, 0.01)
from server.metrics import FAILURES
print("failures", FAILURES.total())
"""
    out = run_on(small_fs, 1 << 20, script)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    failures = int(out.stdout.split()[1])
    assert 0 < failures < 2000  # the keys that fitted were kept; the rest counted


def test_workers_boot_and_serve_on_a_full_temp_dir(tiny_model, tmp_path, small_fs):
    """The temp dir (the model copy, the metrics files) full while the server runs, then a worker
    killed: its replacement boots, completions go on, /metrics answers and counts the failures."""
    models = make_models_dir(tiny_model, str(tmp_path / "models"))
    server = Server(models, str(tmp_path), 2, {"TMPDIR": small_fs}, wrap=faults.small_tmpfs_argv(small_fs, 32 << 20))
    try:
        server.start()
        assert faults.fill(server.proc.pid, small_fs) > 0
        os.kill(server.worker_pids()[0], signal.SIGKILL)
        server.wait_loaded(server.loaded + 1, seconds=30)
        for _ in range(6):
            assert requests.post(server.url + "/complete", json={"text": "x = "}, timeout=30).status_code == 200
        scrape = requests.get(server.url + "/metrics", timeout=30)
        assert scrape.status_code == 200
        failures = float(re.search(r"^tabcomplete_metrics_failures_total (\S+)$", scrape.text, re.MULTILINE).group(1))
        assert failures > 0
        assert server.proc.poll() is None
    finally:
        server.stop()
    log = server.log_text()
    assert "SIGBUS" not in log and '"event": "metrics_failed"' in log
