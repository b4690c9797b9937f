"""Upload metrics of the intake service: what was stored per dinas, and why uploads were
refused (operators see a dinas struggling with too-large scans or wrong file types).

Labels hold the dinas slug and a fixed reason code, never a user, document or cycle id."""

from __future__ import annotations

from prometheus_client import Counter

UPLOADS = Counter("sakip_uploads", "Documents stored by upload, by dinas", ["tenant"])
UPLOAD_BYTES = Counter("sakip_upload_bytes", "Bytes of documents stored by upload, by dinas",
                       ["tenant"])
UPLOADS_REJECTED = Counter("sakip_uploads_rejected", "Uploads refused, by reason", ["reason"])


def upload_stored(*, tenant: str, size_bytes: int) -> None:
    UPLOADS.labels(tenant=tenant).inc()
    UPLOAD_BYTES.labels(tenant=tenant).inc(size_bytes)


def upload_rejected(*, reason: str) -> None:
    UPLOADS_REJECTED.labels(reason=reason).inc()
