"""The completion policy and the per-character gate, on hand-made completions."""
import math

import pytest

from model.serving.policy import Gate, Policy, answer, cut_result, fit_policy, gate_cut, tidy


def test_inside_a_word_the_whole_name_is_kept_though_one_character_is_unsure():
    # "ute_total(" : the name "ute_total" has one unsure character (0.3); the gate at 0.75 cuts
    # it there, the policy keeps the name (its probability, 0.3 * 0.9^8 ~ 0.13, is above 0.02).
    text, probs = "ute_total(", [0.95, 0.3] + [0.9] * 7 + [0.2]
    policy = Policy(ident_floor=0.02, char_floor=0.0, line_floor=0.5, extend_floor=0.0)
    assert policy.cut(text, probs, in_word=True) == len("ute_total")
    assert gate_cut(probs, 0.75) == 1


def test_a_name_the_model_has_no_idea_of_is_dropped_whole():
    policy = Policy(ident_floor=0.02, char_floor=0.0, line_floor=0.5, extend_floor=0.0)
    assert policy.cut("xyzzy", [0.2] * 5, in_word=True) == 0  # 0.2^5 = 0.00032


def test_beyond_the_name_the_completion_goes_on_while_the_whole_extension_is_likely():
    policy = Policy(ident_floor=0.0, char_floor=0.0, line_floor=0.5, extend_floor=0.0)
    text = "name(arg).x"
    probs = [0.9] * 4 + [0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.99]
    # after "name": 0.9 (0.9) 0.81 (a) 0.729 (r) 0.656 (g) 0.59 ()) 0.295 (.) -> stops before "."
    assert policy.cut(text, probs, in_word=True) == len("name(arg)")
    # from a token start the same rule applies from the first character
    assert policy.cut("(arg)", [0.9, 0.9, 0.9, 0.9, 0.3], in_word=False) == 4


def test_line_floor_zero_keeps_everything_and_one_keeps_only_certain_characters():
    text, probs = "abc + d", [0.5, 0.9, 1.0, 1.0, 0.99, 1.0, 0.2]
    assert Policy(0.0, 0.0, 0.0).cut(text, probs, in_word=False) == len(text)
    assert Policy(0.0, 0.0, 1.0).cut(text, probs, in_word=False) == 0
    assert Policy(0.0, 0.0, 1.0).cut("ab", [1.0, 1.0], in_word=False) == 2


def test_beyond_the_name_each_character_must_pass_the_char_floor():
    # a long, confident copy: its product (0.9^12 ~ 0.28) is small, every character sure enough
    text, probs = "(alpha, beta)", [0.9] * 13
    assert Policy(0.0, 0.8, 0.0).cut(text, probs, in_word=False) == len(text)
    assert Policy(0.0, 0.8, 0.5).cut(text, probs, in_word=False) == 6  # 0.9^7 < 0.5
    probs[5] = 0.5
    assert Policy(0.0, 0.8, 0.0).cut(text, probs, in_word=False) == 5
    # inside a name the char floor does not apply: only the name's product does
    assert Policy(0.01, 0.8, 0.0, 0.95).cut("ute_x(", [0.5, 0.5, 0.9, 0.9, 0.9, 0.99], in_word=True) == 6
    # beyond a finished name the extend floor applies, not the char floor
    assert Policy(0.01, 0.8, 0.0, 0.995).cut("ute_x(", [0.5, 0.5, 0.9, 0.9, 0.9, 0.99], in_word=True) == 5
    assert Policy(0.01, 0.8, 0.0, 1.01).cut("ute_x(a)", [0.5, 0.5, 0.9, 0.9, 0.9] + [1.0] * 3, in_word=True) == 5


@pytest.mark.parametrize("in_word", [True, False])
def test_stopping_early_never_changes_what_is_kept(in_word):
    """The decoder stops as soon as stop_early says so; the cut of any longer proposal must be
    the same as the cut at that point (the products only fall)."""
    text = "value_of(thing, other)"
    probs = [0.9, 0.95, 0.8, 0.99, 0.7, 0.97, 0.99, 0.9, 0.6, 0.95, 0.9, 0.8, 0.9, 0.99, 0.5, 0.9, 0.9, 0.9, 0.9,
             0.9, 0.9, 0.9]
    for policy in (Policy(0.02, 0.0, 0.5, 0.0), Policy(0.3, 0.0, 0.2, 0.5), Policy(0.0, 0.0, 0.9, 0.0),
                   Policy(0.02, 0.75, 0.0, 0.9), Policy(0.1, 0.6, 0.3, 1.01)):
        full = policy.cut(text, probs, in_word)
        for n in range(1, len(text) + 1):
            if policy.stop_early(text[:n], probs[:n], in_word):
                assert policy.cut(text[:n], probs[:n], in_word) == full
                break


def test_gate_cut_and_tidy():
    assert gate_cut([0.9, 0.8, 0.7, 0.99], 0.75) == 2
    assert gate_cut([0.9, 0.8], 0.75) == 2
    assert gate_cut([], 0.75) == 0
    assert tidy("foo(a, ") == "foo(a,"
    assert tidy("   ") == ""
    assert tidy("x\n    ") == "x"


