"""Uploading one of the cycle's own documents (the SK of the evaluation team in SOP step 2, the
evaluation guideline in step 3), for the portal and the API alike, on the same streaming path
as a package's documents (`upload_flow.store_upload`): who may upload is decided before the body
is read, the file's type is sniffed (PDF, DOCX or ODT only), the size is limited, and the object
is deleted again when anything after storing it fails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import IO, Final

from services.intake import cycle_documents
from services.intake.clock import current_time
from services.intake.filetypes import FileKind
from services.intake.packages import PackageError
from services.intake.upload_flow import (
    UploadRefused,
    counted_upload,
    refuse_oversized,
    store_upload,
    upload_stored,
)
from services.intake.uploads import ReceivedFile
from shared.db import transaction
from shared.documents.models import CycleDocument, CycleDocumentKind
from shared.identity.principal import Principal
from shared.storage import object_key
from shared.web.resources import Resources

OBJECT_KIND = "cycle_document"  # keys: tenants/<tenant>/cycles/<cycle>/cycle_document/<random>
CYCLE_DOCUMENT_KINDS: Final = frozenset({FileKind.PDF, FileKind.DOCX, FileKind.ODT})
ACCEPTED_EXTENSIONS: Final = ",".join(sorted(k.extension for k in CYCLE_DOCUMENT_KINDS))


@dataclass(frozen=True)
class CycleDocumentResult:
    document: CycleDocument
    created: bool  # False: the same bytes as the newest version, nothing new recorded


def parse_kind(value: str) -> CycleDocumentKind:
    """The kind named in a URL; an unknown one answers 404 like any unknown address."""
    try:
        return CycleDocumentKind(value)
    except ValueError:
        raise UploadRefused(404, "Jenis dokumen siklus tidak dikenal.") from None


def upload_cycle_document(res: Resources, principal: Principal, cycle_id: uuid.UUID,
                          kind: CycleDocumentKind, *, body: IO[bytes], content_type: str | None,
                          content_length: int | None) -> CycleDocumentResult:
    with counted_upload():
        result = _upload_cycle_document(res, principal, cycle_id, kind, body=body,
                                        content_type=content_type,
                                        content_length=content_length)
    if result.created:
        upload_stored(res, tenant_id=result.document.tenant_id,
                      size_bytes=result.document.size_bytes)
    return result


def _upload_cycle_document(res: Resources, principal: Principal, cycle_id: uuid.UUID,
                           kind: CycleDocumentKind, *, body: IO[bytes],
                           content_type: str | None,
                           content_length: int | None) -> CycleDocumentResult:
    refuse_oversized(res, content_length)
    with res.session_factory() as session:
        try:
            cycle = cycle_documents.check_can_upload(session, principal, cycle_id, kind)
        except PackageError as exc:
            raise UploadRefused(exc.status, exc.message) from exc
        tenant_id = cycle.tenant_id

    def record(received: ReceivedFile, _fields: dict[str, str]) -> CycleDocumentResult:
        with transaction(res.session_factory) as session:
            # Checked again inside the transaction: the step may have moved meanwhile.
            cycle = cycle_documents.check_can_upload(session, principal, cycle_id, kind)
            session.refresh(cycle, with_for_update=True)  # one new version number at a time
            newest = cycle_documents.latest_documents(session, cycle).get(kind.value)
            if newest is not None and newest.sha256 == received.stored.sha256:
                return CycleDocumentResult(document=newest, created=False)
            document = cycle_documents.record_cycle_document(
                session, principal=principal, cycle=cycle, kind=kind, stored=received.stored,
                content_type=received.kind.mime_type, filename=received.filename,
                at=current_time())
            return CycleDocumentResult(document=document, created=True)

    key = object_key(tenant_id=tenant_id, cycle_id=cycle_id, kind=OBJECT_KIND)
    result = store_upload(res, key=key, body=body, content_type=content_type,
                          allowed=CYCLE_DOCUMENT_KINDS, record=record)
    if not result.created:
        res.object_store.delete(key, missing_ok=True)
    return result
