import json
import math
import os
import re
import shutil
from dataclasses import replace

import pytest

from model.serving import modeldir
from model.serving.completer import REQUEST_CHARS, Completer, carried
from model.serving.modeldir import ModelDirError
from model.serving.names import confidence_features, name_confidence, name_probs, rank_names
from model.serving.policy import Policy
from model.text.clean import FILE_START, clean

CODE = open(os.path.join(os.path.dirname(__file__), "conftest.py")).read()


def test_cached_result_equals_uncached(tiny_model):
    warm = Completer.load(tiny_model)
    buffer = CODE[:1500]
    warm.complete(buffer[:1400])  # fills the cache with the buffer's first chunks
    previous = 1400
    for typed in (1420, 1450, 1500):
        got = warm.complete(buffer[:typed], stop="none", max_chars=30)
        assert got.new_chars <= typed - previous  # only the characters typed since were run
        previous = typed
        cold = Completer.load(tiny_model).complete(buffer[:typed], stop="none", max_chars=30)
        assert cold.new_chars > 1000
        # The same text; the same probabilities but for the last bits of the floats (a cached
        # state was computed in a batch, on some CPUs summed in another order than step by step).
        assert got.text == cold.text and got.probs == pytest.approx(cold.probs, rel=1e-7)
    assert warm.cache.hits >= 3


def test_a_model_adapting_to_the_buffer_completes_the_same_warm_or_cold(tiny_model, tmp_path):
    adapting = tmp_path / "adapting"
    shutil.copytree(tiny_model, adapting)
    meta = json.loads((adapting / "meta.json").read_text())
    (adapting / "meta.json").write_text(json.dumps({**meta, "adapt": {"rate": 0.3}}))
    warm = Completer.load(str(adapting))
    buffer = CODE[:1500]
    warm.complete(buffer[:1400])
    for typed in (1420, 1450, 1500):
        got = warm.complete(buffer[:typed], stop="none", max_chars=30, min_prob=0, choices=3)
        assert got.new_chars <= typed - 1400 + 64  # from a cache point of the last lines on
        cold = Completer.load(str(adapting)).complete(buffer[:typed], stop="none", max_chars=30, min_prob=0, choices=3)
        assert cold.new_chars > 1000
        assert got.text == cold.text and got.probs == pytest.approx(cold.probs, rel=1e-5)
        assert [c for c, _ in got.choices] == [c for c, _ in cold.choices]
    plain = Completer.load(tiny_model).complete(buffer, stop="none", max_chars=30, min_prob=0)
    assert got.probs != pytest.approx(plain.probs, rel=1e-3)  # the output layer did adapt


def test_a_buffer_one_process_read_is_not_read_again_by_another_sharing_its_states(tiny_model):
    from model.serving.cache import SharedStates

    shared = SharedStates(megabytes=4)
    one, two = (Completer.load(tiny_model, shared_states=shared) for _ in range(2))  # as two server workers
    buffer = CODE[:1500]
    one.complete(buffer)
    got = two.complete(buffer + "x", stop="none", max_chars=30)
    assert got.new_chars < 70 and shared.hits >= 1  # from the last cache point on, not the whole buffer
    cold = Completer.load(tiny_model).complete(buffer + "x", stop="none", max_chars=30)
    assert cold.new_chars > 1000
    assert got.text == cold.text and got.probs == pytest.approx(cold.probs, rel=1e-7)


def test_editing_the_last_line_reruns_only_that_line(tiny_model):
    completer = Completer.load(tiny_model)
    lines = CODE[:1400].rsplit("\n", 1)[0] + "\n"
    completer.complete(lines + "    value = compute(")
    completer.recent.clear()  # the line-start cache alone, without the recent requests' states
    edited = completer.complete(lines + "    value = other(", stop="none", max_chars=20)
    assert edited.new_chars == len("    value = other(")
    cold = Completer.load(tiny_model).complete(lines + "    value = other(", stop="none", max_chars=20)
    assert (edited.text, edited.probs) == (cold.text, cold.probs)


