"""The `sakip` command's database commands against real PostgreSQL and a SQLite file."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from sakip.cli import main
from shared.identity.models import RoleGrant, Tenant, User
from shared.identity.passwords import verify_password


def _env(settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "SAKIP_ENV": "test",
            "SAKIP_STATE_DIR": str(settings.state_dir)}


def test_admin_create_makes_a_platform_admin(settings, session_factory):
    result = CliRunner().invoke(
        main, ["admin", "create", "--username", "admin.kota", "--full-name", "Admin Kota",
               "--password", "kata-sandi-yang-panjang"], env=_env(settings))
    assert result.exit_code == 0, result.output
    with session_factory() as session:
        user = session.scalars(select(User).where(User.username == "admin.kota")).one()
        assert verify_password(user.password_hash, "kata-sandi-yang-panjang")
        grant = session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).one()
        assert (grant.role, grant.tenant_id) == ("platform_admin", None)


def test_admin_create_refuses_a_short_password_and_changes_nothing(settings, session_factory):
    result = CliRunner().invoke(
        main, ["admin", "create", "--username", "admin.kota", "--full-name", "Admin Kota",
               "--password", "pendek"], env=_env(settings))
    assert result.exit_code != 0
    assert "minimal 12 karakter" in result.output
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_is_refused_in_production(settings):
    env = {**_env(settings), "SAKIP_ENV": "production"}
    result = CliRunner().invoke(main, ["seed", "demo"], env=env)
    assert result.exit_code != 0
    assert "production" in result.output


def test_db_upgrade_and_seed_on_the_embedded_sqlite_default(tmp_path, settings):
    env = {"SAKIP_STATE_DIR": str(tmp_path / "state"), "DATABASE_URL": "", "SAKIP_ENV": "test",
           "S3_ENDPOINT": settings.s3_endpoint, "S3_ACCESS_KEY": settings.s3_access_key,
           "S3_SECRET_KEY": settings.s3_secret_key, "S3_BUCKET": settings.s3_bucket}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(main, ["db", "check"], env=env).exit_code == 0
    for _ in range(2):
        result = runner.invoke(main, ["seed", "demo"], env=env)
        assert result.exit_code == 0, result.output
    engine = create_engine(f"sqlite:///{tmp_path / 'state' / 'sakip.db'}")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Tenant)) == 1
    engine.dispose()
