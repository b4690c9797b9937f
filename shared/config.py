"""Every setting of the platform, read from environment variables in one place.

`load_settings()` validates all of them at start-up and raises `ConfigError` listing every
missing or malformed value at once. The README's settings table is checked against `SETTINGS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("development", "test", "demo", "production")
DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - the known default production refuses
DEV_S3_ACCESS_KEY = "sakip-dev"
DEV_S3_SECRET_KEY = "sakip-dev-secret"  # noqa: S105 - local SeaweedFS only; production refuses


class ConfigError(RuntimeError):
    """One or more settings are missing or malformed; the message names each of them."""


def _setting(env: str, doc: str, default: Any = None, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, "secret": secret})


@dataclass(frozen=True)
class Settings:
    env: str = _setting("SAKIP_ENV", "development, test, demo or production", "development")
    state_dir: Path = _setting(
        "SAKIP_STATE_DIR", "where the local run keeps its SQLite file, S3 data and logs",
        Path(".sakip"),
    )
    database_url: str = _setting(
        "DATABASE_URL",
        "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default: SQLite file in the "
        "state dir)",
        "",
    )
    redis_url: str = _setting("REDIS_URL", "Redis for events and the Celery broker",
                              "redis://127.0.0.1:6379/0")
    s3_endpoint: str = _setting("S3_ENDPOINT", "host:port of the S3 server", "127.0.0.1:8333")
    s3_public_endpoint: str = _setting(
        "S3_PUBLIC_ENDPOINT", "host:port that presigned URLs name (default: S3_ENDPOINT)", ""
    )
    s3_access_key: str = _setting("S3_ACCESS_KEY", "S3 access key", DEV_S3_ACCESS_KEY,
                                  secret=True)
    s3_secret_key: str = _setting("S3_SECRET_KEY", "S3 secret key", DEV_S3_SECRET_KEY,
                                  secret=True)
    s3_bucket: str = _setting("S3_BUCKET", "bucket holding every tenant's objects", "sakip")
    s3_archive_bucket: str = _setting(
        "S3_ARCHIVE_BUCKET", "bucket (object lock on) holding approved reports immutably",
        "sakip-arsip"
    )
    archive_retention_days: int = _setting(
        "ARCHIVE_RETENTION_DAYS", "days an approved report stays locked in the archive", 3650
    )
    report_lease_seconds: int = _setting(
        "REPORT_LEASE_SECONDS", "lease of a report build; a build silent this long is requeued", 30
    )
    s3_secure: bool = _setting("S3_SECURE", "use TLS to reach the S3 server", False)
    s3_public_secure: bool = _setting(
        "S3_PUBLIC_SECURE", "presigned URLs use https (with S3_PUBLIC_ENDPOINT behind a TLS proxy)",
        False)
    s3_region: str = _setting("S3_REGION", "S3 region name", "us-east-1")
    secret_key: str = _setting(
        "SECRET_KEY", "signs cookies and CSRF tokens (32+ characters in production)",
        DEV_SECRET, secret=True,
    )
    service_token_secret: str = _setting(
        "SERVICE_TOKEN_SECRET",
        "signs the short-lived tokens the portal uses to call the other services",
        DEV_SECRET, secret=True,
    )
    service_token_ttl_seconds: int = _setting(
        "SERVICE_TOKEN_TTL_SECONDS", "lifetime of a portal-to-service token", 60
    )
    session_lifetime_seconds: int = _setting(
        "SESSION_LIFETIME_SECONDS", "idle lifetime of a login session", 8 * 3600
    )
    events_stream: str = _setting("EVENTS_STREAM", "Redis stream the outbox relay writes to",
                                  "sakip:events")
    events_max_deliveries: int = _setting(
        "EVENTS_MAX_DELIVERIES", "deliveries before an event is dead-lettered", 5
    )
    max_upload_bytes: int = _setting("MAX_UPLOAD_BYTES", "largest accepted upload",
                                     50 * 1024 * 1024)
    log_level: str = _setting("LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR", "INFO")
    log_json: bool = _setting("LOG_JSON", "structured JSON logs (plain text when false)", True)
    workflow_url: str = _setting(
        "WORKFLOW_URL", "base URL the portal calls the workflow API at", "http://127.0.0.1:8081"
    )
    city_name: str = _setting("CITY_NAME", "the city running the platform (report headers)",
                              "Kota Probolinggo")
    reporting_url: str = _setting(
        "REPORTING_URL", "base URL the portal calls the reporting API at", "http://127.0.0.1:8082"
    )
    portal_url: str = _setting(
        "PORTAL_URL", "public URL of the staff portal (links in e-mails)", "http://127.0.0.1:8080"
    )
    scheduler_interval_seconds: int = _setting(
        "SCHEDULER_INTERVAL_SECONDS", "seconds between two passes of the deadline scheduler", 30
    )
    smtp_host: str = _setting(
        "SMTP_HOST", "SMTP server for notification e-mails (none: in-app inbox only)", ""
    )
    smtp_port: int = _setting("SMTP_PORT", "SMTP server port", 25)
    smtp_starttls: bool = _setting("SMTP_STARTTLS", "upgrade the SMTP connection with STARTTLS",
                                   False)
    smtp_username: str = _setting("SMTP_USERNAME", "SMTP login (none: no authentication)", "")
    smtp_password: str = _setting("SMTP_PASSWORD", "SMTP password", "", secret=True)
    mail_from: str = _setting("MAIL_FROM", "sender address of notification e-mails",
                              "SAKIP <sakip@localhost>")
    metrics_port: int = _setting(
        "METRICS_PORT", "port of the /metrics endpoint of non-HTTP processes (0: none)", 0
    )
    demo_clock_file: str = _setting(
        "SAKIP_DEMO_CLOCK",
        "file of the demo clock every process reads (SAKIP_ENV=demo only; default "
        "<state dir>/demo-clock.json; moved by `sakip demo clock`)", ""
    )
    relay_poll_ms: int = _setting(
        "RELAY_POLL_MS", "milliseconds the outbox relay waits before looking at an empty outbox "
        "again", 50
    )
    trusted_proxies: int = _setting(
        "TRUSTED_PROXIES",
        "reverse proxies in front of the web services whose X-Forwarded-For/-Proto/-Host "
        "headers are trusted (0: none; 1 behind one TLS-terminating proxy)", 0
    )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'sakip.db').resolve()}"

    @property
    def demo_clock_path(self) -> Path | None:
        """The demo clock's file in `demo`; None (the real time) in every other environment."""
        if self.env != "demo":
            return None
        return Path(self.demo_clock_file) if self.demo_clock_file else (
            self.state_dir / "demo-clock.json")

    @property
    def presign_endpoint(self) -> str:
        return self.s3_public_endpoint or self.s3_endpoint

    @property
    def presign_secure(self) -> bool:
        return self.s3_public_secure if self.s3_public_endpoint else self.s3_secure


