"""The benchmark's files and positions, in Python and in the other languages."""
import pytest

from model.measure import positions
from tests.test_benchmark import SOURCE

C_SOURCE = """#include <stdio.h>
#define LONG_MACRO(a) \\
    ((a) + 1)

/* block comment: never_a_position */
static int compute_total(const int *values, int count)
{
    int running_total = 0; // trailing comment
    const char *message = "compute_total // not a comment";
    for (int index = 0; index < count; index++)
        running_total += values[index];
    return running_total;
}
"""

JS_SOURCE = """// a line comment: never_a_position
const pattern = /ab+c/g;
function computeTotal(values) {
  const message = `total: ${values.length} // kept`;
  return values.reduce((total, value) => total + value, 0); /* tail */
}
"""

LUA_SOURCE = """--[==[ a long comment: never_a_position ]==]
local function compute_total(values)
  local running_total = 0 -- trailing comment
  for _, value in ipairs(values) do
    running_total = running_total + value
  end
  return running_total, [[a long string]]
end
"""


def test_code_positions_are_in_code_only():
    idents, lines = positions.code_positions(SOURCE)
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
    first = positions.draw_positions(files, 5, seed=3)
    assert first == positions.draw_positions(files, 5, seed=3)
    assert first != positions.draw_positions(files, 5, seed=4)
    idents, lines = first
    assert len(idents) == len(lines) == 5
    assert idents == sorted(idents) and lines == sorted(lines)


def test_editor_request_is_what_a_plugin_sends_while_writing_the_line():
    pos = SOURCE.index("running_total + value") + 3
    text, suffix = positions.editor_request(SOURCE, pos, chars=50)
    assert text == SOURCE[pos - 50:pos]
    assert suffix.startswith("\n    return running_total")  # the file after the current line
    assert "+ value" not in suffix[:20]


@pytest.mark.parametrize("ext, source, names, comment_marks", [
    (".c", C_SOURCE, {"compute_total", "running_total", "values", "count", "index", "message"}, ("//", "/*")),
    (".js", JS_SOURCE, {"computeTotal", "values", "reduce", "total", "value", "message"}, ("//", "/*")),
    (".lua", LUA_SOURCE, {"compute_total", "running_total", "values", "value", "ipairs"}, ("--",)),
])
def test_positions_in_other_languages_are_in_code_only(ext, source, names, comment_marks):
    idents, lines = positions.code_positions(source, ext)
    found = {source[pos - 2:pos] + truth for pos, truth, _ in idents}
    assert names <= found
    assert "never_a_position" not in found and "LONG_MACRO" not in found and "comment" not in found
    for pos, truth, line_rest in idents:
        assert source[pos:pos + len(truth)] == truth and line_rest.startswith(truth)
    for pos, rest in lines:
        line_start = source.rfind("\n", 0, pos) + 1
        assert source[line_start:pos].strip() and source[pos:pos + len(rest)] == rest
        assert not source[line_start:pos].lstrip().startswith("#")  # no position on a preprocessor line
        assert not any(mark in rest for mark in comment_marks) or "kept" in rest or "not a comment" in rest
    assert lines and idents


def test_a_files_language_is_its_extension():
    files = [("p/a.c", C_SOURCE, "."), ("p/b.lua", LUA_SOURCE, ".")]
    idents, _ = positions.draw_positions(files, 100, seed=0)
    assert {f for f, *_ in idents} == {0, 1}
    assert idents == positions.draw_positions(files, 100, seed=0)[0]


def test_benchmark_text_skips_minified_code_outside_python(tmp_path):
    bundle = tmp_path / "bundle.js"
    bundle.write_text("var a=1;" * 400)
    assert positions.benchmark_text(str(bundle), ".js") is None
    plain = tmp_path / "plain.js"
    plain.write_text(JS_SOURCE)
    assert positions.benchmark_text(str(plain), ".js") == JS_SOURCE


def test_an_npm_packages_files_are_those_a_corpus_would_take(tmp_path):
    from tests.package_archives import make_tgz

    cache = str(tmp_path / "cache")
    make_tgz(cache, "jspkg", "1.0.0", {"license": "MIT"},
             files={"lib/total.js": JS_SOURCE, "test/total.test.js": JS_SOURCE + "\n// test\n",
                    "dist/total.min.js": "var a=1;" * 400, "lib/notes.md": "# notes\n"})
    plist = tmp_path / "list.txt"
    plist.write_text("npm:jspkg@1.0.0\n")
    files = positions.package_files(str(plist), cache, exts=(".js",))
    assert [(name, raw) for name, raw, _ in files] == [("jspkg/lib/total.js", JS_SOURCE)]
    idents, lines = positions.draw_positions(files, 5, seed=0)
    assert idents and lines
