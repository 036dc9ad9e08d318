"""model.measure.holdout: each package answered under floors fitted on the others."""
import json

import pytest

from model.measure import holdout

# Two packages, one line position each of two kinds. In "a" the sure proposal is right and the
# unsure one wrong; in "b" both are right. Fitted on both, the floors leave out the unsure: every
# answer is right. Held out, "a" is answered under b's floors (which keep everything: b is never
# wrong) and "b" under a's (which drop the unsure): 2 of 3 answers right.
FILES = [("a/x.py", "foo()\nbar()\n", "/a"), ("b/y.py", "foo()\nqux()\n", "/b")]
SURE, UNSURE = [0.95] * 3, [0.55] * 3
LINES = [(0, 0, "foo()", None), (0, 6, "baz()", None), (1, 0, "foo()", None), (1, 6, "qux()", None)]
RAW = [("foo", SURE, 1.0), ("zar", UNSURE, 1.0), ("foo", SURE, 1.0), ("qux", UNSURE, 1.0)]
RUNS = {"ident": ([], [], []), "line": (LINES, RAW, [("nothing", 0)] * 4)}
IN_WORD = [False] * 4


def test_subset_keeps_a_packages_positions_and_their_in_word_flags():
    runs, in_word = holdout.subset(RUNS, [False, True, False, False], lambda f: f == 0)
    assert runs["line"][0] == LINES[:2] and runs["line"][1] == RAW[:2]
    assert in_word == [False, True]
    assert runs["ident"] == ([], [], [])


def test_package_index_groups_files_by_their_first_folder():
    assert holdout.package_index(FILES + [("a/sub/z.py", "", "/a")]) == ["a", "b", "a"]


def test_held_out_figures_fall_below_the_fits_when_packages_differ():
    result = holdout.leave_one_out(RUNS, IN_WORD, FILES, targets=(0.8,))[0.8]
    assert result["fitted"]["line_precision"] == 1.0 and result["fitted"]["answered"] == 0.5
    assert result["fitted"]["floors"]["char_floor"] > 0.55
    assert result["floors_by_package"]["b"]["char_floor"] > 0.55  # b is answered under the floors fitted on a
    assert result["floors_by_package"]["a"]["char_floor"] <= 0.55
    assert result["held_out"]["line_precision"] == pytest.approx(2 / 3)
    assert result["held_out"]["answered"] == 0.75


def test_a_package_whose_others_reach_no_setting_is_answered_with_nothing():
    wrong = [(c, SURE, 1.0) for c, _, _ in RAW[:2]] + [("zzz", SURE, 1.0)] * 2  # b: always sure and wrong
    runs = {"ident": ([], [], []), "line": (LINES, wrong, [("nothing", 0)] * 4)}
    result = holdout.leave_one_out(runs, IN_WORD, FILES, targets=(0.9,))[0.9]
    assert result["floors_by_package"]["a"]["char_floor"] == 1.01  # fitted on b alone: nothing reaches 0.9
    assert result["fitted"]["floors"] is None  # nor on both


def test_each_packages_sweep_is_computed_once_and_serves_every_fit():
    rows = holdout.package_sweeps(RUNS, IN_WORD, FILES)
    assert set(rows) == {None, "a", "b"}
    assert rows["b"] == holdout.sweep_rows(*holdout.subset(RUNS, IN_WORD, lambda f: f != 1))  # without b's positions
    for overall in (None, 0.5):
        assert holdout.leave_one_out(RUNS, IN_WORD, FILES, (0.8, 0.9), overall, rows=rows) == \
            holdout.leave_one_out(RUNS, IN_WORD, FILES, (0.8, 0.9), overall)


def test_table_and_plot_show_each_target(tmp_path):
    result = {"language": "python", "want": 0.8, "words_ident_exact": 0.5,
              "targets": holdout.leave_one_out(RUNS, IN_WORD, FILES, targets=(0.8, 0.9))}
    text = holdout.table(result)
    assert "| 0.8 | 1.000 / 0.667 |" in text and "| 0.9 |" in text
    holdout.plot(json.loads(json.dumps(result)), tmp_path / "holdout.png")
    assert (tmp_path / "holdout.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv", [["--targets", "0"], ["--targets", "1.5"], ["--positions", "0"],
                                  ["--overall-precision", "0.8", "0"], ["--overall-precision", "7"]])
