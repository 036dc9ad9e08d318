"""server/config.py: every setting read in one place, malformed ones refused by name."""
import pytest

from server.config import ConfigError, load_config, process_settings


def test_process_settings_defaults_and_overrides():
    settings = process_settings({})
    assert settings["BIND"] == "127.0.0.1:8000" and settings["WORKER_CLASS"] == "server.worker.Worker"
    assert (settings["HEADER_TIMEOUT"], settings["BODY_TIMEOUT"], settings["LOG_LEVEL"]) == (5.0, 10.0, "info")
    assert settings["WORKERS"] >= 1
    assert process_settings({"WEB_CONCURRENCY": "3"})["WORKERS"] == 3
    assert process_settings({"WEB_CONCURRENCY": "3", "TABCOMPLETE_WORKERS": "2"})["WORKERS"] == 2
    assert process_settings({"TABCOMPLETE_BODY_TIMEOUT": "2.5"})["BODY_TIMEOUT"] == 2.5
    assert settings["SHARED_STATES_MB"] == 64 and process_settings({"TABCOMPLETE_SHARED_STATES_MB": "0"})["SHARED_STATES_MB"] == 0


@pytest.mark.parametrize("var, value, message", [
    ("TABCOMPLETE_WORKERS", "two", "TABCOMPLETE_WORKERS='two' is not a valid int"),
    ("TABCOMPLETE_WORKERS", "0", "WORKERS must be a positive integer"),
    ("TABCOMPLETE_HEADER_TIMEOUT", "-1", "HEADER_TIMEOUT must be a positive number"),
    ("TABCOMPLETE_THREADS", "1.5", "TABCOMPLETE_THREADS='1.5' is not a valid int"),
    ("TABCOMPLETE_SHARED_STATES_MB", "-1", "SHARED_STATES_MB must be between 0 and 65536"),
])
def test_process_settings_refuse_a_malformed_one_by_name(var, value, message):
    with pytest.raises(ConfigError, match=message):
        process_settings({var: value})


def test_app_settings_come_from_the_same_module():
    assert load_config(environ={"TABCOMPLETE_MAX_FILES": "8"})["MAX_FILES"] == 8
    with pytest.raises(ConfigError, match="TABCOMPLETE_MAX_FILES"):
        load_config(environ={"TABCOMPLETE_MAX_FILES": "many"})
