"""`sakip token create` against the test database, and the token it prints against the API."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select, update

from sakip.cli import main
from services.intake.app import create_app
from shared.audit import AuditEntry
from shared.clock import now
from shared.db import transaction
from shared.identity.api_tokens import TOKEN_PREFIX, token_hash
from shared.identity.models import ApiToken, User


def _env(settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "SAKIP_ENV": "test",
            "SAKIP_STATE_DIR": str(settings.state_dir)}


def _create(settings, *args: str):
    return CliRunner().invoke(main, ["token", "create", *args], env=_env(settings))


def _printed_token(output: str) -> str:
    (token,) = [line for line in output.splitlines() if line.startswith(TOKEN_PREFIX)]
    return token


def test_token_create_prints_a_working_token_once(settings, object_store, session_factory,
                                                  world):
    result = _create(settings, "--username", "dinas-a.staf1", "--name", "skrip rekap")
    assert result.exit_code == 0, result.output
    token = _printed_token(result.output)
    assert "will not be shown again" in result.output
    with session_factory() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == token_hash(token)
        assert row.name == "skrip rekap"
        assert row.user_id == world.a.users["dinas-a.staf1"]
        assert row.expires_at is None
        assert token not in str(session.scalars(select(AuditEntry.after).where(
            AuditEntry.action == "api_token.created")).one())
    app = create_app(settings)
    try:
        response = app.test_client().get("/api/v1/me",
                                         headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.get_json()["username"] == "dinas-a.staf1"
    finally:
        app.extensions["sakip"].close()


def test_token_create_with_an_expiry(settings, session_factory, world):
    result = _create(settings, "--username", "kota.inspektur", "--name", "dasbor",
                     "--expires-days", "7")
    assert result.exit_code == 0, result.output
    _printed_token(result.output)
    with session_factory() as session:
        expires_at = session.scalars(select(ApiToken.expires_at)).one()
    assert expires_at is not None
    assert abs(expires_at - (now() + timedelta(days=7))) < timedelta(minutes=1)
    assert _create(settings, "--username", "kota.inspektur", "--name", "x",
                   "--expires-days", "0").exit_code != 0


def test_token_create_refuses_unknown_and_inactive_users(settings, session_factory, world):
    unknown = _create(settings, "--username", "tidak.ada", "--name", "skrip")
    assert unknown.exit_code != 0
    assert "no user named 'tidak.ada'" in unknown.output
    with transaction(session_factory) as session:
        session.execute(update(User).where(User.username == "dinas-b.tim").values(active=False))
    inactive = _create(settings, "--username", "dinas-b.tim", "--name", "skrip")
    assert inactive.exit_code != 0
    assert "deactivated" in inactive.output
    blank = _create(settings, "--username", "dinas-b.kepala", "--name", "  ")
    assert blank.exit_code != 0
    for result in (unknown, inactive, blank):
        assert TOKEN_PREFIX not in result.output
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0
