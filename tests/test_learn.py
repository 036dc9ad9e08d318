"""model.training.learn on tiny real projects from a tiny real base model: one file, three files, 20 kB
(killed with a real SIGKILL mid-training, then resumed), and a model that got worse; without --base,
the model of the project's main language (model.training.base), chosen among tiny real models of C,
JavaScript, Lua and TypeScript."""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import test_completer
from test_completer import LANGUAGE_FILES
from test_small import project

from model.data.project import ProjectError
from model.serving import modeldir
from model.serving.completer import Completer
from model.serving.modeldir import ModelDirError
from model.training.base import SHIPPED, choose_base, shipped_models
from model.training.learn import LearnError, learn, worse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
QUICK = {"positions": 10, "show_progress": False, "verbose": 0, "max_passes": 8}
language_models = test_completer.language_models  # the fixture: a tiny model of C, JavaScript, Lua and TypeScript


@pytest.fixture(scope="module")
def base(tiny_model, tmp_path_factory):
    """The tiny model with a policy and project weights of its own, as a fitted model dir has."""
    path = str(tmp_path_factory.mktemp("base") / "python")
    shutil.copytree(tiny_model, path)
    meta = json.load(open(os.path.join(path, "meta.json")))
    meta["policy"] = {"ident_floor": 0.01, "char_floor": 0.0, "line_floor": 0.3, "extend_floor": 0.0, "fitted_on": "dev"}
    meta["project_match"] = {**meta["match"], "fitted_on": "dev"}
    meta["name_floor"], meta["whole_names"] = "calibrated", False  # the floors above were fitted with these
    modeldir.write_meta(path, meta)
    return path


def test_one_file_is_refused_and_nothing_is_written(base, tmp_path):
    src = project(str(tmp_path / "one"), 1)
    out = str(tmp_path / "out")
    with pytest.raises(LearnError, match=r"1 \.py/\.pyw file\(s\) found; 1 file\(s\) of code kept: a corpus "
                                         r"needs at least 3"):
        learn(src, out, base=base, **QUICK)
    assert not os.path.exists(out) and not os.path.exists(out + ".partial")


def test_three_files_learn_and_install_a_complete_model_dir(base, tmp_path, monkeypatch):
    src = project(str(tmp_path / "three"), 3)
    out = str(tmp_path / "models" / "three")
    monkeypatch.setattr("model.training.learn.MEASURE_CHARS", 200)  # bits/char on the held-out file's first 200 chars
    meta = learn(src, out, base=base, learning_rate=1e-2, max_minutes=3, **QUICK)
    p = meta["project"]
    assert p["splits"]["test"]["chars"] > 200 and p["before"]["chars"] == p["after"]["chars"] == 200
    assert p["root"] == os.path.abspath(src) and p["base"] == os.path.abspath(base)
    assert [p["splits"][s]["files"] for s in ("train", "val", "test")] == [1, 1, 1] and len(p["held_out"]) == 1
    assert p["after"]["completer_bits_per_char"] < p["before"]["completer_bits_per_char"]
    assert not worse(p["before"], p["after"])
    # The completions' own time (what refitting the policy costs twice over) is part of a measurement's.
    assert 0 < p["seconds"]["complete"] <= p["seconds"]["measure"] + 0.05  # (measure is rounded to 0.1 s)
    # meta.json records the change and how sure the positions make it, not the positions themselves.
    assert "per_position" not in p["before"] and "per_position" not in p["after"]
    savings = p["difference"]["keystroke_savings"]
    assert savings["after_minus_before"] == pytest.approx(p["after"]["keystroke_savings"] - p["before"]["keystroke_savings"])
    assert savings["low"] <= savings["after_minus_before"] <= savings["high"]
    base_meta = json.load(open(os.path.join(base, "meta.json")))
    on_disk = json.load(open(os.path.join(out, "meta.json")))
    assert on_disk["project"]["root"] == p["root"]
    assert (on_disk["policy"], on_disk["project_match"]) == (base_meta["policy"], base_meta["project_match"])
    assert (on_disk["name_floor"], on_disk["whole_names"]) == ("calibrated", False)  # it serves as its base does
    assert on_disk["match"]["weights"] and on_disk["training"]["base"] == os.path.abspath(base)
    assert sorted(os.listdir(out)) == ["curves.png", "history.csv", "meta.json", "model.keras", "vocab.json"]
    assert not os.path.exists(out + ".partial")
    Completer.load(out)


