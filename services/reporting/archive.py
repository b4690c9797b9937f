"""The archive of approved reports: a bucket of its own with S3 object lock (and so versioning),
into which the approved PDF is copied with a GOVERNANCE retention of `archive_retention_days`.

What holds (tried against SeaweedFS 4.x with minio-py, and checked by the tests): the bucket is
made with object lock on, which turns versioning on; every archived object version carries its
retention, read back after the write (an archive that silently ignored the lock would fail the
approval rather than claim immutability); deleting that version is refused (AccessDenied), as is
shortening its retention; a plain delete only adds a delete marker and an overwrite only adds a
newer version, so the archived version stays readable by its version id. GOVERNANCE mode lets an
identity holding the bypass permission (SeaweedFS's "Admin" action) remove a version early with
`x-amz-bypass-governance-retention`: the platform's own code never sends it; an operator who must
remove an archived report does so deliberately and visibly. (The bucket could be switched to
COMPLIANCE mode, which nobody can bypass, if the city's records rules demand it.)

An existing bucket without object lock is refused: S3 cannot be trusted to add it afterwards.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from minio import Minio
from minio.commonconfig import GOVERNANCE
from minio.error import S3Error
from minio.retention import Retention

from shared.config import Settings
from shared.reporting.models import Report
from shared.storage import ObjectStore, StorageError, make_client

PDF = "application/pdf"
NO_LOCK_CONFIG = "ObjectLockConfigurationNotFoundError"


class ArchiveError(StorageError):
    """The archive could not be prepared or written, or did not lock what it was given."""


@dataclass(frozen=True)
class Archived:
    key: str
    version_id: str | None
    sha256: str
    retain_until: datetime


def archive_key(report: Report) -> str:
    """One key per report under its dinas's prefix (a re-approval after a failed commit only
    adds a version; the locked earlier one stays)."""
    return f"tenants/{report.tenant_id}/cycles/{report.cycle_id}/reports/{report.id}.pdf"


class Archive:
    def __init__(self, client: Minio, bucket: str, *, retention_days: int) -> None:
        if retention_days < 1:
            raise ValueError("the archive keeps reports at least one day")
        self.client, self.bucket, self.retention_days = client, bucket, retention_days
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Archive:
        client = make_client(settings, settings.s3_endpoint, maxsize=4)
        return cls(client, settings.s3_archive_bucket,
                   retention_days=settings.archive_retention_days)

    def ensure_bucket(self) -> None:
        """Create the bucket with object lock on (idempotent); refuse one without it."""
        if self._ready:
            return
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=True)
            self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code == NO_LOCK_CONFIG:
                raise ArchiveError(f"archive bucket {self.bucket!r} exists without object lock; "
                                   "make a new bucket with object lock on") from exc
            raise ArchiveError(f"cannot prepare archive bucket {self.bucket!r}: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise ArchiveError(f"archive unreachable: {exc}") from exc
        self._ready = True

    def put_report(self, store: ObjectStore, *, source_key: str, key: str, sha256: str,
                   at: datetime) -> Archived:
        """Copy the report's PDF from the working bucket into the archive, locked until
        `at` + the retention; the bytes must be the ones the report recorded (`sha256`)."""
        self.ensure_bucket()
        data = _read(store, source_key)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArchiveError(f"{source_key} does not hold the approved report's bytes")
        until = (at + timedelta(days=self.retention_days)).replace(microsecond=0)
        try:
            result = self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=PDF,
                metadata={"sha256": sha256}, retention=Retention(GOVERNANCE, until))
            held = self.client.get_object_retention(self.bucket, key,
                                                    version_id=result.version_id)
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise ArchiveError(f"cannot archive {key}: {exc}") from exc
        if (held is None or held.mode != GOVERNANCE or held.retain_until_date is None
                or held.retain_until_date < until):
            raise ArchiveError(f"the archive did not lock {key}")
        return Archived(key=key, version_id=result.version_id, sha256=sha256,
                        retain_until=until)

    def retention(self, key: str, version_id: str | None) -> Retention | None:
        try:
            return self.client.get_object_retention(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            raise ArchiveError(f"cannot read the retention of {key}: {exc}") from exc


def ensure_archive_bucket(archive: Archive) -> None:
    """The archive bucket, object lock on (for operators' setup and the service's first use)."""
    archive.ensure_bucket()


def _read(store: ObjectStore, key: str) -> bytes:
    response = store.open(key)
    try:
        return bytes(response.read())
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ArchiveError(f"cannot read {key}: {exc}") from exc
    finally:
        response.close()
        response.release_conn()
