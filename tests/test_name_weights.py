import numpy as np
import pytest

from model.measure.name_weights import collect, fit, fit_confidence, main, ranks, report, right_at_wrong
from model.serving.completer import Completer
from model.serving.names import CONFIDENCE_FEATURES, FEATURES, name_confidence


def position(right_feature, n=4, seed=0):
    """A position's candidates: random features, the right one (index 0) with one feature higher."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    x[0, FEATURES.index(right_feature)] += 3.0
    return x, 0, None


def test_the_fit_finds_the_feature_that_picks_the_right_name():
    positions = [position("after_token", seed=i) for i in range(60)]
    weights = fit(positions)
    assert max(weights, key=weights.get) == "after_token"
    assert ranks(positions, weights)[0] > 0.9  # ranked first
    # the weights in use before know nothing of that feature
    old = {f: 0.0 for f in FEATURES}
    old["log_prob"] = 1.0
    assert ranks(positions, old)[0] < ranks(positions, weights)[0]


def test_a_position_without_its_name_is_a_miss_everywhere():
    positions = [position("in_words", seed=i) for i in range(20)] + [(np.zeros((3, len(FEATURES))), None, None)] * 20
    assert ranks(positions, fit(positions)) <= (0.5, 0.5)


def test_each_language_is_held_out_of_its_own_fit():
    by_language = {"a": [position("length", seed=i) for i in range(30)],
                   "b": [position("length", seed=100 + i) for i in range(30)]}
    out = report(by_language)
    assert set(out["languages"]) == {"a", "b"} and set(out["fitted"]) == set(FEATURES)
    assert out["languages"]["a"]["held_out"][0] > 0.9  # fitted on b alone, it holds on a
    alone = report({"a": by_language["a"]})
    assert alone["languages"]["a"]["held_out"] is None  # nothing to hold it out of: no figure


def test_collect_reads_the_completers_candidates(tiny_model):
    text = "value = 1\nvalues = [value]\nvalidate(values)\nprint(val" + "ues)\n"
    files = [("pkg/a.py", text, "/pkg")]
    pos = text.index("print(val") + len("print(va")
    completer = Completer.load(tiny_model)
    completer.keeps_whole_names = False  # the tiny model may end the typed name: then no name is taken
    got = collect(completer, files, [(0, pos, "lues)", "lues")], lambda items, **kw: items)
    assert len(got) == 1
    x, right, (confidence, taken_right) = got[0]
    assert x.shape[1] == len(FEATURES)
    assert right is not None  # `values` is a word of the buffer: a candidate
    assert len(confidence) == len(CONFIDENCE_FEATURES) and isinstance(taken_right, bool)


def taken(lead, right):
    """A position whose taken name has `lead` over the next candidate (other features alike)."""
    features = [0.0] * len(CONFIDENCE_FEATURES)
    features[CONFIDENCE_FEATURES.index("margin")] = lead
    return np.zeros((2, len(FEATURES))), 0, (tuple(features), right)


def test_the_confidence_fit_learns_what_tells_a_right_name():
    rng = np.random.default_rng(0)
    leads = rng.uniform(0, 1, 400)
    positions = [taken(lead, bool(rng.uniform() < lead)) for lead in leads]  # right as often as its lead
    weights = fit_confidence(positions)
    assert set(weights) == {"bias", *CONFIDENCE_FEATURES}
    assert weights["margin"] == max(weights[f] for f in CONFIDENCE_FEATURES) > 2
    sure, unsure = (name_confidence(taken(lead, True)[2][0], weights) for lead in (0.95, 0.05))
    assert sure > 0.8 and unsure < 0.2  # calibrated: near how often such names are right


def test_right_at_wrong_keeps_the_wrong_names_typed_under_the_share():
    positions = [taken(lead, right) for lead, right in
                 [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.5, False), (0.4, True)]]
    positions += [(np.zeros((1, len(FEATURES))), None, None)] * 4  # the name ended at the cursor: never typed
    lead = CONFIDENCE_FEATURES.index("margin")
    assert right_at_wrong(positions, lambda x: x[lead], wrong_share=0.0) == 0.2  # the two surest, no wrong
    assert right_at_wrong(positions, lambda x: x[lead], wrong_share=0.1) == 0.3  # one wrong allowed of ten
    assert right_at_wrong(positions, lambda x: -x[lead], wrong_share=0.0) == 0.1  # a worse confidence types less


def test_an_unknown_language_is_a_clear_error():
    with pytest.raises(SystemExit, match="no such language: klingon"):
        main(["--languages", "python,klingon"])
