import json

from model.bench import main


def test_bench_prints_every_figure(tiny_model, tmp_path, capsys):
    src = tmp_path / "code.py"
    src.write_text("".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(200)))
    main(["--model", tiny_model, "--files", str(src), "--buffers", "2", "--context", "600", "--seed-chars", "2",
          "--seed-buffers", "1", "--model-context", "300", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("cold_p50_ms", "cold_p95_ms", "warm_p50_ms", "warm_p95_ms", "seed_way_80_chars_ms",
                "speedup_vs_seed_warm", "speedup_vs_seed_cold", "completer_rss_mb"):
        assert isinstance(result[key], (int, float)) and result[key] >= 0, key
    assert result["buffers"] == 2 and result["context_chars"] == 600
    assert result["model_context_chars"] == 300 and 225 <= result["mean_chars_read_cold"] <= 300  # cut at a line
