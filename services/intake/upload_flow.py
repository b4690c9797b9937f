"""One upload from start to end, for the portal and the API alike (a package's document here;
a cycle's own documents in `cycle_document_flow` share `store_upload`).

1. Who may upload to which item is decided before the body is read.
2. The body is streamed: metadata fields, then the file, straight to object storage.
3. The version row, its audit row and its event commit in one transaction.
If anything after the object was stored fails (a refused type, bad metadata, the database),
the object is deleted again; a crash in between leaves an object the sweeper removes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TypeVar

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from services.intake import packages
from services.intake.clock import current_time
from services.intake.filetypes import ALL_KINDS, FileKind, RejectedFile
from services.intake.multipart import MultipartError, MultipartReader
from services.intake.schemas import UploadMetadata, UploadMetadataSchema, indonesian_errors
from services.intake.uploads import ReceivedFile, receive_file
from shared import metrics_uploads
from shared.db import transaction
from shared.documents.models import DocumentVersion
from shared.identity.models import Tenant
from shared.identity.principal import Principal
from shared.storage import ObjectTooLarge, StorageError, object_key
from shared.web.resources import Resources

log = logging.getLogger(__name__)
FORM_OVERHEAD_BYTES = 1024 * 1024  # the multipart framing and fields around the file
BROKEN_FORM_MESSAGE = "Formulir unggahan tidak lengkap atau rusak."
T = TypeVar("T")
# The file checks' reasons that all mean "not a file of a type accepted here".
WRONG_TYPE_REASONS = frozenset({"unknown_type", "not_allowed", "type_mismatch"})


@dataclass
class UploadRefused(Exception):
    status: int
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class UploadResult:
    version: DocumentVersion
    created: bool


def upload_document(res: Resources, principal: Principal, item_id: uuid.UUID, *,
                    body: IO[bytes], content_type: str | None,
                    content_length: int | None) -> UploadResult:
    with counted_upload():
        result = _upload_document(res, principal, item_id, body=body,
                                  content_type=content_type, content_length=content_length)
    if result.created:
        upload_stored(res, tenant_id=result.version.tenant_id,
                      size_bytes=result.version.size_bytes)
    return result


def _upload_document(res: Resources, principal: Principal, item_id: uuid.UUID, *,
                     body: IO[bytes], content_type: str | None,
                     content_length: int | None) -> UploadResult:
    refuse_oversized(res, content_length)
    with res.session_factory() as session:
        try:
            item, package = packages.check_can_upload(session, principal, item_id)
        except packages.PackageError as exc:
            raise UploadRefused(exc.status, exc.message) from exc
        tenant_id, cycle_id, document_type = package.tenant_id, package.cycle_id, item.document_type

    def record(received: ReceivedFile, fields_: dict[str, str]) -> tuple[DocumentVersion, bool]:
        metadata = _metadata(fields_, document_type)
        with transaction(res.session_factory) as session:
            return packages.add_version(
                session, principal=principal, item_id=item_id, at=current_time(),
                upload=packages.VersionInput(
                    stored=received.stored, kind=received.kind.value,
                    content_type=received.kind.mime_type, filename=received.filename,
                    title=metadata.title, year=metadata.year, notes=metadata.notes),
            )

    key = object_key(tenant_id=tenant_id, cycle_id=cycle_id, kind="document")
    version, created = store_upload(res, key=key, body=body, content_type=content_type,
                                    allowed=ALL_KINDS, record=record)
    if not created:
        res.object_store.delete(key, missing_ok=True)
    return UploadResult(version=version, created=created)


@contextmanager
def counted_upload() -> Iterator[None]:
    """Count a refused upload by its reason (sakip_uploads_rejected_total)."""
    try:
        yield
    except UploadRefused as exc:
        metrics_uploads.upload_rejected(reason=refusal_reason(exc))
        raise


def refusal_reason(exc: UploadRefused) -> str:
    """A fixed code for a refusal: the file check's own reason, else by what refused it."""
    cause = exc.__cause__
    if isinstance(cause, RejectedFile):
        code = str(cause.reason_code)
        return "wrong_type" if code in WRONG_TYPE_REASONS else code
    if exc.status == 413:
        return "too_large"
    if isinstance(cause, packages.PackageError):
        return {403: "forbidden", 404: "not_found"}.get(exc.status, "not_accepting")
    return {400: "broken_form", 404: "not_found", 422: "invalid_form",
            503: "unavailable"}.get(exc.status, "other")


