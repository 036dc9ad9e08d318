import json
import os
import shutil

import pytest
from conftest import write_sources

from model.data.corpus import CorpusError, build_corpus, documents, read_manifest, split_of
from model.text.clean import FILE_START


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


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
        f.write(read(os.path.join(src, "mod_0.py")).replace("# module 0", "# another comment"))
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
    texts = {s: read(os.path.join(out, f"{s}.txt")) for s in ("train", "val", "test")}
    docs = {s: [d for d in t.split(FILE_START) if d] for s, t in texts.items()}
    assert sum(len(d) for d in docs.values()) == 30
    for s, text in texts.items():
        assert m["splits"][s]["chars"] == len(text)
        assert m["splits"][s]["files"] == len(docs[s])
    # No file in two splits: each file's distinctive name appears in exactly one split.
    for i in range(30):
        assert sum(f"add_{i}(" in texts[s] for s in texts) == 1
    again_out = str(tmp_path / "again")
    again = build_corpus(again_out, [("src", src)], val_frac=0.2, test_frac=0.2, progress=False)
    assert {s: again["splits"][s]["sha256"] for s in texts} == {s: m["splits"][s]["sha256"] for s in texts}
    assert json.loads(read(os.path.join(out, "manifest.json")))["cleaning"]["strip_comments"] is True


def test_cli_sources_package_and_glob(tmp_path, capsys):
    from model.data.corpus import main

    src = write_sources(str(tmp_path / "src"), count=5)
    main(["--out", str(tmp_path / "c"), "--package", "json", os.path.join(src, "*.py")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["files"]["kept"] >= 5 + 4  # our 5 files and json's modules
    m = json.loads(read(tmp_path / "c" / "manifest.json"))
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
    assert "rich" in json.loads(read(tmp_path / "c" / "manifest.json"))["refused_imports"]


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian's dpkg)")
def test_cli_builds_a_corpus_from_debian_and_npm_lists_with_their_language_and_a_table(tmp_path, capsys):
    from package_archives import dep5, make_deb, make_tgz, write

    from model.data.corpus import main

    cache = str(tmp_path / "cache")
    lua = {f"usr/share/lua/5.1/m{i}.lua": f"local M = {{}}\n\nfunction M.f{i}(x)\n  return x + {i}\nend\n\nreturn M\n"
           for i in range(8)}
    make_deb(cache, "lua-tiny", "1.0-1", dep5("Expat"), {**lua, "usr/share/lua/5.1/min.lua": "x=1;" * 200})
    make_deb(cache, "lua-gpl", "1.0-1", dep5("GPL-3+"), {"usr/share/lua/5.1/gpl.lua": "return 1\n"})
    lua_list = write(str(tmp_path / "lua.txt"), "language=lua\ndebian:lua-tiny=1.0-1\ndebian:lua-gpl=1.0-1\n")
    out = str(tmp_path / "lua")
    main(["--out", out, "--packages", lua_list, "--cache", cache, "--val", "0.2", "--test", "0.2"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["files"]["found"] == summary["files"]["kept"] == 8
    assert "lua-gpl  " in captured.err and "REFUSED: license not known to be permissive: Files: * License: GPL-3+" \
        in captured.err and captured.err.strip().splitlines()[-1].startswith("total")
    m, _ = read_manifest(out)
    assert (m["language"], m["extensions"]) == ("lua", [".lua"])
    tiny = m["packages"][0]
    assert (tiny["source"], tiny["license"], tiny["taken"], tiny["skipped"], tiny["files"]) == (
        "debian", "MIT", 8, {"minified": 1}, 8)
    assert m["package_files"]["refused"] == 1 and m["package_files"]["skipped"] == {"minified": 1}
    assert {p.split("/")[0] for s in ("val", "test") for p in m["splits"][s]["paths"]} == {"lua-tiny"}

    # An npm list beside it names another language: one corpus is one language.
    make_tgz(cache, "tiny", "1.0.0", {"license": "MIT"}, {f"m{i}.js": f"exports.f{i} = (x) => x + {i};\n"
                                                          for i in range(5)})
    js_list = write(str(tmp_path / "js.txt"), "language=javascript\nnpm:tiny@1.0.0\n")
    with pytest.raises(SystemExit, match="several languages \\(javascript, lua\\)"):
        main(["--out", str(tmp_path / "both"), "--packages", lua_list, "--packages", js_list, "--cache", cache])
    main(["--out", str(tmp_path / "js"), "--packages", js_list, "--cache", cache, "--ext", ".js"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["files"]["kept"] == 5
