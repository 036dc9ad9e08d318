import json
import os
import shutil

import numpy as np
import pytest

from model.sample import (Completer, ModelDirError, StopRules, WordCache, _looping, match_predictions,
                          read_keras_weights)

CODE = open(os.path.join(os.path.dirname(__file__), "conftest.py")).read()


def test_fast_path_matches_keras_along_500_chars(tiny_model):
    import keras

    model = keras.models.load_model(os.path.join(tiny_model, "model.keras"))
    completer = Completer.load(tiny_model)
    ids = completer.vocab.encode(CODE[:500])
    logits = model.predict(ids[None, :], verbose=0)[0]
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    stepper, state = completer.stepper, completer.stepper.zero_state()
    for t, char_id in enumerate(ids):
        state = stepper.step(char_id, state)
        assert np.abs(stepper.probs(state) - expected[t]).max() < 1e-4, t


def test_pipelined_run_equals_step_by_step(tiny_model):
    stepper = Completer.load(tiny_model).stepper
    ids = Completer.load(tiny_model).vocab.encode(CODE[:1500])
    assert len(ids) >= stepper.PIPELINE_MIN  # the layers run on two threads
    state, outputs = stepper.run(ids, stepper.zero_state(), outputs=True)
    one = stepper.zero_state()
    for t, char_id in enumerate(ids):
        one = stepper.step(char_id, one)
        assert np.allclose(one[-1][0], outputs[t], atol=1e-6), t
    for (h1, c1), (h2, c2) in zip(state, one):
        assert np.allclose(h1, h2, atol=1e-6) and np.allclose(c1, c2, atol=1e-6)


def test_states_kept_along_a_pipelined_run_equal_separate_runs(tiny_model):
    completer = Completer.load(tiny_model)
    stepper, ids = completer.stepper, completer.vocab.encode(CODE[:1500])
    positions = [1, 64, 700, len(ids)]
    final, hs, cs = stepper.run_all(ids, stepper.zero_state())
    kept = [stepper.state_at(hs, cs, p) for p in positions]
    for p, state in zip(positions, kept):
        alone = stepper.run(ids[:p], stepper.zero_state())
        for (h1, c1), (h2, c2) in zip(state, alone):
            assert np.allclose(h1, h2, atol=1e-6) and np.allclose(c1, c2, atol=1e-6), p
    for (h1, c1), (h2, c2) in zip(final, kept[-1]):
        assert np.array_equal(h1, h2) and np.array_equal(c1, c2)


def test_cached_result_equals_uncached(tiny_model):
    warm = Completer.load(tiny_model)
    buffer = CODE[:1500]
    warm.complete(buffer[:1400])  # fills the cache with the buffer's first chunks
    previous = 1400
    for typed in (1420, 1450, 1500):
        got = warm.complete(buffer[:typed], stop="none", max_chars=30)
        assert got.new_chars <= typed - previous  # only the characters typed since were run
        previous = typed
        cold = Completer.load(tiny_model).complete(buffer[:typed], stop="none", max_chars=30)
        assert cold.new_chars > 1000
        assert (got.text, got.probs) == (cold.text, cold.probs)
    assert warm.cache.hits >= 3


def test_editing_the_last_line_reruns_only_that_line(tiny_model):
    completer = Completer.load(tiny_model)
    lines = CODE[:1400].rsplit("\n", 1)[0] + "\n"
    completer.complete(lines + "    value = compute(")
    completer.recent.clear()  # the line-start cache alone, without the recent requests' states
    edited = completer.complete(lines + "    value = other(", stop="none", max_chars=20)
    assert edited.new_chars == len("    value = other(")
    cold = Completer.load(tiny_model).complete(lines + "    value = other(", stop="none", max_chars=20)
    assert (edited.text, edited.probs) == (cold.text, cold.probs)


