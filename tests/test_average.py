import json
import os
import shutil

import numpy as np
import pytest

from model.serving import modeldir
from model.serving.completer import Completer
from model.text.vocab import Vocab
from model.training.average import AverageError, average, main, mean_weights


def _weights(model_dir):
    import keras

    return keras.models.load_model(os.path.join(model_dir, "model.keras"), compile=False).get_weights()


@pytest.fixture(scope="module")
def shifted_model(tiny_model, tmp_path_factory):
    """tiny_model's dir with every weight moved by a fixed amount: same shape, vocab and cleaning."""
    import keras

    out = str(tmp_path_factory.mktemp("shifted") / "model")
    shutil.copytree(tiny_model, out)
    model = keras.models.load_model(os.path.join(out, "model.keras"), compile=False)
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])
    modeldir.save_keras(model, os.path.join(out, "model.keras"))
    return out


def test_the_network_is_the_weighted_mean_and_the_dir_is_served(tiny_model, shifted_model, tiny_corpus, tmp_path):
    out = str(tmp_path / "avg")
    meta = average([tiny_model, shifted_model], tiny_corpus, out, weights=[1, 3], verbose=False)
    for got, a, b in zip(_weights(out), _weights(tiny_model), _weights(shifted_model)):
        np.testing.assert_allclose(got, (a + 3 * b) / 4, rtol=1e-5, atol=1e-6)
    assert [(e["model"], e["weight"]) for e in meta["training"]["averaged"]] == [
        (os.path.abspath(tiny_model), 1.0), (os.path.abspath(shifted_model), 3.0)]
    assert meta["match"]["fitted_on"].endswith(":val")
    trained = json.load(open(os.path.join(tiny_model, "meta.json")))["metrics"]["val"]
    assert meta["metrics"]["val"]["nats_per_char"] != trained["nats_per_char"]  # measured, not copied
    on_disk = json.load(open(os.path.join(out, "meta.json")))
    assert on_disk["training"]["averaged"][1]["weight"] == 3.0
    assert not os.path.exists(out + ".partial")
    assert os.path.exists(os.path.join(out, "curves.png"))
    Completer.load(out)  # loadable as served


def test_a_network_averaged_with_itself_measures_as_training_measured_it(tiny_model, tiny_corpus, tmp_path):
    meta = average([tiny_model, tiny_model], tiny_corpus, str(tmp_path / "same"), verbose=False)
    trained = json.load(open(os.path.join(tiny_model, "meta.json")))["metrics"]
    for split in ("val", "test"):
        assert meta["metrics"][split]["nats_per_char"] == pytest.approx(trained[split]["nats_per_char"], rel=1e-4)
        assert meta["metrics"][split]["accuracy"] == pytest.approx(trained[split]["accuracy"], abs=1e-4)


def test_a_project_models_figures_are_not_carried_over(tiny_model, tiny_corpus, tmp_path):
    learned = str(tmp_path / "learned")
    shutil.copytree(tiny_model, learned)
    meta = json.load(open(os.path.join(learned, "meta.json")))
    modeldir.write_meta(learned, {**meta, "project": {"root": "/p", "before": {}, "after": {}}})
    averaged = average([learned, tiny_model], tiny_corpus, str(tmp_path / "avg"), verbose=False)
    assert "project" not in averaged
    assert "project" not in json.load(open(tmp_path / "avg" / "meta.json"))


def test_networks_of_other_shapes_or_vocabs_are_refused(tiny_model, repeat_model, tiny_corpus, tmp_path):
    with pytest.raises(AverageError, match="network"):
        average([tiny_model, repeat_model], tiny_corpus, str(tmp_path / "a"), verbose=False)
    other_vocab = str(tmp_path / "other_vocab")
    shutil.copytree(tiny_model, other_vocab)
    chars = Vocab.load(os.path.join(other_vocab, "vocab.json")).chars
    modeldir.write_vocab(other_vocab, Vocab(chars[::-1]))  # same size, other ids
    with pytest.raises(AverageError, match="vocab"):
        average([tiny_model, other_vocab], tiny_corpus, str(tmp_path / "b"), verbose=False)
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "b")


@pytest.mark.parametrize("dirs, weights, message", [
    (1, None, "at least two"),
    (2, [1], "2 model dirs"),
    (2, [1, -1], ">= 0"),
    (2, [0, 0], "not all 0"),
])
def test_bad_arguments_are_refused(tiny_model, tiny_corpus, tmp_path, dirs, weights, message):
    with pytest.raises(AverageError, match=message):
        average([tiny_model] * dirs, tiny_corpus, str(tmp_path / "x"), weights=weights, verbose=False)


def test_mean_weights_weighs_each_array():
    a, b = [np.ones(3), np.zeros((2, 2))], [np.full(3, 3.0), np.ones((2, 2))]
    got = mean_weights([a, b], [3, 1])
    np.testing.assert_allclose(got[0], np.full(3, 1.5))
    np.testing.assert_allclose(got[1], np.full((2, 2), 0.25))


def test_the_cli_reports_errors_and_only_it_exits(tiny_model, tmp_path, capsys):
    assert main([tiny_model, str(tmp_path / "missing"), "--corpus", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no such model dir" in capsys.readouterr().err
