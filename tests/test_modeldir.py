import json
import os
import shutil

import pytest

from model.serving import modeldir
from model.serving.completer import Completer
from model.serving.modeldir import ModelDirError


def test_missing_or_corrupt_model_dir(tiny_model, tmp_path):
    with pytest.raises(ModelDirError, match="no such model dir"):
        Completer.load(str(tmp_path / "nope"))
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    os.remove(broken / "vocab.json")
    with pytest.raises(ModelDirError, match="missing vocab.json"):
        Completer.load(str(broken))
    shutil.copy(os.path.join(tiny_model, "vocab.json"), broken / "vocab.json")
    (broken / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelDirError, match="not a readable .keras file"):
        Completer.load(str(broken))
    shutil.copy(os.path.join(tiny_model, "model.keras"), broken / "model.keras")
    (broken / "meta.json").write_text("{oops")
    with pytest.raises(ModelDirError, match="meta.json: corrupt"):
        Completer.load(str(broken))
    meta = json.load(open(os.path.join(tiny_model, "meta.json")))
    meta["network"]["units"] = 999
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelDirError, match="meta.json says"):
        Completer.load(str(broken))
    vocab = json.load(open(os.path.join(tiny_model, "vocab.json")))
    (broken / "meta.json").write_text(json.dumps(json.load(open(os.path.join(tiny_model, "meta.json")))))
    (broken / "vocab.json").write_text(json.dumps({"chars": vocab["chars"][:-3]}))
    with pytest.raises(ModelDirError, match="vocab has"):
        Completer.load(str(broken))


def test_writes_are_whole_or_not_at_all(tmp_path):
    path = str(tmp_path / "meta.json")
    modeldir.write_json(path, {"a": 1})
    modeldir.write_json(path, {"a": 2})
    assert json.load(open(path)) == {"a": 2} and os.listdir(tmp_path) == ["meta.json"]


def test_copy_swaps_in_a_whole_model_dir_without_checkpoints(tiny_model, tmp_path):
    dest = str(tmp_path / "best")
    (tmp_path / "extra.json").write_text("{}")
    shutil.copy(tmp_path / "extra.json", os.path.join(tiny_model, "extra.json"))
    try:
        modeldir.copy(tiny_model, dest, extra=("extra.json",))
    finally:
        os.remove(os.path.join(tiny_model, "extra.json"))
    assert sorted(os.listdir(dest)) == sorted(modeldir.FILES + ("extra.json",))
    modeldir.copy(tiny_model, dest)  # again, over the old copy
    assert sorted(os.listdir(dest)) == sorted(modeldir.FILES) and sorted(os.listdir(tmp_path)) == ["best", "extra.json"]
    Completer.load(dest)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.__setitem__("language", 5), "'language' must be a non-empty string"),
    (lambda m: m["network"].__setitem__("vocab_size", 300), "network.vocab_size is 300"),
    (lambda m: m["network"].__setitem__("embedding_dim", 7), "network.embedding_dim is 7"),
    (lambda m: m.__setitem__("extension", "py"), "'extension' must start with '.'"),
    (lambda m: m.__setitem__("cleaning", [1]), "'cleaning' must be an object"),
    (lambda m: m.__setitem__("policy", "fast"), "'policy' must be an object"),
    (lambda m: m.__setitem__("name_weights", {"popularity": 1.0}), "'name_weights' must map"),
    (lambda m: m.__setitem__("name_weights", {"uses": "high"}), "'name_weights' must map"),
    (lambda m: m.__setitem__("name_weights", [1.0]), "'name_weights' must map"),
    (lambda m: m.__setitem__("name_floor", "model"), "'name_floor' must be 'ranking', 'calibrated' or 'decoder'"),
    (lambda m: m.__setitem__("whole_names", "false"), "'whole_names' must be true or false"),
    (lambda m: m.__setitem__("rank_names", 0), "'rank_names' must be true or false"),
    (lambda m: m.__setitem__("adapt", {"rate": "3"}), "'adapt' must be"),
    (lambda m: m.__setitem__("adapt", {"rate": 0}), "'adapt' must be"),
    (lambda m: m.__setitem__("adapt", {"rate": True}), "'adapt' must be"),
    (lambda m: m.__setitem__("adapt", {"rate": 3, "decay": 0.1}), "'adapt' must be"),
    (lambda m: m.__setitem__("adapt", 3.0), "'adapt' must be"),
])
def test_meta_fields_are_checked_against_the_weights(tiny_model, tmp_path, change, message):
    import json
    import shutil

    from model.serving import modeldir

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    meta = json.loads((broken / "meta.json").read_text())
    change(meta)
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(modeldir.ModelDirError, match=message) as err:
        modeldir.load(str(broken))
    assert "meta.json" in str(err.value)


