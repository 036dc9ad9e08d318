"""model.measure.spread: the benchmark's figures package by package, pooled, and their spread,
on two small fake packages with the tiny model (no network)."""
import json
import os

import numpy as np
import pytest

from model.measure import benchmark, spread
from model.measure.positions import benchmark_text
from model.serving.completer import Completer
from tests.test_benchmark import SOURCE

LOOPS = '''def running_sum(values):
    totals = []
    current = 0
    for value in values:
        current = current + value
        totals.append(current)
    return totals


def running_product(values):
    result = 1
    for value in values:
        result = result * value
    return result
'''


def fake_package(tmp_path, name, sources):
    """Write a package's .py files in tmp_path/name and read them as package_files would:
    [(name/relative path, text, root)]."""
    root = tmp_path / name
    (root / name).mkdir(parents=True)
    files = []
    for i, source in enumerate(sources):
        path = root / name / f"m{i}.py"
        path.write_text(source)
        files.append((os.path.join(name, name, path.name), benchmark_text(str(path)), str(root)))
    return files


@pytest.fixture(scope="module")
def result(tmp_path_factory, tiny_model):
    tmp = tmp_path_factory.mktemp("spread")
    files = (fake_package(tmp, "alpha", [SOURCE.replace("compute", f"compute{i}") for i in range(2)])
             + fake_package(tmp, "beta", [LOOPS, LOOPS.replace("running", "rolling")]))
    return files, spread.measure(Completer.load(tiny_model), files, positions=6, seed=0)


def test_one_row_per_package_each_the_benchmarks_figures_on_its_own_files(result, tiny_model):
    files, r = result
    assert [p["package"] for p in r["packages"]] == ["alpha", "beta"]
    alpha = [f for f in files if f[0].startswith("alpha")]
    idents, lines = benchmark.draw_positions(alpha, 6, 0)  # the benchmark's own draw, on the package alone
    completer = Completer.load(tiny_model)
    expected = benchmark.score(benchmark.run_positions(completer, alpha, idents, lambda x, **_: x, ""), idents,
                               benchmark.run_positions(completer, alpha, lines, lambda x, **_: x, ""), lines)
    row = r["packages"][0]
    assert row["files"] == 2 and row["positions"] == {"ident": len(idents), "line": len(lines)}
    for key, _ in spread.FIGURES:
        assert row[key] == expected[key]
    for p in r["packages"]:
        assert 0 < p["positions"]["ident"] <= 6 and 0 < p["positions"]["line"] <= 6
        assert 0 <= p["answered"] <= 1 and 0 <= p["ident_exact"] <= 1 and 0 <= p["keystroke_savings"] <= 1
        assert p["line_precision"] is None or 0 <= p["line_precision"] <= 1


def test_the_pooled_row_counts_every_packages_positions(result):
    _, r = result
    pooled = r["pooled"]
    for kind in ("ident", "line"):
        assert pooled["positions"][kind] == sum(p["positions"][kind] for p in r["packages"])
    # answered and identifier exact are shares of positions: pooled, each package weighs by its positions
    for key, kind in (("answered", "line"), ("ident_exact", "ident")):
        weighted = sum(p[key] * p["positions"][kind] for p in r["packages"]) / pooled["positions"][kind]
        assert pooled[key] == pytest.approx(weighted)


def test_the_spread_is_ordered_and_its_std_is_numpys(result):
    _, r = result
    for key, _ in spread.FIGURES:
        s = r["spread"][key]
        values = [p[key] for p in r["packages"] if p[key] is not None]
        assert s["packages"] == len(values)
        if values:
            assert s["min"] <= s["median"] <= s["max"]
            assert s["min"] == min(values) and s["max"] == max(values)
            assert s["std"] == pytest.approx(np.std(values, ddof=1) if len(values) > 1 else 0.0)


def test_spread_of_hand_made_rows():
    rows = [{"package": n, "line_precision": lp, "answered": a, "ident_exact": 0.5, "keystroke_savings": 0.1}
            for n, lp, a in (("a", 0.9, 0.2), ("b", None, 0.0), ("c", 0.6, 0.4), ("d", 0.8, 0.3))]
    s = spread.spread(rows)
    assert s["line_precision"] == {"packages": 3, "min": 0.6, "median": 0.8, "max": 0.9,
                                   "std": pytest.approx(np.std([0.9, 0.6, 0.8], ddof=1))}
    assert s["answered"]["packages"] == 4 and s["answered"]["median"] == pytest.approx(0.25)
    assert s["ident_exact"]["std"] == 0.0


def test_the_table_and_the_plot_show_two_models_side_by_side(result, tmp_path):
    _, r = result
    results = [{"name": "one", **r}, {"name": "two", **r}]
    text = spread.table(results, "title")
    assert "| package | positions (ident/line) | line precision (one) |" in text
    assert "line precision (two)" in text
    body = [line for line in text.splitlines() if line.startswith("| ")][2:]
    assert [line.split(" | ")[0] for line in body] == ["| alpha", "| beta", "| **pooled**", "| min", "| median",
                                                       "| max", "| std"]
    path = str(tmp_path / "spread.png")
    spread.plot(results, path)
    assert os.path.getsize(path) > 10_000


def test_main_on_a_package_list(tmp_path, tiny_model, capsys):
    """End to end through the package cache, as the benchmark reads a set."""
    from tests.test_packages import make_wheel

    cache = str(tmp_path / "cache")
    make_wheel(cache, "tinypkg", "1.0", files={f"tinypkg/m{i}.py": SOURCE.replace("compute", f"compute{i}")
                                                for i in range(2)})
    make_wheel(cache, "loops", "2.0", files={"loops/a.py": LOOPS})
    plist = tmp_path / "list.txt"
    plist.write_text("tinypkg==1.0\nloops==2.0\n")
    out = str(tmp_path / "out")
    spread.main(["--model", tiny_model, "--packages", str(plist), "--cache", cache, "--positions", "4",
                 "--out", out, "--json"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["packages"] == ["tinypkg==1.0", "loops==2.0"]
    assert [p["package"] for p in report["results"][0]["packages"]] == ["tinypkg", "loops"]
    assert os.path.getsize(os.path.join(out, "spread.png")) > 10_000
    with open(os.path.join(out, "spread.md")) as f:
        assert "**pooled**" in f.read()