def test_main_refuses_bad_arguments_before_loading(argv, capsys):
    with pytest.raises(SystemExit):
        holdout.main(["--model", "/nonexistent", *argv])
    assert "must" in capsys.readouterr().err


def test_package_interval_is_narrow_for_alike_packages_and_wide_for_different_ones():
    assert holdout.package_interval([[10, 8], [20, 16], [5, 4]]) == pytest.approx([0.8, 0.8])
    low, high = holdout.package_interval([[10, 10], [10, 5], [10, 9], [10, 2]])
    assert low < 0.65 < high and 0 <= low and high <= 1
    assert holdout.package_interval([[10, 8], [0, 0]]) is None  # one package answered: no spread to draw


def test_lowest_holding_asks_the_low_end_of_the_interval():
    targets = {0.8: {"held_out": {"line_precision_interval": [0.74, 0.86]}},
               0.85: {"held_out": {"line_precision_interval": [0.81, 0.90]}},
               0.9: {"held_out": {"line_precision_interval": [0.85, 0.95]}},
               0.95: {"held_out": {"line_precision_interval": None}}}
    assert holdout.lowest_holding(targets, 0.8) == 0.85
    assert holdout.lowest_holding(targets, 0.9) is None


def held(low, names):
    """A target's leave_one_out entry: its held-out interval's low end and its names at the fit."""
    return {"held_out": {"line_precision_interval": [low, 0.95]}, "fitted": {"ident_exact": names}}


def test_the_rule_relaxes_the_precision_over_all_answers_only_where_names_need_it():
    by_overall = {None: {0.8: held(0.75, 0.50), 0.85: held(0.82, 0.45)},  # holds at 0.85, names under the words'
                  0.8: {0.8: held(0.78, 0.55), 0.85: held(0.81, 0.52)},
                  0.7: {0.8: held(0.81, 0.60), 0.85: held(0.83, 0.60)}}
    assert holdout.rule_choice(by_overall, 0.50) == (0.85, 0.8)  # the highest overall that keeps the names
    assert holdout.rule_choice(by_overall, 0.40) == (0.85, 0.85)  # names already above: the target itself
    assert holdout.rule_choice(by_overall, 0.58) == (0.8, 0.7)
    assert holdout.rule_choice(by_overall, 0.70) is None  # no setting gives both: the floors are kept
    assert holdout.rule_choice(by_overall, 0.58, names_target=False) == (0.85, 0.85)  # names go to the menu
    assert holdout.rule_choice({None: {0.8: held(0.7, 0.9)}}, 0.0, names_target=False) is None


def test_the_rules_floors_are_the_fit_on_every_position():
    rows = holdout.package_sweeps(RUNS, IN_WORD, FILES)[None]
    entry = holdout.rule_floors(rows, (0.8, 0.8), "keystroke_savings", 4)
    assert entry["char_floor"] > 0.55 and entry["precision_target"] == entry["overall_precision"] == 0.8
    assert entry["at_fit"]["line_precision"] == 1.0 and entry["positions"] == 4 and entry["fitted_on"] == "dev"
    text = holdout.rule_line({"rule": {"target": 0.8, "overall_precision": 0.8}, "floors": entry}, written=True)
    assert "target 0.8" in text and "written to meta.json" in text
    assert "none holds" in holdout.rule_line({"rule": None})


def test_a_set_of_one_package_is_held_out_by_its_top_folders():
    files = [("emscripten/libc/a.c", "", "/e"), ("emscripten/compiler-rt/b.c", "", "/e"), ("emscripten/libc/c.c", "", "/e")]
    assert holdout.package_index(files) == ["emscripten/libc", "emscripten/compiler-rt", "emscripten/libc"]
