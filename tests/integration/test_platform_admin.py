"""The city's administration by the platform_admin, against real PostgreSQL, Redis and S3: a dinas
created with its first Kepala Dinas (whose one-time activation link works once), renamed,
deactivated (its people signed out and unable to sign in, its data kept) and reactivated; city
users and roles granted and revoked, never the last platform_admin; every change audited with
before and after. Then the portal's pages for it, and the calendar pages (city holidays for the
platform_admin, a dinas's office hours and local holidays for its administrators) calling the
real workflow API over HTTP; every refusal (tenant administrators and tenant roles: 403)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from services.intake import platform_admin
from services.intake.people import InvalidField
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import CalendarHoliday, Cycle, TenantCalendar
from shared.db import transaction
from shared.identity.account_links import LinkError, redeem_link
from shared.identity.api_tokens import create_api_token, resolve_api_token
from shared.identity.models import LoginSession, RoleGrant, Tenant, User
from shared.identity.roles import Role
from shared.web.errors import Conflict, NotAllowed, NotFound
from tests.integration.test_portal import csrf, log_in, messages, post
from tests.world import PASSWORD

NEW_PASSWORD = "Teluk-Mandeh-2026!"


def admin(world):
    return world.city["admin"]


def audits(session_factory, action: str, target_id=None) -> list[AuditEntry]:
    with session_factory() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        if target_id is not None:
            query = query.where(AuditEntry.target_id == str(target_id))
        return list(session.scalars(query.order_by(AuditEntry.id)))


def create_health_office(session_factory, world, **overrides):
    values = {"slug": "dinas-kesehatan", "name": "Dinas Kesehatan",
              "kepala_username": "kadis.kesehatan", "kepala_full_name": "dr. Ratna Sari",
              "kepala_email": "ratna@dinkes.example.go.id", **overrides}
    with transaction(session_factory) as session:
        tenant, head, token = platform_admin.create_tenant_with_head(
            session, principal=admin(world), at=now(), **values)
        return tenant.id, head.id, token


def login_status(app, username: str, password: str = PASSWORD) -> int:
    client = app.test_client()
    page = client.get("/masuk").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/masuk", data={"username": username, "password": password,
                                       "csrf_token": token}).status_code


# -- dinas ----------------------------------------------------------------------------------------

def test_a_dinas_is_created_with_its_first_kepala_dinas_and_a_one_time_link(
        app, world, session_factory):
    tenant_id, head_id, token = create_health_office(session_factory, world)
    with session_factory() as session:
        tenant = session.get_one(Tenant, tenant_id)
        head = session.get_one(User, head_id)
        assert (tenant.slug, tenant.name, tenant.active) == ("dinas-kesehatan",
                                                             "Dinas Kesehatan", True)
        assert head.tenant_id == tenant_id
        assert [(g.role, g.tenant_id) for g in head.grants] == [("kepala_dinas", tenant_id)]
    # nobody knows the account's password until the link is used, once
    assert login_status(app, "kadis.kesehatan") == 401
    with transaction(session_factory) as session:
        redeem_link(session, token=token, new_password=NEW_PASSWORD, at=now())
    assert login_status(app, "kadis.kesehatan", NEW_PASSWORD) == 303
    with transaction(session_factory) as session, pytest.raises(LinkError):
        redeem_link(session, token=token, new_password=NEW_PASSWORD + "x", at=now())

    created = audits(session_factory, "tenant.created", tenant_id)[0]
    assert created.actor_user_id == admin(world).user_id
    assert created.after == {"slug": "dinas-kesehatan", "name": "Dinas Kesehatan",
                             "active": True, "kepala_username": "kadis.kesehatan"}
    (user_row,) = audits(session_factory, "user.created", head_id)
    assert (user_row.tenant_id, user_row.after["role"]) == (tenant_id, "kepala_dinas")
    assert audits(session_factory, "account_link.issued", head_id)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"slug": "dinas-a"}, "slug"),  # taken
    ({"slug": "Dinas Kesehatan!"}, "slug"),
    ({"name": "dinas a"}, "name"),  # another dinas's name, whatever its case
    ({"name": "  "}, "name"),
    ({"kepala_username": "dinas-a.kepala"}, "username"),  # taken
    ({"kepala_full_name": ""}, "full_name"),
    ({"kepala_email": "bukan-email"}, "email"),
])
def test_a_dinas_is_refused_naming_the_field_and_nothing_is_saved(
        world, session_factory, overrides, field):
    with pytest.raises(InvalidField) as refused:
        create_health_office(session_factory, world, **overrides)
    assert refused.value.field == field
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Tenant)) == 2
        assert session.scalar(select(User.id).where(User.username == "kadis.kesehatan")) \
            is None


def test_renaming_a_dinas_is_audited_with_before_and_after(world, session_factory):
    with transaction(session_factory) as session:
        platform_admin.rename_tenant(session, principal=admin(world),
                                     tenant_id=world.a.tenant_id,
                                     name="Dinas Pekerjaan Umum", at=now())
    with session_factory() as session:
        tenant = session.get_one(Tenant, world.a.tenant_id)
        assert (tenant.slug, tenant.name) == ("dinas-a", "Dinas Pekerjaan Umum")
    (row,) = audits(session_factory, "tenant.renamed")
    assert (row.before["name"], row.after["name"]) == ("Dinas A", "Dinas Pekerjaan Umum")
    assert row.tenant_id == world.a.tenant_id
    with transaction(session_factory) as session, pytest.raises(InvalidField):
        platform_admin.rename_tenant(session, principal=admin(world),
                                     tenant_id=world.a.tenant_id, name="Dinas B", at=now())


def test_a_deactivated_dinas_keeps_its_data_and_its_people_cannot_sign_in(
        app, world, session_factory):
    kepala = world.a.username("kepala")
    signed_in = log_in(app, kepala)
    assert signed_in.get("/pemberitahuan").status_code in (200, 503)  # signed in
    with transaction(session_factory) as session:
        user = session.scalars(select(User).where(User.username == kepala)).one()
        _row, api_token = create_api_token(session, user=user, name="skrip")
    with transaction(session_factory) as session, pytest.raises(InvalidField):
        platform_admin.deactivate_tenant(session, principal=admin(world),
                                         tenant_id=world.a.tenant_id, reason=" ", at=now())
    with transaction(session_factory) as session:
        platform_admin.deactivate_tenant(session, principal=admin(world),
                                         tenant_id=world.a.tenant_id,
                                         reason="Digabung dengan Dinas B.", at=now())

    assert login_status(app, kepala) == 401
    assert login_status(app, world.a.username("staf1")) == 401
    assert login_status(app, world.b.username("kepala")) == 303  # another dinas: as before
    ended = signed_in.get("/pemberitahuan")  # the open session ended at once
    assert ended.status_code == 302
    assert "/masuk" in ended.headers["Location"]
    with transaction(session_factory) as session:
        assert resolve_api_token(session, api_token) is None
        assert session.get(Cycle, world.a.cycle_id) is not None  # nothing deleted
        assert session.scalar(select(func.count()).select_from(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))) == 0
    (row,) = audits(session_factory, "tenant.deactivated")
    assert (row.before["active"], row.after["active"]) == (True, False)
    assert row.reason == "Digabung dengan Dinas B."
    assert row.after["sessions_ended"] >= 1

    with transaction(session_factory) as session, pytest.raises(Conflict):
        platform_admin.deactivate_tenant(session, principal=admin(world),
                                         tenant_id=world.a.tenant_id, reason="Lagi.", at=now())
    with transaction(session_factory) as session:
        platform_admin.reactivate_tenant(session, principal=admin(world),
                                         tenant_id=world.a.tenant_id, at=now())
    assert login_status(app, kepala) == 303
    with transaction(session_factory) as session:
        assert resolve_api_token(session, api_token) is not None
    assert audits(session_factory, "tenant.reactivated")


def test_a_kepala_dinas_is_appointed_and_a_new_link_issued_by_the_platform_admin(
        world, session_factory):
    with transaction(session_factory) as session:
        user, first = platform_admin.appoint_head(
            session, principal=admin(world), tenant_id=world.b.tenant_id,
            username="kadis.b.baru", full_name="Kepala Baru", email=None, at=now())
        user_id = user.id
    with transaction(session_factory) as session:
        second = platform_admin.reissue_activation(session, principal=admin(world),
                                                   user_id=user_id, at=now())
    assert second.token != first.token
    with transaction(session_factory) as session, pytest.raises(LinkError):
        redeem_link(session, token=first.token, new_password=NEW_PASSWORD, at=now())
    with transaction(session_factory) as session:
        redeem_link(session, token=second.token, new_password=NEW_PASSWORD, at=now())
    # a staff member of a dinas is the dinas's own administrators' to look after
    with transaction(session_factory) as session, pytest.raises(NotFound):
        platform_admin.reissue_activation(session, principal=admin(world),
                                          user_id=world.a.users[world.a.username("staf1")],
                                          at=now())


# -- city users and roles -------------------------------------------------------------------------

def test_city_users_and_their_roles(world, session_factory):
    with transaction(session_factory) as session:
        user, activation = platform_admin.create_city_user(
            session, principal=admin(world), username="inspektur.pembantu",
            full_name="Inspektur Pembantu", email=None, roles=["inspektur"], at=now())
        user_id = user.id
    assert activation.token
    with transaction(session_factory) as session:
        user = platform_admin.grant_city_role(session, principal=admin(world), user_id=user_id,
                                              role=Role.BAGIAN_ORGANISASI, at=now())
        assert platform_admin.held_city_roles(user) == [Role.BAGIAN_ORGANISASI, Role.INSPEKTUR]
    with transaction(session_factory) as session, pytest.raises(Conflict):
        platform_admin.grant_city_role(session, principal=admin(world), user_id=user_id,
                                       role="inspektur", at=now())
    with transaction(session_factory) as session:
        platform_admin.revoke_city_role(session, principal=admin(world), user_id=user_id,
                                        role="inspektur", at=now())
    with session_factory() as session:
        assert [g.role for g in session.get_one(User, user_id).grants] == ["bagian_organisasi"]
    (granted,) = audits(session_factory, "role.granted", user_id)
    assert (granted.before["roles"], granted.after["roles"]) == (
        ["inspektur"], ["bagian_organisasi", "inspektur"])
    (revoked,) = audits(session_factory, "role.revoked", user_id)
    assert revoked.after["roles"] == ["bagian_organisasi"]

    for bad in ("kepala_dinas", "lurah"):
        with transaction(session_factory) as session, pytest.raises(InvalidField):
            platform_admin.grant_city_role(session, principal=admin(world), user_id=user_id,
                                           role=bad, at=now())
    with transaction(session_factory) as session, pytest.raises(InvalidField):
        platform_admin.create_city_user(session, principal=admin(world), username="tanpa.peran",
                                        full_name="Tanpa Peran", email=None, roles=[], at=now())
    # a dinas's user gets no city role here
    with transaction(session_factory) as session, pytest.raises(NotFound):
        platform_admin.grant_city_role(session, principal=admin(world),
                                       user_id=world.a.users[world.a.username("kepala")],
                                       role="inspektur", at=now())


def test_the_last_platform_admin_is_never_removed(world, session_factory):
    me = admin(world)
    with transaction(session_factory) as session, pytest.raises(Conflict, match="satu-satunya"):
        platform_admin.revoke_city_role(session, principal=me, user_id=me.user_id,
                                        role="platform_admin", at=now())
    with transaction(session_factory) as session, pytest.raises(Conflict):
        platform_admin.deactivate_city_user(session, principal=me, user_id=me.user_id,
                                            at=now())
    with transaction(session_factory) as session:
        second, _ = platform_admin.create_city_user(
            session, principal=me, username="admin.dua", full_name="Admin Dua", email=None,
            roles=["platform_admin"], at=now())
        second_id = second.id
    # a deactivated second admin does not count
    with transaction(session_factory) as session:
        platform_admin.deactivate_city_user(session, principal=me, user_id=second_id,
                                            reason="Cuti panjang.", at=now())
    with transaction(session_factory) as session, pytest.raises(Conflict):
        platform_admin.revoke_city_role(session, principal=me, user_id=me.user_id,
                                        role="platform_admin", at=now())
    with transaction(session_factory) as session:
        platform_admin.reactivate_city_user(session, principal=me, user_id=second_id, at=now())
    with transaction(session_factory) as session:
        platform_admin.revoke_city_role(session, principal=me, user_id=me.user_id,
                                        role="platform_admin", at=now())
    with session_factory() as session:
        holders = session.scalars(select(RoleGrant.user_id).where(
            RoleGrant.role == "platform_admin")).all()
    assert holders == [second_id]
    (deactivated,) = audits(session_factory, "user.deactivated", second_id)
    assert deactivated.reason == "Cuti panjang."


@pytest.mark.parametrize("who", ["a.kepala", "a.kasubbag", "a.staf1", "city.inspektur",
                                 "city.organisasi"])
def test_nobody_but_the_platform_admin_administers_the_city(world, session_factory, who):
    side, key = who.split(".")
    principal = world.city[key] if side == "city" else world.a.principals[key]
    calls = [
        lambda s: platform_admin.list_tenants(s, principal=principal),
        lambda s: platform_admin.create_tenant_with_head(
            s, principal=principal, slug="dinas-baru", name="Dinas Baru",
            kepala_username="kadis.baru", kepala_full_name="Kadis Baru", kepala_email=None,
            at=now()),
        lambda s: platform_admin.rename_tenant(s, principal=principal,
                                               tenant_id=world.a.tenant_id, name="X", at=now()),
        lambda s: platform_admin.deactivate_tenant(s, principal=principal,
                                                   tenant_id=world.a.tenant_id, reason="X",
                                                   at=now()),
        lambda s: platform_admin.list_city_users(s, principal=principal),
        lambda s: platform_admin.grant_city_role(s, principal=principal,
                                                 user_id=principal.user_id,
                                                 role="platform_admin", at=now()),
    ]
    for call in calls:
        with transaction(session_factory) as session, pytest.raises(NotAllowed):
            call(session)
    with session_factory() as session:
        assert session.get_one(Tenant, world.a.tenant_id).name == "Dinas A"
        assert session.scalar(select(func.count()).select_from(RoleGrant).where(
            RoleGrant.role == "platform_admin")) == 1


# -- the portal pages -----------------------------------------------------------------------------

def test_the_platform_admin_creates_and_deactivates_a_dinas_in_the_portal(
        app, world, session_factory, settings):
    client = log_in(app, "kota.admin")
    home = client.get("/").text
    assert 'id="nav-platform">Administrasi kota</a>' in home
    page = client.get("/admin/kota")
    assert page.status_code == 200
    assert "Dinas A" in page.text
    assert "Dinas B" in page.text
    token = csrf(client)

    refused = post(client, "/admin/kota/dinas", token, name="Dinas Sosial", slug="dinas-a",
                   kepala_username="kadis.sosial", kepala_full_name="Kadis Sosial")
    assert refused.status_code == 422
    assert "Kode singkat: Kode singkat dinas-a sudah dipakai" in messages(refused.text)
    assert 'value="Dinas Sosial"' in refused.text  # what was typed stays

    created = post(client, "/admin/kota/dinas", token, name="Dinas Sosial", slug="dinas-sosial",
                   kepala_username="kadis.sosial", kepala_full_name="Kadis Sosial",
                   kepala_email="", kepala_nip="")
    assert created.status_code == 200, created.text
    link = re.search(r'id="activation-url"[^>]*value="([^"]+)"', created.text).group(1)
    assert link.startswith(f"{settings.portal_url.rstrip('/')}/aktivasi/")
    assert "tidak akan ditampilkan lagi" in created.text
    assert created.headers["Cache-Control"] == "no-store"
    with session_factory() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "dinas-sosial")).one()
    with transaction(session_factory) as session:
        redeem_link(session, token=link.rsplit("/", 1)[-1], new_password=NEW_PASSWORD,
                    at=now())

    detail = client.get(f"/admin/kota/dinas/{tenant.id}")
    assert detail.status_code == 200
    assert "Kadis Sosial" in detail.text
    renamed = post(client, f"/admin/kota/dinas/{tenant.id}/nama", token,
                   name="Dinas Sosial dan Pemberdayaan")
    assert "Dinas Sosial dan Pemberdayaan" in messages(client.get(renamed.headers["Location"])
                                                       .text)
    no_reason = post(client, f"/admin/kota/dinas/{tenant.id}/nonaktifkan", token, reason="")
    assert "Alasan wajib diisi" in messages(client.get(no_reason.headers["Location"]).text)
    deactivated = post(client, f"/admin/kota/dinas/{tenant.id}/nonaktifkan", token,
                       reason="Tidak lagi berdiri sendiri.")
    shown = client.get(deactivated.headers["Location"]).text
    assert "dinonaktifkan" in messages(shown)
    assert "Aktifkan kembali" in shown
    assert login_status(app, "kadis.sosial", NEW_PASSWORD) == 401
    reactivated = post(client, f"/admin/kota/dinas/{tenant.id}/aktifkan", token, reason="")
    assert "aktif kembali" in messages(client.get(reactivated.headers["Location"]).text)
    assert login_status(app, "kadis.sosial", NEW_PASSWORD) == 303


def test_the_platform_admin_keeps_city_users_in_the_portal(app, world, session_factory):
    client = log_in(app, "kota.admin")
    token = csrf(client)
    created = client.post("/admin/kota/pengguna", data={
        "csrf_token": token, "username": "organisasi.dua", "full_name": "Organisasi Dua",
        "email": "", "nip": "", "roles": ["bagian_organisasi"]})
    assert created.status_code == 200, created.text
    assert "/aktivasi/" in created.text
    with session_factory() as session:
        user_id = session.scalars(select(User.id).where(User.username == "organisasi.dua")).one()
    granted = post(client, f"/admin/kota/pengguna/{user_id}/peran", token, role="inspektur")
    assert "Peran Inspektur diberikan" in messages(client.get(granted.headers["Location"]).text)
    admin_id = admin(world).user_id
    last = post(client, f"/admin/kota/pengguna/{admin_id}/peran/platform_admin/cabut", token)
    shown = client.get(last.headers["Location"]).text
    assert "satu-satunya Administrator Platform" in messages(shown)
    listed = client.get("/admin/kota/pengguna").text
    assert "Organisasi Dua" in listed
    assert "Inspektur" in listed
    with session_factory() as session:
        assert session.scalar(select(RoleGrant.id).where(
            RoleGrant.user_id == admin_id, RoleGrant.role == "platform_admin")) is not None


@pytest.mark.parametrize("who", ["dinas-a.kepala", "dinas-a.kasubbag", "dinas-a.staf1",
                                 "kota.inspektur", "kota.organisasi"])
def test_tenant_administrators_and_other_roles_cannot_reach_the_city_pages(
        app, world, session_factory, who):
    client = log_in(app, who)
    assert 'id="nav-platform"' not in client.get("/").text
    for url in ("/admin/kota", "/admin/kota/pengguna", f"/admin/kota/dinas/{world.a.tenant_id}",
                "/admin/kota/kalender"):
        assert client.get(url).status_code == 403, url
    token = csrf(client)
    assert post(client, "/admin/kota/dinas", token, name="Dinas X", slug="dinas-x",
                kepala_username="kadis.x", kepala_full_name="Kadis X").status_code == 403
    assert post(client, f"/admin/kota/dinas/{world.a.tenant_id}/nonaktifkan", token,
                reason="Tidak boleh.").status_code == 403
    admin_id = admin(world).user_id
    assert post(client, f"/admin/kota/pengguna/{admin_id}/peran/platform_admin/cabut",
                token).status_code == 403
    with session_factory() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.slug == "dinas-x")) is None
        assert session.get_one(Tenant, world.a.tenant_id).active


def test_the_city_pages_need_their_csrf_token(app, world, session_factory):
    client = log_in(app, "kota.admin")
    refused = post(client, "/admin/kota/dinas", None, name="Dinas X", slug="dinas-x",
                   kepala_username="kadis.x", kepala_full_name="Kadis X")
    assert refused.status_code == 400
    with session_factory() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.slug == "dinas-x")) is None


# -- the calendar pages (over HTTP to the real workflow) ------------------------------------------

def test_the_platform_admin_adds_and_cancels_city_holidays(portal_app, world, session_factory):
    client = log_in(portal_app, "kota.admin")
    page = client.get("/admin/kota/kalender?tahun=2026")
    assert page.status_code == 200, page.text
    assert "Hari Raya Idul Fitri" in page.text or "Idul Fitri" in page.text
    token = csrf(client)
    added = post(client, "/admin/kota/kalender/libur", token, day="2026-06-10",
                 name="Hari Jadi Kota", year="2026")
    assert added.status_code == 303
    assert "Hari Jadi Kota ditambahkan" in messages(client.get(added.headers["Location"]).text)
    cancelled = post(client, "/admin/kota/kalender/libur", token, day="2026-12-24",
                     name="Pembatalan cuti bersama", cancelled="1", year="2026")
    assert "dibatalkan" in messages(client.get(cancelled.headers["Location"]).text)
    not_a_holiday = post(client, "/admin/kota/kalender/libur", token, day="2026-06-11",
                         name="Bukan libur", cancelled="1", year="2026")
    assert "bukan hari libur" in messages(client.get(not_a_holiday.headers["Location"]).text)
    with session_factory() as session:
        rows = {(r.day.isoformat(), r.cancelled) for r in session.scalars(
            select(CalendarHoliday).where(CalendarHoliday.tenant_id.is_(None)))}
    assert rows == {("2026-06-10", False), ("2026-12-24", True)}
    removed = post(client, "/admin/kota/kalender/libur/2026-06-10/hapus", token, year="2026")
    assert "dihapus" in messages(client.get(removed.headers["Location"]).text)
    assert [r.after or r.before for r in audits(session_factory, "calendar.holiday_removed")]


def test_a_kepala_dinas_keeps_office_hours_and_local_holidays(portal_app, world,
                                                              session_factory):
    client = log_in(portal_app, world.a.username("kepala"))
    url = f"/admin/dinas/{world.a.tenant_id}/kalender"
    page = client.get(url + "?tahun=2026")
    assert page.status_code == 200, page.text
    assert "Zona waktu dan jam kerja" in page.text
    token = csrf(client)
    hours = {f"open_{d}": "1" for d in range(5)}
    hours |= {f"opens_{d}": "07:30" for d in range(5)} | {f"closes_{d}": "15:30" for d in range(5)}
    saved = post(client, f"{url}/jam-kerja", token, time_zone="Asia/Jakarta", **hours)
    assert "Jam kerja disimpan" in messages(client.get(saved.headers["Location"]).text)
    with session_factory() as session:
        config = session.get_one(TenantCalendar, world.a.tenant_id)
        assert config.office_hours["0"] == ["07:30", "15:30"]
        assert "5" not in config.office_hours
    wrong = post(client, f"{url}/jam-kerja", token, time_zone="Asia/Jakarta", open_0="1",
                 opens_0="16:00", closes_0="08:00")
    assert "Jam kerja tidak valid" in messages(client.get(wrong.headers["Location"]).text)
    local = post(client, f"{url}/libur", token, day="2026-07-01", name="Hari jadi dinas",
                 year="2026")
    assert "ditambahkan" in messages(client.get(local.headers["Location"]).text)
    with session_factory() as session:
        assert session.scalar(select(CalendarHoliday.name).where(
            CalendarHoliday.tenant_id == world.a.tenant_id)) == "Hari jadi dinas"
        assert session.scalar(select(CalendarHoliday.id).where(
            CalendarHoliday.tenant_id == world.b.tenant_id)) is None
    removed = post(client, f"{url}/libur/2026-07-01/hapus", token, year="2026")
    assert "dihapus" in messages(client.get(removed.headers["Location"]).text)


def test_who_keeps_a_dinas_calendar(portal_app, world, session_factory):
    url_a = f"/admin/dinas/{world.a.tenant_id}/kalender"
    kasubbag = log_in(portal_app, world.a.username("kasubbag"))
    assert kasubbag.get(url_a).status_code == 403  # not delegated
    assert log_in(portal_app, world.a.username("staf1")).get(url_a).status_code == 403
    assert log_in(portal_app, world.b.username("kepala")).get(url_a).status_code == 404
    assert log_in(portal_app, "kota.admin").get(url_a).status_code == 404
    token = csrf(kasubbag)
    assert post(kasubbag, f"{url_a}/libur", token, day="2026-07-02",
                name="Tidak boleh").status_code == 403
    with transaction(session_factory) as session:
        session.get_one(Tenant, world.a.tenant_id).admin_delegated = True
    assert kasubbag.get(url_a).status_code == 200
    added = post(kasubbag, f"{url_a}/libur", token, day="2026-07-02", name="Rapat kerja dinas",
                 year="2026")
    assert "ditambahkan" in messages(kasubbag.get(added.headers["Location"]).text)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(CalendarHoliday)) == 1

