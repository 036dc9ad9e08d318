import os

import numpy as np
import pytest

from model.serving import modeldir
from model.serving.adapt import Head, adapt
from model.serving.cache import RecentStates, StateCache, cache_points
from model.serving.lstm import Stepper
from model.serving.reading import ContextReader

CODE = open(os.path.join(os.path.dirname(__file__), "conftest.py")).read()


def reader_for(model_dir, rate=None):
    _, vocab, weights = modeldir.load(model_dir)
    stepper = Stepper(*weights)
    return ContextReader(stepper, vocab.index.get("\n"), StateCache(), RecentStates(), rate), vocab


def head_from_scratch(reader, ids):
    """The head adapted along the whole of ids, every cache point a segment's end."""
    _, outputs = reader.stepper.run(ids[:-1], reader.stepper.zero_state(), outputs=True)
    ends = [p - 1 for p in cache_points(ids, reader.newline_id) if p > 1] + [len(ids) - 1]
    return adapt(reader.base, outputs, ids[1:], ends, reader.rate)[-1]


def test_without_a_rate_the_head_is_the_networks_own(tiny_model):
    reader, vocab = reader_for(tiny_model)
    ids = vocab.encode(CODE[:300])
    state, new, head = reader.read(ids)
    assert head is None and new == len(ids)
    expected = reader.stepper.run(ids, reader.stepper.zero_state())
    assert np.allclose(state[-1][0], expected[-1][0], atol=1e-6)


def test_the_head_resumed_from_the_caches_is_the_one_read_from_the_start(tiny_model):
    warm, vocab = reader_for(tiny_model, rate=2.0)
    buffer = CODE[:1500]
    warm.read(vocab.encode(buffer[:1400]))
    for typed in (1420, 1450, 1500):
        ids = vocab.encode(buffer[:typed])
        _, new, head = warm.read(ids)
        assert new <= typed - 1400 + 64  # from a cache point on the last lines, not the start
        cold, _ = reader_for(tiny_model, rate=2.0)
        _, cold_new, cold_head = cold.read(ids)
        assert cold_new == len(ids)
        expected = head_from_scratch(cold, ids)
        for got in (head, cold_head):
            assert np.allclose(got.kernel, expected.kernel, atol=1e-5) and np.allclose(got.bias, expected.bias, atol=1e-5)
        assert not np.allclose(head.kernel, warm.base.kernel)  # it did adapt


def test_a_cached_state_without_its_head_is_not_resumed(tiny_model):
    reader, vocab = reader_for(tiny_model, rate=2.0)
    ids = vocab.encode(CODE[:800])
    reader.read(ids)
    reader.heads.entries.clear()  # evicted: the states alone are still cached
    _, new, head = reader.read(ids)
    assert new == len(ids)
    expected = head_from_scratch(reader, ids)
    assert np.allclose(head.kernel, expected.kernel, atol=1e-5)


@pytest.mark.parametrize("context_chars", [10_000, 250])
def test_adapted_log_probs_restart_every_context(tiny_model, context_chars):
    reader, vocab = reader_for(tiny_model, rate=0.3)
    ids = vocab.encode(CODE[:600])
    _, outputs = reader.stepper.run(ids[:-1], reader.stepper.zero_state(), outputs=True)
    rows = reader.adapted_log_probs(ids, outputs, context_chars)
    assert rows.shape == (len(ids) - 1, len(reader.base.bias))
    plain = reader.base.log_probs(outputs)
    assert np.allclose(rows[:20], plain[:20], atol=1e-5)  # the first segment: nothing read yet
    if context_chars < len(outputs):  # a new block starts from the network's own head again
        first = next(p - 1 for p in cache_points(ids, reader.newline_id) if p - 1 > context_chars)
        assert np.allclose(rows[context_chars:first], plain[context_chars:first], atol=1e-5)
        assert not np.allclose(rows[context_chars - 50:context_chars], plain[context_chars - 50:context_chars])
    else:
        ends = [p - 1 for p in cache_points(ids, reader.newline_id)] + [len(outputs)]
        assert np.allclose(rows, adapt(reader.base, outputs, ids[1:], ends, 0.3, trace=True)[1], atol=1e-6)
    targets = ids[1:]
    nll = lambda logp: -logp[np.arange(len(targets)), targets].sum()
    assert nll(rows) < nll(plain)  # code repeats itself: the adapted head reads it better


@pytest.mark.parametrize("text", ["x" * 2000, "\n" * 2000, "".join(chr(33 + (i * 7919) % 90) for i in range(2000))])
def test_an_odd_buffer_leaves_a_usable_head(tiny_model, text):
    reader, vocab = reader_for(tiny_model, rate=3.0)
    state, new, head = reader.read(vocab.encode(text))
    logp = head.log_probs(state[-1][0][None])
    assert new == len(text) and np.isfinite(logp).all() and np.isclose(np.exp(logp).sum(), 1.0, atol=1e-4)