def learn_cmd(src, out, base):
    return [sys.executable, "-m", "model.training.learn", src, "--out", out, "--base", base, "--max-minutes", "4",
            "--positions", "10", "--learning-rate", "1e-2", "--max-passes", "8", "--verbose", "2"]


@pytest.mark.parametrize("flag", ["--max-passes", "--positions", "--max-minutes"])
def test_learn_refuses_a_count_that_is_not_positive(flag, tmp_path, capsys):
    from model.training.learn import main
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--out", str(tmp_path / "out"), flag, "0"])
    assert exit_info.value.code == 2 and "must be positive" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out.partial")


def test_kill_9_during_learn_then_resume(base, tmp_path):
    src = project(str(tmp_path / "app"), 54)  # ~20 kB
    models = str(tmp_path / "models")
    out = os.path.join(models, "app")
    proc = subprocess.Popen(learn_cmd(src, out, base), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:  # ends at EOF if learn dies first, so the loop is bounded
        if line.startswith("Epoch 2/"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.stdout.close()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    work = out + ".partial"
    assert not os.path.exists(out)  # never half a model dir in place
    assert json.load(open(os.path.join(work, "checkpoints", "state.json")))["epoch"] == 0
    with pytest.raises(ModelDirError, match="unfinished run's work dir"):
        Completer.load(work)
    from server.models import ModelsError, model_dirs

    with pytest.raises(ModelsError, match="no model dirs"):
        model_dirs(models)  # the server finds nothing to serve in the work dir

    done = subprocess.run(learn_cmd(src, out, base), cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming the run in" in done.stderr and "after epoch 1" in done.stderr
    assert "Epoch 1/" not in done.stdout and "Epoch 2/" in done.stdout
    assert "bits/char, the Completer" in done.stdout and f"wrote {out}" in done.stdout
    meta = json.load(open(os.path.join(out, "meta.json")))
    assert meta["project"]["root"] == os.path.abspath(src)
    assert meta["training"]["epochs_run"] >= 2
    rows = modeldir.history(out)
    assert [int(r["epoch"]) for r in rows] == list(range(len(rows)))  # epoch 1 once, then on
    assert not os.path.exists(work)
    assert model_dirs(models) == [out]
    # Served beside the default model (as make serve serves models/), it completes the project's files.
    assert f"TABCOMPLETE_MODELS=model/pretrained{os.pathsep}{models} gunicorn" in done.stdout
    from server.models import load_models

    served = load_models(os.pathsep.join([base, models]))
    assert [(m.name, m.root) for m in served.all()] == [("python", None), ("app", os.path.abspath(src))]
    assert served.pick("python", os.path.join(src, "pkg", "new.py")).name == "app"
    assert served.pick("python", str(tmp_path / "elsewhere.py")).name == "python"


def test_a_model_that_got_worse_is_not_installed(base, tmp_path):
    src = project(str(tmp_path / "app"), 12)
    out = str(tmp_path / "out")
    # A learning rate this high wrecks the network: every epoch is worse than the base.
    with pytest.raises(LearnError, match=r"the tuned model is worse than the base on the held-out files "
                                         r"\(bits/char .*, so .* was not written; the run stays in"):
        learn(src, out, base=base, learning_rate=3.0, max_minutes=2, **QUICK)
    assert not os.path.exists(out) and os.path.exists(os.path.join(out + ".partial", "pending-meta.json"))


def test_worse_weighs_savings_against_precision():
    before = {"completer_bits_per_char": 1.09, "keystroke_savings": 0.052, "line_precision": 0.612}
    better_trade = {"completer_bits_per_char": 1.03, "keystroke_savings": 0.050, "line_precision": 0.697}
    assert worse(before, better_trade) == []
    assert worse(before, {**better_trade, "line_precision": 0.6}) == [
        "keystroke savings 0.052 -> 0.050 at line precision 0.612 -> 0.600"]
    assert worse(before, {**before, "completer_bits_per_char": 1.2, "line_precision": 0.5}) == [
        "bits/char 1.090 -> 1.200", "line precision 0.612 -> 0.500 at keystroke savings 0.052 -> 0.052"]
    assert worse(before, {**better_trade, "keystroke_savings": 0.0, "line_precision": None}) == [
        "keystroke savings 0.052 -> 0.000 at line precision 0.612 -> none answered"]


def test_policy_on_val_keeps_the_base_precision_and_saves_no_less(base):
    """Refitting the floors on val (learn's default) for the same model: the fitted floors reach
    the precision the base's own floors get on those files, and save at least as many keystrokes
    (the base's floors are points of the sweep it searches)."""
    from model.measure.benchmark import draw_positions, run_positions, score
    from model.measure.evaluate import progress_bar
    from model.serving.policy import FLOORS, Policy
    from model.training.learn import fit_policy_on_val

    texts = [open(os.path.join(ROOT, "model", name)).read()
             for name in ("serving/policy.py", "serving/stop.py", "text/vocab.py")]
    files = [(f"p/{i}.py", text, ROOT) for i, text in enumerate(texts)]
    completer = Completer.load(base)
    small = [("p/x.py", "import os\n\nx = os.path.join('a', 'b')\ny = len(x) + 2\n", ROOT)]
    assert fit_policy_on_val(completer, completer, small, 150, 0, progress_bar(False)) is None  # < 100 lines
    fitted = fit_policy_on_val(completer, completer, files, 150, 0, progress_bar(False))
    assert fitted is not None and fitted["fitted_on"] == "project val"
    idents, lines = draw_positions(files, 150, 0)
    assert len(lines) == 150

    def server_defaults(policy):
        completer.policy = policy
        return score(run_positions(completer, files, idents, progress_bar(False), "i"), idents,
                     run_positions(completer, files, lines, progress_bar(False), "l"), lines)
    own = server_defaults(Policy(0.01, 0.0, 0.3, 0.0))
    refit = server_defaults(Policy(*(fitted[name] for name in FLOORS)))
    assert fitted["precision_target"] == pytest.approx(own["line_precision"], abs=1e-4)
    assert refit["line_precision"] >= own["line_precision"] - 1e-9
    assert refit["keystroke_savings"] >= own["keystroke_savings"] - 1e-9


# -- Without --base: the model of the language with the most source bytes (model.training.base) --------

def write(root, files):
    """{relative path: text} under root; returns root."""
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return str(root)


def of(language, i):
    """A distinct file of the language (the duplicate filter keeps them all), about 300-400 bytes."""
    return LANGUAGE_FILES[language][1].replace("load", f"load{i}")


def test_a_c_project_starts_from_the_c_model_and_its_headers_count(language_models, tmp_path):
    _, models = language_models
    src = write(tmp_path / "c", {"src/main.c": of("c", 0), "include/app.h": of("c", 1) * 3, "tools/gen.py": "x = 1\n",
                                 "scripts/build.lua": of("lua", 0)})
    choice = choose_base(src, models)
    assert (choice.path, choice.language) == (os.path.join(models, "c"), "c")
    c_bytes = len(of("c", 0)) + 3 * len(of("c", 1))
    assert choice.sizes == {"c": c_bytes, "javascript": 0, "lua": len(of("lua", 0)), "typescript": 0}
    assert choice.line().startswith(f"base: {os.path.join(models, 'c')} (most source bytes: c {c_bytes / 1e3:.0f} kB, "
                                    f"lua {len(of('lua', 0))} B; no javascript, typescript files)")


def test_a_lua_project_starts_from_the_lua_model(language_models, tmp_path):
    _, models = language_models
    src = write(tmp_path / "lua", {f"lua/m{i}.lua": of("lua", i) for i in range(3)})
    assert choose_base(src, models).path == os.path.join(models, "lua")


def test_a_mixed_project_starts_from_the_language_with_the_most_bytes(language_models, tmp_path):
    _, models = language_models
    # Bytes, not files: two long JavaScript files outweigh three C files.
    files = {**{f"web/m{i}.js": of("javascript", i) * 4 for i in range(2)}, **{f"c/m{i}.c": of("c", i) for i in range(3)}}
    js_bytes = sum(len(of("javascript", i)) * 4 for i in range(2))
    c_bytes = sum(len(of("c", i)) for i in range(3))
    assert js_bytes > c_bytes
    assert choose_base(write(tmp_path / "mixed", files), models).language == "javascript"
    # Code that is not the project's own does not count: vendored, node_modules, git-ignored.
    files = {**{f"c/m{i}.c": of("c", i) for i in range(3)}, "vendor/big.js": of("javascript", 0) * 20,
             "node_modules/dep/index.js": of("javascript", 1) * 20, "out.js": of("javascript", 2) * 20,
             ".gitignore": "out.js\n"}
    src = write(tmp_path / "vendored", files)
    subprocess.run(["git", "init", "-q", src], check=True)
    choice = choose_base(src, models)
    assert choice.language == "c" and choice.sizes["javascript"] == 0


def test_a_project_of_no_model_s_language_is_refused_naming_the_languages(language_models, tmp_path, capsys):
    _, models = language_models
    src = write(tmp_path / "rusty", {"src/main.rs": "fn main() {}\n", "build.py": "x = 1\n", "empty.c": ""})
    with pytest.raises(ProjectError, match=r"rusty: no source files of the languages of the models in .* \(looked "
                                           r"for c: \.c \.h; javascript: \.js \.mjs \.cjs; lua: \.lua; "
                                           r"typescript: \.ts\); pass --base MODEL_DIR"):
        choose_base(src, models)
    # The command line says it, with the shipped models, and writes nothing.
    from model.training.learn import main
    out = str(tmp_path / "out")
    with pytest.raises(SystemExit, match=r"error: .*rusty/src: no source files of the languages of the models in "
                                         r"model/pretrained \(looked for .*python: \.py \.pyw"):
        main([str(tmp_path / "rusty" / "src"), "--out", out])
    assert not os.path.exists(out) and not os.path.exists(out + ".partial")


def test_each_shipped_model_is_the_base_of_a_project_of_its_language(tmp_path):
    shipped = shipped_models(SHIPPED)
    assert "python" in shipped
    for language, (path, exts) in shipped.items():
        src = write(tmp_path / language, {f"a{ext}": "x\n" * (i + 1) for i, ext in enumerate(exts)})
        choice = choose_base(src, SHIPPED)
        assert (choice.path, choice.language) == (path, language)
        assert choice.sizes[language] == sum(2 * (i + 1) for i in range(len(exts)))


def test_learn_without_a_base_learns_a_c_project_from_the_c_model(language_models, tmp_path, capsys):
    _, models = language_models
    src = write(tmp_path / "app", {**{f"src/m{i}.c": of("c", i) for i in range(5)},
                                   **{f"include/m{i}.h": of("c", 10 + i) for i in range(3)}, "doc.lua": of("lua", 0)})
    out = str(tmp_path / "models" / "app")
    meta = learn(src, out, models=models, learning_rate=1e-2, max_minutes=2, **QUICK)
    assert capsys.readouterr().err.startswith(f"base: {os.path.join(models, 'c')} (most source bytes: c ")
    assert meta["project"]["base"] == os.path.abspath(os.path.join(models, "c")) and meta["language"] == "c"
    assert meta["project"]["files"]["kept"] == 8  # the .c files and the .h files, not the .lua
    completer = Completer.load(out)
    assert (completer.language, completer.ext) == ("c", ".c")