def test_policy_from_meta():
    assert Policy.from_meta({}) == Policy()
    stored = {"ident_floor": 0.01, "char_floor": 0.7, "line_floor": 0.4, "extend_floor": 0.9}
    assert Policy.from_meta({"policy": stored}) == Policy(0.01, 0.7, 0.4, 0.9)
    assert Policy(0.01, 0.7, 0.4, 0.9).as_meta() == stored
    for broken in ({"ident_floor": 0.01}, {**stored, "ident_floor": "x"}, {**stored, "char_floor": 2}, "0.5"):
        with pytest.raises(ValueError, match="policy"):
            Policy.from_meta({"policy": broken})
    # requests with files have floors of their own; without them, the main policy's
    main = Policy.from_meta({"policy": stored})
    assert Policy.from_meta({"policy": stored}, "policy_files", default=main) is main
    files = {**stored, "line_floor": 0.0}
    assert Policy.from_meta({"policy": stored, "policy_files": files}, "policy_files", default=main) == Policy(0.01, 0.7, 0.0, 0.9)
    with pytest.raises(ValueError, match="'policy_files'"):
        Policy.from_meta({"policy_files": {**stored, "char_floor": 2}}, "policy_files")


def test_probabilities_below_float_range_do_not_crash():
    assert Policy(0.0, 0.0, 0.5).cut("ab", [0.0, 1.0], in_word=False) == 0
    assert Policy(0.5, 0.0, 0.5).cut("ab", [0.0, 1.0], in_word=True) == 0
    assert math.isfinite(Policy(0.5, 0.5, 0.5).ident_floor)


def test_fit_policy_takes_the_most_savings_at_the_precision_target():
    def row(i, c, l, precision, savings, ident, everywhere=0.9):
        return {"ident_floor": i, "char_floor": c, "line_floor": l, "extend_floor": 0.9, "line_precision": precision,
                "keystroke_savings": savings, "ident_exact": ident, "precision": everywhere}
    rows = [row(0.0, 0.5, 0.2, 0.6, 0.3, 0.5), row(0.0, 0.7, 0.0, 0.76, 0.2, 0.5), row(0.01, 0.7, 0.0, 0.8, 0.2, 0.6),
            row(0.0, 0.9, 0.0, 0.95, 0.1, 0.5), row(0.0, 0.6, 0.0, 0.9, 0.25, 0.6, everywhere=0.7)]
    policy, best = fit_policy(rows, target=0.75)
    assert (policy.ident_floor, policy.char_floor, policy.line_floor) == (0.01, 0.7, 0.0) and best is rows[2]
    with pytest.raises(ValueError, match=r"precision 0.99 with .* \(the best both reach: 0.95 and 0.9\)"):
        fit_policy(rows, target=0.99)


def test_fit_policy_gives_a_savings_tie_to_the_more_precise_floors():
    def row(c, savings, precision, ident=0.6):
        return {"ident_floor": 0.0, "char_floor": c, "line_floor": 0.0, "extend_floor": 0.9, "line_precision": precision,
                "keystroke_savings": savings, "ident_exact": ident, "precision": 0.8}
    rows = [row(0.75, 0.200, 0.80), row(0.9, 0.199, 0.90), row(0.95, 0.150, 0.97)]
    assert fit_policy(rows)[1] is rows[1]  # 0.5% less savings, 10 points more precision
    assert fit_policy(rows, tie=0.0)[1] is rows[0]  # no tie: the most savings
    assert fit_policy(rows[::2])[1] is rows[0]  # 25% less savings is no tie
    # Equal precision in the tie: the more savings.
    assert fit_policy([row(0.8, 0.199, 0.9), row(0.9, 0.2, 0.9)])[0].char_floor == 0.9


def test_fit_policy_can_count_the_menus_picks():
    def row(ident_floor, savings, with_picks):
        return {"ident_floor": ident_floor, "char_floor": 0.8, "line_floor": 0.0, "extend_floor": 0.9,
                "line_precision": 0.85, "keystroke_savings": savings, "ident_exact": 0.7, "precision": 0.8,
                "savings_with_picks": with_picks}
    # A low name floor inserts more names (more saved by Tab alone); a high one sends the unsure
    # names to the menu, where picks save more than the wrong insertions did.
    rows = [row(0.01, 0.17, 0.18), row(0.6, 0.12, 0.20)]
    assert fit_policy(rows)[0].ident_floor == 0.01
    assert fit_policy(rows, objective="savings_with_picks")[0].ident_floor == 0.6
    with pytest.raises(ValueError, match="objective must be one of"):
        fit_policy(rows, objective="speed")
    with pytest.raises(ValueError, match="no 'savings_with_picks'"):
        fit_policy([{k: v for k, v in rows[0].items() if k != "savings_with_picks"}], objective="savings_with_picks")


def test_answer_is_what_the_completer_answers_under_a_cut():
    policy = Policy(ident_floor=0.0, char_floor=0.5, line_floor=0.0, extend_floor=0.5)
    assert answer(policy.cut, "name(x)", [0.9] * 7, True) == "name(x)"  # all kept: as it is
    assert answer(policy.cut, "name  (x)", [0.9] * 6 + [0.1] * 3, True) == "name"  # cut, then tidied
    assert answer(policy.cut, "   ", [0.1] * 3, False) == ""  # nothing kept
    assert answer(Gate(0.75).cut, "abc", [0.9, 0.8, 0.7], False) == "ab"
    assert answer(Gate(0.0).cut, "abc ", [0.9, 0.8, 0.7, 0.1], False) == "abc "  # uncut: not tidied


def test_a_finished_completion_is_cut_where_the_policy_stops_it():
    policy = Policy(ident_floor=0.0, char_floor=0.5, line_floor=0.0, extend_floor=1.0)
    whole = ("foo(bar)", [0.9] * 8, "line")
    assert cut_result(whole, policy, in_word=False) is whole  # kept whole: as it was, its stop reason too
    text, probs, reason = cut_result(("foo(bar)", [0.9] * 4 + [0.1] * 4, "line"), policy, in_word=False)
    assert reason == "policy" and len(probs) == len(text) and "foo(bar)".startswith(text) and text != "foo(bar)"
