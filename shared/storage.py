"""Object storage: a thin layer over the `minio` client.

Keys are namespaced by tenant and cycle and never contain a user-supplied name. Bodies are
streamed in parts (never read whole into memory) while their SHA-256 and size are counted.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO, Protocol, cast

import urllib3
from minio import Minio
from minio.error import S3Error

from shared.config import Settings

PART_SIZE = 5 * 1024 * 1024  # S3's smallest part: bounds the memory one upload holds
PARALLEL_PARTS = 2  # parts in flight at once: with the one being read, about 3 in memory
PRESIGN_MAX = timedelta(minutes=15)


class Readable(Protocol):
    """Anything with a file's `read`: a request stream, a pipe between threads, a file."""

    def read(self, n: int = -1, /) -> bytes: ...


class StorageError(RuntimeError):
    """The object store could not be reached or refused the operation."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    version_id: str | None


class _HashingReader:
    """Wraps a binary stream, hashing and counting what the client reads from it."""

    def __init__(self, stream: Readable, limit: int | None) -> None:
        self._stream = stream
        self._limit = limit
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._stream.read(n)
        self.size += len(chunk)
        if self._limit is not None and self.size > self._limit:
            raise ObjectTooLarge(self._limit)
        self.sha256.update(chunk)
        return chunk


class ObjectTooLarge(StorageError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"object larger than the limit of {limit} bytes")
        self.limit = limit


def object_key(*, tenant_id: uuid.UUID, kind: str, cycle_id: uuid.UUID | None = None) -> str:
    """A fresh, unguessable key under the tenant's (and cycle's) prefix."""
    if not kind.isidentifier():
        raise ValueError(f"object kind must be a plain identifier, got {kind!r}")
    scope = f"tenants/{tenant_id}/" + (f"cycles/{cycle_id}/" if cycle_id else "")
    return f"{scope}{kind}/{uuid.uuid4().hex}"


def make_client(settings: Settings, endpoint: str, *, timeout: float = 30.0,
                maxsize: int = 32, secure: bool | None = None) -> Minio:
    """A minio client of `endpoint` with the platform's timeouts and bounded retries."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=timeout),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        maxsize=maxsize,
    )
    return Minio(endpoint, access_key=settings.s3_access_key, secret_key=settings.s3_secret_key,
                 secure=settings.s3_secure if secure is None else secure,
                 region=settings.s3_region, http_client=http)


class ObjectStore:
    def __init__(self, client: Minio, bucket: str, presign_client: Minio | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self._presign_client = presign_client or client

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = 30.0) -> ObjectStore:
        return cls(make_client(settings, settings.s3_endpoint, timeout=timeout),
                   settings.s3_bucket,
                   make_client(settings, settings.presign_endpoint, timeout=timeout,
                               secure=settings.presign_secure))

    def ensure_bucket(self, *, versioning: bool = True) -> None:
        """Create the bucket if missing (idempotent), with versioning on."""
        from minio.versioningconfig import ENABLED, VersioningConfig

        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
            if versioning:
                self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot prepare bucket {self.bucket!r}: {exc}") from exc

    def ping(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                raise StorageError(f"bucket {self.bucket!r} does not exist")
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"object store unreachable: {exc}") from exc

    def put_stream(self, key: str, stream: Readable, *, content_type: str,
                   max_bytes: int | None = None) -> StoredObject:
        """Stream a body of unknown length to `key`, counting its SHA-256 and size.

        A body over `max_bytes` raises ObjectTooLarge and leaves no object behind.
        """
        reader = _HashingReader(stream, max_bytes)
        try:
            result = self.client.put_object(self.bucket, key, cast(BinaryIO, reader), length=-1,
                                            part_size=PART_SIZE, content_type=content_type,
                                            num_parallel_uploads=PARALLEL_PARTS)
        except ObjectTooLarge:
            self.delete(key, missing_ok=True)
            raise
        except (S3Error, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"upload of {key} failed: {exc}") from exc
        return StoredObject(key=key, sha256=reader.sha256.hexdigest(), size=reader.size,
                            version_id=result.version_id)

    def open(self, key: str) -> Any:
        """A streaming response of the object's bytes; close it (and release_conn) when done."""
        try:
            return self.client.get_object(self.bucket, key)
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def open_seekable(self, key: str, size: int) -> BinaryIO:
        """A seekable, buffered reader of a stored object (ranged GETs), e.g. for zipfile."""
        return cast(BinaryIO, io.BufferedReader(_RangeReader(self, key, size),
                                                buffer_size=1024 * 1024))

    def sha256_of(self, key: str) -> str:
        return self.describe(key).sha256

    def describe(self, key: str) -> StoredObject:
        """The stored object's SHA-256 and size, counted by reading it back."""
        response = self.open(key)
        try:
            digest, size = hashlib.sha256(), 0
            for chunk in response.stream(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
            return StoredObject(key=key, sha256=digest.hexdigest(), size=size,
                                version_id=response.headers.get("x-amz-version-id"))
        finally:
            response.close()
            response.release_conn()

    def presigned_get(self, key: str, *, expires: timedelta = timedelta(minutes=5),
                      download_name: str | None = None) -> str:
        if expires > PRESIGN_MAX:
            raise ValueError(f"presigned URLs live at most {PRESIGN_MAX}")
        headers: dict[str, str | list[str] | tuple[str]] | None = None
        if download_name:
            headers = {"response-content-disposition": _attachment(download_name)}
        return self._presign_client.presigned_get_object(self.bucket, key, expires=expires,
                                                         response_headers=headers)

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject", "NotFound"}:
                return False
            raise StorageError(f"cannot stat {key}: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise StorageError(f"cannot stat {key}: {exc}") from exc
        return True

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete every version of the object at `key`."""
        try:
            versions = list(self.client.list_objects(self.bucket, prefix=key,
                                                     include_version=True))
            for obj in versions:
                if obj.object_name == key:
                    self.client.remove_object(self.bucket, key, version_id=obj.version_id)
            if not versions and not missing_ok:
                raise StorageError(f"no object at {key}")
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    def keys(self, prefix: str) -> list[str]:
        try:
            return [o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix,
                                                                    recursive=True)
                    if o.object_name]
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot list {prefix}: {exc}") from exc


class _RangeReader(io.RawIOBase):
    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        self._store, self._key, self._size, self._pos = store, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self._size - self._pos)
        if length <= 0:
            return 0
        try:
            response = self._store.client.get_object(self._store.bucket, self._key,
                                                     offset=self._pos, length=length)
            try:
                data = response.read()
            finally:
                response.close()
                response.release_conn()
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot read {self._key}: {exc}") from exc
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"
