"""Settings: environment and `.env` parsing, readable errors, and `.env.example` kept in sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ENV_PREFIX, EngineChoice, Settings, load_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.engine is EngineChoice.AUTO
    assert not settings.llm_configured
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("data/briefbot.db")


def test_environment_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFBOT_FETCH_ALLOW", "intranet.example.com, 10.20.0.0/16")
    monkeypatch.setenv("BRIEFBOT_FETCH_EXTRA_PORTS", "[8080, 8443]")
    monkeypatch.setenv("BRIEFBOT_LLM_API_KEY", "sk-test-000000000000000000")
    settings = load_settings()
    assert settings.fetch_allow == ["intranet.example.com", "10.20.0.0/16"]
    assert settings.fetch_extra_ports == [8080, 8443]
    assert settings.llm_configured
    # The key is a secret: it never shows up in the settings' repr.
    assert "sk-test" not in repr(settings)


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BRIEFBOT_ENGINE=extractive\nBRIEFBOT_LOG_LEVEL=DEBUG\n")
    settings = load_settings()
    assert settings.engine is EngineChoice.EXTRACTIVE
    assert settings.log_level == "DEBUG"


def test_every_invalid_value_reported_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFBOT_ENGINE", "gpt-9")
    monkeypatch.setenv("BRIEFBOT_FETCH_TOTAL_TIMEOUT", "soon")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "BRIEFBOT_ENGINE" in message
    assert "BRIEFBOT_FETCH_TOTAL_TIMEOUT" in message


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(rf"^#?\s*{ENV_PREFIX}([A-Z0-9_]+)=", text, flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert listed == fields, f"missing: {sorted(fields - listed)}; unknown: {sorted(listed - fields)}"


def test_env_example_values_are_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Copying .env.example to .env must give a working configuration.
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    settings = load_settings()
    assert settings.fetch_max_redirects == 3
