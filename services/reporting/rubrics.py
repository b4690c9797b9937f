"""Publishing LKE rubric versions (the reporting service owns the `lke_rubrics` rows).

A published version never changes: evaluations point at it and their scores are recomputed from
it. Publishing the same code, version and content again is a no-op (the bundled files are
published on every start that needs them); different content under a published code and version
is refused: it must become a new version.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared import audit
from shared.clock import now
from shared.reporting.models import Rubric
from shared.reporting.rubric import RubricDefinition, bundled_rubrics
from shared.web.errors import Conflict

SERVICE = "reporting"
DEFAULT_RUBRIC = "permenpanrb-12-2015"  # the rubric the SOP cites


def publish_rubric(session: Session, definition: RubricDefinition, *,
                   by: uuid.UUID | None) -> Rubric:
    """The stored version of `definition`, published (and audited) if it is new.

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
            audit.record(session, service=SERVICE, action="rubric.published",
                         target_type="rubric", target_id=existing.id, actor_user_id=by,
                         actor=None if by else "system:reporting",
                         after={"code": definition.code, "version": definition.version,
                                "name": definition.name,
                                "criteria": len(definition.criteria())})
            return existing
    if existing is None or existing.definition != document:
        raise Conflict(f"Rubrik {definition.code} versi {definition.version} sudah diterbitkan "
                       "dengan isi lain; terbitkan sebagai versi baru.")
    return existing


def ensure_bundled_rubrics(session: Session) -> list[Rubric]:
    """Publish every rubric file shipped with the platform that is not published yet."""
    return [publish_rubric(session, definition, by=None) for definition in bundled_rubrics()]


def latest_rubric(session: Session, code: str) -> Rubric | None:
    """The highest published version of a rubric."""
    return session.scalars(select(Rubric).where(Rubric.code == code)
                           .order_by(Rubric.version.desc()).limit(1)).first()


def _version(session: Session, code: str, version: int) -> Rubric | None:
    return session.scalars(select(Rubric).where(Rubric.code == code,
                                                Rubric.version == version)).first()

