import numpy as np

from model.serving.adapt import Head, adapt, step
from model.serving.cache import CHUNK


def random_head(units=6, vocab=5, seed=0):
    rng = np.random.default_rng(seed)
    return Head(rng.normal(size=(units, vocab)).astype(np.float32), rng.normal(size=vocab).astype(np.float32))


def segment_loss(head, outputs, targets):
    return -float(head.log_probs(outputs)[np.arange(len(targets)), targets].sum())


def test_a_step_is_the_cross_entropys_gradient():
    head = random_head()
    rng = np.random.default_rng(1)
    outputs, targets = rng.normal(size=(4, 6)).astype(np.float32), np.array([0, 3, 3, 1])
    rate = 1e-3 * CHUNK
    stepped = step(head, outputs, targets, rate)
    # Against a central difference of the summed loss in one weight of each kind.
    eps = 1e-2
    for which, index in (("kernel", (2, 3)), ("bias", (1,))):
        plus, minus = (Head(head.kernel.astype(np.float64), head.bias.astype(np.float64)) for _ in range(2))
        getattr(plus, which)[index] += eps
        getattr(minus, which)[index] -= eps
        numeric = (segment_loss(plus, outputs, targets) - segment_loss(minus, outputs, targets)) / (2 * eps)
        moved = (getattr(head, which)[index] - getattr(stepped, which)[index]) / (rate / CHUNK)
        assert np.isclose(moved, numeric, rtol=1e-2, atol=1e-3), which


def test_the_head_learns_what_the_buffer_repeats():
    head = random_head()
    rng = np.random.default_rng(2)
    phrase_outputs, phrase_targets = rng.normal(size=(8, 6)).astype(np.float32), rng.integers(0, 5, 8)
    before = segment_loss(head, phrase_outputs, phrase_targets)
    heads = adapt(head, np.vstack([phrase_outputs] * 3), np.concatenate([phrase_targets] * 3), [8, 16, 24], rate=2.0)
    assert len(heads) == 3
    assert segment_loss(heads[-1], phrase_outputs, phrase_targets) < segment_loss(heads[0], phrase_outputs,
                                                                                  phrase_targets) < before


def test_trace_reads_each_segment_under_the_head_before_its_step():
    head = random_head()
    rng = np.random.default_rng(3)
    outputs, targets = rng.normal(size=(10, 6)).astype(np.float32), rng.integers(0, 5, 10)
    heads, rows = adapt(head, outputs, targets, [4, 7], rate=1.0, trace=True)
    assert rows.shape == (10, 5)
    assert np.allclose(rows[:4], head.log_probs(outputs[:4]))
    assert np.allclose(rows[4:7], heads[0].log_probs(outputs[4:7]))
    assert np.allclose(rows[7:], heads[1].log_probs(outputs[7:]))  # after the last end: no step taken


def test_empty_segments_take_no_step():
    head = random_head()
    heads = adapt(head, np.zeros((0, 6), np.float32), np.zeros(0, int), [0, 0], rate=1.0)
    assert all(h is head for h in heads)

