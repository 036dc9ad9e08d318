import json
import os

import numpy as np
import pytest

from model.data.corpus import build_corpus
from model.serving import modeldir
from model.text.vocab import Vocab
from model.training import network
from model.training.train import main
from model.training.transplant import TransplantError, shape_of, shared_rows, transplant

C_SOURCE = """#include <stdio.h>

static int add(int a, int b) {
    return a + b; /* sum */
}

int main(void) {
    printf("%d\\n", add(1, 2));
    return 0;
}
"""


def test_shared_rows_pair_each_common_character_and_the_unknown_id():
    assert shared_rows(["a", "b", "c"], ["c", "#", "a"]) == [(0, 0), (3, 1), (1, 3)]
    assert shared_rows(["a"], ["#"]) == [(0, 0)]


def test_transplant_copies_lstm_weights_and_the_rows_of_shared_characters(tiny_model):
    source_chars = Vocab.load(os.path.join(tiny_model, modeldir.VOCAB)).chars
    target_chars = ["#", "{", *source_chars[:5]]  # two characters Python's tiny vocab may lack, five it has
    layers, units, embedding_dim = shape_of(tiny_model)
    target = network.build_model(len(target_chars) + 1, embedding_dim=embedding_dim, layers=layers, units=units)
    fresh = {layer.name: [w.copy() for w in layer.get_weights()] for layer in target.layers}
    carried = transplant(target, target_chars, tiny_model)

    import keras
    source = keras.models.load_model(os.path.join(tiny_model, modeldir.MODEL))
    for i in range(layers):
        for mine, theirs in zip(target.get_layer(f"lstm_{i}").get_weights(), source.get_layer(f"lstm_{i}").get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    emb, src_emb = target.get_layer("embedding").get_weights()[0], source.get_layer("embedding").get_weights()[0]
    kernel, bias = target.get_layer("logits").get_weights()
    src_kernel, src_bias = source.get_layer("logits").get_weights()
    for src_id, dst_id in shared_rows(source_chars, target_chars):
        np.testing.assert_array_equal(emb[dst_id], src_emb[src_id])
        np.testing.assert_array_equal(kernel[:, dst_id], src_kernel[:, src_id])
        assert bias[dst_id] == src_bias[src_id]
    assert carried == len(shared_rows(source_chars, target_chars)) - 1 >= 5
    for dst_id, char in enumerate(target_chars, start=1):  # a character the source never saw keeps its fresh row
        if char not in source_chars:
            np.testing.assert_array_equal(emb[dst_id], fresh["embedding"][0][dst_id])


def test_a_network_of_another_shape_is_refused(tiny_model):
    layers, units, embedding_dim = shape_of(tiny_model)
    wider = network.build_model(4, embedding_dim=embedding_dim, layers=layers, units=units + 8)
    with pytest.raises(TransplantError, match="lstm_0"):
        transplant(wider, ["a", "b", "c"], tiny_model)


def test_a_c_run_warm_started_from_the_python_model_trains_and_records_it(tiny_model, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(10):
        (src / f"f{i}.c").write_text(C_SOURCE.replace("add", f"add{i}"))
    corpus = str(tmp_path / "corpus")
    build_corpus(corpus, [("src", str(src))], exts=(".c",), val_frac=0.2, test_frac=0.2, progress=False)
    out = str(tmp_path / "c")
    main(["--corpus", corpus, "--out", out, "--warm-start", tiny_model, "--batch-size", "2", "--seq-len", "16",
          "--epochs", "1", "--steps-per-epoch", "3", "--min-count", "1", "--verbose", "0"])
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    assert meta["language"] == "c"
    assert meta["training"]["warm_start"] == os.path.abspath(tiny_model)
    assert [meta["network"][k] for k in ("layers", "units", "embedding_dim")] == list(shape_of(tiny_model))
    assert "#" in Vocab.load(os.path.join(out, "vocab.json")).chars  # the corpus's own vocab
