import json
import os

from conftest import write_sources
from model.corpus import FILE_START, build_corpus, clean, split_of


def test_strips_comments_docstrings_and_tabs():
    src = ('"""Module docstring."""\nimport os  # why\n\n\ndef f(x):\n\t"""Doc\n    more."""\n'
           '\t# a comment line\n\treturn x  # trailing\n\ns = """kept: an expression, not a docstring"""\n')
    out = clean(src).text
    assert out == 'import os\n\n\ndef f(x):\n    return x\n\ns = """kept: an expression, not a docstring"""\n'


def test_keeps_hash_inside_strings_and_normalises_newlines():
    assert clean('x = "#not a comment"\r\ny = 1\r\n').text == 'x = "#not a comment"\ny = 1\n'


def test_drops_big_literal_blocks_only():
    big = "TABLE = {\n" + "".join(f"    {i}: 'v{i}',\n" for i in range(150)) + "}\nprint(TABLE)\n"
    assert clean(big).text == "print(TABLE)\n"
    small = "T = [\n" + "".join(f"    {i},\n" for i in range(20)) + "]\n"
    assert clean(small).text == small
    code = "x = f(\n" + "".join(f"    g({i}),\n" for i in range(150)) + ")\n"
    assert clean(code).text == code  # long, but code rather than a literal


def test_collapses_blank_lines():
    assert clean("a = 1\n\n\n\n\nb = 2\n").text == "a = 1\n\n\nb = 2\n"


def test_partial_buffer_cursor_in_comment_or_docstring():
    assert clean("x = 1  # explain", partial=True).cursor_in_removed
    assert clean('def f():\n    """Docs being typed', partial=True).cursor_in_removed
    # Inside an ordinary string, open brackets or indentation: complete as usual.
    for text in ('s = """abc', 'x = foo(1,\n   2', 'if x:\n    ', 'x = "a # b'):
        c = clean(text, partial=True)
        assert not c.cursor_in_removed, text
        assert c.text == text  # trailing spaces at the cursor are kept


def test_other_languages_best_effort():
    src = 'int x; // note\n/* block\n comment */\nchar *s = "// not a comment";\n'
    assert clean(src, ".c").text == 'int x;\nchar *s = "// not a comment";\n'
    assert clean("local x = 1 -- note\n", ".lua").text == "local x = 1\n"


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
                          "untokenizable": 1, "empty": 0, "too_large": 0}
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
    from model.corpus import main

    src = write_sources(str(tmp_path / "src"), count=5)
    main(["--out", str(tmp_path / "c"), "--package", "json", os.path.join(src, "*.py")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["files"]["kept"] >= 5 + 4  # our 5 files and json's modules
    m = json.load(open(tmp_path / "c" / "manifest.json"))
    assert [s["label"] for s in m["sources"]] == ["src", "json"]
