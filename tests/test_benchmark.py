"""The unseen-code benchmark's pieces on hand-made files, and one real run on a tiny package."""
import json
import os
import shutil

import numpy as np
import pytest

from model.measure import benchmark
from tests.test_packages import make_wheel

SOURCE = '''import os


def compute_total(values):
    """Sum them."""
    running_total = 0  # a comment with words: never_a_position
    for value in values:
        running_total = running_total + value
    return running_total


def report(values):
    message = "compute_total in a string"
    return compute_total(values), message
'''


def test_code_positions_are_in_code_only():
    idents, lines = benchmark.code_positions(SOURCE)
    names = {SOURCE[pos - 2:pos] + truth for pos, truth, _ in idents}
    assert {"compute_total", "running_total", "values", "value", "report", "message"} <= names
    assert "never_a_position" not in names and "string" not in names  # comments, strings
    for pos, truth, line_rest in idents:
        assert SOURCE[pos:pos + len(truth)] == truth and line_rest.startswith(truth) and "#" not in line_rest
    # a line position is a token start after code on its line; its truth stops before a comment
    truths = {SOURCE[pos:pos + len(t)]: t for pos, t in lines}
    assert "= 0" in truths and all("#" not in t for t in truths.values())
    assert all(SOURCE[pos - 1] != "\n" and SOURCE[SOURCE.rfind("\n", 0, pos) + 1:pos].strip() for pos, _ in lines)


def test_draw_positions_is_seeded_and_sorted():
    files = [("a.py", SOURCE, "."), ("b.py", SOURCE.replace("compute", "gather"), ".")]
    first = benchmark.draw_positions(files, 5, seed=3)
    assert first == benchmark.draw_positions(files, 5, seed=3)
    assert first != benchmark.draw_positions(files, 5, seed=4)
    idents, lines = first
    assert len(idents) == len(lines) == 5
    assert idents == sorted(idents) and lines == sorted(lines)


def test_editor_request_is_what_a_plugin_sends_while_writing_the_line():
    pos = SOURCE.index("running_total + value") + 3
    text, suffix = benchmark.editor_request(SOURCE, pos, chars=50)
    assert text == SOURCE[pos - 50:pos]
    assert suffix.startswith("\n    return running_total")  # the file after the current line
    assert "+ value" not in suffix[:20]


def test_cut_ceiling_counts_each_completions_longest_right_prefix():
    idents = [(0, 0, "lue)", "lue"), (0, 9, "tal(x)", "tal")]  # (file, offset, rest of the line, of the name)
    lines = [(0, 20, " = 1", None)]
    results = [("lue)", [], 0), ("tally", [], 0), ("", [], 0)]  # all 4 right, the first 3 right, none
    assert benchmark.cut_ceiling(results[:2], idents, results[2:], lines) == pytest.approx(7 / (4 + 6 + 4))


def test_per_position_agrees_with_score():
    idents = [(0, 0, "lue)", "lue"), (0, 9, "tal(x)", "tal")]
    lines = [(0, 20, " = 1", None), (0, 30, "x + y", None), (0, 40, "z", None)]
    results = [("lue)", [], 0), ("tally", [], 0)], [(" = 1", [], 0), ("x -", [], 0), ("", [], 0)]
    each, whole = benchmark.per_position(*results[:1], idents, results[1], lines), \
        benchmark.score(results[0], idents, results[1], lines)
    assert each["saved"] == [4, 0, 4, 0, 0] and each["truth"] == [4, 6, 4, 5, 1]
    assert each["answered"] == [True, True, False] and each["right"] == [True, False, False]
    assert sum(each["saved"]) / sum(each["truth"]) == pytest.approx(whole["keystroke_savings"])
    assert sum(each["right"]) / sum(each["answered"]) == pytest.approx(whole["line_precision"])


def test_first_chars_caps_what_bits_per_char_reads():
    docs = ["a" * 10, "b" * 10, "c" * 10]
    assert benchmark.first_chars(docs, None) == docs
    assert benchmark.first_chars(docs, 15) == ["a" * 10, "b" * 5]
    assert benchmark.first_chars(docs, 20) == ["a" * 10, "b" * 10]
    assert benchmark.first_chars(docs, 100) == docs


def test_paired_difference_tells_a_real_gain_from_noise():
    rng = np.random.default_rng(1)
    n = 400
    truth = rng.integers(5, 30, n).tolist()
    saved = [int(t * rng.random() * (rng.random() < 0.3)) for t in truth]
    right = (rng.random(n) < 0.7).tolist()
    before = {"saved": saved, "truth": truth, "answered": [True] * n, "right": right}
    same = benchmark.paired_difference(before, before)
    assert same["keystroke_savings"] == (0.0, 0.0, 0.0) and same["line_precision"] == (0.0, 0.0, 0.0)
    # The tuned model saves up to 3 more characters at a tenth of the positions, and is right at
    # every one of the first 80 lines (those the base got wrong there, about 24, turn right).
    better = {**before, "saved": [min(s + 3 * (i % 10 == 0), t) for i, (s, t) in enumerate(zip(saved, truth))],
              "right": [r or i < 80 for i, r in enumerate(right)]}
    d, low, high = benchmark.paired_difference(before, better)["keystroke_savings"]
    assert 0 < low < d < high
    d, low, high = benchmark.paired_difference(before, better)["line_precision"]
    assert 0 < low <= d <= high
    # Shuffling which positions gained or lost gives an interval around zero.
    shuffled = {**before, "saved": [saved[(i + 1) % n] for i in range(n)]}
    d, low, high = benchmark.paired_difference(before, shuffled)["keystroke_savings"]
    assert low < 0 < high and abs(d) < 1e-9
    with pytest.raises(ValueError):
        benchmark.paired_difference(before, {**before, "saved": saved[:-1]})