def test_completions_respect_stop_modes_and_gate(tiny_model):
    # min_prob=0: the decoder's own stops, with no cut (None would ask for the policy)
    c = Completer.load(tiny_model)
    buffer = CODE[:800] + "\ndef main(argv):\n    for name in "
    line = c.complete(buffer, stop="line", max_chars=60, min_prob=0.0)
    assert "\n" not in line.text and len(line.text) <= 60
    assert len(line.probs) == len(line.text)
    assert c.complete(buffer, stop="none", max_chars=25, min_prob=0.0).stop_reason in ("max_chars", "repeat")
    assert c.complete(buffer, min_prob=1.0).text == ""  # nothing is certain
    gated = c.complete(buffer, stop="none", max_chars=40, min_prob=0.3)
    assert all(p >= 0.3 for p in gated.probs)
    three = c.complete(buffer, n=3, max_chars=20, min_prob=0.0)
    assert 1 <= len(three.alternatives) <= 3 and three.alternatives[0] == three.text
    assert len(set(three.alternatives)) == len(three.alternatives)
    a = c.complete(buffer, temperature=0.9, seed=7, stop="none", max_chars=30, min_prob=0.0)
    b = c.complete(buffer, temperature=0.9, seed=7, stop="none", max_chars=30, min_prob=0.0)
    assert a.text == b.text  # seeded sampling is reproducible


def test_unknown_characters_and_comments(tiny_model):
    c = Completer.load(tiny_model)
    result = c.complete("s = '€😀'\x00\x07\nx = ", max_chars=20)
    assert "\ufffd" not in result.text and "\x1c" not in result.text
    assert c.complete("x = 1  # because", max_chars=20).stop_reason == "in_comment"
    assert c.complete("", max_chars=5).stop_reason  # an empty buffer is fine too


def test_model_that_loops_is_stopped(repeat_model):
    result = Completer.load(repeat_model).complete("x = x + 1\n" * 5, stop="none", max_chars=200)
    assert result.stop_reason == "repeat"
    assert len(result.text) < 60


def _decoders_names(completer):
    """The Completer without the whole-name rule (meta.json "whole_names": false): the tiny network
    ends a name after a few letters more likely than a long name's characters' product (a real one
    does not: docs/benchmarks.md), and these tests are about the hints that reach the decoder."""
    completer.keeps_whole_names = False
    return completer


def test_identifier_from_far_up_the_buffer_is_completed(tiny_model):
    buffer = "def distance_metric(data):\n    return data\n\n" + "x = 1\n" * 500 + "total = di"
    rest = "stance_metric"
    only_words = Completer.load(tiny_model, word_weight=1.0).complete(buffer, max_chars=30, min_prob=0.0)
    assert only_words.text.startswith(rest)
    assert only_words.probs[:len(rest)] == [1.0] * len(rest)  # one candidate: sure of every character
    model_only = Completer.load(tiny_model, word_weight=0.0).complete(buffer, max_chars=30, min_prob=0.0)
    mixed = _decoders_names(Completer.load(tiny_model, word_weight=0.5)).complete(buffer, max_chars=30, min_prob=0.0)
    assert mixed.text.startswith(rest) and all(0.5 <= p <= 1 for p in mixed.probs[:len(rest)])
    assert not model_only.text.startswith(rest)  # the tiny model alone cannot know it
    with pytest.raises(ValueError, match="word_weight"):
        Completer.load(tiny_model, word_weight=1.5)


def _with_match_weights(model_dir, tmp_path, weights):
    """A copy of model_dir with these match weights (None: without a match model)."""
    out = tmp_path / f"match_{len(list(tmp_path.iterdir()))}"
    shutil.copytree(model_dir, out)
    meta = json.loads((out / "meta.json").read_text())
    meta.pop("match", None)
    if weights is not None:
        meta["match"] = {"min": 5, "max": 64, "edges": [5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64], "weights": weights}
    (out / "meta.json").write_text(json.dumps(meta))
    return str(out)


