import json
import os

import pytest
from conftest import write_sources

from model.data.corpus import CorpusError, build_corpus, documents, read_manifest, split_of
from model.text.clean import FILE_START


def test_split_is_deterministic_and_by_file():
    names = [f"pkg/mod_{i}.py" for i in range(2000)]
    splits = [split_of(n, 0.1, 0.1) for n in names]
    assert splits == [split_of(n, 0.1, 0.1) for n in names]
    assert 100 < splits.count("test") < 300 and 100 < splits.count("val") < 300


def _build(tmp_path, sources, **kw):
    out = str(tmp_path / "corpus")
    return out, build_corpus(out, sources, progress=False, **kw)


def test_corpus_dir_manifest_duplicates_and_bad_files(tmp_path):
    src = write_sources(str(tmp_path / "src"), count=30)
    with open(os.path.join(src, "copy.py"), "w") as f:  # same code as mod_0 once cleaned
        f.write(open(os.path.join(src, "mod_0.py")).read().replace("# module 0", "# another comment"))
    with open(os.path.join(src, "binary.py"), "wb") as f:
        f.write(b"x = 1\x00\x01\x02")
    with open(os.path.join(src, "latin.py"), "wb") as f:
        f.write(b"s = '\xe9\xff'\n")  # not UTF-8 and no coding cookie
    with open(os.path.join(src, "broken.py"), "w") as f:
        f.write("def f(:\n  x = (\n")  # does not tokenize
    out, m = _build(tmp_path, [("src", src)], val_frac=0.2, test_frac=0.2)
    assert m["files"] == {"found": 34, "kept": 30, "duplicate": 1, "binary": 1, "undecodable": 1,
                          "untokenizable": 1, "empty": 0, "too_large": 0, "generated": 0, "minified": 0,
                          "unseen_package": 0, "over_package_cap": 0}
    assert (m["language"], m["extension"]) == ("python", ".py")
    assert read_manifest(out)[0] == m and sum(len(documents(out, s)) for s in ("train", "val", "test")) == 30
    texts = {s: open(os.path.join(out, f"{s}.txt"), encoding="utf-8").read() for s in ("train", "val", "test")}
    docs = {s: [d for d in t.split(FILE_START) if d] for s, t in texts.items()}
    assert sum(len(d) for d in docs.values()) == 30
    for s in texts:
        assert m["splits"][s]["chars"] == len(texts[s])
        assert m["splits"][s]["files"] == len(docs[s])
    # No file in two splits: each file's distinctive name appears in exactly one split.
    for i in range(30):
        assert sum(f"add_{i}(" in texts[s] for s in texts) == 1
    again_out = str(tmp_path / "again")
    again = build_corpus(again_out, [("src", src)], val_frac=0.2, test_frac=0.2, progress=False)
    assert {s: again["splits"][s]["sha256"] for s in texts} == {s: m["splits"][s]["sha256"] for s in texts}
    assert json.load(open(os.path.join(out, "manifest.json")))["cleaning"]["strip_comments"] is True


def test_cli_sources_package_and_glob(tmp_path, capsys):
    from model.data.corpus import main

    src = write_sources(str(tmp_path / "src"), count=5)
    main(["--out", str(tmp_path / "c"), "--package", "json", os.path.join(src, "*.py")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["files"]["kept"] >= 5 + 4  # our 5 files and json's modules
    m = json.load(open(tmp_path / "c" / "manifest.json"))
    assert [s["label"] for s in m["sources"]] == ["src", "json"]


def test_a_missing_corpus_or_source_raises_and_only_the_cli_exits(tmp_path):
    from model.data.corpus import main

    with pytest.raises(CorpusError, match="not a corpus dir"):
        read_manifest(str(tmp_path))
    with pytest.raises(CorpusError, match="no such file"):
        build_corpus(str(tmp_path / "c"), [("x", str(tmp_path / "nope"))], progress=False)
    with pytest.raises(SystemExit, match="is not installed"):
        main(["--out", str(tmp_path / "c"), "--package", "no_such_package_here"])



def test_cli_refuses_unseen_packages_vendored_copies_and_generated_files(tmp_path, capsys):
    from model.data.corpus import main

    src = write_sources(str(tmp_path / "src"), count=3)
    os.makedirs(os.path.join(src, "_vendor", "rich"))
    with open(os.path.join(src, "_vendor", "rich", "console.py"), "w") as f:  # rich: the benchmark's
        f.write("class Console:\n    pass\n")
    with open(os.path.join(src, "api_pb2.py"), "w") as f:
        f.write("DESCRIPTOR = None\n")
    main(["--out", str(tmp_path / "c"), src])
    files = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["files"]
    assert (files["kept"], files["unseen_package"], files["generated"]) == (3, 1, 1)
    assert "rich" in json.load(open(tmp_path / "c" / "manifest.json"))["refused_imports"]
