"""Small corpora: one file, three files, 20 kB of code, through model.data.corpus and model.training.train (real tiny Keras runs)."""
import hashlib
import json
import os
import random

import pytest

from model.data.corpus import CorpusError, build_corpus, hold_out, split_of
from model.data.corpus import main as corpus_main
from model.serving.completer import Completer
from model.training.train import TrainingError, train

TEMPLATE = '''import os


class Store{i}:
    def __init__(self, root):
        self.root = root
        self.items = {{}}

    def path_of(self, name):
        return os.path.join(self.root, name + ".txt")

    def save_{i}(self, name, value):
        self.items[name] = value
        with open(self.path_of(name), "w") as f:
            f.write(str(value))
        return len(self.items)
'''


def project(root, count, prefix="m"):
    """`count` distinct files of about 370 characters each, once cleaned."""
    os.makedirs(root, exist_ok=True)
    for i in range(count):
        with open(os.path.join(root, f"{prefix}{i}.py"), "w") as f:
            f.write(TEMPLATE.format(i=i))
    return root


def corpus_of(tmp_path, count, name="c", **kw):
    src = project(str(tmp_path / f"src_{name}"), count)
    out = str(tmp_path / name)
    return out, build_corpus(out, [("src", src)], progress=False, **kw)


def test_one_file_is_refused_with_the_fix(tmp_path, capsys):
    with pytest.raises(CorpusError, match=r"1 file\(s\) of code kept: a corpus needs at least 3, one for train "
                                          r"and one for each of val and test .* add source files"):
        corpus_of(tmp_path, 1)
    with pytest.raises(SystemExit, match="error: 1 file"):
        corpus_main(["--out", str(tmp_path / "cli"), project(str(tmp_path / "one"), 1)])


def test_three_files_give_each_split_one_file_and_a_warning(tmp_path):
    out, m = corpus_of(tmp_path, 3)
    assert [m["splits"][s]["files"] for s in ("train", "val", "test")] == [1, 1, 1]
    assert sum(m["moved_to_hold_out"].values()) >= 1  # the hash split alone gives 5%-splits no file
    assert len(m["warnings"]) == 1 and "tiny corpus" in m["warnings"][0] and "val 370 chars in 1 file" in m["warnings"][0]
    again = build_corpus(str(tmp_path / "again"), [("src", str(tmp_path / "src_c"))], progress=False)
    assert again["splits"] == m["splits"]  # still deterministic


@pytest.mark.parametrize("prefix", ["a", "b", "c", "d"])
def test_20_kB_always_has_val_and_test_files_of_half_their_share(tmp_path, prefix):
    src = project(str(tmp_path / "src"), 54, prefix=prefix)  # ~20 kB
    m = build_corpus(str(tmp_path / "c"), [(prefix, src)], progress=False)
    total = sum(s["chars"] for s in m["splits"].values())
    assert 18_000 < total < 24_000
    for name in ("val", "test"):
        assert m["splits"][name]["files"] >= 1
        assert m["splits"][name]["chars"] >= 0.05 * total / 2
    assert m["splits"]["train"]["files"] >= 44


def test_one_large_file_is_not_the_whole_held_out_split():
    # A ten-file project whose hash split put its one large file (60% of the code) in test and
    # half its files in val (arrow 1.4.0 did that to model.training.learn): 4 files left to learn from.
    # The large file comes first in hash order, so it is the one the hash order would pick back.
    names = sorted((f"pkg/m{i}.py" for i in range(10)), key=lambda n: hashlib.sha256(n.encode()).digest())
    big = ("h0", names[0], "x" * 138_000)
    small = [(f"h{i}", name, "y" * 9_000) for i, name in enumerate(names[1:], 1)]
    splits = {"train": small[:4], "val": small[4:], "test": [big]}
    hold_out(splits, {"val": 0.1, "test": 0.15})
    total = 138_000 + 9 * 9_000
    assert big in splits["train"]
    for name, fraction in (("val", 0.1), ("test", 0.15)):
        chars = sum(len(d[2]) for d in splits[name])
        assert splits[name] and fraction * total / 2 <= chars <= 2 * fraction * total, name
    assert sum(len(d[2]) for d in splits["train"]) > 0.6 * total