def test_a_line_written_before_is_copied_with_the_match_model(tiny_model, tmp_path):
    buffer = "    result = compute_total(alpha, beta)\n" + "x = 1\n" * 20 + "    result = comp"
    copying = Completer.load(_with_match_weights(tiny_model, tmp_path, [0.9] * 11), word_weight=0.0)
    got = copying.complete(buffer, max_chars=40)
    assert got.text == "ute_total(alpha, beta)"
    assert all(p >= 0.9 for p in got.probs)
    network_only = Completer.load(_with_match_weights(tiny_model, tmp_path, None), word_weight=0.0)
    assert network_only.match_weights is None
    assert network_only.complete(buffer, max_chars=40).text != got.text  # the tiny network cannot know that line
    assert Completer.load(tiny_model).match_weights is not None  # model.training.train fits them on the val split


def test_unusable_match_weights_are_refused(tiny_model, tmp_path):
    with pytest.raises(ModelDirError, match="match"):
        Completer.load(_with_match_weights(tiny_model, tmp_path, [1.5] * 11))


def test_backspacing_reruns_only_what_differs(tiny_model):
    completer = Completer.load(tiny_model)
    lines = CODE[:1400].rsplit("\n", 1)[0] + "\n"
    completer.complete(lines + "    value = compute(alpha, beta")
    edited = completer.complete(lines + "    value = compute(alpha, gamma", stop="none", max_chars=20)
    assert edited.new_chars == len("gamma")  # back to where the two differ, not to the line start
    cold = Completer.load(tiny_model).complete(lines + "    value = compute(alpha, gamma", stop="none", max_chars=20)
    assert (edited.text, edited.probs) == (cold.text, cold.probs)
    again = completer.complete(lines + "    value = compute(alpha, gamma", stop="none", max_chars=20)
    assert again.new_chars == 0 and (again.text, again.probs) == (cold.text, cold.probs)


def test_a_request_carries_the_last_chars_of_text_from_a_line_start():
    assert carried("abc", limit=10) == ("abc", "")
    assert carried("0123456789\nabcdefghijklmnopqrstuvwxyz", limit=30)[0] == "abcdefghijklmnopqrstuvwxyz"
    assert carried("a" * 100, limit=10)[0] == "a" * 10  # no line start near the cut: the last 10 characters
    text, suffix = carried("x = 1\n" * 1000, ")" * 5000)
    assert REQUEST_CHARS == 4000 and len(text) <= 4000 and text.startswith("x = 1\n") and suffix == ")" * 4000


JS = """// a file comment
import { readFile } from "fs";

/* a block
   comment */
function load(path) {  // load it
\treturn readFile(path, "utf8"); // and return it
}
"""


def test_a_javascript_model_cleans_requests_as_its_corpus_was(tmp_path):
    from model.data.corpus import SPLITS, build_corpus, documents
    from model.training.train import train

    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"m{i}.js").write_text(JS.replace("load", f"load{i}"))
    corpus = str(tmp_path / "corpus")
    build_corpus(corpus, [("src", str(src))], exts=(".js",), val_frac=0.2, test_frac=0.2, progress=False)
    out = str(tmp_path / "model")
    meta = train(corpus, out, layers=1, units=8, embedding_dim=4, dropout=0.0, batch_size=2, seq_len=16, epochs=1,
                 steps_per_epoch=2, min_count=1, sample_every=0, verbose=0)
    assert (meta["language"], meta["extension"]) == ("javascript", ".js")
    completer = Completer.load(out)
    doc = next(d for split in SPLITS for d in documents(corpus, split) if "load3(" in d)
    request = (src / "m3.js").read_text()
    context, cleaned = completer.context(request)
    assert context == FILE_START + doc  # the // and /* */ comments are gone, as in the corpus
    assert cleaned.text == clean(request, ".js").text and "//" not in doc and "\t" not in doc
    assert completer.complete("function f() {  // why").stop_reason == "in_comment"


