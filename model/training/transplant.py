"""Warm-start a new network from a model of another language: the LSTM layers are copied as they
are, and the embedding and output rows are copied character by character, for the characters
both vocabularies share (the rest keep their fresh initial values).

Fine-tuning (train's `base`) keeps the base model's vocab and cleaning; a C or Lua corpus has
characters Python's vocab lacks and is cleaned as C or Lua, so it gets its own vocab and only
what transfers is carried over: how code is laid out, brackets, names, indentation.
"""
import os

from model.serving import modeldir


class TransplantError(ValueError):
    """The source model's network does not fit the new one (other layer count or sizes)."""


def shape_of(source_dir):
    """(layers, units, embedding_dim) of the model in `source_dir`: the network a warm start takes."""
    network = modeldir.read_meta(source_dir)["network"]
    return network["layers"], network["units"], network["embedding_dim"]


def shared_rows(source_chars, target_chars):
    """(source id, target id) pairs for the characters both vocabularies hold, and the unknown
    id 0 to itself; a vocab's id i > 0 is its (i-1)-th char (model.text.vocab)."""
    source_ids = {c: i + 1 for i, c in enumerate(source_chars)}
    return [(0, 0)] + [(source_ids[c], i + 1) for i, c in enumerate(target_chars) if c in source_ids]


def transplant(target, target_chars, source_dir):
    """Copy the weights of the model in `source_dir` into the Keras model `target` (built for
    `target_chars`); returns the number of characters whose rows were carried over."""
    import keras

    meta, source_vocab, _ = modeldir.load(source_dir)
    source = keras.models.load_model(os.path.join(source_dir, modeldir.MODEL))
    rows = shared_rows(source_vocab.chars, target_chars)
    src, dst = zip(*rows)
    for layer in target.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        theirs = source.get_layer(layer.name).get_weights() if layer.name in _names(source) else None
        if theirs is None or [w.ndim for w in weights] != [w.ndim for w in theirs]:
            raise TransplantError(f"layer {layer.name} has no counterpart in {source_dir}")
        if layer.name in ("embedding", "logits") and weights[0].shape[-1 if layer.name == "embedding" else 0] != \
                theirs[0].shape[-1 if layer.name == "embedding" else 0]:
            raise TransplantError(f"layer {layer.name}: {theirs[0].shape} in {source_dir}, {weights[0].shape} "
                                  f"here; train with the source's network ({meta['network']})")
        if layer.name == "embedding":
            weights[0][list(dst)] = theirs[0][list(src)]
        elif layer.name == "logits":  # kernel (units, vocab) and bias (vocab,)
            weights[0][:, list(dst)] = theirs[0][:, list(src)]
            weights[1][list(dst)] = theirs[1][list(src)]
        elif [w.shape for w in weights] == [w.shape for w in theirs]:
            weights = theirs
        else:
            raise TransplantError(f"layer {layer.name}: {[w.shape for w in theirs]} in {source_dir}, "
                                  f"{[w.shape for w in weights]} here; train with the source's network "
                                  f"({meta['network']})")
        layer.set_weights(weights)
    return len(rows) - 1


def _names(model):
    return {layer.name for layer in model.layers}
