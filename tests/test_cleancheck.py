"""The window check on hand-made files: windows cut mid-file clean like the whole file, a window that
starts inside a data table (which only the whole file shows is one) is reported, and the command runs
on a tiny package."""
import json

import pytest

from model.measure import cleancheck
from tests.test_packages import make_wheel


def functions(n):
    """A long module: a class whose methods have docstrings, comments, and calls whose arguments span
    lines and hold strings; a window cut in a method body sees a dedent to a level it never opened,
    one cut inside a call sees a `)` it never saw opened."""
    return '"""A module docstring\n\nover lines."""\nimport os\n\n\nclass Handlers:\n' + "".join(
        f'    def handler_{i}(self, request, options=None):\n'
        f'        """Handle request {i}.\n\n        Lines of prose that must not reach the network.\n        """\n'
        f'        # a comment about handler {i}\n'
        f'        result = self.process_request(request,\n'
        f'                                      "label {i}",\n'
        f'                                      options)\n'
        f'        return result + {i}\n\n' for i in range(n))


TABLE = "NAMES = {\n" + "".join(f'    "name_{i}": {i},\n' for i in range(300)) + "}\n\n\n"


def test_windows_cut_mid_file_clean_like_the_whole_file():
    raw = functions(60)
    assert len(raw) > 3 * 4000  # windows start mid-file, mid-docstring and mid-call
    result = cleancheck.check([("m.py", raw, "")], positions=100, seed=0)
    assert result["windows"] == 200 and result["matching"] == 200 and result["mismatched"] == []
    assert result["share_matching"] == 1.0 and result["clean_ms"]["p50"] > 0


def test_a_window_starting_inside_a_data_table_is_reported():
    raw = TABLE + functions(3)
    cursor = raw.index("def handler_1")  # the window's first 4000 chars start mid-table
    seen, whole = cleancheck.window_matches(raw, cursor)
    assert "name_" not in whole and "name_" in seen  # the whole file drops the table; the window cannot know
    result = cleancheck.check([("t.py", raw, "")], positions=50, seed=0)
    assert any(int(p.split(":")[1]) > 4000 for p in result["mismatched"])
    assert result["matching"] < result["windows"]


def test_the_command_prints_json(tmp_path, capsys):
    cache = str(tmp_path / "cache")
    make_wheel(cache, "handlers", "1.0", files={"handlers/core.py": functions(30)})
    plist = tmp_path / "list.txt"
    plist.write_text("handlers==1.0\n")
    cleancheck.main(["--packages", str(plist), "--cache", cache, "--positions", "10", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["windows"] == 20 and out["matching"] == 20 and out["clean_ms"]["p95"] >= out["clean_ms"]["p50"]


def c_file(n):
    """C with block comments whose prose has quotes, backticks and `//`, strings holding comment
    markers, and a macro over lines: windows start inside any of them."""
    return "#include <stdio.h>  // printf\n\n" + "".join(
        f"/*\n * Handle request {i}: don't call it \"often\", see `make` and http://x.org/a//b.\n */\n"
        f"#define LIMIT_{i} \\\n    ({i} * 2) // twice\n"
        f"int handler_{i}(int request) {{  // the handler\n"
        f"    const char *label = \"label /* {i} */ // {i}\";\n"
        f"    return request + LIMIT_{i}; /* done */\n}}\n\n" for i in range(n))


def lua_file(n):
    """Lua with long comments of two levels, long strings, and line comments."""
    return "local M = {}\n\n" + "".join(
        f"--[[\nHandle request {i}: don't call it \"often\" -- see t[k]\n]]\n"
        f"M.usage_{i} = [==[\nrun {i} -- the file\n]==]\n"
        f"--[=[ level 1 ]] ]=]\nfunction M.handler_{i}(request)  -- the handler\n"
        f"  return request .. \"-- {i}\" -- done\nend\n\n" for i in range(n))


def test_windows_of_other_languages_clean_like_the_whole_file_and_comments_are_seen():
    for name, raw in (("m.c", c_file(80)), ("m.lua", lua_file(80))):
        assert len(raw) > 3 * 4000
        result = cleancheck.check([(name, raw, "")], positions=60, seed=0)
        assert result["windows"] == 120 and result["matching"] == 120, result["mismatched"]
        assert result["code_judged_in_comment"] == 0
        assert result["comment_windows"]["windows"] == 60 and result["comment_windows"]["missed"] == []


def test_a_window_cleaned_as_python_would_not_match():
    # The check cleans each file as its extension says: read as Python, a C file keeps its comments.
    raw = c_file(40)
    as_c, _ = cleancheck.window_matches(raw, len(raw) - 10, ext=".c")
    as_python, _ = cleancheck.window_matches(raw, len(raw) - 10, ext=".py")
    assert 0 < as_c.count('"label /*') == as_c.count("/*") < as_python.count("/*")  # left: only those in strings


def test_the_command_reads_a_directory_of_a_language(tmp_path, capsys):
    for i in range(3):
        (tmp_path / "src" / "lib").mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / "lib" / f"m{i}.lua").write_text(lua_file(30 + i))
    (tmp_path / "src" / "notes.txt").write_text("not Lua -- at all\n")
    cleancheck.main(["--files", str(tmp_path / "src"), "--language", "lua", "--positions", "10", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["language"], out["file_count"], out["windows"], out["matching"]) == ("lua", 3, 20, 20)
    assert out["comment_windows"]["judged_in_comment"] == 10
    with pytest.raises(SystemExit, match="no c files"):
        cleancheck.main(["--files", str(tmp_path / "src"), "--language", "c"])
