"""The unseen-code benchmark's pieces on hand-made files, and one real run on a tiny package."""
import itertools
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


def test_sweep_tab_figures_insert_what_is_kept_and_show_the_menu_elsewhere():
    idents = [(0, 0, "name_rest(x)", "name_rest"), (0, 5, "other)", "other")]
    lines = [(0, 9, "(a, b)", None), (0, 12, " = 1", None)]
    menus = (benchmark.menu_outcomes([[("name_rest(", 0.4)], [("wrong", 0.5), ("other)", 0.2)]], idents),
             benchmark.menu_outcomes([[("(", 0.5)], []], lines))
    assert menus[0] == [("choice_right", 9), ("choice_right", 6 - 2)] and menus[1] == [("choice_right", 0), ("nothing", 0)]
    # Both names inserted (one wrong), no line answered: the menus count only where nothing went in.
    figures = benchmark.sweep_tab_figures([("name_rest(", [], 0), ("otter", [], 0)], idents, [("", [], 0), ("", [], 0)],
                                     lines, menus)
    total = len("name_rest(x)") + len("other)") + len("(a, b)") + len(" = 1")
    assert figures == {"names_useful": 0.5, "line_useful": 0.5, "savings_with_picks": 10 / total}
    # The wrong name held back: its menu's pick saves.
    figures = benchmark.sweep_tab_figures([("name_rest(", [], 0), ("", [], 0)], idents, [("(a", [], 0), ("", [], 0)],
                                     lines, menus)
    assert figures == {"names_useful": 1.0, "line_useful": 0.5, "savings_with_picks": (10 + 4 + 2) / total}


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
    assert r["baselines"]["tool"]["name"].startswith("Jedi") and 0 <= r["baselines"]["tool"]["ident_exact"] <= 1
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
    for kind, run in itertools.product(("ident", "line"), ("tabs", "tabs_with_files")):
        tabs = r[run][kind]
        outcomes = ("inserted_right", "inserted_wrong", "choice_right", "choices_wrong", "nothing")
        assert sum(tabs[o] for o in outcomes) == pytest.approx(1.0) and tabs["positions"] == 12
        assert tabs["useful"] == pytest.approx(tabs["inserted_right"] + tabs["choice_right"])
    assert r["tabs"]["line"]["nothing"] <= 1 - r["server_defaults"]["answered"] + 1e-9
    assert r["tabs"]["line"]["inserted_right"] + r["tabs"]["line"]["inserted_wrong"] == pytest.approx(
        r["server_defaults"]["answered"])
    assert "useful Tabs" in open(os.path.join(out, "benchmark.md")).read()
    with open(os.path.join(out, "benchmark.md")) as f:
        assert ", with files: ident positions" in f.read()
    # A pick from the menu only ever adds to what the insertions save; the sweep's rows say so too.
    assert r["tabs"]["savings_with_picks"] >= r["server_defaults"]["keystroke_savings"] - 1e-12
    for row in r["policy_sweep"] + r["files_policy_sweep"]:
        assert row["savings_with_picks"] >= row["keystroke_savings"] - 1e-12
        assert 0 <= row["names_useful"] <= 1 and 0 <= row["line_useful"] <= 1
    assert second["versus_first"]["tabs"]["keystroke_savings"] == [0.0, 0.0, 0.0]
    assert "keystrokes saved with menu picks" in open(os.path.join(out, "benchmark.md")).read()
    # The word list as a menu: its first word is the one it inserts, so the menu holds at least that.
    words_menu = r["baselines"]["buffer_words_menu"]
    assert words_menu["ident"]["choice_right"] >= r["baselines"]["buffer_words"]["ident_exact"] - 1e-12
    assert words_menu["ident"]["inserted_right"] == 0 and 0 <= words_menu["ident"]["savings_with_picks"] <= 1
    assert "word list as a menu" in open(os.path.join(out, "benchmark.md")).read()


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
    for argv, said in ((["--language", "typescript", "--set", "dev", "--fit-policy"], "leave out --language"),
                       (["--language", "klingon"], "invalid choice: 'klingon'")):
        with pytest.raises(SystemExit):
            benchmark.main(["--model", model_dir, *argv])
        assert said in capsys.readouterr().err
    # A model that does not serve the language is refused before the packages are read or fetched.
    with pytest.raises(SystemExit, match="does not serve lua"):
        benchmark.main(["--model", model_dir, "--language", "lua", "--packages", str(tmp_path / "absent.txt")])
    benchmark.main(["--model", model_dir, "--packages", str(plist), "--cache", cache, "--positions", "10",
                    "--out", str(tmp_path / "out"), "--fit-policy", "--no-baselines", "--objective", "savings_with_picks",
                    "--overall-precision", "0.7"])
    completer = Completer.load(model_dir)
    stored = completer.meta["policy"]
    assert stored["precision_target"] == benchmark.PRECISION_TARGET and stored["at_fit"]["line_precision"] >= 0.75
    assert stored["objective"] == "savings_with_picks" and stored["overall_precision"] == 0.7
    assert stored["at_fit"]["precision"] >= 0.7 and "names_useful" in stored["at_fit"]
    assert (completer.policy.ident_floor, completer.policy.line_floor) == (stored["ident_floor"], stored["line_floor"])
    files_stored = completer.meta["policy_files"]  # fitted on the same positions with the package's other files
    assert files_stored["fitted_on"] == stored["fitted_on"] and files_stored["at_fit"]["line_precision"] >= 0.75
    assert completer.files_policy.char_floor == files_stored["char_floor"]
    project = completer.meta["project_match"]
    assert len(project["weights"]) == len(project["edges"]) and sum(project["positions"]) > 0
    # a repeated line is copied from another file with confidence: its weight is high
    assert max(project["weights"]) > 0.5

    assert completer.meta["match"] == Completer.load(repeat_model).meta["match"]  # a network as trained keeps its own
    # A network adapting its output layer to the buffer: its match weights are refitted on the set first.
    meta = json.loads(open(os.path.join(model_dir, "meta.json")).read())
    with open(os.path.join(model_dir, "meta.json"), "w") as f:
        json.dump({**meta, "adapt": {"rate": 0.5}}, f)
    benchmark.main(["--model", model_dir, "--packages", str(plist), "--cache", cache, "--positions", "10",
                    "--out", str(tmp_path / "out"), "--fit-policy", "--no-baselines"])
    refitted = Completer.load(model_dir)
    match = refitted.meta["match"]
    assert match != completer.meta["match"] and match["fitted_on"] == refitted.meta["policy"]["fitted_on"]
    assert sum(match["positions"]) > 0 and refitted.reader.rate == 0.5


