import numpy as np

from model.serving.hints import (
    MATCH_EDGES,
    BufferHints,
    WordCache,
    match_predictions,
    match_resume,
    match_scan,
    mix_match,
    new_match_table,
)


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


def test_the_project_match_predicts_what_followed_in_another_file_and_never_peeks():
    from model.serving.hints import ProjectFiles

    other = "def load_settings(path, strict=True):\n    return parse(path)\n"
    project = ProjectFiles([np.array([ord(c) for c in other], np.int32)], other)
    buffer = "x = 2\nsettings = load_settings(pa"
    ids = np.array([ord(c) for c in buffer], np.int32)
    preds, lengths = project.predictions(ids)
    assert chr(preds[-1]) == "a" and lengths[-1] >= 5  # preds[i] says ids[i] from ids[:i]: "(p" -> "a"
    at = buffer.index("load_settings(") + len("load_settings(")
    assert chr(preds[at]) == "p" and lengths[at] >= 5
    assert preds[3] == -1  # "x = 2" is nowhere in the other file
    rng = np.random.default_rng(0)
    for i in rng.integers(1, len(ids), 10):
        changed = np.concatenate([ids[:i], rng.integers(32, 127, len(ids) - i).astype(np.int32)])
        p2, l2 = project.predictions(changed)
        assert (p2[i], l2[i]) == (preds[i], lengths[i])  # position i depends only on ids[:i]


def test_project_hints_follow_generated_ids():
    from model.serving.hints import ProjectFiles, ProjectHints

    other = "value = compute_everything(alpha, beta)\n"
    project = ProjectFiles([np.array([ord(c) for c in other], np.int32)], other)
    hints = ProjectHints(project, np.array([ord(c) for c in "y = 1\nvalue = compute_"], np.int32))
    pred, length = hints.match([])
    assert chr(pred) == "e" and length >= 5
    generated = [ord(c) for c in "everything(al"]
    pred, length = hints.match(generated)
    assert chr(pred) == "p" and length > 20
    assert ProjectHints(project, np.zeros(0, np.int32)).match([]) == (-1, 0)


def test_project_cache_cleans_each_file_once_and_reuses_a_set():
    from model.serving.hints import ProjectCache

    cleaned = []

    def clean(text):
        cleaned.append(text)
        return text

    def encode(text):
        return [ord(c) for c in text]

    cache = ProjectCache(max_files=2, max_chars=100)
    a, b, c = ("a.py", "alpha = 1\n"), ("b.py", "beta = 2\n"), ("c.py", "gamma = 3\n")
    first = cache.get([a, b], encode, clean)
    assert cache.get([a, b], encode, clean) is first and cleaned == [a[1], b[1]]  # unchanged: no work
    cache.get([b, c], encode, clean)
    assert cleaned == [a[1], b[1], c[1]]  # b's cleaning reused, only c cleaned
    assert cache.get([a, b, c], encode, clean) is first  # only the first max_files files count
    assert cache.get([("big.py", "x" * 101)], encode, clean) is None  # over the budget: none
    assert cache.get([], encode, clean) is None and cache.get(None, encode, clean) is None
    assert first.words.next_chars("al") == {"p": 1.0 + 0.0}


def test_word_cache_takes_the_words_after_the_cursor_less_the_rest_of_the_current_word():
    words = WordCache("alpha = 1\n", after="pha_tail = 2\nprint(alphabet, alphabet)\n")
    assert "pha_tail" not in words.counts and "alpha_tail" not in words.counts
    assert words.next_chars("alp") == {"h": words.counts["alpha"] + words.counts["alphabet"]}
    assert words.counts["alphabet"] > words.counts["alpha"]  # twice after the cursor against once
    near, far = WordCache("", after="\nfoo_a\n" + "x\n" * 50 + "foo_b\n").next_chars("foo_").values()
    assert near > far  # nearer the cursor weighs more


def test_mixing_the_match_into_one_distribution_is_mixing_it_into_a_row():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=5)
    preds, lengths = np.array([2, -1, 0, 5, 3]), np.array([5, 9, 64, 7, 200])
    weights = np.linspace(0.1, 0.9, len(MATCH_EDGES))
    rows = mix_match(p, preds, lengths, weights)
    for i in range(len(p)):
        one = mix_match(p[i], int(preds[i]), int(lengths[i]), weights)
        assert np.allclose(one, rows[i]) and np.isclose(one.sum(), 1.0)
    row = p[1]
    assert mix_match(row, -1, 0, weights) is row  # no match: the distribution as it was
