"""hypertune: real sweeps of tiny real models (seconds a trial) on the tiny corpus.

The main sweep is killed for real after its first finished trial and resumed, and one of its
learning rates (1e39) makes the loss NaN for real, so one sweep covers the sweep, resume, a failed
trial and the best model dir. The SparkTrials test runs Spark in local mode, 2 trials at once.
"""
import csv
import json
import math
import os
import signal
import subprocess
import sys

import pytest

from model.serving.completer import Completer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
# Tiny models through the same --set overrides users have; the real spaces stay as they are.
TINY = ["--set", "layers=1", "--set", "units=8,16", "--set", "embedding_dim=8", "--set", "batch_size=4",
        "--set", "seq_len=32", "--epochs", "1", "--steps-per-epoch", "5", "--min-count", "1"]
DIVERGES = 1e39  # Adam steps of this size overflow float32: the first batch's loss is NaN


def sweep_cmd(corpus, out, *extra):
    return [sys.executable, "-m", "hypertune", "--corpus", corpus, "--out", out, *TINY, *extra]


def summary_lines(text):
    return [line for line in text.splitlines() if line.lstrip().startswith("trial ") and " | " in line]


def read_rows(out):
    with open(os.path.join(out, "results.csv")) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def resumed_sweep(tiny_corpus, tmp_path_factory):
    """A 3-trial random-search sweep, SIGKILLed once its first trial is reported, then resumed."""
    out = str(tmp_path_factory.mktemp("sweep") / "out")
    extra = ["--trials", "3", "--algo", "random", "--seed", "7", "--set", f"learning_rate=0.01,{DIVERGES:g}"]
    proc = subprocess.Popen(sweep_cmd(tiny_corpus, out, *extra), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    first_run = []
    for line in proc.stdout:  # ends at EOF if the sweep dies, so the loop is bounded
        first_run.append(line)
        if summary_lines(line):
            proc.send_signal(signal.SIGKILL)
            break
    proc.stdout.close()
    proc.wait()
    with open(os.path.join(out, "trials.json")) as f:
        before_kill = json.load(f)["trials"]
    refused = subprocess.run(sweep_cmd(tiny_corpus, out, *extra), cwd=ROOT, env=ENV, capture_output=True, text=True)
    resumed = subprocess.run(sweep_cmd(tiny_corpus, out, *extra, "--resume"), cwd=ROOT, env=ENV,
                             capture_output=True, text=True)
    return {"out": out, "killed_rc": proc.returncode, "first_run": "".join(first_run), "before_kill": before_kill,
            "refused": refused, "resumed": resumed}


def test_kill_then_resume_repeats_no_finished_trial(resumed_sweep):
    s = resumed_sweep
    assert s["killed_rc"] == -signal.SIGKILL
    assert len(s["before_kill"]) == 1, "the kill came right after the first trial was reported"
    assert s["refused"].returncode != 0 and "--resume" in s["refused"].stderr
    assert s["resumed"].returncode == 0, s["resumed"].stderr[-3000:]
    assert "resuming" in s["resumed"].stderr and "1 of 3 trials done" in s["resumed"].stderr
    lines = summary_lines(s["resumed"].stdout)
    assert [line.split()[1] for line in lines] == ["2/3", "3/3"]  # trial 1 was not run again
    with open(os.path.join(s["out"], "trials.json")) as f:
        after = json.load(f)["trials"]
    assert len(after) == 3
    assert after[0] == s["before_kill"][0]  # the finished trial's record is untouched
    dirs = [r["result"]["dir"] for r in after]
    assert len(set(dirs)) == 3
    assert sorted(os.listdir(os.path.join(s["out"], "trials")), key=int) == ["1", "2", "3"]


def test_sweep_results_record_the_diverged_trial_and_complete(resumed_sweep):
    out = resumed_sweep["out"]
    rows = read_rows(out)
    assert len(rows) == 3
    failed = [r for r in rows if r["status"] == "failed"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert failed and ok, "seed 7 draws both learning rates"
    for r in failed:
        assert float(r["learning_rate"]) == DIVERGES
        assert "NaN" in r["reason"] and r["stopped_by"] == "nan"
        assert r["val_loss"] == ""
    for r in ok:
        assert float(r["learning_rate"]) == 0.01
        assert math.isfinite(float(r["val_loss"])) and 0 <= float(r["val_accuracy"]) <= 1
        assert float(r["seconds_per_epoch"]) > 0 and int(r["epochs"]) == 1
        assert float(r["val_bits_per_char"]) == pytest.approx(float(r["val_loss"]) / math.log(2))
    assert rows[: len(ok)] == sorted(ok, key=lambda r: float(r["val_loss"]))  # best first, failures last
    with open(os.path.join(out, "trials.json")) as f:
        for record in json.load(f)["trials"]:
            assert record["result"]["status"] in ("ok", "fail")


def test_results_md_has_table_one_columns_best_first(resumed_sweep):
    out = resumed_sweep["out"]
    with open(os.path.join(out, "results.md")) as f:
        lines = [line for line in f.read().splitlines() if line.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head[:4] == ["trial", "n_modules", "lr", "batch_size"]
    for column in ("time per epoch (s)", "loss", "cat_acc", "val_loss", "val_acc", "epochs", "status"):
        assert column in head
    body = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert len(body) == 3
    assert body[0][0] == read_rows(out)[0]["trial"] and body[0][-1] == "ok"
    assert body[-1][-1].startswith("failed: diverged")


def test_sweep_png_is_written(resumed_sweep):
    path = os.path.join(resumed_sweep["out"], "sweep.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    height, width = matplotlib.image.imread(path).shape[:2]
    assert width > 2 * height  # a panel per trial plus one per searched hyperparameter, side by side


def test_best_model_dir_loads_in_the_completer(resumed_sweep):
    out = resumed_sweep["out"]
    best = read_rows(out)[0]
    completer = Completer.load(os.path.join(out, "best"))
    meta = completer.meta
    assert meta["metrics"]["val"]["nats_per_char"] == pytest.approx(float(best["val_loss"]))
    assert meta["network"]["units"] == int(best["units"])
    completion = completer.complete("def main(argv):\n    ", max_chars=10, stop="none")
    assert isinstance(completion.text, str) and len(completion.probs) == len(completion.text)
    assert not os.path.exists(os.path.join(out, "best", "checkpoints"))


def test_spark_local_mode_runs_two_trials_at_once(tiny_corpus, tmp_path):
    out = str(tmp_path / "spark")
    proc = subprocess.Popen(sweep_cmd(tiny_corpus, out, "--trials", "2", "--spark", "local[2]", "--parallelism", "2"),
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr[-3000:]
    assert len(summary_lines(stdout)) == 2
    with open(os.path.join(out, "trials.json")) as f:
        results = [r["result"] for r in json.load(f)["trials"]]
    assert [r["status"] for r in results] == ["ok", "ok"]
    # Two Spark Python workers, neither of them the driver, and their trials overlapped in time.
    pids = {r["pid"] for r in results}
    assert len(pids) == 2 and proc.pid not in pids
    assert max(r["started"] for r in results) < min(r["finished"] for r in results)
    Completer.load(os.path.join(out, "best"))


def test_an_impossible_trial_is_a_failed_result_not_an_exception(tiny_corpus, tmp_path):
    from hypertune.trial import run_trial

    params = {"layers": 1, "units": 8, "embedding_dim": 8, "dropout": 0.0, "seq_len": 100_000,
              "learning_rate": 0.01, "batch_size": 4}
    result = run_trial(params, {"corpus": tiny_corpus, "out": str(tmp_path), "epochs": 1, "patience": 1,
                                "steps_per_epoch": 2, "trial_minutes": 1, "deadline": None, "min_count": 1})
    assert result["status"] == "fail"
    assert "the train split has 7,720 chars, too few for 4 streams x 100000-char windows" in result["reason"]
    assert result["trial"] == 1 and os.path.exists(os.path.join(tmp_path, "trials", "1", "train.log"))


def test_bad_command_lines_say_what_is_wrong(tiny_corpus, tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "hypertune", *args], cwd=ROOT, env=ENV,
                              capture_output=True, text=True)

    missing = run("--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert missing.returncode != 0 and "not a corpus dir" in missing.stderr
    no_spark = run("--corpus", tiny_corpus, "--out", str(tmp_path / "o"), "--parallelism", "2")
    assert no_spark.returncode != 0 and "--spark" in no_spark.stderr
    bad_set = run("--corpus", tiny_corpus, "--out", str(tmp_path / "o"), "--set", "colour=3")
    assert bad_set.returncode != 0 and "unknown hyperparameter 'colour'" in bad_set.stderr
    assert not os.path.exists(tmp_path / "o")


def test_spaces_are_the_issues():
    import numpy as np
    from hyperopt.pyll.stochastic import sample

    from hypertune import spaces

    rng = np.random.default_rng(0)
    paper = [spaces.concrete(sample(spaces.build("paper"), rng=rng)) for _ in range(200)]
    assert {p["units"] for p in paper} == {128, 256}
    assert {p["learning_rate"] for p in paper} == {0.001, 0.01, 0.1}
    assert {p["batch_size"] for p in paper} == {128, 256, 512}
    assert {p["layers"] for p in paper} == {2}
    wide = [spaces.concrete(sample(spaces.build("wide"), rng=rng)) for _ in range(300)]
    assert {p["layers"] for p in wide} == {1, 2, 3}
    assert all(128 <= p["units"] <= 1024 and p["units"] % 64 == 0 for p in wide)
    assert all(1e-4 <= p["learning_rate"] <= 0.1 for p in wide)
    assert all(0 <= p["dropout"] <= 0.5 for p in wide)
    assert len({p["seq_len"] for p in wide}) > 1 and len({p["embedding_dim"] for p in wide}) > 1
    assert spaces.parse_set("batch-size=4,8") == ("batch_size", [4, 8])
    with pytest.raises(ValueError, match="must be ints"):
        spaces.parse_set("units=big")


def test_estimate_scales_measured_steps_to_a_corpus_epoch(tiny_corpus):
    from hypertune.estimate import seconds_per_epoch

    row = seconds_per_epoch({"train": 40_001, "val": 4_001}, units=8, batch_size=4, layers=1, embedding_dim=8,
                            seq_len=32, steps=2)
    assert (row["train_steps"], row["val_steps"]) == (312, 31)
    assert row["s_per_train_step"] > 0 and row["s_per_val_step"] > 0
    assert row["s_per_epoch"] == pytest.approx(312 * row["s_per_train_step"] + 31 * row["s_per_val_step"], abs=1)


def test_a_sweep_where_every_trial_fails_ends_with_its_table_and_a_clear_error(tiny_corpus, tmp_path):
    """The issue's case: a corpus too small for the space's batch sizes. hyperopt raises
    AllTrialsFailed at the end of such a sweep; the sweep prints its table and says why instead."""
    out = str(tmp_path / "failing")
    done = subprocess.run(sweep_cmd(tiny_corpus, out, "--trials", "2", "--set", "batch_size=512"), cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "AllTrialsFailed" not in done.stderr
    assert "| trial | n_modules | lr | batch_size |" in done.stdout
    assert done.stdout.count("failed: the train split has 7,720 chars") == 2  # both rows of the table, with the reason
    assert "2 trials (2 failed)" in done.stdout
    assert "error: every trial failed (2 of 2), so there is no best model; the reason: the train split has" in done.stderr
    assert "lower --batch-size or --seq-len" in done.stderr
    assert len(read_rows(out)) == 2 and not os.path.exists(os.path.join(out, "best"))
    assert sorted(os.listdir(os.path.join(out, "trials"))) == ["1", "2"]  # no work dir left behind


def test_the_code_shipped_to_spark_holds_every_module(tmp_path):
    """Spark's executors import the driver's model/ from this zip: its sub-packages must be in it."""
    import zipfile

    from hypertune.sweep import _code_zip

    names = zipfile.ZipFile(_code_zip(str(tmp_path))).namelist()
    assert {"model/__init__.py", "model/training/train.py", "model/serving/completer.py", "model/data/corpus.py",
            "hypertune/trial.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or not n.endswith(".py")]
