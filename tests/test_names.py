import math

import numpy as np
import pytest

from model.serving.hints import WordCache
from model.serving.names import decoder_name_stands, merge_choices, rank_names, score_names, word_candidates
from model.serving.walk import TextWalk


def test_candidates_are_the_words_with_the_typed_prefix_most_used_first():
    buffer = WordCache("validate validate validate value value values other", after="")
    files = WordCache("valid_file validate")
    got = word_candidates((buffer, files), "va")
    assert list(got)[:3] == ["lidate", "lue", "lues"]
    assert got["lid_file"] == 0.0  # a files-only word is a candidate with no uses in the buffer
    assert "other" not in "".join(got) and "" not in got  # the typed word itself is no candidate


def test_candidates_are_capped_and_skip_overlong_words():
    buffer = WordCache(" ".join(f"name{i}" for i in range(40)) + " n" + "x" * 60)
    got = word_candidates((buffer, None), "n", limit=5)
    assert len(got) == 5 and all(len(rest) <= 40 for rest in got)


# A toy network over "abc" + an end mark "$": every state predicts from the last character read.
CHARS = "abc$"
TABLE = {None: [0.5, 0.3, 0.1, 0.1], "a": [0.1, 0.6, 0.1, 0.2], "b": [0.2, 0.2, 0.2, 0.4], "c": [0.25, 0.25, 0.25, 0.25]}


def toy_walk(names):
    steps = []

    def step_many(ids, states):
        steps.append(len(ids))
        return [CHARS[i] for i in ids]

    walk = TextWalk(None, step_many, lambda states: [np.log(TABLE[s]) for s in states],
                    lambda c: CHARS.index(c), lambda rows, texts: [np.exp(row) for row in rows])
    scored = score_names(names, walk.distributions, lambda c: CHARS.index(c) if c in CHARS else None,
                         lambda p: p[3])
    return scored, steps


def test_names_are_scored_by_their_characters_and_their_end():
    scored, steps = toy_walk(["ab", "a", "abc", "d"])
    assert scored["a"] == ((0.5,), 0.2)
    assert scored["ab"] == ((0.5, 0.6), 0.4)
    assert scored["abc"] == ((0.5, 0.6, 0.2), 0.25)
    assert "d" not in scored  # a character the vocab lacks: never a candidate
    assert steps == [1, 1, 1]  # the shared prefix is stepped once per depth


def test_siblings_are_stepped_together():
    _, steps = toy_walk(["a", "b", "c", "ab", "bc"])
    assert steps == [3, 2]


def test_ranking_weighs_the_model_by_the_buffers_use():
    scored = {"rare": ((0.5,), 0.5), "often": ((0.1,), 0.5), "never": ((0.05,), 0.5)}
    ranked = rank_names(scored, {"often": 8.0, "rare": 0.0}, prior=1.5)
    assert [name for name, _ in ranked] == ["often", "rare", "never"]
    probs = [p for _, p in ranked]
    assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)
    assert math.isclose(sum(probs), 0.25 + 0.05 + 0.025)  # the model's total, shared out again
    assert [n for n, _ in rank_names(scored, {}, prior=1.5)] == ["rare", "often", "never"]


def test_ranking_nothing_gives_nothing():
    assert rank_names({}, {}) == []
    assert rank_names({"x": ((0.0,), 0.5)}, {"x": 3.0}) == []


@pytest.mark.parametrize("units, ranked, k, expected", [
    # one choice per name, shown as its most probable unit, in the names' order
    ([("get(", 0.5), ("get.", 0.3), ("set(", 0.1)], [("set", 0.4), ("get", 0.3)], 3, [("set(", 0.4), ("get(", 0.3)]),
    # a name the search never reached is shown bare
    ([], [("validate", 0.2), ("value", 0.1)], 1, [("validate", 0.2)]),
    # the word ending at the cursor: only with the search's unit for it, never an empty text
    ([("(", 0.2)], [("", 0.5), ("x", 0.1)], 3, [("(", 0.5), ("x", 0.1)]),
    ([], [("", 0.5), ("x", 0.1)], 3, [("x", 0.1)]),
])
def test_choices_inside_a_name(units, ranked, k, expected):
    assert merge_choices(units, ranked, k) == expected


@pytest.mark.parametrize("decoded, prob, uses, stands", [
    ("lue", 0.3, {}, True),  # no word to compare with
    ("lue", 0.3, {"lue": 4.0}, True),  # the only word is the decoder's
    ("lue", 0.9, {"lidate": 1.0}, True),  # 0.9 * 1 >= 0.1 * 2 ** 1.5
    ("lue", 0.6, {"lidate": 3.0}, False),  # 0.6 < 0.4 * 8: the word might win
    ("lue", 0.6, {"lue": 3.0, "lidate": 3.0}, True),
])
def test_the_decoders_name_stands_when_no_word_can_outrank_it(decoded, prob, uses, stands):
    assert decoder_name_stands(decoded, prob, uses, prior=1.5) == stands
    if stands:  # the bound holds: any word's best case weighs no more
        for name, count in uses.items():
            if name != decoded:
                assert (1 - prob) * (1 + count) ** 1.5 <= prob * (1 + uses.get(decoded, 0)) ** 1.5
