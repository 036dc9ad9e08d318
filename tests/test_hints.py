import numpy as np

from model.hints import BufferHints, WordCache, match_predictions, match_resume, match_scan, new_match_table


def test_word_cache_votes_for_the_next_character_of_the_buffers_words():
    words = WordCache("alpha = alpine + alpha\nbeta = 1")
    votes = words.next_chars("alp")
    assert set(votes) == {"h", "i"} and votes["h"] > votes["i"] > 0  # alpha twice, alpine once
    assert set(words.next_chars("alpha")) == {None}  # the word ends there
    assert words.next_chars("gamma") == {}
    late, early = WordCache("foo_a foo_b").next_chars("foo_").values()
    assert early > late  # "foo_b" is nearer the cursor


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


def test_buffer_hints_go_on_over_generated_ids_as_over_the_whole_text():
    rng = np.random.default_rng(1)
    line = rng.integers(1, 40, 50).astype(np.int32)
    buffer = np.concatenate([line, rng.integers(1, 40, 300).astype(np.int32), line[:20]])
    generated = list(line[20:]) + list(rng.integers(1, 40, 600))  # past the room kept after the buffer
    hints = BufferHints(ids=buffer)
    table = new_match_table()
    scratch = np.empty(len(buffer), np.int32)
    state = match_scan(buffer, scratch, scratch.copy(), table, len(buffer))
    for k in range(len(generated)):
        whole = np.concatenate([buffer, np.asarray(generated[:k], np.int32)])
        expected = match_resume(whole, len(buffer), table, *state) if k else hints.match([])
        assert hints.match(generated[:k]) == expected, k
    pred, length = hints.match(generated[:10])
    assert pred == line[30] and length >= 30  # the line written before is copied on
    assert BufferHints().match(generated) == (-1, 0)