def test_stop_rules():
    line = StopRules("x = foo(", "", "line", 80)
    assert line.check(list("a, b)\n")) == "line"
    assert line.finish(list("a, b)\n"), [0.9] * 6, "line")[0] == "a, b)"
    assert StopRules("x = foo(", ")", "line", 80).check(list("a, b)")) == "suffix"
    block = StopRules("def f(x):", "", "block", 200)
    assert block.check(list("\n    y = x\n    return y\n")) is None
    text = "\n    y = x\n    return y\n\ndef"
    assert block.check(list(text)) == "block"
    assert block.finish(list(text), [0.9] * len(text), "block")[0] == "\n    y = x\n    return y"
    inner = StopRules("    if x:\n        a = 1\n        b", "", "block", 200)
    assert inner.check(list(" = 2\n    c")) == "block"
    assert StopRules("x", "", "none", 5).check(list("abcde")) == "max_chars"
    assert StopRules("x", "", "none", 500).check(list("abc\ndef\n")) is None


def test_loop_guard():
    assert _looping("x = 1" + " " * 16)
    assert _looping("foo(foo(foo(foo(")
    assert _looping("a = 1\nb = 2\nb = 2\nb = 2\n")
    assert not _looping("self.assertEqual(a, b)")
    assert not _looping(")))")


def test_completions_respect_stop_modes_and_gate(tiny_model):
    c = Completer.load(tiny_model)
    buffer = CODE[:800] + "\ndef main(argv):\n    for name in "
    line = c.complete(buffer, stop="line", max_chars=60)
    assert "\n" not in line.text and len(line.text) <= 60
    assert len(line.probs) == len(line.text)
    assert c.complete(buffer, stop="none", max_chars=25).stop_reason in ("max_chars", "repeat")
    assert c.complete(buffer, min_prob=1.0).text == ""  # nothing is certain
    gated = c.complete(buffer, stop="none", max_chars=40, min_prob=0.3)
    assert all(p >= 0.3 for p in gated.probs)
    three = c.complete(buffer, n=3, max_chars=20)
    assert 1 <= len(three.alternatives) <= 3 and three.alternatives[0] == three.text
    assert len(set(three.alternatives)) == len(three.alternatives)
    a = c.complete(buffer, temperature=0.9, seed=7, stop="none", max_chars=30)
    b = c.complete(buffer, temperature=0.9, seed=7, stop="none", max_chars=30)
    assert a.text == b.text  # seeded sampling is reproducible


def test_unknown_characters_and_comments(tiny_model):
    c = Completer.load(tiny_model)
    result = c.complete("s = '€😀'\x00\x07\nx = ", max_chars=20)
    assert "\ufffd" not in result.text and "\x1c" not in result.text
    assert c.complete("x = 1  # because", max_chars=20).stop_reason == "in_comment"
    assert c.complete("", max_chars=5).stop_reason  # an empty buffer is fine too


def test_model_that_loops_is_stopped(repeat_model):
    result = Completer.load(repeat_model).complete("x = x + 1\n" * 5, stop="none", max_chars=200)
    assert result.stop_reason == "repeat"
    assert len(result.text) < 60


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


def test_word_cache_votes_for_the_next_character_of_the_buffers_words():
    words = WordCache("alpha = alpine + alpha\nbeta = 1")
    votes = words.next_chars("alp")
    assert set(votes) == {"h", "i"} and votes["h"] > votes["i"] > 0  # alpha twice, alpine once
    assert set(words.next_chars("alpha")) == {None}  # the word ends there
    assert words.next_chars("gamma") == {}
    late, early = WordCache("foo_a foo_b").next_chars("foo_").values()
    assert early > late  # "foo_b" is nearer the cursor