def test_a_real_benchmark_run_on_a_tiny_package(tmp_path, tiny_model):
    """model.measure.benchmark end to end: a package list, the cache, the Completer, Jedi, the report."""
    cache = str(tmp_path / "cache")
    files = {f"tinypkg/m{i}.py": SOURCE.replace("compute", f"compute{i}") for i in range(3)}
    make_wheel(cache, "tinypkg", "1.0", files=files)
    plist = tmp_path / "list.txt"
    plist.write_text("tinypkg==1.0\n")
    out = str(tmp_path / "out")
    again = str(tmp_path / "again")  # a second model, the same network: no change, on the same positions
    shutil.copytree(tiny_model, again)
    benchmark.main(["--model", tiny_model, "--model", again, "--packages", str(plist), "--cache", cache,
                    "--positions", "12", "--out", out, "--json"])
    with open(os.path.join(out, "benchmark.json")) as f:
        report = json.load(f)
    r = report["results"][0]
    assert report["packages"] == ["tinypkg==1.0"] and r["files"] == 3
    assert r["positions"] == {"ident": 12, "line": 12}
    for run in ("server_defaults", "old_gate", "ungated"):
        assert 0 <= r[run]["keystroke_savings"] <= 1 and r[run]["p50_ms"] > 0
    assert r["baselines"]["buffer_words"]["ident_exact"] > 0  # the names repeat in the file
    assert 0 <= r["baselines"]["jedi"]["ident_exact"] <= 1
    for run in ("server_defaults", "with_files"):
        assert 0 <= r[run]["line_savings"] <= 1 and (r[run]["precision"] is None or 0 <= r[run]["precision"] <= 1)
    assert r["network"]["bpc"] > 0 and r["baselines"]["xz_bpc"] > 0
    for run in ("server_defaults", "with_files"):  # no cut of the same proposals saves more than the best one
        assert r[run]["keystroke_savings"] <= r[run]["cut_ceiling_savings"] + 1e-12
    # ungated, the gate sweep's first row is the ungated run itself
    assert r["gate_sweep"][0]["min_prob"] == 0.0
    assert r["gate_sweep"][0]["keystroke_savings"] == pytest.approx(r["ungated"]["keystroke_savings"])
    assert os.path.getsize(os.path.join(out, "benchmark.png")) > 10_000
    assert "identifier exact" in open(os.path.join(out, "benchmark.md")).read()
    second = report["results"][1]
    for run in ("server_defaults", "with_files"):
        assert second["versus_first"][run]["keystroke_savings"] == [0.0, 0.0, 0.0]
        assert second[run]["keystroke_savings"] == r[run]["keystroke_savings"]
        assert "per_position" not in r[run] and "per_position" not in second[run]
    assert "versus_first" not in r
    assert "| savings - " in open(os.path.join(out, "benchmark.md")).read()
    # With choices, as the plug-ins ask: each position has exactly one outcome; what is inserted is
    # what the server's defaults insert (choices never change the completion).
    for kind in ("ident", "line"):
        tabs = r["tabs"][kind]
        outcomes = ("inserted_right", "inserted_wrong", "choice_right", "choices_wrong", "nothing")
        assert sum(tabs[o] for o in outcomes) == pytest.approx(1.0) and tabs["positions"] == 12
        assert tabs["useful"] == pytest.approx(tabs["inserted_right"] + tabs["choice_right"])
    assert r["tabs"]["line"]["nothing"] <= 1 - r["server_defaults"]["answered"] + 1e-9
    assert r["tabs"]["line"]["inserted_right"] + r["tabs"]["line"]["inserted_wrong"] == pytest.approx(
        r["server_defaults"]["answered"])
    assert "useful Tabs" in open(os.path.join(out, "benchmark.md")).read()


def test_fit_policy_stores_the_project_weights_and_the_policy(tmp_path, repeat_model, capsys):
    """--fit-policy on a dev set: the project match weights, then the policy, land in meta.json,
    and the Completer loads them back."""
    import shutil

    from model.serving.completer import Completer

    model_dir = str(tmp_path / "model")
    shutil.copytree(repeat_model, model_dir)
    cache = str(tmp_path / "cache")
    make_wheel(cache, "loops", "1.0", files={f"loops/m{i}.py": f"v{i} = 0\n" + "x = x + 1\n" * 40 for i in range(3)})
    plist = tmp_path / "dev.txt"
    plist.write_text("loops==1.0\n")
    with pytest.raises(SystemExit):
        benchmark.main(["--model", model_dir, "--fit-policy"])  # never on the benchmark itself
    assert "use --set dev" in capsys.readouterr().err
    benchmark.main(["--model", model_dir, "--packages", str(plist), "--cache", cache, "--positions", "10",
                    "--out", str(tmp_path / "out"), "--fit-policy", "--no-baselines"])
    completer = Completer.load(model_dir)
    stored = completer.meta["policy"]
    assert stored["precision_target"] == benchmark.PRECISION_TARGET and stored["at_fit"]["line_precision"] >= 0.75
    assert (completer.policy.ident_floor, completer.policy.line_floor) == (stored["ident_floor"], stored["line_floor"])
    files_stored = completer.meta["policy_files"]  # fitted on the same positions with the package's other files
    assert files_stored["fitted_on"] == stored["fitted_on"] and files_stored["at_fit"]["line_precision"] >= 0.75
    assert completer.files_policy.char_floor == files_stored["char_floor"]
    project = completer.meta["project_match"]
    assert len(project["weights"]) == len(project["edges"]) and sum(project["positions"]) > 0
    # a repeated line is copied from another file with confidence: its weight is high
    assert max(project["weights"]) > 0.5