SETTINGS = tuple(fields(Settings))


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _parse_int(raw: str) -> int:
    value = int(raw.strip())
    if value < 0:
        raise ValueError("must not be negative")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "bool": _parse_bool,
    "int": _parse_int,
    "Path": lambda raw: Path(raw.strip()),
    "str": lambda raw: raw.strip(),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError naming each bad one."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in SETTINGS:
        name = f.metadata["env"]
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[f.name] = _PARSERS[str(f.type)](raw)
        except ValueError as exc:
            problems.append(f"{name}={raw!r} is malformed: {exc}")
    settings = Settings(**values)
    problems.extend(_validate(settings))
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))
    return settings


def as_environ(settings: Settings) -> dict[str, str]:
    """The settings as the environment variables that load them again (for a child process)."""
    environ = {}
    for f in SETTINGS:
        value = getattr(settings, f.name)
        environ[f.metadata["env"]] = str(value).lower() if isinstance(value, bool) else str(value)
    return environ


def _validate(s: Settings) -> list[str]:
    problems = []
    if s.env not in ENVIRONMENTS:
        problems.append(f"SAKIP_ENV={s.env!r} must be one of {', '.join(ENVIRONMENTS)}")
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(f"LOG_LEVEL={s.log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    if s.database_url and "://" not in s.database_url:
        problems.append("DATABASE_URL must be a URL such as postgresql+psycopg://host/db")
    if not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
    if ":" not in s.s3_endpoint or "/" in s.s3_endpoint:
        problems.append("S3_ENDPOINT must be host:port without a scheme, e.g. minio:9000")
    if s.service_token_ttl_seconds < 5 or s.service_token_ttl_seconds > 900:
        problems.append("SERVICE_TOKEN_TTL_SECONDS must be between 5 and 900")
    for name, url in (("WORKFLOW_URL", s.workflow_url), ("REPORTING_URL", s.reporting_url)):
        if not url.startswith(("http://", "https://")):
            problems.append(f"{name} must be an http:// or https:// URL")
    if s.report_lease_seconds < 2:
        problems.append("REPORT_LEASE_SECONDS must be at least 2")
    if s.scheduler_interval_seconds < 1:
        problems.append("SCHEDULER_INTERVAL_SECONDS must be at least 1")
    if s.demo_clock_file and s.env != "demo":
        problems.append("SAKIP_DEMO_CLOCK is only allowed with SAKIP_ENV=demo: any other "
                        "environment runs on the real time")
    if not 1 <= s.relay_poll_ms <= 5000:
        problems.append("RELAY_POLL_MS must be between 1 and 5000")
    if s.max_upload_bytes < 1:
        problems.append("MAX_UPLOAD_BYTES must be at least 1")
    if s.is_production:
        problems.extend(_production_problems(s))
    return problems


def _production_problems(s: Settings) -> list[str]:
    problems = []
    if not s.database_url or s.database_url.startswith("sqlite"):
        problems.append("production needs DATABASE_URL pointing at PostgreSQL, not SQLite")
    for name, value in (("SECRET_KEY", s.secret_key),
                        ("SERVICE_TOKEN_SECRET", s.service_token_secret)):
        if value == DEV_SECRET or len(value) < 32:
            problems.append(f"production needs {name} set to a random value of 32+ characters")
    if s.s3_secret_key == DEV_S3_SECRET_KEY or s.s3_access_key == DEV_S3_ACCESS_KEY:
        problems.append("production needs S3_ACCESS_KEY/S3_SECRET_KEY of its own")
    return problems


def settings_table() -> str:
    """The README's settings table, generated from SETTINGS so the two cannot drift."""
    rows = ["| variable | meaning | default |", "|---|---|---|"]
    for f in SETTINGS:
        if f.metadata["secret"]:
            default = "(secret)"
        else:
            default = f"`{f.default}`" if f.default != "" else "(none)"
        rows.append(f"| `{f.metadata['env']}` | {f.metadata['doc']} | {default} |")
    return "\n".join(rows)
