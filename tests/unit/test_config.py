"""Settings: defaults, every malformed value reported at once, production's refusals, README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.config import (
    DEV_S3_ACCESS_KEY,
    DEV_S3_SECRET_KEY,
    DEV_SECRET,
    SETTINGS,
    ConfigError,
    Settings,
    load_settings,
    settings_table,
)

README = Path(__file__).resolve().parents[2] / "README.md"

PRODUCTION = {
    "SAKIP_ENV": "production",
    "DATABASE_URL": "postgresql+psycopg://sakip@db/sakip",
    "SECRET_KEY": "k" * 40,
    "SERVICE_TOKEN_SECRET": "t" * 40,
    "S3_ACCESS_KEY": "prod-access",
    "S3_SECRET_KEY": "prod-secret-key-of-its-own",
    "S3_ENDPOINT": "minio:9000",
}


def _problems(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    return str(info.value)


def test_defaults_load_from_an_empty_environment():
    settings = load_settings({})
    assert settings == Settings()
    assert settings.env == "development"
    assert not settings.is_production
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("sakip.db")
    assert settings.presign_endpoint == settings.s3_endpoint
    assert settings.session_lifetime_seconds == 8 * 3600


def test_values_are_parsed_to_their_types():
    settings = load_settings({
        "S3_SECURE": "yes", "LOG_JSON": "0", "METRICS_PORT": " 9100 ",
        "SAKIP_STATE_DIR": "/var/lib/sakip", "DATABASE_URL": "postgresql+psycopg://h/db",
    })
    assert settings.s3_secure is True
    assert settings.log_json is False
    assert settings.metrics_port == 9100
    assert settings.state_dir == Path("/var/lib/sakip")
    assert settings.effective_database_url == "postgresql+psycopg://h/db"


def test_empty_values_mean_the_default():
    assert load_settings({"REDIS_URL": "", "METRICS_PORT": ""}) == Settings()


@pytest.mark.parametrize(("name", "value", "says"), [
    ("METRICS_PORT", "ninety", "METRICS_PORT='ninety' is malformed"),
    ("MAX_UPLOAD_BYTES", "-1", "MAX_UPLOAD_BYTES='-1' is malformed"),
    ("S3_SECURE", "maybe", "S3_SECURE='maybe' is malformed"),
    ("SAKIP_ENV", "staging", "SAKIP_ENV='staging' must be one of"),
    ("REDIS_URL", "127.0.0.1:6379", "REDIS_URL must start with"),
    ("S3_ENDPOINT", "http://minio:9000", "S3_ENDPOINT must be host:port without a scheme"),
    ("S3_ENDPOINT", "minio", "S3_ENDPOINT must be host:port"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD'"),
    ("DATABASE_URL", "just-a-name", "DATABASE_URL must be a URL"),
    ("SERVICE_TOKEN_TTL_SECONDS", "3600", "SERVICE_TOKEN_TTL_SECONDS must be between"),
])
def test_each_malformed_value_is_reported(name, value, says):
    assert says in _problems({name: value})


def test_every_problem_is_reported_at_once():
    message = _problems({
        "METRICS_PORT": "x",
        "LOG_JSON": "perhaps",
        "SAKIP_ENV": "staging",
        "REDIS_URL": "localhost",
        "S3_ENDPOINT": "https://s3.example.org:443",
    })
    for name in ("METRICS_PORT", "LOG_JSON", "SAKIP_ENV", "REDIS_URL", "S3_ENDPOINT"):
        assert name in message
    assert message.count("\n  - ") == 5


def test_production_with_development_defaults_is_refused():
    message = _problems({"SAKIP_ENV": "production"})
    assert "not SQLite" in message
    assert "SECRET_KEY set to a random value" in message
    assert "SERVICE_TOKEN_SECRET set to a random value" in message
    assert "S3_ACCESS_KEY/S3_SECRET_KEY of its own" in message


def test_production_accepts_a_complete_configuration():
    settings = load_settings(PRODUCTION)
    assert settings.is_production
    assert settings.s3_secret_key == PRODUCTION["S3_SECRET_KEY"]


def test_production_refuses_sqlite():
    message = _problems({**PRODUCTION, "DATABASE_URL": "sqlite:////var/lib/sakip.db"})
    assert "not SQLite" in message


@pytest.mark.parametrize("name", ["SECRET_KEY", "SERVICE_TOKEN_SECRET"])
@pytest.mark.parametrize("value", [DEV_SECRET, "x" * 31])
def test_production_refuses_default_and_short_secrets(name, value):
    message = _problems({**PRODUCTION, name: value})
    assert f"production needs {name} set to a random value of 32+ characters" in message
    assert message.count("\n  - ") == 1


def test_a_secret_of_32_characters_is_enough():
    assert load_settings({**PRODUCTION, "SECRET_KEY": "x" * 32}).secret_key == "x" * 32


def test_production_refuses_the_development_s3_keys():
    message = _problems({**PRODUCTION, "S3_ACCESS_KEY": DEV_S3_ACCESS_KEY,
                         "S3_SECRET_KEY": DEV_S3_SECRET_KEY})
    assert "S3_ACCESS_KEY/S3_SECRET_KEY of its own" in message


def test_secrets_are_not_shown_in_the_settings_table():
    table = settings_table()
    for secret in (DEV_SECRET, DEV_S3_ACCESS_KEY, DEV_S3_SECRET_KEY):
        assert secret not in table
    assert len(table.splitlines()) == len(SETTINGS) + 2


def test_readme_settings_table_matches_the_code():
    if not README.exists():
        pytest.fail(f"{README} is missing: it must hold settings_table() between the "
                    "settings-table markers")
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->$",
                      text, flags=re.MULTILINE | re.DOTALL)
    assert match, "README.md lacks the <!-- settings-table:start/end --> markers"
    assert match.group(1) == settings_table(), (
        "README.md's settings table is stale: paste the output of "
        "`python -c 'from shared.config import settings_table; print(settings_table())'`"
    )
