"""Backup and restore of a whole installation: the database and both buckets.

A backup is a directory (or a `.tar`/`.tar.gz` of one) holding
- `database.pgdump` (PostgreSQL, `pg_dump --format=custom`) or `database.sqlite3` (SQLite, the
  file copied through SQLite's online backup API, consistent while the platform runs);
- `objects/<working|archive>/<n>`: every stored version of every object of the working bucket
  and of the archive bucket, oldest version of a key first;
- `manifest.json`: the inventory (bucket, key, version id, size, SHA-256, content type, archive
  retention) and each table's row count at dump time.

A restore goes into an EMPTY database and EMPTY buckets (it refuses anything else unless forced,
so it never silently mixes two installations), replays the versions in order (S3 hands out new
version ids: the archive's ids recorded in `reports` are rewritten to the new ones), puts the
archive's object-lock retention back, then reads every stored object the database points at
back from S3 and compares its SHA-256 with the database row. Why read back rather than trust the
upload: the point of a restore drill is to prove that the documents are really there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import urllib3
from minio import Minio
from minio.commonconfig import GOVERNANCE
from minio.error import S3Error
from minio.retention import Retention
from minio.versioningconfig import ENABLED, VersioningConfig
from sqlalchemy import Engine, func, inspect, make_url, select, table, update

from shared.clock import now
from shared.config import Settings
from shared.db import make_engine
from shared.documents.models import CycleDocument, DocumentVersion
from shared.reporting.models import Report
from shared.storage import make_client

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.pgdump"
SQLITE_DUMP = "database.sqlite3"
CHUNK = 1024 * 1024
WORKING, ARCHIVE = "working", "archive"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_RETENTION = {"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError",
                "InvalidRequest", "NoSuchKey", "NotImplemented"}


class BackupError(RuntimeError):
    """The backup or restore cannot go on (missing tool, non-empty target, corrupt backup)."""


@dataclass(frozen=True)
class ObjectEntry:
    """One stored object version as backed up."""

    bucket: str  # WORKING or ARCHIVE (the role: bucket names may differ on the target)
    key: str
    version_id: str | None
    size: int
    sha256: str
    file: str  # path inside the backup
    content_type: str
    retention_mode: str | None = None
    retain_until: str | None = None  # ISO 8601


@dataclass
class BackupSummary:
    path: Path
    database: str  # "postgresql" | "sqlite"
    tables: dict[str, int]
    objects: dict[str, int]  # role -> versions
    bytes: int


@dataclass
class Verification:
    """Every stored object the database names, read back and compared with its row."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class RestoreSummary:
    tables: dict[str, int]
    expected_tables: dict[str, int]
    objects: dict[str, int]
    verification: Verification

    @property
    def table_mismatches(self) -> list[str]:
        return [f"{name}: {self.tables.get(name)} rows, backup had {count}"
                for name, count in sorted(self.expected_tables.items())
                if self.tables.get(name) != count]

    @property
    def ok(self) -> bool:
        return self.verification.ok and not self.table_mismatches


# -- backup -------------------------------------------------------------------------------------

def backup(settings: Settings, *, dest: Path) -> BackupSummary:
    """Write a backup of the configured database and buckets to `dest` (a new directory, or a
    `.tar`/`.tar.gz` file)."""
    if dest.exists():
        raise BackupError(f"{dest} already exists: a backup never overwrites another")
    if _is_tar(dest):
        with tempfile.TemporaryDirectory(prefix="sakip-backup-") as tmp:
            summary = _backup_into(settings, Path(tmp) / "backup")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(dest, "w:gz" if dest.name.endswith("gz") else "w") as tar:
                tar.add(summary.path, arcname="backup")
        summary.path = dest
        return summary
    return _backup_into(settings, dest)