def test_a_big_corpus_keeps_its_hash_split():
    docs = [("x" * 64, f"pkg/mod_{i}.py", "code " * 100) for i in range(600)]
    splits = {name: [] for name in ("train", "val", "test")}
    for doc in docs:
        splits[split_of(doc[1], 0.05, 0.05)].append(doc)
    before = {name: list(d) for name, d in splits.items()}
    assert hold_out(splits, {"val": 0.05, "test": 0.05}) == {}
    assert splits == before


def test_train_with_defaults_fits_a_three_file_corpus(tmp_path):
    corpus, _ = corpus_of(tmp_path, 3)
    out = str(tmp_path / "model")
    meta = train(corpus, out, units=16, embedding_dim=8, epochs=2, min_count=1, sample_every=0, verbose=0)
    tc = meta["training"]
    # One 400-char file a split: 128-char windows fit no stream 16 steps a pass, so they shrink to 32.
    assert (tc["batch_size"], tc["seq_len"]) == (1, 32)
    assert tc["epochs_run"] == 2 and meta["match"]["weights"]
    Completer.load(out)
    assert not os.path.exists(out + ".partial")


def test_train_with_defaults_fits_20_kB_and_stops_early_on_val(tmp_path):
    # Files of random names: what is left to learn after the syntax does not carry over to val.
    rng = random.Random(0)
    src = str(tmp_path / "src")
    os.makedirs(src)
    for i in range(50):
        with open(os.path.join(src, f"r{i}.py"), "w") as f:
            f.write("".join(f"{rng.choice('abcdefgh')}{rng.randrange(99)} = {rng.choice('pqrstuvw')}"
                            f"({rng.randrange(999)})\n" for _ in range(30)))
    corpus = str(tmp_path / "c")
    build_corpus(corpus, [("src", src)], val_frac=0.2, test_frac=0.1, progress=False)
    meta = train(corpus, str(tmp_path / "model"), units=32, embedding_dim=8, learning_rate=1e-2, epochs=40,
                 patience=2, min_count=1, sample_every=0, verbose=0)
    tc = meta["training"]
    assert tc["seq_len"] == 64 and 8 <= tc["batch_size"] < 64
    assert tc["epochs_run"] < 40 and tc["stopped_by"] == "epochs_or_early_stopping"  # val stopped it


def test_a_split_too_small_names_the_split_and_the_fix(tmp_path):
    corpus, _ = corpus_of(tmp_path, 3)
    out = str(tmp_path / "model")
    with pytest.raises(TrainingError, match=r"the train split has 371 chars, too few for 64 streams x 128-char "
                                            r"windows \(it needs 8,193\); lower --batch-size or --seq-len"):
        train(corpus, out, batch_size=64, seq_len=128, units=8, epochs=1, min_count=1, verbose=0)
    assert not os.path.exists(out) and not os.path.exists(out + ".partial")
    with open(os.path.join(corpus, "val.txt"), "w") as f:  # below the stated minimum: one 32-char window
        f.write("\x1cx = 1\n")
    with pytest.raises(TrainingError, match=r"the val split has 7 chars, too few for 1 streams x 32-char windows "
                                            r"\(it needs 33\); build the corpus with more files .* or a larger --val"):
        train(corpus, out, units=8, epochs=1, min_count=1, verbose=0)


def test_the_issues_email_case_fits(tmp_path):
    """20 files of code, 5% splits: val and test are not empty and default training can start."""
    corpus, m = corpus_of(tmp_path, 20)
    assert m["splits"]["test"]["files"] >= 1 and m["splits"]["val"]["files"] >= 1
    from model.training.network import fit_shape

    batch, seq = fit_shape(m["splits"]["train"]["chars"], m["splits"]["val"]["chars"])
    assert (m["splits"]["val"]["chars"] - 1) // batch >= seq
    with open(os.path.join(corpus, "manifest.json")) as f:
        assert json.load(f)["warnings"]
