"""The `sakip` command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from shared.config import ConfigError, Settings, load_settings


def _settings() -> Settings:
    from shared import clock

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    clock.use_settings(settings)
    return settings


@click.group()
def main() -> None:
    """SAKIP performance-data platform."""


@main.command()
@click.option("--intake-port", default=8080, show_default=True)
@click.option("--workflow-port", default=8081, show_default=True)
@click.option("--reporting-port", default=8082, show_default=True)
@click.option("--s3-port", default=8333, show_default=True,
              help="port of the local S3 server (when S3_ENDPOINT is not set)")
def up(intake_port: int, workflow_port: int, reporting_port: int, s3_port: int) -> None:
    """Run the whole local stack in the foreground; Ctrl-C stops everything."""
    from sakip.localinfra import InfraError
    from sakip.stack import Ports, Stack

    settings = _settings()
    if settings.is_production:
        raise click.ClickException("`sakip up` is the local stack; production runs deploy/")
    stack = Stack(settings.state_dir, Ports(intake_port, workflow_port, reporting_port, s3_port))
    status = 1
    try:
        stack.start()
        status = stack.wait()
    except InfraError as exc:
        click.echo(f"error: {exc}", err=True)
    except KeyboardInterrupt:
        status = 0
    finally:
        stack.stop()
    sys.exit(status)


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations (creates a SQLite file's folder when needed)."""
    from shared.db import migrate

    settings = _settings()
    if not settings.database_url:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.effective_database_url, revision)
    click.echo(f"database at {revision}: {settings.effective_database_url}")


@db.command("check")
def db_check() -> None:
    """Fail when the models and the migrated schema differ."""
    from shared.db import migrate

    migrate.check(_settings().effective_database_url)
    click.echo("schema matches the models")


@main.group()
def seed() -> None:
    """Seed data."""


@seed.command("demo")
def seed_demo_command() -> None:
    """Create the demo tenant (the SOP's own dinas) with one user per role."""
    from sakip.demo import seed_demo_data
    from services.intake.seed import DEMO_TENANT_NAME

    settings = _settings()
    if settings.is_production:
        raise click.ClickException("demo accounts are refused in production")
    from shared.storage import ObjectStore

    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    with _session(settings) as session:
        seed_demo_data(session, store)
    click.echo(f"demo tenant ready: {DEMO_TENANT_NAME}")


@main.group()
def intake() -> None:
    """Intake housekeeping."""


@intake.command("sweep-orphans")
@click.option("--grace-minutes", default=60, show_default=True,
              help="only objects older than this (longer than any upload)")
def sweep_orphans_command(grace_minutes: int) -> None:
    """Remove stored documents that no version row points at (left by a crash mid-upload)."""
    from datetime import timedelta

    from services.intake.sweeper import sweep_orphans
    from shared.db import make_engine, make_session_factory
    from shared.storage import ObjectStore

    settings = _settings()
    engine = make_engine(settings.effective_database_url)
    try:
        removed = sweep_orphans(ObjectStore.from_settings(settings), make_session_factory(engine),
                                grace=timedelta(minutes=grace_minutes))
    finally:
        engine.dispose()
    click.echo(f"{len(removed)} orphaned object(s) removed")


@main.group()
def admin() -> None:
    """Platform administration."""


@admin.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--email", default=None)
@click.password_option("--password", prompt="Kata sandi / password")
def admin_create(username: str, full_name: str, email: str | None, password: str) -> None:
    """Create a platform_admin account (the first one of a new installation)."""
    from services.intake.accounts import AccountError, create_user
    from shared.identity.roles import Role

    settings = _settings()
    try:
        with _session(settings) as session:
            create_user(session, username=username, full_name=full_name, password=password,
                        email=email, roles=[(Role.PLATFORM_ADMIN, None)],
                        actor="system:sakip-admin-create")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"platform_admin {username} created")


@main.group()
def token() -> None:
    """Personal API tokens (for programs calling /api/v1)."""


@token.command("create")
@click.option("--username", required=True, help="the user the token acts as")
@click.option("--name", required=True, help="what the token is for, e.g. the program using it")
@click.option("--expires-days", type=click.IntRange(min=1, max=3650), default=None,
              help="days until the token stops working (default: until revoked)")