def _backup_into(settings: Settings, dest: Path) -> BackupSummary:
    dest.mkdir(parents=True)
    url = settings.effective_database_url
    engine = make_engine(url)
    try:
        tables = row_counts(engine)
    finally:
        engine.dispose()
    if _is_sqlite(url):
        _sqlite_copy(_sqlite_path(url), dest / SQLITE_DUMP)
        database = "sqlite"
    else:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              "--file", str(dest / PG_DUMP), "--dbname", _libpq_url(url)], url)
        database = "postgresql"
    client = make_client(settings, settings.s3_endpoint)
    entries: list[ObjectEntry] = []
    for role, bucket in _buckets(settings):
        entries.extend(_copy_bucket(client, bucket, role, dest))
    manifest = {"format": FORMAT, "created_at": now().isoformat(), "database": database,
                "tables": tables, "objects": [asdict(e) for e in entries]}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return BackupSummary(path=dest, database=database, tables=tables,
                         objects=_count_by_role(entries), bytes=sum(e.size for e in entries))


def _copy_bucket(client: Minio, bucket: str, role: str, dest: Path) -> list[ObjectEntry]:
    try:
        if not client.bucket_exists(bucket):
            return []
        versions = [o for o in client.list_objects(bucket, recursive=True, include_version=True)
                    if not o.is_delete_marker and o.object_name]
    except (S3Error, urllib3.exceptions.HTTPError) as exc:
        raise BackupError(f"cannot list bucket {bucket!r}: {exc}") from exc
    # Oldest version of each key first: replayed in this order, the newest stays the latest.
    versions.sort(key=lambda o: (o.object_name or "", o.last_modified or EPOCH,
                                 bool(o.is_latest)))
    folder = dest / "objects" / role
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for n, obj in enumerate(versions):
        key = cast(str, obj.object_name)
        relative = f"objects/{role}/{n:07d}"
        sha, size, content_type = _download(client, bucket, key, obj.version_id, dest / relative)
        mode, until = _retention(client, bucket, key, obj.version_id) if role == ARCHIVE else (
            None, None)
        entries.append(ObjectEntry(bucket=role, key=key, version_id=obj.version_id, size=size,
                                   sha256=sha, file=relative, content_type=content_type,
                                   retention_mode=mode, retain_until=until))
    return entries


def _download(client: Minio, bucket: str, key: str, version_id: str | None,
              path: Path) -> tuple[str, int, str]:
    digest, size = hashlib.sha256(), 0
    try:
        response = client.get_object(bucket, key, version_id=version_id)
    except (S3Error, urllib3.exceptions.HTTPError) as exc:
        raise BackupError(f"cannot read {bucket}/{key}: {exc}") from exc
    try:
        with path.open("wb") as out:
            for chunk in response.stream(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        content_type = response.headers.get("Content-Type") or "application/octet-stream"
    finally:
        response.close()
        response.release_conn()
    return digest.hexdigest(), size, content_type


def _retention(client: Minio, bucket: str, key: str,
               version_id: str | None) -> tuple[str | None, str | None]:
    try:
        held = client.get_object_retention(bucket, key, version_id=version_id)
    except S3Error as exc:
        if exc.code in NO_RETENTION:
            return None, None
        raise BackupError(f"cannot read the retention of {bucket}/{key}: {exc}") from exc
    if held is None or held.retain_until_date is None:
        return None, None
    return held.mode, held.retain_until_date.isoformat()


# -- restore ------------------------------------------------------------------------------------

def restore(settings: Settings, *, src: Path, force: bool = False) -> RestoreSummary:
    """Load the backup at `src` into the configured (empty) database and buckets, then verify."""
    with _unpacked(src) as folder:
        manifest = _manifest(folder)
        entries = [ObjectEntry(**e) for e in manifest["objects"]]
        _check_backup_files(folder, entries)
        client = make_client(settings, settings.s3_endpoint)
        buckets = dict(_buckets(settings))
        url = settings.effective_database_url
        if _is_sqlite(url):
            _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        try:
            if row_counts(engine) and not force:
                raise BackupError("the target database is not empty (use --force to restore "
                                  "over it)")
            for role, bucket in buckets.items():
                _prepare_bucket(client, bucket, archive=role == ARCHIVE, force=force)
        finally:
            engine.dispose()
        _restore_database(url, folder, manifest["database"], force=force)
        new_versions: dict[tuple[str, str, str | None], str | None] = {}
        for entry in entries:
            new_versions[entry.bucket, entry.key, entry.version_id] = _upload(
                client, buckets[entry.bucket], entry, folder / entry.file)
        engine = make_engine(url)
        try:
            _remap_archive_versions(engine, new_versions)
            tables = row_counts(engine)
            verification = verify_objects(engine, client, working=buckets[WORKING],
                                          archive=buckets[ARCHIVE])
        finally:
            engine.dispose()
    return RestoreSummary(tables=tables, expected_tables=manifest["tables"],
                          objects=_count_by_role(entries), verification=verification)


def _prepare_bucket(client: Minio, bucket: str, *, archive: bool, force: bool) -> None:
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket, object_lock=archive)
        elif not force and any(True for _ in client.list_objects(bucket, recursive=True,
                                                                 include_version=True)):
            raise BackupError(f"bucket {bucket!r} is not empty (use --force to restore over it)")
        if archive:
            client.get_object_lock_config(bucket)
        else:
            client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    except S3Error as exc:
        raise BackupError(f"cannot prepare bucket {bucket!r}: {exc}") from exc


