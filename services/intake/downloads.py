"""Handing out a soft copy: authorise, audit, then a short-lived presigned link (portal and API
alike). The audit row commits before the link exists."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.intake import cycle_documents, packages
from shared import audit
from shared.db import transaction
from shared.identity.principal import Principal
from shared.web.resources import Resources

LINK_LIFETIME = timedelta(minutes=5)


def download_link(res: Resources, principal: Principal, version_id: uuid.UUID, *,
                  via: str) -> str:
    """A presigned GET of the version's object; NotFound when the principal may not see it."""
    with transaction(res.session_factory) as session:
        version, item, _package = packages.get_version(session, principal, version_id)
        key, filename = version.object_key, version.filename
        audit.record(session, service="intake", action="document.downloaded",
                     target_type="document_version", target_id=version.id,
                     tenant_id=version.tenant_id, actor_user_id=principal.user_id,
                     after={"item_id": str(item.id), "document_type": item.document_type,
                            "number": version.number, "filename": filename, "via": via})
    return res.object_store.presigned_get(key, expires=LINK_LIFETIME, download_name=filename)


def cycle_document_link(res: Resources, principal: Principal, document_id: uuid.UUID, *,
                        via: str) -> str:
    """A presigned GET of a cycle document (SK, guideline): every reader of its cycle may."""
    with transaction(res.session_factory) as session:
        document = cycle_documents.get_document(session, principal, document_id)
        key, filename = document.object_key, document.filename
        audit.record(session, service="intake", action="cycle_document.downloaded",
                     target_type="cycle_document", target_id=document.id,
                     tenant_id=document.tenant_id, actor_user_id=principal.user_id,
                     after={"cycle_id": str(document.cycle_id), "kind": document.kind,
                            "number": document.number, "filename": filename, "via": via})
    return res.object_store.presigned_get(key, expires=LINK_LIFETIME, download_name=filename)
