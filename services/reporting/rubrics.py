"""Publishing LKE rubric versions (the reporting service owns the `lke_rubrics` rows).

A published version never changes: evaluations point at it and their scores are recomputed from
it. Publishing the same code, version and content again is a no-op (the bundled files are
published on every start that needs them); different content under a published code and version
is refused: it must become a new version.

A version is offered to every dinas or only to those the platform_admin picked (`targets`);
an evaluation only uses a rubric offered to its cycle's dinas.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared import audit
from shared.clock import now
from shared.publication_targets import (
    EVERY_TENANT,
    LinkTable,
    Targets,
    offered_to,
    store_targets,
    stored_targets,
    targets_audit,
)
from shared.reporting.models import Rubric, RubricTenant
from shared.reporting.rubric import RubricDefinition, bundled_rubrics
from shared.web.errors import Conflict

SERVICE = "reporting"
DEFAULT_RUBRIC = "permenpanrb-12-2015"  # the rubric the SOP cites
# Where a rubric version keeps the dinas it is published to (when not to all).
RUBRIC_TARGETS = LinkTable(owner=RubricTenant.rubric_id, tenant=RubricTenant.tenant_id)


def publish_rubric(session: Session, definition: RubricDefinition, *,
                   by: uuid.UUID | None, targets: Targets | None = None) -> Rubric:
    """The stored version of `definition`, published (and audited) if it is new.

    `targets`: the dinas it is offered to (None: every dinas when new, as it was when already
    published); publishing it again with other targets changes only them, audited.

    Two publishers racing on the same code and version cannot both insert: the row is written
    with ON CONFLICT DO NOTHING against the (code, version) unique key, then read back and
    compared, so the loser gets the winner's row (same content) or a Conflict (other content)."""
    document = definition.to_dict()
    existing = _version(session, definition.code, definition.version)
    if existing is None:
        # PostgreSQL in production, SQLite for the embedded single-machine setup: both know
        # INSERT ... ON CONFLICT DO NOTHING ... RETURNING.
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else (
            postgresql_insert)
        rubric_id = session.scalar(
            insert(Rubric)
            .values(id=uuid.uuid4(), code=definition.code, version=definition.version,
                    name=definition.name, definition=document, published_by=by,
                    published_at=now())
            .on_conflict_do_nothing(index_elements=["code", "version"])
            .returning(Rubric.id))
        existing = _version(session, definition.code, definition.version)
        if rubric_id is not None and existing is not None:
            offered = targets or EVERY_TENANT
            store_targets(session, RUBRIC_TARGETS, existing, offered)
            audit.record(session, service=SERVICE, action="rubric.published",
                         target_type="rubric", target_id=existing.id, actor_user_id=by,
                         actor=None if by else "system:reporting",
                         after={"code": definition.code, "version": definition.version,
                                "name": definition.name,
                                "criteria": len(definition.criteria()),
                                **targets_audit(session, offered)})
            return existing
    if existing is None or existing.definition != document:
        raise Conflict(f"Rubrik {definition.code} versi {definition.version} sudah diterbitkan "
                       "dengan isi lain; terbitkan sebagai versi baru.")
    if targets is not None:
        _retarget(session, existing, targets, by=by)
    return existing


def _retarget(session: Session, rubric: Rubric, targets: Targets, *,
              by: uuid.UUID | None) -> None:
    before = stored_targets(session, RUBRIC_TARGETS, rubric)
    if before == targets:
        return
    old_words = targets_audit(session, before)
    store_targets(session, RUBRIC_TARGETS, rubric, targets)
    audit.record(session, service=SERVICE, action="rubric.targets_changed",
                 target_type="rubric", target_id=rubric.id, actor_user_id=by,
                 actor=None if by else "system:reporting",
                 before={"code": rubric.code, "version": rubric.version, **old_words},
                 after={"code": rubric.code, "version": rubric.version,
                        **targets_audit(session, targets)})


def ensure_bundled_rubrics(session: Session) -> list[Rubric]:
    """Publish every rubric file shipped with the platform that is not published yet (one
    already published keeps the dinas it is offered to)."""
    return [publish_rubric(session, definition, by=None) for definition in bundled_rubrics()]


def latest_rubric(session: Session, code: str, *,
                  tenant_id: uuid.UUID | None = None) -> Rubric | None:
    """The highest published version of a rubric (offered to `tenant_id`, when named)."""
    query = select(Rubric).where(Rubric.code == code)
    if tenant_id is not None:
        query = query.where(offered_to_tenants([tenant_id]))
    return session.scalars(query.order_by(Rubric.version.desc()).limit(1)).first()


def offered_to_tenants(tenant_ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    """SQL: the rubric is offered to one of these dinas."""
    return offered_to(RUBRIC_TARGETS, all_column=Rubric.all_tenants, id_column=Rubric.id,
                      tenant_ids=tenant_ids)


def rubric_offered(session: Session, rubric: Rubric, tenant_id: uuid.UUID) -> bool:
    return stored_targets(session, RUBRIC_TARGETS, rubric).offers(tenant_id)


def _version(session: Session, code: str, version: int) -> Rubric | None:
    return session.scalars(select(Rubric).where(Rubric.code == code,
                                                Rubric.version == version)).first()