def _restore_database(url: str, folder: Path, kind: str, *, force: bool) -> None:
    if kind == "sqlite":
        if not _is_sqlite(url):
            raise BackupError("this backup holds a SQLite database; DATABASE_URL is not SQLite")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # empty (checked) or --force
        _sqlite_copy(folder / SQLITE_DUMP, target)
        return
    if _is_sqlite(url):
        raise BackupError("this backup holds a PostgreSQL dump; DATABASE_URL is SQLite")
    command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
               "--dbname", _libpq_url(url)]
    if force:
        command += ["--clean", "--if-exists"]
    _run([*command, str(folder / PG_DUMP)], url)


def _upload(client: Minio, bucket: str, entry: ObjectEntry, path: Path) -> str | None:
    retention = None
    if entry.retain_until and entry.retention_mode:
        until = datetime.fromisoformat(entry.retain_until)
        if until > now():
            retention = Retention(entry.retention_mode or GOVERNANCE, until)
    metadata: dict[str, str | list[str] | tuple[str]] | None = (
        {"sha256": entry.sha256} if entry.bucket == ARCHIVE else None)
    try:
        with path.open("rb") as body:
            result = client.put_object(bucket, entry.key, cast(BinaryIO, body), entry.size,
                                       content_type=entry.content_type, metadata=metadata,
                                       retention=retention)
    except (S3Error, urllib3.exceptions.HTTPError, OSError) as exc:
        raise BackupError(f"cannot restore {entry.key} into {bucket!r}: {exc}") from exc
    return result.version_id


def _remap_archive_versions(engine: Engine,
                            new_versions: dict[tuple[str, str, str | None], str | None]) -> None:
    """S3 gives restored versions new ids: point the reports at the archived copies again."""
    with engine.begin() as conn:
        rows = conn.execute(select(Report.id, Report.archive_key, Report.archive_version_id)
                            .where(Report.archive_key.is_not(None))).all()
        for report_id, key, old in rows:
            new = new_versions.get((ARCHIVE, str(key), old))
            if new is not None and new != old:
                conn.execute(update(Report).where(Report.id == report_id)
                             .values(archive_version_id=new))


# -- verification -------------------------------------------------------------------------------