def upload_stored(res: Resources, *, tenant_id: uuid.UUID, size_bytes: int) -> None:
    """Count a stored upload for its dinas (by slug: labels never hold ids)."""
    metrics_uploads.upload_stored(tenant=_slug_of(res, tenant_id), size_bytes=size_bytes)


_SLUGS: dict[uuid.UUID, str] = {}  # a dinas's slug never changes (renaming keeps it)


def _slug_of(res: Resources, tenant_id: uuid.UUID) -> str:
    slug = _SLUGS.get(tenant_id)
    if slug is None:
        with res.session_factory() as session:
            slug = session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id))
        if slug is None:
            return "unknown"
        _SLUGS[tenant_id] = slug
    return slug


def refuse_oversized(res: Resources, content_length: int | None) -> None:
    """413 before reading a body that declares itself larger than any accepted upload."""
    limit = res.settings.max_upload_bytes
    if content_length is not None and content_length > limit + FORM_OVERHEAD_BYTES:
        raise UploadRefused(413, too_large_message(limit))


def store_upload(res: Resources, *, key: str, body: IO[bytes], content_type: str | None,
                 allowed: frozenset[FileKind],
                 record: Callable[[ReceivedFile, dict[str, str]], T]) -> T:
    """Read the form's fields, stream its one file to `key` (sniffed, of an `allowed` kind,
    within the size limit), read the rest, then `record(received, fields)` (which writes the
    row in its own transaction). Anything failing after the object is stored deletes it; a
    domain refusal, a broken form or the database become UploadRefused."""
    try:
        reader = MultipartReader(body, content_type)
        form = reader.read_until_file()
    except MultipartError as exc:
        raise UploadRefused(400, BROKEN_FORM_MESSAGE) from exc
    if form.file is None:
        raise UploadRefused(422, "Pilih berkas yang akan diunggah.",
                            {"file": ["Wajib diisi."]})
    received = _receive(res, key, reader, res.settings.max_upload_bytes, allowed)
    try:
        reader.read_rest()
        return record(received, form.fields)
    except BaseException as exc:
        res.object_store.delete(key, missing_ok=True)
        if isinstance(exc, packages.PackageError):
            raise UploadRefused(exc.status, exc.message) from exc
        if isinstance(exc, MultipartError):
            raise UploadRefused(400, BROKEN_FORM_MESSAGE) from exc
        if isinstance(exc, SQLAlchemyError):
            log.exception("recording upload %s failed; object removed", key)
            raise UploadRefused(503, "Basis data sedang tidak dapat dihubungi. Berkas tidak "
                                "disimpan; silakan coba lagi.") from exc
        raise


def too_large_message(limit: int) -> str:
    return (f"Berkas terlalu besar. Ukuran paling besar {limit // (1024 * 1024)} MB; "
            "perkecil berkas (misalnya simpan ulang PDF dengan kualitas lebih rendah).")


def _receive(res: Resources, key: str, reader: MultipartReader, limit: int,
             allowed: frozenset[FileKind]) -> ReceivedFile:
    file = reader.form.file
    assert file is not None
    try:
        return receive_file(res.object_store, key=key, chunks=file.chunks,
                            declared_type=file.content_type, filename=file.filename,
                            allowed=allowed, max_bytes=limit)
    except RejectedFile as exc:
        raise UploadRefused(415, str(exc)) from exc
    except ObjectTooLarge as exc:
        raise UploadRefused(413, too_large_message(limit)) from exc
    except MultipartError as exc:
        raise UploadRefused(400, BROKEN_FORM_MESSAGE) from exc
    except StorageError as exc:
        log.error("object storage failed during upload: %s", exc)
        raise UploadRefused(503, "Penyimpanan berkas sedang tidak dapat dihubungi. Berkas "
                            "tidak disimpan; silakan coba lagi sebentar lagi.") from exc


def _metadata(fields_: dict[str, str], document_type: str) -> UploadMetadata:
    try:
        metadata: UploadMetadata = UploadMetadataSchema().load(fields_)
    except ValidationError as exc:
        raise UploadRefused(422, "Periksa kembali isian formulir.",
                            indonesian_errors(exc.messages)) from exc
    if metadata.document_type not in (None, document_type):
        raise UploadRefused(422, "Jenis dokumen tidak sesuai dengan butir yang dipilih.",
                            {"document_type": [f"Butir ini untuk {document_type}."]})
    return metadata
