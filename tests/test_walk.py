"""model/serving/walk.py: each text after the cursor stepped once, the new ones of a call together."""
import numpy as np
import pytest

from model.serving.walk import TextWalk

CHARS = "ab."


class Network:
    """A fake network whose state is the text read so far; it records each step's rows."""

    def __init__(self):
        self.steps = []

    def step_many(self, ids, states):
        self.steps.append(sorted(state + CHARS[i] for i, state in zip(ids, states)))
        return [state + CHARS[i] for i, state in zip(ids, states)]

    def logits_many(self, states):
        return [np.array([len(state), 1.0, 0.0]) for state in states]


def walk_of(network):
    return TextWalk("", network.step_many, network.logits_many, lambda c: CHARS.index(c) if c in CHARS else None,
                    lambda rows, texts: [np.concatenate([row, [len(text)]]) for row, text in zip(rows, texts)])


def test_distributions_come_from_each_texts_own_state():
    network = Network()
    rows = walk_of(network).distributions(["", "a", "ab"])
    assert [list(row) for row in rows] == [[0, 1, 0, 0], [1, 1, 0, 1], [2, 1, 0, 2]]


def test_each_text_is_stepped_once_and_siblings_together():
    network = Network()
    walk = walk_of(network)
    walk.distributions([""])
    walk.distributions(["a", "b", "."])
    walk.distributions(["a", "ab", "aa"])  # "a" again: no step
    assert network.steps == [[".", "a", "b"], ["aa", "ab"]]
    assert walk.steps == 2


def test_a_text_brings_its_prefixes_a_depth_a_step():
    network = Network()
    walk_of(network).distributions(["ab", "b."])
    assert network.steps == [["a", "b"], ["ab", "b."]]


def test_texts_of_any_length_whose_parents_are_walked_take_one_step():
    network = Network()
    walk = walk_of(network)
    walk.distributions(["a", "ab"])
    walk.distributions(["b", "aa", "ab.", "aba"])
    assert network.steps[2:] == [["aa", "ab.", "aba", "b"]]


def test_a_character_with_no_id_is_an_error():
    with pytest.raises(ValueError, match="no id"):
        walk_of(Network()).distributions(["a?"])
