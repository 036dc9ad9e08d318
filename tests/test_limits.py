"""The request limits: one file, read alike by Python, the JavaScript client and Neovim."""
import json

import pytest

from model.serving import limits
from server import validation


def test_the_limits_are_limits_json():
    with open(limits.LIMITS_FILE, encoding="utf-8") as f:
        raw = json.load(f)
    assert limits.LIMITS == {k: raw[k] for k in limits.KEYS}
    assert (limits.TEXT_CHARS, limits.FILES_MAX, limits.FILES_BUDGET_DEFAULT) == (
        raw["text_chars"], raw["files_max"], raw["files_budget_default"])
    assert validation.MAX_FILES == raw["server_files_max"] >= raw["files_max"]


def test_a_missing_or_broken_limits_file_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="cannot be read"):
        limits.read_limits(str(tmp_path / "missing.json"))
    broken = tmp_path / "limits.json"
    broken.write_text(json.dumps({**limits.LIMITS, "files_max": 0, "text_chars": "4000"}))
    with pytest.raises(RuntimeError, match="text_chars, files_max must be positive integers"):
        limits.read_limits(str(broken))