def token_create(username: str, name: str, expires_days: int | None) -> None:
    """Create a personal API token for an active user and print it once."""
    from datetime import timedelta

    from sqlalchemy import select

    from shared import audit
    from shared.clock import now
    from shared.identity.api_tokens import create_api_token
    from shared.identity.models import User

    settings = _settings()
    username = username.strip().lower()
    expires_at = now() + timedelta(days=expires_days) if expires_days else None
    with _session(settings) as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            raise click.ClickException(f"no user named {username!r}")
        if not user.active:
            raise click.ClickException(f"user {username!r} is deactivated: an inactive user "
                                       "cannot hold API tokens")
        try:
            row, plaintext = create_api_token(session, user=user, name=name,
                                              expires_at=expires_at)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(session, service="intake", action="api_token.created",
                     target_type="api_token", target_id=row.id, tenant_id=user.tenant_id,
                     actor="system:sakip-token-create",
                     after={"user_id": str(user.id), "name": row.name, "prefix": row.prefix,
                            "expires_at": expires_at.isoformat() if expires_at else None})
    until = f"expires {expires_at.isoformat(timespec='seconds')}" if expires_at else "no expiry"
    click.echo(f"API token {row.name!r} created for {username} ({until}):")
    click.echo(plaintext)
    click.echo("Copy it now: it will not be shown again (only its hash is stored).")


@main.group()
def rubric() -> None:
    """LKE rubrics (the evaluation's criteria and weights)."""


@rubric.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--code", required=True, help="rubric code, e.g. permenpanrb-12-2015")
@click.option("--version", type=click.IntRange(min=1), required=True)
@click.option("--name", required=True, help="the rubric's display name")
@click.option("--regulation", required=True, help="the regulation the rubric implements")
@click.option("--source", required=True, help="where the criteria come from (citation)")
def rubric_import(file: Any, code: str, version: int, name: str, regulation: str,
                  source: str) -> None:
    """Publish an LKE workbook (XLSX) as a rubric version (again: no change)."""
    from services.reporting.rubrics import publish_rubric
    from shared.reporting.workbook import WorkbookError, import_lke_workbook
    from shared.web.errors import Conflict

    try:
        definition = import_lke_workbook(file, code=code, version=version, name=name,
                                         regulation=regulation, source=source)
    except WorkbookError as exc:
        raise click.ClickException("the workbook is not a valid LKE:\n" + str(exc)) from exc
    try:
        with _session(_settings()) as session:
            published = publish_rubric(session, definition, by=None)
            click.echo(f"rubric {published.code} v{published.version} published "
                       f"({len(definition.criteria())} criteria)")
    except Conflict as exc:
        raise click.ClickException(exc.message) from exc


@main.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
def backup_command(dest: Path) -> None:
    """Back up the database and both buckets to DEST (a new folder, or a .tar/.tar.gz)."""
    from sakip.backup import BackupError, backup

    try:
        summary = backup(_settings(), dest=dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {summary.path}: {summary.database} database "
               f"({len(summary.tables)} tables, {sum(summary.tables.values())} rows), "
               f"{summary.objects['working']} working and {summary.objects['archive']} "
               f"archive object version(s), {summary.bytes} bytes")


@main.command("restore")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.option("--force", is_flag=True,
              help="restore over a non-empty database or bucket (normally refused)")
def restore_command(src: Path, force: bool) -> None:
    """Restore the backup SRC into an empty database and empty buckets, then re-verify every
    stored document's SHA-256 against the database."""
    from sakip.backup import BackupError, restore

    try:
        summary = restore(_settings(), src=src, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {len(summary.tables)} tables ({sum(summary.tables.values())} rows), "
               f"{summary.objects['working']} working and {summary.objects['archive']} archive "
               "object version(s)")
    click.echo(f"verified {summary.verification.checked} stored object(s) against the database")
    problems = summary.table_mismatches + summary.verification.problems
    for problem in problems:
        click.echo(f"MISMATCH {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) after the restore")
    click.echo("every row count and SHA-256 matches")


@main.group()
def events() -> None:
    """Event bus housekeeping and dead letters."""


