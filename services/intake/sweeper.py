"""Removes uploaded objects that no row points at, once they are older than a grace period: what
a crash between storing an upload and committing its row leaves behind. Two kinds of upload are
swept: a package's document versions (`.../document/...`, rows in document_versions) and the
cycle's own documents (`.../cycle_document/...`, rows in cycle_documents).

The grace period must exceed the longest upload, so an upload still in flight is never taken.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import now
from shared.documents.models import CycleDocument, DocumentVersion
from shared.storage import ObjectStore

log = logging.getLogger(__name__)
DEFAULT_GRACE = timedelta(hours=1)
DOCUMENT_MARKER = "/document/"
CYCLE_DOCUMENT_MARKER = "/cycle_document/"
MARKERS = (DOCUMENT_MARKER, CYCLE_DOCUMENT_MARKER)


def sweep_orphans(store: ObjectStore, factory: sessionmaker[Session], *,
                  grace: timedelta = DEFAULT_GRACE, at: datetime | None = None,
                  prefix: str = "tenants/") -> list[str]:
    """Delete orphaned uploaded objects under `prefix` (every tenant's by default) older than
    `grace`; return their keys."""
    cutoff = (at or now()) - grace
    candidates = [obj.object_name for obj in store.client.list_objects(
                      store.bucket, prefix=prefix, recursive=True)
                  if obj.object_name and any(m in obj.object_name for m in MARKERS)
                  and obj.last_modified is not None and obj.last_modified < cutoff]
    if not candidates:
        return []
    with factory() as session:
        known = set(session.scalars(select(DocumentVersion.object_key)
                                    .where(DocumentVersion.object_key.in_(candidates))))
        known |= set(session.scalars(select(CycleDocument.object_key)
                                     .where(CycleDocument.object_key.in_(candidates))))
    orphans = [key for key in candidates if key not in known]
    for key in orphans:
        store.delete(key, missing_ok=True)
        log.info("removed orphaned object %s", key)
    return orphans