def test_a_model_dir_is_complete_or_absent(tiny_model, tmp_path):
    """The rule: no meta.json, no model dir. A run writes OUT.partial, its meta waiting as
    pending-meta.json; install() puts meta.json in place last, then renames the dir into place."""
    from server.models import model_dirs

    models = tmp_path / "models"
    out = str(models / "mine")
    work = modeldir.start_work(out, resume=False)
    assert work == out + ".partial" and os.path.isdir(os.path.join(work, "checkpoints"))
    for name in ("model.keras", "vocab.json", "history.csv", "curves.png"):
        shutil.copy(os.path.join(tiny_model, name), os.path.join(work, name))
    meta = json.load(open(os.path.join(tiny_model, "meta.json")))
    modeldir.write_json(modeldir.checkpoint(work, modeldir.STATE), {"epoch": 0})
    with pytest.raises(ModelDirError, match="unfinished run's work dir.*--resume"):
        Completer.load(work)  # killed before its meta was written
    with pytest.raises(ModelDirError, match="nothing to install"):
        modeldir.install(work, out)
    modeldir.write_meta(work, meta, pending=True)
    with pytest.raises(ModelDirError, match="unfinished run's work dir"):
        Completer.load(work)  # complete but not installed: still not a model dir
    assert modeldir.load(work, pending=True)[0] == meta  # what model.training.learn measures before installing
    assert not os.path.exists(out)
    (models / "python").mkdir()  # the server's scan sees only dirs with meta.json: not the work dir
    shutil.copytree(tiny_model, str(models / "python"), dirs_exist_ok=True)
    assert model_dirs(str(models)) == [str(models / "python")]
    with pytest.raises(ModelDirError, match="holds an unfinished run.*--resume"):
        modeldir.start_work(out, resume=False)
    (tmp_path / "models" / "mine").mkdir()
    (tmp_path / "models" / "mine" / "train.log").write_text("log")  # e.g. a sweep trial's log: kept
    modeldir.install(work, out)
    assert not os.path.exists(work) and sorted(os.listdir(out)) == sorted(
        ["checkpoints", "curves.png", "history.csv", "meta.json", "model.keras", "train.log", "vocab.json"])
    Completer.load(out)
    assert model_dirs(str(models)) == [out, str(models / "python")]


def test_training_summary_describes_an_averaged_model_as_one():
    run = {"training": {"epochs_run": 14, "best_epoch": 12, "train_chars": 100, "seq_len": 128, "batch_size": 64}}
    assert modeldir.training_summary(run) == {"epochs_run": 14, "best_epoch": 12, "train_chars": 100, "seq_len": 128,
                                              "batch_size": 64}
    averaged = {"training": {**run["training"], "averaged": [
        {"model": "/x/e14", "weight": 1.0, "epochs_run": 14, "val": {}},
        {"model": "/x/e16", "weight": 1.0, "epochs_run": 16}]}}
    summary = modeldir.training_summary(averaged)
    assert summary["averaged"] == [{"epochs_run": 14, "weight": 1.0}, {"epochs_run": 16, "weight": 1.0}]
    assert "epochs_run" not in summary and "best_epoch" not in summary  # the first dir's, not the model's
    assert modeldir.training_summary({}) == {}


def test_read_meta_names_what_is_wrong(tmp_path):
    with pytest.raises(ModelDirError, match="unreadable"):
        modeldir.read_meta(str(tmp_path))
    (tmp_path / "meta.json").write_text("[1, 2]")
    with pytest.raises(ModelDirError, match="corrupt"):
        modeldir.read_meta(str(tmp_path))
    (tmp_path / "meta.json").write_text('{"network": {}, "language": "lua"}')
    assert modeldir.read_meta(str(tmp_path))["language"] == "lua"