def verify_objects(engine: Engine, client: Minio, *, working: str,
                   archive: str) -> Verification:
    """Read back every document version, cycle document and report artifact (and archived
    copy) the database names and compare size and SHA-256 with the row."""
    result = Verification()
    with engine.connect() as conn:
        expected: list[tuple[str, str, str | None, str, int | None, str]] = []
        for model in (DocumentVersion, CycleDocument):
            for row_key, row_sha, row_size in conn.execute(
                    select(model.object_key, model.sha256, model.size_bytes)):
                expected.append((working, row_key, None, row_sha, row_size,
                                 model.__tablename__))
        for row in conn.execute(select(Report.pdf_key, Report.pdf_sha256, Report.pdf_size,
                                       Report.xlsx_key, Report.xlsx_sha256, Report.xlsx_size,
                                       Report.archive_key, Report.archive_version_id)):
            if row.pdf_key and row.pdf_sha256:
                expected.append((working, row.pdf_key, None, row.pdf_sha256, row.pdf_size,
                                 "reports.pdf"))
            if row.xlsx_key and row.xlsx_sha256:
                expected.append((working, row.xlsx_key, None, row.xlsx_sha256, row.xlsx_size,
                                 "reports.xlsx"))
            if row.archive_key and row.pdf_sha256:
                expected.append((archive, row.archive_key, row.archive_version_id,
                                 row.pdf_sha256, row.pdf_size, "reports.archive"))
    for bucket, key, version_id, sha, size, what in expected:
        result.checked += 1
        try:
            got_sha, got_size = _digest(client, bucket, key, version_id)
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            result.problems.append(f"{what} {key}: missing ({exc})")
            continue
        if got_sha != sha or (size is not None and got_size != size):
            result.problems.append(f"{what} {key}: SHA-256 {got_sha} ({got_size} bytes), "
                                   f"the database says {sha} ({size} bytes)")
    return result


def _digest(client: Minio, bucket: str, key: str, version_id: str | None) -> tuple[str, int]:
    response = client.get_object(bucket, key, version_id=version_id)
    try:
        digest, size = hashlib.sha256(), 0
        for chunk in response.stream(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size
    finally:
        response.close()
        response.release_conn()


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of the database (no tables at all: an empty database)."""
    names = inspect(engine).get_table_names()
    with engine.connect() as conn:
        return {name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
                for name in sorted(names)}


# -- helpers ------------------------------------------------------------------------------------

def _buckets(settings: Settings) -> list[tuple[str, str]]:
    return [(WORKING, settings.s3_bucket), (ARCHIVE, settings.s3_archive_bucket)]


def _count_by_role(entries: list[ObjectEntry]) -> dict[str, int]:
    counts = {WORKING: 0, ARCHIVE: 0}
    for entry in entries:
        counts[entry.bucket] += 1
    return counts


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = cast(dict[str, Any], json.loads((folder / MANIFEST).read_text()))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} is not a SAKIP backup: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _check_backup_files(folder: Path, entries: list[ObjectEntry]) -> None:
    """Refuse a damaged backup before touching the target."""
    for entry in entries:
        digest = hashlib.sha256()
        with (folder / entry.file).open("rb") as body:
            for chunk in iter(lambda: body.read(CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != entry.sha256:
            raise BackupError(f"backup file {entry.file} ({entry.key}) is damaged")


@contextmanager
def _unpacked(src: Path) -> Iterator[Path]:
    if src.is_dir():
        yield src
        return
    if not src.is_file():
        raise BackupError(f"no backup at {src}")
    with tempfile.TemporaryDirectory(prefix="sakip-restore-") as tmp, tarfile.open(src) as tar:
        tar.extractall(tmp, filter="data")
        yield Path(tmp) / "backup"


def _is_tar(path: Path) -> bool:
    return path.name.endswith((".tar", ".tar.gz", ".tgz"))


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (Debian package "
                          "postgresql-client) matching the server's major version")
    return path


def _libpq_url(url: str) -> str:
    """The URL for libpq tools, without the SQLAlchemy driver and without the password (which
    goes through PGPASSWORD: a command line is visible to every user of the machine)."""
    return make_url(url).set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def _run(command: list[str], url: str) -> None:
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