def test_identifier_from_far_up_the_buffer_is_completed(tiny_model):
    buffer = "def distance_metric(data):\n    return data\n\n" + "x = 1\n" * 500 + "total = di"
    rest = "stance_metric"
    only_words = Completer.load(tiny_model, word_weight=1.0).complete(buffer, max_chars=30)
    assert only_words.text.startswith(rest)
    assert only_words.probs[:len(rest)] == [1.0] * len(rest)  # one candidate: sure of every character
    model_only = Completer.load(tiny_model, word_weight=0.0).complete(buffer, max_chars=30)
    mixed = Completer.load(tiny_model, word_weight=0.5).complete(buffer, max_chars=30)
    assert mixed.text.startswith(rest) and all(0.5 <= p <= 1 for p in mixed.probs[:len(rest)])
    assert not model_only.text.startswith(rest)  # the tiny model alone cannot know it
    with pytest.raises(ValueError, match="word_weight"):
        Completer.load(tiny_model, word_weight=1.5)


def test_match_model_predicts_what_followed_the_last_occurrence_and_never_peeks():
    text = "alpha(beta, gamma)\nzeta = 1\nalpha(beta, delta)\n"
    ids = np.array([ord(c) for c in text], np.int32)
    preds, lengths = match_predictions(ids)
    second = text.index("alpha", 1)
    at_g = second + len("alpha(beta, ")  # after 12 characters in common, it says "g"
    assert chr(preds[at_g]) == "g" and lengths[at_g] >= 12
    assert preds[5] == -1 and lengths[5] == 0  # the first time round, nothing to copy
    rng = np.random.default_rng(0)
    for i in rng.integers(1, len(ids), 20):
        changed = np.concatenate([ids[:i], rng.integers(32, 127, len(ids) - i).astype(np.int32)])
        p2, l2 = match_predictions(changed)
        assert (p2[i], l2[i]) == (preds[i], lengths[i])  # position i depends only on ids[:i]


def _with_match_weights(model_dir, tmp_path, weights):
    """A copy of model_dir with these match weights (None: without a match model)."""
    out = tmp_path / f"match_{len(list(tmp_path.iterdir()))}"
    shutil.copytree(model_dir, out)
    meta = json.loads((out / "meta.json").read_text())
    meta.pop("match", None)
    if weights is not None:
        meta["match"] = {"min": 5, "max": 64, "edges": [5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64], "weights": weights}
    (out / "meta.json").write_text(json.dumps(meta))
    return str(out)


def test_a_line_written_before_is_copied_with_the_match_model(tiny_model, tmp_path):
    buffer = "    result = compute_total(alpha, beta)\n" + "x = 1\n" * 20 + "    result = comp"
    copying = Completer.load(_with_match_weights(tiny_model, tmp_path, [0.9] * 11), word_weight=0.0)
    got = copying.complete(buffer, max_chars=40)
    assert got.text == "ute_total(alpha, beta)"
    assert all(p >= 0.9 for p in got.probs)
    network_only = Completer.load(_with_match_weights(tiny_model, tmp_path, None), word_weight=0.0)
    assert network_only.match_weights is None
    assert network_only.complete(buffer, max_chars=40).text != got.text  # the tiny network cannot know that line
    assert Completer.load(tiny_model).match_weights is not None  # model.train fits them on the val split


def test_unusable_match_weights_are_refused(tiny_model, tmp_path):
    with pytest.raises(ModelDirError, match="match"):
        Completer.load(_with_match_weights(tiny_model, tmp_path, [1.5] * 11))


def test_backspacing_reruns_only_what_differs(tiny_model):
    completer = Completer.load(tiny_model)
    lines = CODE[:1400].rsplit("\n", 1)[0] + "\n"
    completer.complete(lines + "    value = compute(alpha, beta")
    edited = completer.complete(lines + "    value = compute(alpha, gamma", stop="none", max_chars=20)
    assert edited.new_chars == len("gamma")  # back to where the two differ, not to the line start
    cold = Completer.load(tiny_model).complete(lines + "    value = compute(alpha, gamma", stop="none", max_chars=20)
    assert (edited.text, edited.probs) == (cold.text, cold.probs)
    again = completer.complete(lines + "    value = compute(alpha, gamma", stop="none", max_chars=20)
    assert again.new_chars == 0 and (again.text, again.probs) == (cold.text, cold.probs)
