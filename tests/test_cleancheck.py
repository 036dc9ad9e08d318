"""The window check on hand-made files: windows cut mid-file clean like the whole file, a window that
starts inside a data table (which only the whole file shows is one) is reported, and the command runs
on a tiny package."""
import json

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
