"""What a Tab gives the user once completions come with ranked choices: the completion inserted
(right or wrong), else a menu with a right choice among its first `top`, a menu with none right,
or nothing at all. One rule for the benchmark and the everyday table:

  - at an identifier position (the user is inside a name), the completion and each choice are
    cut at the end of the name and must equal the rest of the name;
  - at a line position, the inserted completion is right when it is a non-empty prefix of the
    rest of the line (the benchmark's rule since the start); a choice is right when it is such
    a prefix that ends where one of the line's tokens ends, so a one-character choice cannot
    count for a name.
"""
import os
import re

from model.measure.evaluate import ident_part

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|\w+|\S')
OUTCOMES = ("inserted_right", "inserted_wrong", "choice_right", "choices_wrong", "nothing")


def token_ends(text):
    """The offsets in `text` where one of its tokens ends: a name or number, a whole string
    literal on the line, or one mark each."""
    return {m.end() for m in TOKEN.finditer(text)}


def ends_a_token(truth, length):
    """True when truth[:length] ends where one of its tokens ends: never inside a name or a
    string, never on a space."""
    return length in token_ends(truth)


def right_completion(completion, truth, name=None):
    """The inserted completion is right (name: the rest of the name at an identifier position)."""
    if name is not None:
        return ident_part(completion) == name
    return bool(completion) and truth.startswith(completion)


def right_choice(choice, truth, name=None):
    if name is not None:
        return ident_part(choice) == name
    return bool(choice.strip()) and truth.startswith(choice) and ends_a_token(truth, len(choice))


def outcome(completion, choices, truth, name=None, top=3):
    """One of OUTCOMES for a Tab: the completion (inserted when non-empty) and the choices
    [(text, probability)] shown otherwise."""
    if completion:
        return "inserted_right" if right_completion(completion, truth, name) else "inserted_wrong"
    if not choices:
        return "nothing"
    return "choice_right" if any(right_choice(c, truth, name) for c, _ in choices[:top]) else "choices_wrong"


def saved_chars(completion, choices, truth, name=None, top=3):
    """The keystrokes a Tab saves: an inserted completion saves its characters when it is right
    (the benchmark's rule since the start; a wrong one saves none); else the first right choice
    among the first `top` saves the characters it puts right, less one keystroke per place it
    stands in the menu (Enter takes the first, Down Enter the second) and less the characters
    the user deletes after it (`get.` where `get(` comes next)."""
    if completion:
        return len(completion) if truth.startswith(completion) else 0
    for rank, (text, _) in enumerate(choices[:top], 1):
        if right_choice(text, truth, name):
            kept = len(os.path.commonprefix([text, truth]))
            return max(kept - (len(text) - kept) - rank, 0)
    return 0


def shares(outcomes):
    """{outcome: share} over a list of outcomes, with "useful" (inserted right or a right choice)
    and "inserted_precision" (right among the inserted; None when nothing was inserted)."""
    n = max(len(outcomes), 1)
    out = {name: sum(o == name for o in outcomes) / n for name in OUTCOMES}
    inserted = out["inserted_right"] + out["inserted_wrong"]
    out["useful"] = out["inserted_right"] + out["choice_right"]
    out["inserted_precision"] = out["inserted_right"] / inserted if inserted else None
    out["positions"] = len(outcomes)
    return out
