"""The audit log as administrators read it (domain, API and portal page) against real PostgreSQL,
Redis and S3: a dinas's administrators read their dinas's entries from every service and nothing
else, the platform_admin reads every entry (the city's own included), everyone else is refused;
filters (dinas, action or action prefix, service, person, WIB dates) and paging that never shifts
under a new entry; who, what, before, after, why and when in WIB on the page."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.intake import platform_admin
from services.intake.audit_view import AuditQuery, read_audit
from shared import audit
from shared.audit import AuditEntry
from shared.clock import now
from shared.db import transaction
from shared.identity.models import Tenant
from shared.web.errors import NotAllowed, NotFound
from tests.integration.test_platform_admin_api import AdminApi
from tests.integration.test_portal import log_in

WIB = ZoneInfo("Asia/Jakarta")


def read(session_factory, principal, **query):
    with session_factory() as session:
        return read_audit(session, principal=principal, query=AuditQuery(**query))


def everything(session_factory, principal, **query) -> list:
    """Every entry the principal reads, page after page."""
    entries, before = [], None
    while True:
        page = read(session_factory, principal, before=before, limit=7, **query)
        entries += page.entries
        if page.next_before is None:
            return entries
        before = page.next_before


def stored(session_factory) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())))


@pytest.fixture
def renamed(world, session_factory):
    """A change of the platform_admin's to dinas-a, with its before and after."""
    with transaction(session_factory) as session:
        platform_admin.rename_tenant(session, principal=world.city["admin"],
                                     tenant_id=world.a.tenant_id, name="Dinas Anggrek",
                                     at=now())


# -- who reads what -------------------------------------------------------------------------------

def test_a_kepala_dinas_reads_the_entries_of_their_dinas_from_every_service(
        world, session_factory, renamed):
    entries = everything(session_factory, world.a.principals["kepala"])
    expected = [e.id for e in stored(session_factory) if e.tenant_id == world.a.tenant_id]
    assert [e.id for e in entries] == expected  # newest first, every one, nothing else
    assert {e.service for e in entries} >= {"intake", "workflow"}
    rename = next(e for e in entries if e.action == "tenant.renamed")
    assert (rename.before["name"], rename.after["name"]) == ("Dinas A", "Dinas Anggrek")
    assert (rename.actor_name, rename.actor_username) == ("Pengguna admin", "kota.admin")
    assert rename.action_label == "Perangkat daerah diganti namanya"
    assert rename.tenant_name == "Dinas Anggrek"


def test_the_platform_admin_reads_every_entry(world, session_factory, renamed):
    entries = everything(session_factory, world.city["admin"])
    assert [e.id for e in entries] == [e.id for e in stored(session_factory)]
    assert {e.tenant_id for e in entries} == {world.a.tenant_id, world.b.tenant_id, None}
    only_b = everything(session_factory, world.city["admin"], tenant_id=world.b.tenant_id)
    assert only_b
    assert {e.tenant_id for e in only_b} == {world.b.tenant_id}


def test_a_delegated_kasubbag_reads_too_and_nobody_else_does(world, session_factory):
    kasubbag = world.a.principals["kasubbag"]
    with pytest.raises(NotAllowed):
        read(session_factory, kasubbag)
    for principal in (world.a.principals["staf1"], world.a.principals["tim"],
                      world.city["inspektur"], world.city["organisasi"]):
        with pytest.raises(NotAllowed):
            read(session_factory, principal)
    with transaction(session_factory) as session:
        session.get_one(Tenant, world.a.tenant_id).admin_delegated = True
    entries = everything(session_factory, kasubbag)
    assert entries
    assert {e.tenant_id for e in entries} == {world.a.tenant_id}
    # another dinas: not found; one's own: fine
    with pytest.raises(NotFound):
        read(session_factory, kasubbag, tenant_id=world.b.tenant_id)
    with pytest.raises(NotFound):
        read(session_factory, world.a.principals["kepala"], tenant_id=world.b.tenant_id)
    assert read(session_factory, kasubbag, tenant_id=world.a.tenant_id).entries


# -- filters and pages ----------------------------------------------------------------------------

def test_filters_narrow_what_is_read(world, session_factory, renamed):
    kepala = world.a.principals["kepala"]
    exact = everything(session_factory, kepala, action="tenant.renamed")
    assert [e.action for e in exact] == ["tenant.renamed"]
    by_prefix = everything(session_factory, kepala, action="cycle.")
    assert by_prefix
    assert all(e.action.startswith("cycle.") for e in by_prefix)
    assert everything(session_factory, kepala, action="step*")
    from_workflow = everything(session_factory, kepala, service="workflow")
    assert from_workflow
    assert {e.service for e in from_workflow} == {"workflow"}
    by_admin = everything(session_factory, world.city["admin"],
                          actor_id=world.city["admin"].user_id)
    assert [e.action for e in by_admin] == ["tenant.renamed"]
    today = now().astimezone(WIB).date()
    assert len(everything(session_factory, kepala, since=today, until=today)) == len(
        everything(session_factory, kepala))
    assert everything(session_factory, kepala, until=today - timedelta(days=1)) == []
    assert everything(session_factory, kepala, since=today + timedelta(days=1)) == []


