import json

from model.measure.speed import main


def test_bench_prints_every_figure(tiny_model, tmp_path, capsys):
    src = tmp_path / "code.py"
    src.write_text("".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(200)))
    main(["--model", tiny_model, "--files", str(src), "--buffers", "2", "--context", "600", "--seed-chars", "2",
          "--seed-buffers", "1", "--model-context", "300", "--files-count", "1", "--files-chars", "3000", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("cold_p50_ms", "cold_p95_ms", "warm_p50_ms", "warm_p95_ms", "seed_way_80_chars_ms",
                "speedup_vs_seed_warm", "speedup_vs_seed_cold", "completer_rss_mb", "files_new_p50_ms",
                "files_warm_p50_ms", "files_none_p50_ms", "warm_plain_p50_ms", "warm_choices_p50_ms",
                "choices_over_plain_p50"):
        assert isinstance(result[key], (int, float)) and result[key] >= 0, key
    assert result["buffers"] == 2 and result["context_chars"] == 600
    assert result["model_context_chars"] == 300 and 225 <= result["mean_chars_read_cold"] <= 300  # cut at a line
    assert result["files_count"] == 1 and result["files_chars"] == 3000
    assert result["choices"] == 5 and result["choices_repeats"] == 3
    low, high = result["choices_over_plain_paired_90"]
    assert 0 < low <= result["choices_over_plain_paired_p50"] <= high


def test_bench_refuses_a_files_case_it_cannot_build(tiny_model, tmp_path, capsys):
    src = tmp_path / "code.py"
    src.write_text("".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(200)))
    import pytest

    with pytest.raises(SystemExit, match="fewer than 16 readable files"):
        main(["--model", tiny_model, "--files", str(src), "--buffers", "1", "--context", "600", "--seed-chars", "1",
              "--seed-buffers", "1", "--json"])


def test_short_files_fill_the_files_case_whole(tiny_model, tmp_path, capsys):
    """Sixteen files shorter than the budget's share (16,000 characters each): sent whole."""
    paths = []
    for i in range(16):
        src = tmp_path / f"m{i}.py"
        src.write_text("".join(f"def f{i}_{j}(x):\n    return x + {j}\n\n" for j in range(40 + i)))
        paths.append(str(src))
    main(["--model", tiny_model, "--files", *paths, "--buffers", "1", "--context", "600", "--seed-chars", "1",
          "--seed-buffers", "1", "--model-context", "300", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["files_count"] == 16
    assert result["files_chars"] == sum(len(open(p).read()) for p in paths) < 256_000
