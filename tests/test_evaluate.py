import json

import numpy as np
import pytest

from model.measure.evaluate import buffer_word, draw_positions, gate, ident_part, main, score_lines, xz_bpc

KEYS = {"chars", "nats_per_char", "bpc", "accuracy", "top5_accuracy", "ident_exact", "line_exact",
        "keystroke_savings", "line_precision", "baselines", "positions", "min_prob", "gate_sweep", "completer",
        "word_weight"}


def test_perfect_completions_score_one():
    s = score_lines([("foo(x)", "foo(x)"), ("bar", "bar")])
    assert s == {"line_exact": 1.0, "keystroke_savings": 1.0, "line_precision": 1.0, "answered": 1.0}


def test_completion_wrong_by_one_character_saves_nothing():
    s = score_lines([("foo(y)", "foo(x)")])
    assert s["line_exact"] == 0 and s["keystroke_savings"] == 0 and s["line_precision"] == 0


def test_prefix_completion_saves_its_share_and_empty_answers_cost_nothing():
    s = score_lines([("foo(", "foo(x)"), ("", "abcd")])
    assert s["keystroke_savings"] == pytest.approx(4 / 10)
    assert s["line_precision"] == 1.0 and s["answered"] == 0.5 and s["line_exact"] == 0


def test_confidence_gate_and_identifier_cut():
    assert gate("abc def", [0.9, 0.9, 0.9, 0.9, 0.2, 0.9, 0.9], 0.5) == "abc"
    assert gate("abc", [0.1, 0.9, 0.9], 0.5) == ""
    assert gate("abc", [0.9, 0.9, 0.9], 0.0) == "abc"
    assert ident_part("value(x)") == "value"


def test_buffer_words_most_frequent_then_nearest():
    assert buffer_word("alpha alpine alpha al", prefix="al") == "pha"
    assert buffer_word("alpine alpha al", prefix="al") == "pha"  # a tie: the nearest
    assert buffer_word("nothing here zz", prefix="zz") == ""


def test_buffer_word_uses_the_words_before_and_after_less_the_one_typed():
    before, after = "alpha = 1\nalphabet = 2\nal", "\nprint(alphabet, alphabet)\n"
    assert buffer_word(before, after, prefix="al") == "phabet"  # 3 against 1
    assert buffer_word("x = alp", prefix="alp") == ""  # the word being typed is not a candidate
    assert buffer_word("zeta\nzed\nze", prefix="ze") == "d"  # a tie goes to the nearest


def test_xz_on_one_repeated_line_is_nearly_free():
    assert xz_bpc(["x = x + 1\n" * 2000]) < 0.1  # ~130 bytes, mostly the xz header
    noise = "".join(chr(33 + int(b) % 90) for b in np.random.default_rng(0).integers(0, 256, 5000))
    assert xz_bpc([noise]) > 6  # random over 90 symbols: log2(90) = 6.5 bits


def test_positions_are_in_code_never_in_strings():
    doc = 'name = "value_in_string"\nresult = compute(name)\n'
    idents, lines = draw_positions([doc], 50, seed=0)
    assert {truth for _, _, truth in idents} == {"sult", "mpute"}
    assert all(doc[pos - 2:pos + len(truth)].isidentifier() for _, pos, truth in idents)
    assert ("= compute(name)" in {truth for _, _, truth in lines})
    assert all('"value' not in truth[:1] for _, _, truth in lines)


