import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from model.data.corpus import CorpusError
from model.serving.completer import Completer
from model.serving.modeldir import ModelDirError
from model.training.train import TrainingError, main, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tiny_training_run_writes_a_complete_model_dir(tiny_model):
    for name in ("model.keras", "vocab.json", "meta.json", "history.csv", "curves.png"):
        assert os.path.getsize(os.path.join(tiny_model, name)) > 0, name
    meta = json.load(open(os.path.join(tiny_model, "meta.json")))
    for split in ("val", "test"):
        m = meta["metrics"][split]
        assert m["bits_per_char"] == pytest.approx(m["nats_per_char"] / 0.6931471805599453)
        assert 0 <= m["accuracy"] <= 1
    assert meta["versions"]["keras"].startswith("3.")
    assert meta["corpus"]["manifest_sha256"]
    rows = list(csv.DictReader(open(os.path.join(tiny_model, "history.csv"))))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    Completer.load(tiny_model)  # loadable as served


def _train_cmd(corpus, out, *extra):
    return [sys.executable, "-m", "model.training.train", "--corpus", corpus, "--out", out, "--units", "16",
            "--embedding-dim", "8", "--batch-size", "4", "--seq-len", "32", "--steps-per-epoch", "15",
            "--min-count", "1", "--verbose", "2", *extra]