C_SOURCE = """#include <stdio.h>

/* never_a_position */
static int compute_total(const int *values, int count)
{
    int running_total = 0;
    for (int index = 0; index < count; index++)
        running_total += values[index];
    return running_total;
}
"""


@pytest.fixture(scope="module")
def tiny_c_model(tmp_path_factory):
    from model.data.corpus import build_corpus
    from model.training.train import train

    src = tmp_path_factory.mktemp("c_src")
    for i in range(8):
        (src / f"m{i}.c").write_text(C_SOURCE.replace("compute", f"compute{i}"))
    corpus = str(tmp_path_factory.mktemp("c_corpus"))
    build_corpus(corpus, [("src", str(src))], exts=(".c", ".h"), val_frac=0.25, test_frac=0.0, progress=False)
    out = str(tmp_path_factory.mktemp("c_model"))
    train(corpus, out, layers=1, units=16, embedding_dim=8, batch_size=2, seq_len=24, epochs=1, steps_per_epoch=5,
          min_count=1, sample_every=0, verbose=0)
    return out


@pytest.mark.skipif(shutil.which("ctags") is None, reason="Universal Ctags is not installed (make system-deps)")
def test_a_c_benchmark_reads_c_files_and_sets_ctags_beside_the_model(tmp_path, tiny_c_model):
    cache = str(tmp_path / "cache")
    files = {f"cpkg/m{i}.c": C_SOURCE.replace("compute", f"compute{i}") for i in range(3)}
    make_wheel(cache, "cpkg", "1.0", files={**files, "cpkg/helper.py": SOURCE})
    plist = tmp_path / "list.txt"
    plist.write_text("cpkg==1.0\n")
    out = str(tmp_path / "out")
    benchmark.main(["--model", tiny_c_model, "--packages", str(plist), "--cache", cache, "--positions", "10",
                    "--out", out, "--json"])
    with open(os.path.join(out, "benchmark.json")) as f:
        report = json.load(f)
    r = report["results"][0]
    assert report["language"] == "c" and r["files"] == 3  # the .py file is not C
    tool = r["baselines"]["tool"]
    assert tool["name"].startswith("Universal Ctags") and tool["ident_exact"] > 0  # the package defines its names
    with open(os.path.join(out, "benchmark.md")) as f:
        assert "Universal Ctags" in f.read()


def test_unseen_lists_are_per_language():
    assert benchmark.unseen_list("dev") == benchmark.SETS["dev"]
    assert benchmark.unseen_list("benchmark", "lua").endswith(os.path.join("unseen", "lua-benchmark.txt"))


@pytest.mark.skipif(shutil.which("ctags") is None, reason="Universal Ctags is not installed (make system-deps)")
def test_ctags_completes_the_first_tag_with_the_prefix(tmp_path):
    from model.measure.baselines import ctags_completion, ctags_names

    (tmp_path / "a.c").write_text(C_SOURCE + "int compute_zeta;\n")
    root = str(tmp_path)
    assert {"compute_total", "compute_zeta"} <= set(ctags_names(root))
    raw = "x = comp"
    assert ctags_completion(raw, len(raw), root) == "ute_total"  # the first in the tag file's (sorted) order
    assert ctags_completion("x = zz", 6, root) == "" and ctags_completion("x = ", 4, root) == ""
