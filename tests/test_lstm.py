import os

import numpy as np

from model.serving import modeldir
from model.serving.lstm import Stepper

CODE = open(os.path.join(os.path.dirname(__file__), "conftest.py")).read()


def load_stepper(model_dir):
    """The network of a model dir, read without TensorFlow, and its vocab."""
    _, vocab, weights = modeldir.load(model_dir)
    return Stepper(*weights), vocab


def test_fast_path_matches_keras_along_500_chars(tiny_model):
    import keras

    model = keras.models.load_model(os.path.join(tiny_model, "model.keras"))
    stepper, vocab = load_stepper(tiny_model)
    ids = vocab.encode(CODE[:500])
    logits = model.predict(ids[None, :], verbose=0)[0]
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    state = stepper.zero_state()
    for t, char_id in enumerate(ids):
        state = stepper.step(char_id, state)
        assert np.abs(stepper.probs(state) - expected[t]).max() < 1e-4, t


def test_pipelined_run_equals_step_by_step(tiny_model):
    stepper, vocab = load_stepper(tiny_model)
    ids = vocab.encode(CODE[:1500])
    assert len(ids) >= stepper.PIPELINE_MIN  # the layers run on two threads
    state, outputs = stepper.run(ids, stepper.zero_state(), outputs=True)
    one = stepper.zero_state()
    for t, char_id in enumerate(ids):
        one = stepper.step(char_id, one)
        assert np.allclose(one[-1][0], outputs[t], atol=1e-6), t
    for (h1, c1), (h2, c2) in zip(state, one):
        assert np.allclose(h1, h2, atol=1e-6) and np.allclose(c1, c2, atol=1e-6)


def test_states_kept_along_a_pipelined_run_equal_separate_runs(tiny_model):
    stepper, vocab = load_stepper(tiny_model)
    ids = vocab.encode(CODE[:1500])
    positions = [1, 64, 700, len(ids)]
    final, hs, cs = stepper.run_all(ids, stepper.zero_state())
    kept = [stepper.state_at(hs, cs, p) for p in positions]
    for p, state in zip(positions, kept):
        alone = stepper.run(ids[:p], stepper.zero_state())
        for (h1, c1), (h2, c2) in zip(state, alone):
            assert np.allclose(h1, h2, atol=1e-6) and np.allclose(c1, c2, atol=1e-6), p
    for (h1, c1), (h2, c2) in zip(final, kept[-1]):
        assert np.array_equal(h1, h2) and np.array_equal(c1, c2)


def test_stepping_many_states_at_once_equals_stepping_each(tiny_model):
    stepper, vocab = load_stepper(tiny_model)
    states = [stepper.run(vocab.encode(text), stepper.zero_state()) for text in ("import os\n", "def f(x):\n    ", "")]
    ids = vocab.encode("s(r")
    many = stepper.step_many(ids, states)
    logits = stepper.logits_many(many)
    for char_id, state, got, row in zip(ids, states, many, logits):
        one = stepper.step(char_id, state)
        for (h1, c1), (h2, c2) in zip(one, got):
            assert np.allclose(h1, h2, atol=1e-5) and np.allclose(c1, c2, atol=1e-5)
        assert np.allclose(stepper.logits(one), row, atol=1e-4)
