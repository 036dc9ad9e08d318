"""model/measure/tabs.py: what a Tab gave the user, one case per rule."""
import pytest

from model.measure.tabs import ends_a_token, outcome, right_choice, right_completion, saved_chars, shares


@pytest.mark.parametrize("truth, length, ends", [
    ("os.path.join(a)", 2, True),    # "os"
    ("os.path.join(a)", 1, False),   # "o": inside a name
    ("os.path.join(a)", 3, True),    # "os."
    ("os.path.join(a)", 13, True),   # "os.path.join("
    ("x = 1", 2, False),             # "x ": ends on a space
    ("name", 4, True),
    ("name", 0, False),
    ("name", 5, False),
    ('"__main__":', 1, False),       # a string is one token: not its quote alone
    ('"__main__":', 10, True),
])
def test_ends_a_token(truth, length, ends):
    assert ends_a_token(truth, length) is ends


def test_at_an_identifier_the_rest_of_the_name_counts():
    assert right_completion("th.join(", "th.join(a, b)", name="th")
    assert not right_completion("thx", "th.join(a, b)", name="th")
    assert right_choice("th(", "th.join(a)", name="th")   # cut at the name's end: "th"
    assert not right_choice("(", "th.join(a)", name="th")


def test_at_a_line_position_a_choice_must_end_a_token():
    truth = "parse_args()"
    assert right_completion("p", truth)                   # inserted: any non-empty prefix (the benchmark's rule)
    assert not right_choice("p", truth)                   # a choice: not inside the name
    assert right_choice("parse_args", truth) and right_choice("parse_args(", truth)
    assert not right_choice("parse_argv(", truth) and not right_choice(" ", " x")


def test_outcomes_and_their_shares():
    truth = "__name__)"
    assert outcome("__name__)", [], truth) == "inserted_right"
    assert outcome("self", [("__name__)", 0.7)], truth) == "inserted_wrong"  # inserted: no menu
    assert outcome("", [("x", 0.5), ("y", 0.2), ("__name__)", 0.1)], truth) == "choice_right"
    assert outcome("", [("x", 0.5), ("y", 0.2), ("z", 0.1), ("__name__)", 0.05)], truth) == "choices_wrong"  # 4th
    assert outcome("", [], truth) == "nothing"
    s = shares(["inserted_right", "inserted_wrong", "choice_right", "nothing"])
    assert s["useful"] == 0.5 and s["inserted_precision"] == 0.5 and s["nothing"] == 0.25 and s["positions"] == 4
    assert shares(["nothing"])["inserted_precision"] is None


def test_keystrokes_saved_by_an_insertion_or_a_pick_from_the_menu():
    truth = "parse_args()"
    assert saved_chars("parse_args(", [("x", 0.9)], truth) == 11      # inserted and right: its characters
    assert saved_chars("parse_argv(", [("parse_args(", 0.9)], truth) == 0  # inserted and wrong: no menu, nothing
    assert saved_chars("", [("parse_args(", 0.6)], truth) == 10     # the first choice: Enter costs one
    assert saved_chars("", [("x", 0.5), ("parse_args", 0.3)], truth) == 8  # the second: Down Enter
    assert saved_chars("", [("a", 0.5), ("b", 0.2), ("c", 0.1), ("parse_args", 0.05)], truth) == 0  # 4th: unseen
    assert saved_chars("", [("(", 0.9)], "()") == 0                 # a one-mark pick saves no keystroke
    assert saved_chars("", [], truth) == 0
    # Inside a name a choice is right by its name; the mark after it that is wrong is deleted.
    assert saved_chars("", [("join(", 0.6)], "join.x", name="join") == 4 - 1 - 1
    assert saved_chars("", [("join.", 0.6)], "join.x", name="join") == 5 - 1
