"""Warm-start a new network from a model of another language: the LSTM layers are copied as they
are, and the embedding and output rows are copied character by character, for the characters
both vocabularies share (the rest keep their fresh initial values).

Fine-tuning (train's `base`) keeps the base model's vocab and cleaning; a C or Lua corpus has
characters Python's vocab lacks and is cleaned as C or Lua, so it gets its own vocab and only
what transfers is carried over: how code is laid out, brackets, names, indentation.
"""
import os

import numpy as np

from model.serving import modeldir

# The axis indexed by character in each weight of a layer whose size is the vocab's: the
# embedding's rows; the output layer's kernel columns and bias entries (both its last axis).
VOCAB_AXIS = {"embedding": 0, "logits": -1}


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
    src, dst = (list(ids) for ids in zip(*rows))
    source_layers = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if layer.name not in source_layers:
            raise TransplantError(f"layer {layer.name} has no counterpart in {source_dir}")
        theirs = source_layers[layer.name].get_weights()
        axis = VOCAB_AXIS.get(layer.name)
        if [_shape_but(w, axis) for w in weights] != [_shape_but(w, axis) for w in theirs]:
            raise TransplantError(f"layer {layer.name}: {[w.shape for w in theirs]} in {source_dir}, "
                                  f"{[w.shape for w in weights]} here; train with the source's network "
                                  f"({meta['network']})")
        for mine, their in zip(weights, theirs):
            if axis is None:
                mine[...] = their
            else:  # the rows (or columns) of the characters both vocabs hold
                np.put_along_axis(mine, _ids(dst, mine.ndim, axis), np.take(their, src, axis=axis), axis=axis)
        layer.set_weights(weights)
    return len(rows) - 1


def _shape_but(weight, axis):
    """A weight's shape less its character axis (None: the whole shape)."""
    return weight.shape if axis is None else tuple(np.delete(weight.shape, axis))


def _ids(ids, ndim, axis):
    """`ids` shaped to index `axis` of an array of `ndim` dimensions (put_along_axis's indices)."""
    shape = [1] * ndim
    shape[axis] = len(ids)
    return np.reshape(ids, shape)