def test_pages_continue_below_the_last_entry_even_when_new_ones_arrive(world, session_factory):
    kepala = world.a.principals["kepala"]
    first = read(session_factory, kepala, limit=3)
    assert len(first.entries) == 3
    assert first.next_before == first.entries[-1].id
    with transaction(session_factory) as session:  # something happens meanwhile
        audit.record(session, service="intake", action="bidang.renamed", target_type="bidang",
                     tenant_id=world.a.tenant_id, actor="system")
    second = read(session_factory, kepala, limit=3, before=first.next_before)
    assert all(e.id < first.entries[-1].id for e in second.entries)
    assert {e.id for e in first.entries}.isdisjoint({e.id for e in second.entries})
    system = read(session_factory, kepala, action="bidang.renamed").entries[0]
    assert system.actor_name == "sistem"


# -- the API --------------------------------------------------------------------------------------

def test_the_audit_api_answers_each_reader_with_their_entries(app, world, session_factory,
                                                              renamed):
    api = AdminApi(app, session_factory)
    kepala = api.get("/audit?limit=200", as_=world.a.username("kepala"))
    assert kepala.status_code == 200, kepala.get_json()
    body = kepala.get_json()
    assert body["entries"]
    assert {e["tenant_id"] for e in body["entries"]} == {str(world.a.tenant_id)}
    rename = next(e for e in body["entries"] if e["action"] == "tenant.renamed")
    assert rename["before"] == {"slug": "dinas-a", "name": "Dinas A", "active": True}
    assert rename["after"]["name"] == "Dinas Anggrek"
    assert rename["occurred_at"].endswith("+00:00")
    assert rename["occurred_at_wib"].endswith(" WIB")
    assert " pukul " in rename["occurred_at_wib"]
    assert rename["actor_username"] == "kota.admin"

    paged = api.get("/audit?limit=2", as_=world.a.username("kepala")).get_json()
    assert len(paged["entries"]) == 2
    more = api.get(f"/audit?limit=2&before={paged['next_before']}",
                   as_=world.a.username("kepala")).get_json()
    assert more["entries"][0]["id"] < paged["entries"][-1]["id"]

    every = api.get("/audit?limit=200", as_="kota.admin").get_json()["entries"]
    assert None in {e["tenant_id"] for e in every}
    assert api.get(f"/audit?tenant_id={world.b.tenant_id}",
                   as_=world.a.username("kepala")).status_code == 404
    for who in (world.a.username("staf1"), world.a.username("kasubbag"), "kota.inspektur"):
        refused = api.get("/audit", as_=who)
        assert refused.status_code == 403
        assert "log audit" in refused.get_json()["error"]["message"]
    assert api.get("/audit?limit=0", as_="kota.admin").status_code == 422
    bad_day = api.get("/audit?since=kemarin", as_="kota.admin")
    assert bad_day.status_code == 422
    assert "since" in bad_day.get_json()["error"]["fields"]
    assert api.get("/audit?tenant_id=dinas-a", as_="kota.admin").status_code == 422


# -- the portal page ------------------------------------------------------------------------------

def test_the_audit_page_shows_who_what_before_after_and_when(app, world, session_factory,
                                                             renamed):
    kepala = log_in(app, world.a.username("kepala"))
    page = kepala.get("/admin/audit?action=tenant.renamed")
    assert page.status_code == 200, page.text
    assert "Perangkat daerah diganti namanya" in page.text
    assert "Pengguna admin" in page.text
    assert "<dt>name</dt><dd>Dinas A</dd>" in page.text  # before
    assert "<dt>name</dt><dd>Dinas Anggrek</dd>" in page.text  # after
    assert " WIB</td>" in page.text
    everything_a = kepala.get("/admin/audit").text
    assert "Dinas B" not in everything_a
    assert "Tingkat kota" not in everything_a
    assert kepala.get(f"/admin/audit?tenant_id={world.b.tenant_id}").status_code == 404

    city = log_in(app, "kota.admin")
    shown = city.get("/admin/audit").text
    assert "Tingkat kota" in shown
    assert "Entri berikutnya" in shown  # more than one page already
    next_url = shown.split('href="/admin/audit?before=', 1)[1].split('"', 1)[0]
    assert city.get(f"/admin/audit?before={next_url}").status_code == 200

    for who in (world.a.username("staf1"), world.a.username("tim"), "kota.organisasi"):
        assert log_in(app, who).get("/admin/audit").status_code == 403
