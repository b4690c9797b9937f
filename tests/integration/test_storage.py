"""Storage round trips against the test session's own SeaweedFS S3 server."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import uuid
from datetime import timedelta

import pytest

from shared.storage import PART_SIZE, ObjectTooLarge, StorageError, object_key


class _CountingStream(io.RawIOBase):
    """A body produced on the fly, so the test sees how much is asked for at once."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.largest_read = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.remaining if n < 0 else min(n, self.remaining)
        self.largest_read = max(self.largest_read, n)
        chunk = os.urandom(n)
        self.remaining -= n
        self.digest.update(chunk)
        return chunk


def test_round_trip_records_sha256_and_size(object_store):
    data = os.urandom(3 * 1024 * 1024 + 17)
    key = object_key(tenant_id=uuid.uuid4(), cycle_id=uuid.uuid4(), kind="document")
    stored = object_store.put_stream(key, io.BytesIO(data), content_type="application/pdf")
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert object_store.sha256_of(key) == stored.sha256


def test_large_body_is_streamed_in_parts(object_store):
    body = _CountingStream(20 * 1024 * 1024)
    key = object_key(tenant_id=uuid.uuid4(), kind="document")
    stored = object_store.put_stream(key, body, content_type="application/pdf")
    assert stored.size == 20 * 1024 * 1024
    assert stored.sha256 == body.digest.hexdigest()
    # one part at a time (minio asks for one byte more to see the end), never the whole body
    assert body.largest_read <= PART_SIZE + 1 < stored.size


def test_over_the_limit_leaves_nothing(object_store):
    tenant = uuid.uuid4()
    key = object_key(tenant_id=tenant, kind="document")
    with pytest.raises(ObjectTooLarge):
        object_store.put_stream(key, _CountingStream(12 * 1024 * 1024),
                                content_type="application/pdf", max_bytes=10 * 1024 * 1024)
    assert object_store.keys(f"tenants/{tenant}/") == []


def test_presigned_get_serves_the_bytes_and_is_short_lived(object_store):
    key = object_key(tenant_id=uuid.uuid4(), kind="document")
    object_store.put_stream(key, io.BytesIO(b"%PDF-1.7 laporan"), content_type="application/pdf")
    url = object_store.presigned_get(key, download_name="Laporan Kinerja 2026.pdf")
    assert "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback S3
        assert response.read() == b"%PDF-1.7 laporan"
        assert "Laporan%20Kinerja%202026.pdf" in response.headers["Content-Disposition"]
    with pytest.raises(ValueError, match="at most"):
        object_store.presigned_get(key, expires=timedelta(hours=1))


def test_delete_removes_every_version(object_store):
    key = object_key(tenant_id=uuid.uuid4(), kind="document")
    for body in (b"one", b"two"):
        object_store.put_stream(key, io.BytesIO(body), content_type="text/plain")
    object_store.delete(key)
    assert not object_store.exists(key)
    assert list(object_store.client.list_objects(object_store.bucket, prefix=key,
                                                 include_version=True)) == []
    with pytest.raises(StorageError):
        object_store.delete(key)


def test_unreachable_store_is_a_storage_error(settings):
    import dataclasses

    from sakip.localinfra import free_ports
    from shared.storage import ObjectStore

    dead = ObjectStore.from_settings(
        dataclasses.replace(settings, s3_endpoint=f"127.0.0.1:{free_ports(1)[0]}"), timeout=2
    )
    with pytest.raises(StorageError):
        dead.put_stream("tenants/x/document/y", io.BytesIO(b"x"), content_type="text/plain")