# A file of each other language: every kind of comment, comment markers inside literals, tabs.
C_FILE = """/* A file comment
 * over lines. */
#include <stdio.h>  // for printf
#define TWICE(x) \\
\t((x) * 2) /* doubled */

static const char *GREETING = "hello // not a comment /* nor this */";

int load(int path) {  // load it
\tchar c = '/';  /* a slash */
\treturn TWICE(path) + c; // and return it
}
"""
LUA_FILE = """--[==[ A long comment
with ]] inside ]==]
local GREETING = "hello -- not a comment"
local LONG = [[a long string -- kept]]
local LEVEL = [=[ with ]] inside ]=]

--[[
print("commented out")
--]]
local function load(path)  -- load it
\treturn LONG .. path -- and return it
end
"""
TS_FILE = """/** A JSDoc comment
 * @param path where
 */
import { readFile } from "fs";

const URL: string = `http://example.com/${"a /* b */"}`; // a url
const RE = /\\/\\*+/g; // a regex

export function load(path: string): Promise<string> {  // load it
\treturn readFile(path, "utf8"); // and return it
}
"""
# language -> (extensions, a file, what must survive cleaning, what must not, a request ending in a comment)
LANGUAGE_FILES = {
    "c": ((".c", ".h"), C_FILE, ['"hello // not a comment /* nor this */"', "#define TWICE(x) \\\n    ((x) * 2)\n"],
          ["file comment", "doubled", "a slash", "return it"], "int f(void) {\n  /* why"),
    "javascript": ((".js",), JS, ['"utf8");\n}'], ["file comment", "block\n", "return it"], "function f() {  // why"),
    "lua": ((".lua",), LUA_FILE, ['"hello -- not a comment"', "[[a long string -- kept]]", "[=[ with ]] inside ]=]"],
            ["A long comment", "commented out", "return it"], "local x = 1\n--[[ why"),
    "typescript": ((".ts",), TS_FILE, ['`http://example.com/${"a /* b */"}`', "/\\/\\*+/g;"],
                   ["JSDoc", "a url", "a regex", "return it"], "let x: number = 1; // why"),
}


@pytest.fixture(scope="module")
def language_models(tmp_path_factory):
    """A tiny model per language in one models dir, each trained end to end on a corpus of files of
    its language: {language: (corpus dir, model dir, a source file)}, and the models dir."""
    from model.data.corpus import build_corpus
    from model.training.train import train

    models, made = tmp_path_factory.mktemp("models"), {}
    for language, (exts, text, _, _, _) in LANGUAGE_FILES.items():
        src = tmp_path_factory.mktemp(f"{language}_src")
        for i in range(30):
            (src / f"m{i}{exts[i % len(exts)]}").write_text(text.replace("load", f"load{i}"))
        corpus = str(tmp_path_factory.mktemp(f"{language}_corpus"))
        build_corpus(corpus, [("src", str(src))], exts=exts, val_frac=0.2, test_frac=0.2, progress=False)
        out = str(models / language)
        train(corpus, out, layers=1, units=8, embedding_dim=4, dropout=0.0, batch_size=2, seq_len=16, epochs=1,
              steps_per_epoch=2, min_count=1, sample_every=0, verbose=0)
        made[language] = (corpus, out, src / f"m3{exts[3 % len(exts)]}")
    return made, str(models)


@pytest.mark.parametrize("language", ["c", "lua", "typescript"])
def test_a_model_of_each_language_cleans_requests_as_its_corpus_was(language_models, language):
    from model.data.corpus import SPLITS, documents

    made, _ = language_models
    corpus, out, source = made[language]
    exts, _, kept, removed, in_comment = LANGUAGE_FILES[language]
    completer = Completer.load(out)
    assert (completer.language, completer.ext) == (language, min(exts))
    doc = next(d for split in SPLITS for d in documents(corpus, split) if "load3(" in d)
    request = source.read_text()
    context, cleaned = completer.context(request)
    assert context == FILE_START + doc and cleaned.text == clean(request, min(exts)).text
    assert all(k in doc for k in kept) and not any(r in doc for r in removed) and "\t" not in doc
    # the last 4000 characters of a long buffer clean as the file they were cut from
    long = "".join(request.replace("load", f"load{i}") for i in range(40))
    window, _ = carried(long)
    seen = clean(window, completer.ext, partial=True).text
    assert clean(long, completer.ext).text.endswith(seen[seen.index("\n") + 1:])
    assert completer.complete(in_comment).stop_reason == "in_comment"
    assert completer.complete(in_comment.split("\n")[0] + "\n").stop_reason != "in_comment"


