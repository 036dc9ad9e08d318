"""servercheck.lsp_speed on a short scripted session: the real language server and a real gunicorn
serving the shipped model, the same requests to both. Its latencies are reported, never asserted;
what is asserted is that the two servers agreed on every answer and the client's log stayed clean."""
import json
import os

import pytest

from servercheck import lsp_speed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_short_session_agrees_with_the_http_server_and_logs_no_error(capsys):
    # A long debounce: an automatic request is answered by the next keystroke (or the cancel), never by the timer.
    files = [os.path.join(ROOT, "model", "serving", name) for name in ("completer.py", "hints.py")]
    assert lsp_speed.main(["--steps", "40", "--starts", "1", "--debounce-ms", "10000", "--files", *files,
                           "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["answers_compared"] >= 20 and report["answers_equal"] == report["answers_compared"]
    assert report["inline_tabs"] and report["menu_tabs"]
    assert report["client_log_errors"] == 0 and report["error_responses"] == 0 and report["server_stderr_lines"] == 0
    assert report["cancels_sent"] == report["cancelled"] == 4
    assert report["automatic_answered_nothing"] + report["cancelled"] == report["automatic_sent"] == 8
    assert report["lsp_ms"]["count"] == report["http_ms"]["count"] == report["answers_compared"]
    assert len(report["first_completion_s"]) == 1 and report["first_completion_cpu_s"][0] > 0
    assert set(report["targets_met"]) == {"overhead_p50_ms", "first_completion_s", "client_log_errors"}
    assert "errors in the client's log" in err


def test_bad_arguments_are_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        lsp_speed.main(["--steps", "0"])
    assert exit_info.value.code == 2 and "--steps must be at least 1" in capsys.readouterr().err
    short = tmp_path / "short.py"
    short.write_text("x = 1\n")
    with pytest.raises(SystemExit) as exit_info:
        lsp_speed.main(["--files", str(short)])
    assert exit_info.value.code == 2 and "no file of 2000 characters" in capsys.readouterr().err
