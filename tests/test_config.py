from pathlib import Path

import pytest

from coproduce.config import Settings, settings_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_settings_documentation_matches_the_code():
    assert DOCS.read_text(encoding="utf-8") == settings_markdown(), (
        "docs/settings.md is stale: run `coproduce settings --markdown > docs/settings.md`"
    )


def test_every_setting_has_help_text():
    from dataclasses import fields

    for f in fields(Settings):
        assert len(f.metadata.get("help", "")) > 20, f"setting {f.name} needs help text"


def test_environment_variables_are_read_and_typed():
    s = Settings.from_env({"COPRODUCE_MAX_FILE_BYTES": "1234", "COPRODUCE_INSTANCE_DIR": "/tmp/x"})
    assert s.max_file_bytes == 1234
    assert s.instance_dir == Path("/tmp/x")
    assert s.resolved_database_url == "sqlite:////tmp/x/coproduce.sqlite"


def test_overrides_win_over_the_environment():
    s = Settings.from_env({"COPRODUCE_DATABASE_URL": "sqlite:///a.db"}, database_url="sqlite:///b.db")
    assert s.resolved_database_url == "sqlite:///b.db"


def test_a_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="COPRODUCE_MAX_FILE_BYTES"):
        Settings.from_env({"COPRODUCE_MAX_FILE_BYTES": "lots"})


def test_importing_the_package_switches_hugging_face_offline(monkeypatch):
    import importlib
    import os

    import coproduce._offline

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    importlib.reload(coproduce._offline).enforce()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
