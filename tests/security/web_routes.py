"""The portal's routes as the security suites walk them: every rule of the portal blueprint from
the app's url_map, its parameters filled with ids that exist in the test world (so a new route
is checked the day it is added), and a fingerprint of the database to prove a refusal changed
nothing."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import Rule

from tests.world import World

# Tables a mere request touches by design (the login session's last-seen moment).
VOLATILE_TABLES = frozenset({"login_sessions", "alembic_version"})
ROWS_DIGEST = "md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"


def portal_rules(app: Flask, method: str) -> Iterator[Rule]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.startswith("portal.") and method in (rule.methods or ()):
            yield rule


def fill(rule: Rule, world: World, extra: dict[str, object] | None = None) -> str:
    """The rule's URL with every parameter filled: a real id of dinas-a where the name says
    which, a plausible value otherwise (the checks under test run before any lookup)."""
    known: dict[str, object] = {
        "tenant_id": world.a.tenant_id, "cycle_id": world.a.cycle_id,
        "user_id": world.a.users[world.a.username("staf1")], "day": "2026-08-17",
        "number": 5, "kind": "IKU", "role": "bidang_staff", "token": "x" * 43,
        "filename": "portal.css", **(extra or {}),
    }
    values = {name: known.get(name, uuid.uuid4()) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def database_fingerprint(factory: sessionmaker[Session]) -> str:
    """A digest of every row of every table (but the volatile ones, counted only)."""
    digest = hashlib.sha256()
    with factory() as session:
        names = sorted(inspect(session.get_bind()).get_table_names())
        for name in names:  # from the database's own catalogue, never from a request
            if name in VOLATILE_TABLES:
                query = f'SELECT count(*) FROM "{name}"'  # noqa: S608
            else:
                query = f'SELECT {ROWS_DIGEST} FROM "{name}" t'  # noqa: S608
            rows = session.execute(text(query)).scalar_one()
            digest.update(f"{name}={rows};".encode())
    return digest.hexdigest()
