import math

import numpy as np
import pytest

from model.serving.hints import WordCache
from model.serving.names import (CONFIDENCE_FEATURES, FEATURES, NAME_WEIGHTS, NameContext, confidence_features,
                                 merge_choices, name_confidence, name_context, name_features, rank_names, score_names,
                                 with_name_prob, word_candidates)
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


# The rule before 2026-12-03's fit: the model's probability times (1 + uses) ** 1.5.
OLD_RULE = {"log_prob": 1.0, "in_words": 0.0, "after_token": 0.0, "after_cursor": 0.0, "uses": 1.5, "length": 0.0,
            "defined": 0.0}


def test_ranking_weighs_the_model_by_the_buffers_use():
    scored = {"rare": ((0.5,), 0.5), "often": ((0.1,), 0.5), "never": ((0.05,), 0.5)}
    ranked = rank_names(scored, NameContext({"often": 8.0, "rare": 0.0}), OLD_RULE)
    assert [name for name, _ in ranked] == ["often", "rare", "never"]
    probs = [p for _, p in ranked]
    assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)
    assert math.isclose(sum(probs), 0.25 + 0.05 + 0.025)  # the model's total, shared out again
    assert [n for n, _ in rank_names(scored, NameContext({}), OLD_RULE)] == ["rare", "often", "never"]


@pytest.mark.parametrize("feature, context, winner", [
    # the same model probability and uses: the evidence the feature reads decides
    ("in_words", NameContext({"beta": 0.0}), "beta"),
    ("after_token", NameContext({"alpha": 1.0, "beta": 1.0}, after_token={"beta": 2}), "beta"),
    ("after_cursor", NameContext({"alpha": 1.0, "beta": 1.0}, after_cursor={"beta": 1}), "beta"),
    ("defined", NameContext({"alpha": 1.0, "beta": 1.0}, defined={"alpha"}), "beta"),
])
def test_each_feature_moves_the_ranking_its_way(feature, context, winner):
    scored = {"alpha": ((0.3,), 0.5), "beta": ((0.3,), 0.5)}
    assert rank_names(scored, context, {**OLD_RULE, feature: 0.0})[0][0] == "alpha"  # the tie: by name
    weight = -1.0 if feature == "defined" else 1.0
    assert rank_names(scored, context, {**OLD_RULE, feature: weight})[0][0] == winner


def test_the_shipped_weights_are_one_for_each_feature():
    assert set(NAME_WEIGHTS) == set(FEATURES)
    assert NAME_WEIGHTS["log_prob"] > 0 and NAME_WEIGHTS["defined"] < 0


def test_ranking_nothing_gives_nothing():
    assert rank_names({}, NameContext({})) == []
    assert rank_names({"x": ((0.0,), 0.5)}, NameContext({"x": 3.0})) == []


BUFFER = """class Store:
    def items(self):
        return self.values

    def iterkeys(self):
        return iter(self.values)

    def it"""


def test_the_context_counts_uses_after_the_same_token_and_after_the_cursor():
    after = "ems(self):\n        return self.value + self.vault\n"
    context = name_context({"ems": 1.0}, BUFFER[:-len("def it")] + "self.va", after, "va")
    assert context.after_token == {"lues": 2, "lue": 1, "ult": 1}  # after a `.`: `.values` twice, then after the cursor
    assert context.after_cursor == {"lue": 1, "ult": 1}  # not the rest of the name the cursor is in
    assert context.words == {"ems": 1.0} and context.defined == set()


def test_the_context_of_a_definition_knows_the_names_its_scope_defines():
    context = name_context({}, BUFFER, "", "it", defined={"items", "iterkeys", "other"})
    assert context.defined == {"ems", "erkeys"}
    assert name_features("ems", 0.5, context)[FEATURES.index("defined")] == 1.0
    assert name_features("eritems", 0.5, context)[FEATURES.index("defined")] == 0.0


def test_a_word_token_matches_only_whole():
    # `undef x` is not `def x`: the token before the typed part matches as a whole word
    assert name_context({}, "undef valid\ndef va", "", "va").after_token == {}
    assert name_context({}, "def valid\ndef va", "", "va").after_token == {"lid": 1}


@pytest.mark.parametrize("units, ranked, k, expected", [
    # one choice per name, shown as its most probable unit, in the names' order
    ([("get(", 0.5), ("get.", 0.3), ("set(", 0.1)], [("set", 0.4), ("get", 0.3)], 3, [("set(", 0.4), ("get(", 0.3)]),
    # a name the search never reached is shown bare
    ([], [("validate", 0.2), ("value", 0.1)], 1, [("validate", 0.2)]),
    # the word ending at the cursor: only with the search's unit for it, never an empty text
    ([("(", 0.2)], [("", 0.5), ("x", 0.1)], 3, [("(", 0.5), ("x", 0.1)]),
    ([], [("", 0.5), ("x", 0.1)], 3, [("x", 0.1)]),
    # the decoder's completion ran on to a space: shown without it
    ([("urn ", 0.9), ("urned", 0.04)], [("urn", 0.8), ("urned", 0.05)], 3, [("urn", 0.8), ("urned", 0.05)]),
])
def test_choices_inside_a_name(units, ranked, k, expected):
    assert merge_choices(units, ranked, k) == expected


def test_a_names_characters_carry_the_rankings_probability():
    text, probs, reason = with_name_prob(("value(x)", [0.9] * 5 + [0.8, 0.7, 0.6], "line"), "value", 0.32)
    assert text == "value(x)" and reason == "line"
    assert math.isclose(math.prod(probs[:5]), 0.32) and probs[5:] == [0.8, 0.7, 0.6]
    result = ("value", [0.9] * 5, "line")
    assert with_name_prob(result, "value", None) is result  # no ranking for it: as it was


def test_the_confidence_reads_the_names_share_lead_and_evidence():
    model = {"lue": 0.2, "lid": 0.1, "r": 0.1}  # the model's probabilities: 0.4 in all
    ranked = [("lue", 0.3), ("lid", 0.06), ("r", 0.04)]  # rank_names shares the 0.4 out again
    context = NameContext({"lue": 3.0, "lid": 1.0}, after_token={"lue": 2})
    got = dict(zip(CONFIDENCE_FEATURES, confidence_features("lue", model, ranked, context)))
    assert got == pytest.approx({"log_share": math.log(0.75), "log_total": math.log(0.4), "margin": 0.75 - 0.15,
                                 "log_prob": math.log(0.2), "in_words": 1.0, "uses": math.log(4.0),
                                 "after_token": math.log(3.0)})
    behind = dict(zip(CONFIDENCE_FEATURES, confidence_features("r", model, ranked, context)))
    assert behind["margin"] == pytest.approx(0.1 - 0.75) and behind["in_words"] == 0.0  # behind the first: negative


def test_the_confidence_is_a_logistic_of_its_weights():
    features = (math.log(0.5), math.log(0.4), 0.2, math.log(0.2), 1.0, 0.0, 0.0)
    weights = {"bias": -1.0, **{f: 0.0 for f in CONFIDENCE_FEATURES}, "margin": 5.0}
    assert name_confidence(features, weights) == pytest.approx(0.5)  # -1 + 5 * 0.2 = 0
    weights["in_words"] = 2.0
    assert name_confidence(features, weights) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert name_confidence(features, {**weights, "bias": 1e6}) == pytest.approx(1.0)  # no overflow