def test_each_language_is_served_by_its_own_model(language_models):
    import requests

    from tests.server_helpers import LiveServer

    _, models = language_models
    live = LiveServer({"MODELS_DIR": models, "MIN_PROB": 0.0})
    try:
        health = requests.get(live.url + "/health", timeout=10).json()
        assert health["models"] == sorted(LANGUAGE_FILES)
        for language, (_, _, _, _, in_comment) in LANGUAGE_FILES.items():
            code = in_comment.split("\n")[0] + "\n"
            answer = requests.post(live.url + "/complete", json={"text": code, "language": language}, timeout=30)
            assert answer.status_code == 200 and answer.json()["model"] == language
            answer = requests.post(live.url + "/complete", json={"text": in_comment, "language": language}, timeout=30)
            assert answer.json()["completion"] == "" and answer.json()["model"] == language
    finally:
        live.close()



def _serving(model_dir, into, serves):
    """A copy of model_dir whose meta.json says it serves these other languages too."""
    shutil.copytree(model_dir, into)
    meta = json.loads((into / "meta.json").read_text())
    (into / "meta.json").write_text(json.dumps({**meta, "serves": serves}))
    return into


def test_a_model_serves_another_language_cleaned_as_that_languages_files(language_models, tmp_path):
    from server import create_app
    from server.models import ModelsError

    made, _ = language_models
    models = tmp_path / "models"
    _serving(made["javascript"][1], models / "javascript", ["typescript"])
    client = create_app({"MODELS_DIR": str(models), "MIN_PROB": 0.0}).test_client()
    ts_comment = LANGUAGE_FILES["typescript"][4]
    answer = client.post("/complete", json={"text": ts_comment, "language": "typescript"}).get_json()
    assert answer["model"] == "javascript" and answer["completion"] == ""
    code = ts_comment.split("//")[0]
    assert client.post("/complete", json={"text": code, "language": "typescript"}).status_code == 200
    # a type assertion reads as JSX to JavaScript's grammar, and hides the comment after it
    cast, js_model = "let x = <number>y; // wh", Completer.load(str(models / "javascript"))
    assert js_model.complete(cast, language="typescript").stop_reason == "in_comment"
    assert js_model.complete(cast).stop_reason != "in_comment"
    assert client.post("/complete", json={"text": cast, "language": "typescript"}).get_json()["completion"] == ""
    # serving(): the same cleaning for the benchmark's whole-file measures; a language it does not serve is refused
    as_ts = Completer.load(str(models / "javascript")).serving("typescript")
    assert (as_ts.language, as_ts.ext) == ("typescript", ".ts") and as_ts.complete(cast).stop_reason == "in_comment"
    with pytest.raises(ValueError, match="does not serve lua"):
        Completer.load(str(models / "javascript")).serving("lua")
    listed = client.get("/models").get_json()["models"]
    assert [m["serves"] for m in listed] == [["typescript"]]
    assert client.get("/health").get_json()["models"] == ["javascript", "typescript"]
    # a model of the language's own comes first, whatever the load order
    shutil.copytree(made["typescript"][1], models / "typescript")
    client = create_app({"MODELS_DIR": str(models), "MIN_PROB": 0.0}).test_client()
    assert client.post("/complete", json={"text": code, "language": "typescript"}).get_json()["model"] == "typescript"
    # two models serving one language: named, not guessed
    shutil.rmtree(models / "typescript")
    _serving(made["c"][1], models / "c", ["typescript"])
    with pytest.raises(ModelsError, match="both serve language 'typescript'"):
        create_app({"MODELS_DIR": str(models)})


def test_a_name_from_another_project_file_is_completed(tiny_model):
    completer = _decoders_names(Completer.load(tiny_model))
    # (letters the tiny model's vocabulary has)
    other = ("other.py", "def padded_sum_of_points(a, b):\n    return a + b\n")
    buffer = "import os\n\n\ndef main(argv):\n    return padd"
    without = completer.complete(buffer, max_chars=30, min_prob=0.0)
    got = completer.complete(buffer, max_chars=30, min_prob=0.0, files=[other])
    assert got.text.startswith("ed_sum_of_points") and not without.text.startswith("ed_sum_of_points")
    # resending the same files reuses their index; the buffer's own state cache is untouched
    assert completer.project_for([other]) is completer.project_for([other])
    assert completer.complete(buffer, max_chars=30, min_prob=0.0, files=[other]).text == got.text


