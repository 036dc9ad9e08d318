import numpy as np
import pytest

from model.measure.name_weights import collect, fit, main, ranks, report
from model.serving.completer import Completer
from model.serving.names import FEATURES


def position(right_feature, n=4, seed=0):
    """A position's candidates: random features, the right one (index 0) with one feature higher."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    x[0, FEATURES.index(right_feature)] += 3.0
    return x, 0


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
    positions = [position("in_words", seed=i) for i in range(20)] + [(np.zeros((3, len(FEATURES))), None)] * 20
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
    got = collect(Completer.load(tiny_model), files, [(0, pos, "lues)", "lues")], lambda items, **kw: items)
    assert len(got) == 1
    x, right = got[0]
    assert x.shape[1] == len(FEATURES)
    assert right is not None  # `values` is a word of the buffer: a candidate


def test_an_unknown_language_is_a_clear_error():
    with pytest.raises(SystemExit, match="no such language: klingon"):
        main(["--languages", "python,klingon"])
