"""Database access: the declarative base, engines and sessions, migrations (Alembic only)."""

from shared.db.base import Base, UTCDateTime, uuid_pk
from shared.db.engine import make_engine, make_session_factory, transaction

__all__ = ["Base", "UTCDateTime", "make_engine", "make_session_factory", "transaction", "uuid_pk"]