def test_the_policy_is_the_default_and_min_prob_zero_is_no_cut(tiny_model):
    completer = Completer.load(tiny_model)
    buffer = "def add_3(a, b):\n    return a + b\n\n\nclass Point3:\n    def __init__(self, x, y):\n        self."
    ungated = completer.complete(buffer, max_chars=40, min_prob=0.0)
    policy = completer.complete(buffer, max_chars=40)
    keep = completer.policy.cut(ungated.text, ungated.probs, in_word=False)
    assert policy.text == ungated.text[:keep].rstrip(" ") or (not ungated.text[:keep].strip() and policy.text == "")
    assert policy.stop_reason in ("policy", ungated.stop_reason)


def test_a_request_with_files_is_cut_by_the_files_policy(tiny_model, tmp_path):
    model_dir = str(tmp_path / "model")
    shutil.copytree(tiny_model, model_dir)
    meta, _, _ = modeldir.load(model_dir)
    never = {"ident_floor": 1.0, "char_floor": 1.01, "line_floor": 1.0, "extend_floor": 1.01}  # says nothing
    always = {"ident_floor": 0.0, "char_floor": 0.0, "line_floor": 0.0, "extend_floor": 0.0}  # keeps it all
    modeldir.write_meta(model_dir, {**meta, "policy": never, "policy_files": always})
    completer = _decoders_names(Completer.load(model_dir))
    other = ("other.py", "def padded_sum_of_points(a, b):\n    return a + b\n")
    buffer = "import os\n\n\ndef main(argv):\n    return padd"
    assert completer.complete(buffer, max_chars=30).text == ""
    with_files = completer.complete(buffer, max_chars=30, files=[other])
    assert with_files.text == completer.complete(buffer, max_chars=30, files=[other], min_prob=0.0).text != ""
    assert completer.complete(buffer, max_chars=30, files=[("empty.py", "")]).text == ""  # nothing sent: no files
    modeldir.write_meta(model_dir, {**meta, "policy": always})
    fallback = Completer.load(model_dir)
    assert fallback.files_policy == fallback.policy == Policy(0.0, 0.0, 0.0, 0.0)  # none of its own


def test_a_name_used_only_after_the_cursor_is_completed(tiny_model):
    completer = _decoders_names(Completer.load(tiny_model))
    buffer = "import os\n\n\ndef main(argv):\n    total = padd"
    after = "\n    return padded_sum_of_points(total)\n"
    assert completer.complete(buffer, suffix=after, max_chars=30, min_prob=0.0).text.startswith("ed_sum_of_points")
    assert not completer.complete(buffer, max_chars=30, min_prob=0.0).text.startswith("ed_sum_of_points")


def test_inside_a_name_the_buffers_names_are_ranked_with_the_decoders(tiny_model):
    # Words only (word_weight 1): the decoder follows the most votes character by character, so
    # it takes "dc" (dcx and dcy together outvote dab) and then "dcy"; ranked as whole names,
    # dab, the name used most, comes first.
    buffer = "dab = 1\n" * 6 + "dcx = 2\n" * 3 + "dcy = 3\n" * 3 + "z = d"
    ranked = Completer.load(tiny_model, word_weight=1.0)
    plain = Completer.load(tiny_model, word_weight=1.0, rank_names=False)
    assert plain.complete(buffer, max_chars=4, min_prob=0.0).text.startswith("cy")
    got = ranked.complete(buffer, max_chars=4, min_prob=0.0)
    assert re.match(r"\w*", got.text).group() == "ab"
    with_choices = ranked.complete(buffer, max_chars=4, min_prob=0.0, choices=3)
    assert with_choices.text == got.text  # the choices never change the completion
    names = [re.match(r"\w*", text).group() for text, _ in with_choices.choices]
    probs = [p for _, p in with_choices.choices]
    assert names == ["ab", "cy", "cx"]
    assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)


