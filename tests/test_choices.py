"""model/serving/choices.py: what a unit is, and the best-first search that ranks them."""
import numpy as np
import pytest

from model.serving.choices import drop_retyped, ranked_choices, unit_length
from model.serving.walk import TextWalk


@pytest.mark.parametrize("text, in_word, length", [
    ("th", True, None),            # still inside the name
    ("th.", True, 3),              # the name and the dot it takes with it
    ("th(", True, 3),
    ("th ", True, 2),              # a space ends the name, and is not part of it
    ("th\n", True, 2),
    ("(", True, 1),                # the name was whole: the mark after it
    ("\n", False, 0),              # the line ends here: no unit
    ("__name__", False, None),
    ("__name__)", False, 9),
    ("x = ", False, 1),
    (" None", False, None),        # after a keyword: one space, then the token
    (" None\n", False, 5),
    ("  ", False, 0),              # two spaces: no unit
    ('"__main__"', False, None),   # what follows the string decides
    ('"__main__":', False, 11),
    ('"a" ', False, 3),
    ('"abc\n', False, 0),          # an unclosed string at the end of the line
    ("()", False, None),
    ("():", False, 3),             # at most three marks
    ("()\n", False, 2),
    (") ", False, 1),
])
def test_unit_length(text, in_word, length):
    assert unit_length(text, in_word) == length


def test_a_retyped_closing_mark_is_dropped():
    assert drop_retyped("msg)", ")") == "msg"
    assert drop_retyped("msg)", "") == "msg)"
    assert drop_retyped("x.", ".y") == "x."  # only closing marks


class Model:
    """A fake next-character model: a table from text generated so far to its distribution,
    read through a TextWalk whose state is the text's length."""
    chars = list("abc.(\n ")

    def __init__(self, table):
        self.table = table
        self.walk = TextWalk(0, self.step_many, self.logits_many, self.chars.index,
                             lambda states, texts: [self.distribution(s, t) for s, t in zip(states, texts)])
        self.steps = []  # how many states each network step advanced

    def step_many(self, ids, states):
        self.steps.append(len(states))
        return [state + 1 for state in states]

    def logits_many(self, states):
        return list(states)

    def distribution(self, state, text):
        assert state == len(text)  # each text is read in its own state
        p = np.zeros(len(self.chars))
        for char, prob in self.table.get(text, {"\n": 1.0}).items():
            p[self.chars.index(char)] = prob
        return p


def search(table, k, model=None, **kw):
    model = model or Model(table)
    return ranked_choices(model.walk.distributions, lambda i: model.chars[i], k, in_word=False, **kw)


def test_choices_are_ranked_distinct_and_whole():
    table = {"": {"a": 0.6, "b": 0.4}, "a": {"b": 0.5, ".": 0.5}, "ab": {"(": 0.9, "\n": 0.1},
             "b": {"c": 1.0}, "bc": {" ": 1.0}}
    got = search(table, 5)
    texts = [t for t, _ in got]
    assert texts == ["bc", "a.", "ab(", "ab"]
    probs = [p for _, p in got]
    assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)
    assert probs[0] == pytest.approx(0.4) and probs[2] == pytest.approx(0.6 * 0.5 * 0.9)
    assert len(set(texts)) == len(texts) and all(t.strip() for t in texts)


def test_k_bounds_the_list_and_zero_asks_for_none():
    table = {"": {"a": 0.6, "b": 0.4}, "a": {".": 1.0}, "b": {".": 1.0}}
    assert [t for t, _ in search(table, 1)] == ["a."]
    assert search(table, 0) == []


def test_the_completion_is_ranked_with_the_units():
    table = {"": {"a": 1.0}, "a": {".": 1.0}}
    assert search(table, 3, extra=[("a.b(", 0.7)]) == [("a.", 1.0), ("a.b(", 0.7)]


def test_a_line_that_ends_offers_nothing():
    assert search({"": {"\n": 1.0}}, 3) == []


def random_table(rng, depth=4):
    """A random next-character model over texts of up to `depth` characters."""
    table, texts = {}, [""]
    for _ in range(depth):
        grown = []
        for text in texts:
            chars = rng.choice(list("abc.( \n"), size=3, replace=False)
            probs = rng.dirichlet(np.ones(3))
            table[text] = dict(zip(chars, probs))
            grown += [text + c for c in chars if c not in " \n"]
        texts = grown
    return table


def test_expanding_several_at_once_finds_what_one_at_a_time_does():
    widest = 0
    for seed in range(20):
        table = random_table(np.random.default_rng(seed))
        one_at_a_time = search(table, 3, batch=1, max_expansions=1000)
        batched = Model(table)
        assert search(table, 3, model=batched, batch=4, max_expansions=1000) == one_at_a_time, seed
        widest = max(widest, *batched.steps, 0)
    assert widest > 1  # the rounds did step several texts at once


def test_a_round_steps_its_texts_together():
    table = {"": {"a": 0.5, "b": 0.3, "c": 0.2}, "a": {".": 1.0}, "b": {".": 1.0}, "c": {".": 1.0}}
    model = Model(table)
    assert [t for t, _ in search(table, 3, model=model)] == ["a.", "b.", "c."]
    assert model.steps == [3]  # the three names read in one step, not three