@events.command("prune")
@click.option("--outbox-days", type=click.IntRange(min=1), default=30, show_default=True,
              help="delete outbox rows sent longer ago than this")
@click.option("--inbox-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="delete inbox rows processed longer ago than this (keep above --stream-days)")
@click.option("--stream-days", type=click.IntRange(min=1), default=7, show_default=True,
              help="trim stream entries older than this...")
@click.option("--margin-minutes", type=click.IntRange(min=0), default=60, show_default=True,
              help="...and older than the oldest entry any consumer group still needs, by this")
def events_prune(outbox_days: int, inbox_days: int, stream_days: int,
                 margin_minutes: int) -> None:
    """Prune sent outbox rows and old inbox rows; trim the event stream."""
    from datetime import timedelta

    from shared.events.connection import make_redis_client
    from shared.events.housekeeping import prune_inbox, prune_outbox, trim_stream

    if inbox_days <= stream_days:
        raise click.ClickException("--inbox-days must exceed --stream-days: an event still in "
                                   "the stream could otherwise be applied twice")
    settings = _settings()
    with _session(settings) as session:
        outbox = prune_outbox(session, older_than=timedelta(days=outbox_days))
        inbox = prune_inbox(session, older_than=timedelta(days=inbox_days))
    client = make_redis_client(settings.redis_url)
    try:
        trim = trim_stream(client, stream=settings.events_stream,
                           older_than=timedelta(days=stream_days),
                           margin=timedelta(minutes=margin_minutes))
    finally:
        client.close()
    click.echo(f"outbox: {outbox} sent row(s) pruned; inbox: {inbox} row(s) pruned")
    click.echo(f"stream {trim.stream}: {trim.trimmed} entr(ies) trimmed below "
               f"{trim.min_id or '-'}, {trim.remaining} kept")


@events.group("dlq")
def events_dlq() -> None:
    """Dead-lettered events (the stream's `:dead` companion)."""


@events_dlq.command("list")
@click.option("--count", type=click.IntRange(min=1), default=100, show_default=True)
def dlq_list(count: int) -> None:
    """List the oldest dead letters."""
    from shared.events.connection import make_redis_client
    from shared.events.dead_letters import dead_letter_stream, list_dead_letters

    settings = _settings()
    client = make_redis_client(settings.redis_url)
    try:
        letters = list_dead_letters(client, stream=settings.events_stream, count=count)
        total = int(client.xlen(dead_letter_stream(settings.events_stream)))
    finally:
        client.close()
    for letter in letters:
        click.echo(f"{letter.entry_id}  {letter.event_type or '?'}  event={letter.event_id or '?'}"
                   f"  group={letter.group}  deliveries={letter.deliveries}  at={letter.dead_at}"
                   f"  reason={letter.reason}")
    click.echo(f"{total} dead letter(s)")


@events_dlq.command("replay")
@click.option("--id", "entry_ids", multiple=True, help="a dead letter's entry id (repeatable)")
@click.option("--all", "replay_all", is_flag=True, help="replay every dead letter")
def dlq_replay(entry_ids: tuple[str, ...], replay_all: bool) -> None:
    """Put dead letters back onto the event stream (consumers' inbox makes it idempotent)."""
    from shared.events.connection import make_redis_client
    from shared.events.dead_letters import replay

    if replay_all == bool(entry_ids):
        raise click.UsageError("give either --id (one or more) or --all")
    settings = _settings()
    client = make_redis_client(settings.redis_url)
    try:
        replayed = replay(client, stream=settings.events_stream,
                          entry_ids=None if replay_all else list(entry_ids))
    finally:
        client.close()
    missing = sorted(set(entry_ids) - set(replayed))
    for entry_id in replayed:
        click.echo(f"replayed {entry_id}")
    click.echo(f"{len(replayed)} dead letter(s) replayed onto {settings.events_stream}")
    if missing:
        raise click.ClickException(f"not in the dead-letter stream: {', '.join(missing)}")


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """One committed unit of work against the configured database."""
    from shared.db import make_engine, make_session_factory, transaction

    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _register_groups() -> None:
    from sakip.demo_cli import demo

    main.add_command(demo)


_register_groups()

if __name__ == "__main__":
    main()