def test_inside_a_name_the_policy_reads_the_rankings_probability(tiny_model):
    buffer = "dab = 1\n" * 6 + "dcx = 2\n" * 3 + "dcy = 3\n" * 3 + "z = d"
    completer = Completer.load(tiny_model, word_weight=1.0)
    got = completer.complete(buffer, max_chars=4, choices=3)  # the policy decides (min_prob None)
    name = re.match(r"\w*", got.text).group()
    assert name == "ab" and got.choices[0][0].startswith("ab")
    assert math.isclose(math.prod(got.probs[:len(name)]), got.choices[0][1])  # what the name floor read
    for choices in (0, 1, 5):  # the completion never depends on the choices asked
        assert completer.complete(buffer, max_chars=4, choices=choices).text == got.text
    # a floor above the ranking's probability: nothing inserted, the menu still there
    completer.policy = replace(completer.policy, ident_floor=min(1.0, got.choices[0][1] * 1.01))
    unsure = completer.complete(buffer, max_chars=4, choices=3)
    assert unsure.text == "" and unsure.choices == got.choices
    # meta.json "name_floor": "decoder" (as before 0.14.0): the decoder's probabilities, not the ranking's
    decoder = Completer.load(tiny_model, word_weight=1.0)
    decoder.floor_reads_ranking = False
    before = decoder.complete(buffer, max_chars=4, choices=3)
    assert before.text == got.text and before.choices == got.choices
    assert not math.isclose(math.prod(before.probs[:len(name)]), got.choices[0][1])


def test_a_calibrated_name_floor_reads_the_confidence_in_the_name(tiny_model):
    buffer = "dab = 1\n" * 6 + "dcx = 2\n" * 3 + "dcy = 3\n" * 3 + "z = d"
    ranking = Completer.load(tiny_model, word_weight=1.0)
    calibrated = Completer.load(tiny_model, word_weight=1.0)
    calibrated.name_floor = "calibrated"  # meta.json "name_floor": "calibrated"
    seen = calibrated.names_seen = []
    got = calibrated.complete(buffer, max_chars=4, choices=3)
    scored, context, taken = seen[-1]
    ranked = rank_names(scored, context, calibrated.name_weights)
    confidence = name_confidence(confidence_features(taken, name_probs(scored), ranked, context))
    assert taken == "ab" and got.text.startswith("ab")
    assert math.isclose(math.prod(got.probs[:2]), confidence)  # what the name floor read
    assert not math.isclose(confidence, dict(ranked)["ab"])
    # the same completion and choices as the ranking's floor: only what the floor reads differs
    plain = ranking.complete(buffer, max_chars=4, choices=3)
    assert plain.text == got.text and plain.choices == got.choices
    calibrated.policy = replace(calibrated.policy, ident_floor=min(1.0, confidence * 1.01))
    assert calibrated.complete(buffer, max_chars=4, choices=3).text == ""  # under the floor: the menu only


def test_without_words_to_rank_the_decoders_name_is_kept(tiny_model):
    buffer = "import os\nx = os.pa"
    ranked, plain = Completer.load(tiny_model), Completer.load(tiny_model, rank_names=False)
    assert ranked.complete(buffer, max_chars=13).text == plain.complete(buffer, max_chars=13).text


def test_a_name_the_model_ends_at_the_cursor_is_not_extended(tiny_model):
    # Words only (word_weight 1): "d" is a whole word seven times, "dab" six. The decoder's likeliest
    # next character is "a" (the end's votes are shared among what may follow a name), but the name
    # typed more likely ends here than goes on as "dab": the completion goes on after it.
    buffer = "dab = 1\n" * 6 + "x = d + 1\n" * 7 + "z = d"
    whole = Completer.load(tiny_model, word_weight=1.0)
    got = whole.complete(buffer, max_chars=4, min_prob=0.0, choices=3)
    assert got.text and not re.match(r"\w", got.text)
    assert any(text.startswith("ab") for text, _ in got.choices)  # the longer name is still offered
    before = _decoders_names(Completer.load(tiny_model, word_weight=1.0))  # as before 0.15.0
    assert before.complete(buffer, max_chars=4, min_prob=0.0).text.startswith("ab")
    # where the longer name is the likelier, it is finished as before
    likelier = "dab = 1\n" * 10 + "x = d + 1\n" * 3 + "z = d"
    assert whole.complete(likelier, max_chars=4, min_prob=0.0).text.startswith("ab")
