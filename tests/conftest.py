"""Shared fixtures: a tiny real corpus and a tiny real Keras model, trained once per session."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SOURCE = '''import os
import sys


def add(a, b):
    return a + b


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm(self):
        return (self.x ** 2 + self.y ** 2) ** 0.5


def main(argv):
    for name in os.listdir("."):
        if name.endswith(".py"):
            print(name)
    return 0
'''


def write_sources(root, count=40):
    """Small, distinct Python files (distinct so the duplicate filter keeps them)."""
    os.makedirs(root, exist_ok=True)
    for i in range(count):
        with open(os.path.join(root, f"mod_{i}.py"), "w") as f:
            f.write(f"# module {i}\n" + SOURCE.replace("add(", f"add_{i}(").replace("Point", f"Point{i}"))
    return root


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    from model.data.corpus import build_corpus

    root = tmp_path_factory.mktemp("src")
    write_sources(str(root))
    out = str(tmp_path_factory.mktemp("corpus"))
    build_corpus(out, [("src", str(root))], val_frac=0.2, test_frac=0.2, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_corpus, tmp_path_factory):
    from model.training.train import train

    out = str(tmp_path_factory.mktemp("model"))
    train(tiny_corpus, out, layers=2, units=24, embedding_dim=8, dropout=0.0, batch_size=4, seq_len=32,
          epochs=2, steps_per_epoch=20, min_count=1, sample_every=0, verbose=0)
    return out


@pytest.fixture(scope="session")
def repeat_model(tmp_path_factory):
    """A model trained on files of one repeated line: it predicts that line (almost) perfectly."""
    from model.data.corpus import build_corpus
    from model.training.train import train

    src = tmp_path_factory.mktemp("repeat_src")
    for i in range(6):
        (src / f"r{i}.py").write_text(f"v{i} = 0\n" + "x = x + 1\n" * 300)
    corpus = str(tmp_path_factory.mktemp("repeat_corpus"))
    build_corpus(corpus, [("src", str(src))], val_frac=0.2, test_frac=0.0, progress=False)
    out = str(tmp_path_factory.mktemp("repeat_model"))
    train(corpus, out, layers=1, units=32, embedding_dim=8, batch_size=4, seq_len=40, epochs=6,
          steps_per_epoch=30, learning_rate=1e-2, min_count=1, sample_every=0, verbose=0)
    return out