def test_cli_json_on_corpus_split(tiny_model, tiny_corpus, capsys):
    main(["--model", tiny_model, "--corpus", tiny_corpus, "--split", "val", "--positions", "5", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert KEYS <= set(result)
    assert set(result["baselines"]) == {"xz_bpc", "buffer_words"}
    assert set(result["baselines"]["buffer_words"]) == {"ident_exact", "line_exact", "keystroke_savings",
                                                        "line_precision"}
    assert result["positions"] == {"ident": 5, "line": 5}
    assert {"nats_per_char", "bpc", "accuracy", "top5_accuracy", "match_model"} <= set(result["completer"])


def test_positions_0_gives_the_network_figures_alone(tiny_model, tiny_corpus, capsys):
    main(["--model", tiny_model, "--corpus", tiny_corpus, "--split", "val", "--positions", "0", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"bpc", "accuracy", "completer"} <= set(result) and set(result["baselines"]) == {"xz_bpc"}
    assert "ident_exact" not in result and "positions" not in result
    main(["--model", tiny_model, "--corpus", tiny_corpus, "--split", "val", "--positions", "0"])
    assert "bits/char" in capsys.readouterr().out


def test_one_repeated_line_is_predicted(repeat_model, tmp_path, capsys):
    f = tmp_path / "repeat.py"
    f.write_text("v9 = 0  # a comment the model's cleaning removes\n" + "x = x + 1\n" * 200)
    main(["--model", repeat_model, str(f), "--positions", "20", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["accuracy"] > 0.95 and result["bpc"] < 0.3
    assert result["chars"] == len("v9 = 0\n" + "x = x + 1\n" * 200)  # cleaned, file start included
    assert result["line_exact"] > 0.8


def test_context_curve_shows_what_context_buys(repeat_model, tmp_path, capsys):
    f = tmp_path / "repeat.py"
    f.write_text("x = x + 1\n" * 200)
    main(["--model", repeat_model, str(f), "--positions", "6", "--context-curve", "50,1", "--json"])
    curve = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["context_curve"]
    assert curve["positions"] == 6 and list(curve["bpc"]) == ["1", "50"]
    # After one character the model cannot know where in "x = x + 1" it is; after 50 it can.
    assert curve["bpc"]["1"] > curve["bpc"]["50"] and curve["bpc"]["50"] < 0.3


def test_fit_match_stores_weights_the_completer_uses(repeat_model, tmp_path, capsys):
    import shutil

    from model.serving.completer import Completer

    model = tmp_path / "m"
    shutil.copytree(repeat_model, model)
    meta = json.loads((model / "meta.json").read_text())
    meta["match"] = {"weights": "unusable"}  # what the error message's refit must repair
    (model / "meta.json").write_text(json.dumps(meta))
    f = tmp_path / "repeat.py"
    f.write_text("y = y * 2\n" * 50 + "x = x + 1\n" * 50)
    main(["--model", str(model), str(f), "--fit-match"])
    match = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(match["weights"]) == len(match["edges"]) == len(match["positions"])
    assert match["weights"][-1] > 0.5  # 64 characters in common: copying is nearly always right
    assert Completer.load(str(model)).match_weights[-1] == match["weights"][-1]
    main(["--model", str(model), str(f), "--positions", "5", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["completer"]["match_model"] is True
    assert result["completer"]["bpc"] <= result["bpc"]  # the fitted mixture cannot be worse here
    with pytest.raises(SystemExit):
        main(["--model", str(model), "--corpus", str(tmp_path), "--split", "test", "--fit-match"])


def test_bad_command_line_values_are_refused_clearly(tiny_model, tiny_corpus, capsys):
    from model.measure.speed import main as bench_main

    for argv, message in ((["--word-weight", "1.5"], "--word-weight must be between 0 and 1"),
                          (["--context-curve", "10,x"], "comma-separated"),
                          (["--positions", "-1"], "0 or more"),
                          (["--positions", "0", "--context-curve", "50"], "more than 0")):
        with pytest.raises(SystemExit):
            main(["--model", tiny_model, "--corpus", tiny_corpus, *argv])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_main(["--model", tiny_model, "--model-context", "0"])
    assert "--model-context must be a positive" in capsys.readouterr().err


def test_the_word_list_ranks_by_uses_then_nearness():
    from model.measure.evaluate import buffer_word, buffer_words
    before = "total = 0\ntoken = 1\ntotal += token\ntoken = total\nto"
    assert buffer_words(before, prefix="to", k=3) == ["tal", "ken"]  # 3 uses each: the nearer first
    assert buffer_word(before, prefix="to") == "tal"
    assert buffer_words("token\n" + before, prefix="to", k=1) == ["ken"]  # used once more
    assert buffer_words("x = 1\nzz", prefix="zz", k=3) == [] and buffer_word("x\nzz", prefix="zz") == ""
    assert buffer_words("a\nab\nab\nac\nabc\na", after="ad ad ad", prefix="a", k=2) == ["d", "b"]