def test_resume_after_kill_9(tiny_corpus, tmp_path):
    out = str(tmp_path / "run")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_train_cmd(tiny_corpus, out, "--epochs", "4"), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Kill it for real, mid-way through epoch 3 (after epochs 1 and 2 were checkpointed).
    for line in proc.stdout:
        if line.startswith("Epoch 3/4"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # The run works beside OUT: OUT itself is absent until complete, and the work dir is no model dir.
    assert not os.path.exists(out)
    state = json.load(open(os.path.join(out + ".partial", "checkpoints", "state.json")))
    assert state["epoch"] == 1
    with pytest.raises(ModelDirError, match="unfinished run.*--resume"):
        Completer.load(out + ".partial")
    with pytest.raises(subprocess.CalledProcessError):  # refuses to clobber a run without --resume
        subprocess.run(_train_cmd(tiny_corpus, out, "--epochs", "4"), cwd=ROOT, check=True, capture_output=True)
    # Resumed with no --epochs or --steps-per-epoch: the run keeps its own.
    resume_cmd = [a for a in _train_cmd(tiny_corpus, out) if a not in ("--steps-per-epoch", "15")] + [
        "--resume", "--learning-rate", "5e-4"]
    done = subprocess.run(resume_cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert "15 steps of 4x32 per epoch" in done.stderr
    assert "resuming" in done.stderr or "resuming" in done.stdout
    assert "Epoch 1/4" not in done.stdout and "Epoch 3/4" in done.stdout
    rows = list(csv.DictReader(open(os.path.join(out, "history.csv"))))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]
    meta = json.load(open(os.path.join(out, "meta.json")))
    assert meta["training"]["epochs_run"] == 4 and meta["match"]["weights"]
    # The rate each epoch ran at: the default at first (the plateau schedule may halve it), the
    # resume's from epoch 3.
    rates = meta["training"]["learning_rates"]
    assert len(rates) == 4 and rates[0] == pytest.approx(meta["training"]["learning_rate"]) == pytest.approx(2e-3)
    assert rates[2] == pytest.approx(5e-4) and rates[3] <= rates[2]
    assert not os.path.exists(out + ".partial")
    Completer.load(out)


def test_a_missing_corpus_raises_and_only_the_cli_exits(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(CorpusError, match="not a corpus dir"):
        train(str(tmp_path / "nope"), out, epochs=1, verbose=0)
    assert not os.path.exists(out)  # nothing written for a run that cannot start
    with pytest.raises(SystemExit, match="error: .* is not a corpus dir"):
        main(["--corpus", str(tmp_path / "nope"), "--out", out])


def test_stream_windows_counts_a_pass_without_building_it():
    from model.training.train import stream_dataset, stream_windows

    assert stream_windows(1000, 3, 10) == 33  # 3 rows of 333 ids, 33 whole windows each
    assert stream_dataset(np.arange(1000, dtype=np.int32), 3, 10)[1] == 33
    assert stream_windows(31, 3, 10) == 1  # 30 shifted ids: one window per row, just
    with pytest.raises(TrainingError, match="too small for 3 streams x seq 10"):
        stream_windows(30, 3, 10)


def test_streams_mix_in_a_second_text_in_the_last_rows():
    from model.training.train import stream_dataset

    main_ids, mix_ids = np.arange(1000, dtype=np.int32), np.arange(5000, 5300, dtype=np.int32)
    ds, n_windows = stream_dataset(main_ids, 4, 10, mix_ids=mix_ids, mix_rows=1)
    assert n_windows == 33  # a pass over the main text, in its 3 rows of 333
    x, y = [(a.numpy(), b.numpy()) for a, b in ds.take(31)][30]  # step 30: the mixed row has wrapped
    assert x[:3, 0].tolist() == [300, 633, 966] and (y == x + 1).all()
    assert x[3, 0] == 5000 + (30 % 29) * 10  # its own 299 chars are 29 windows


def test_a_run_mixes_in_a_second_corpus_and_a_resume_keeps_it(tiny_corpus, tmp_path):
    from model.data.corpus import build_corpus

    src = tmp_path / "other"
    src.mkdir()
    for i in range(6):
        (src / f"o{i}.py").write_text("".join(f"def f{j}_{i}(x):\n    return x * {j + i}\n\n\n" for j in range(40)))
    other = str(tmp_path / "other-corpus")
    build_corpus(other, [("other", str(src))], val_frac=0.2, test_frac=0.2, progress=False)
    out = str(tmp_path / "run")
    train(tiny_corpus, out, units=16, embedding_dim=8, batch_size=4, seq_len=32, epochs=1, steps_per_epoch=5,
          min_count=1, sample_every=0, verbose=0, mix=(other, 0.25), install=False)
    state = json.load(open(os.path.join(out + ".partial", "checkpoints", "state.json")))
    assert state["config"]["training"]["mix"]["streams"] == 1
    meta = train(tiny_corpus, out, epochs=2, resume=True, verbose=0, sample_every=0)
    assert meta["training"]["mix"] == {**state["config"]["training"]["mix"], "corpus": os.path.abspath(other)}
    assert meta["training"]["epochs_run"] == 2
    with pytest.raises(TrainingError, match="leaves no stream"):
        train(tiny_corpus, str(tmp_path / "b"), batch_size=4, seq_len=32, epochs=1, verbose=0, mix=(other, 0.05))
    with pytest.raises(SystemExit):  # the CLI names the form it wants
        main(["--corpus", tiny_corpus, "--out", str(tmp_path / "c"), "--mix", "no-share"])


def test_keep_last_makes_the_model_of_the_last_checkpoint(tiny_corpus, tmp_path):
    """--keep last: the model dir is the last epoch's weights, not the best by val (after an
    annealing on a mix, say, whose aim the main val does not measure)."""
    import keras

    from model.serving import modeldir

    out = str(tmp_path / "run")
    train(tiny_corpus, out, units=16, embedding_dim=8, batch_size=4, seq_len=32, epochs=1, steps_per_epoch=5,
          min_count=1, sample_every=0, verbose=0, install=False)
    work = out + ".partial"
    best = keras.models.load_model(modeldir.checkpoint(work, modeldir.BEST))
    best.set_weights([w * 0.5 for w in best.get_weights()])  # a best checkpoint unlike the last
    best.save(modeldir.checkpoint(work, modeldir.BEST))
    for keep, which in (("last", modeldir.LAST), ("best", modeldir.BEST)):
        meta = train(tiny_corpus, out, resume=True, verbose=0, sample_every=0, install=False, keep=keep)
        written = keras.models.load_model(os.path.join(work, modeldir.MODEL)).get_weights()
        expected = keras.models.load_model(modeldir.checkpoint(work, which)).get_weights()
        assert meta["training"]["kept"] == keep
        assert all(np.allclose(a, b) for a, b in zip(written, expected))
    with pytest.raises(TrainingError, match="keep must be"):
        train(tiny_corpus, out, resume=True, verbose=0, sample_every=0, install=False, keep="newest")
