"""A dinas's administration as its domain functions do it (services.intake.people), on the real
PostgreSQL: Bidang, accounts with their one-time credentials, role changes and moves, closing
and reopening accounts, password resets, acting officials (Plt/Plh) and the kepala_dinas's
delegation to the kasubbag_program; each with its audit row and each refusal (another dinas:
404, a member without the right: 403, a clash: 409, a bad value: 422 naming the field)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from services.intake import people
from services.workflow import calendars
from shared.audit import AuditEntry
from shared.db import transaction
from shared.identity.account_links import LinkError, redeem_link
from shared.identity.admin_scope import administered_tenants, can_administer
from shared.identity.api_tokens import create_api_token, resolve_api_token
from shared.identity.loading import local_day, principal_for
from shared.identity.models import AccountLink, ApiToken, Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.sessions import resolve_session, start_session
from shared.web.errors import Conflict, NotAllowed, NotFound
from tests.world import World

AT = datetime(2026, 4, 8, 1, 0, tzinfo=UTC)
NIP_1 = "198001012005011001"
NIP_2 = "198502022010012002"
STRONG = "Matahari-terbit-di-Bukit-7"


def principal(session_factory, username: str, on: date | None = None) -> Principal:
    with session_factory() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return principal_for(user, on)


def run(session_factory, work):
    with transaction(session_factory) as session:
        return work(session)


def audit_rows(session_factory, action: str) -> list[AuditEntry]:
    """The rows of `action` written on a person's behalf (not the world's seeding)."""
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.actor_user_id.is_not(None))
            .order_by(AuditEntry.id)))


def user_id(world: World, username: str) -> uuid.UUID:
    dinas = world.a if username.startswith("dinas-a") else world.b
    return dinas.users[username]


def delegate(session_factory, world: World, delegated: bool = True) -> None:
    kepala = principal(session_factory, "dinas-a.kepala")
    run(session_factory, lambda s: people.set_delegation(
        s, principal=kepala, tenant_id=world.a.tenant_id, delegated=delegated, at=AT))


def new_person(session_factory, world: World, admin: Principal, **overrides):
    values = dict(username="dinas-a.baru", full_name="Siti Rahmawati", nip=NIP_1,
                  email="siti@dinas-a.example.go.id", role=Role.BIDANG_STAFF,
                  bidang_id=world.a.bidang[0], at=AT)
    values.update(overrides)
    return run(session_factory, lambda s: people.create_person(
        s, principal=admin, tenant_id=world.a.tenant_id, **values))


# -- Bidang ---------------------------------------------------------------------------------------

def test_bidang_created_renamed_closed_and_reopened_with_audit(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    tid = world.a.tenant_id
    created = run(session_factory, lambda s: people.create_bidang(
        s, principal=kepala, tenant_id=tid, name="  Bidang   Perencanaan ", at=AT))
    assert created.name == "Bidang Perencanaan"
    renamed = run(session_factory, lambda s: people.rename_bidang(
        s, principal=kepala, tenant_id=tid, bidang_id=created.id, name="Bidang Program", at=AT))
    assert renamed.name == "Bidang Program"
    closed = run(session_factory, lambda s: people.close_bidang(
        s, principal=kepala, tenant_id=tid, bidang_id=created.id, at=AT))
    assert closed.closed_at == AT
    with pytest.raises(Conflict, match="sudah ditutup"):
        run(session_factory, lambda s: people.close_bidang(
            s, principal=kepala, tenant_id=tid, bidang_id=created.id, at=AT))
    reopened = run(session_factory, lambda s: people.reopen_bidang(
        s, principal=kepala, tenant_id=tid, bidang_id=created.id, at=AT))
    assert reopened.closed_at is None
    with pytest.raises(Conflict, match="masih terbuka"):
        run(session_factory, lambda s: people.reopen_bidang(
            s, principal=kepala, tenant_id=tid, bidang_id=created.id, at=AT))

    (renamed_row,) = audit_rows(session_factory, "bidang.renamed")
    assert renamed_row.before == {"name": "Bidang Perencanaan", "closed_at": None}
    assert renamed_row.after == {"name": "Bidang Program", "closed_at": None}
    assert renamed_row.actor_user_id == kepala.user_id
    assert renamed_row.tenant_id == tid
    (closed_row,) = audit_rows(session_factory, "bidang.closed")
    assert closed_row.after["closed_at"] == AT.isoformat()
    assert len(audit_rows(session_factory, "bidang.reopened")) == 1
    listed = run(session_factory, lambda s: people.list_bidang(s, principal=kepala,
                                                               tenant_id=tid))
    assert [b.name for b in listed] == ["Bidang 1", "Bidang 2", "Bidang Program"]


def test_bidang_names_are_unique_per_dinas_and_required(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    tid = world.a.tenant_id
    for name, message in (("bidang 1", "sudah ada"), ("   ", "wajib diisi"),
                          ("x" * 256, "paling banyak")):
        with pytest.raises(people.InvalidField, match=message) as refused:
            run(session_factory, lambda s, n=name: people.create_bidang(
                s, principal=kepala, tenant_id=tid, name=n, at=AT))
        assert refused.value.field == "name"
        assert refused.value.status == 422
    with pytest.raises(people.InvalidField, match="sudah ada"):
        run(session_factory, lambda s: people.rename_bidang(
            s, principal=kepala, tenant_id=tid, bidang_id=world.a.bidang[0], name="BIDANG 2",
            at=AT))
    # the same name in another dinas is another Bidang
    kepala_b = principal(session_factory, "dinas-b.kepala")
    run(session_factory, lambda s: people.create_bidang(
        s, principal=kepala_b, tenant_id=world.b.tenant_id, name="Bidang Baru", at=AT))
    run(session_factory, lambda s: people.create_bidang(
        s, principal=kepala, tenant_id=tid, name="Bidang Baru", at=AT))


# -- accounts -------------------------------------------------------------------------------------

def test_a_new_account_gets_a_one_time_activation_link(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    user, credential = new_person(session_factory, world, kepala, username="Dinas-A.Baru",
                                  nip="19800101 200501 1 001")
    assert user.username == "dinas-a.baru"
    assert user.nip == NIP_1
    assert credential.kind == "link"
    assert credential.expires_at == AT + timedelta(days=3)
    with session_factory() as session:
        link = session.scalars(select(AccountLink).where(AccountLink.user_id == user.id)).one()
        assert link.purpose == "activation"
        assert link.token_hash != credential.secret
        stored = session.get_one(User, user.id)
        assert stored.tenant_id == world.a.tenant_id
        assert stored.bidang_id == world.a.bidang[0]
        assert [(g.role, g.tenant_id) for g in stored.grants] == [
            ("bidang_staff", world.a.tenant_id)]
    redeemed = run(session_factory, lambda s: redeem_link(
        s, token=credential.secret, new_password=STRONG, at=AT + timedelta(hours=1)))
    assert redeemed.id == user.id
    (created,) = audit_rows(session_factory, "user.created")
    assert created.before is None
    assert created.actor_user_id == kepala.user_id
    assert created.after == {
        "username": "dinas-a.baru", "full_name": "Siti Rahmawati",
        "email": "siti@dinas-a.example.go.id", "nip": NIP_1, "role": "bidang_staff",
        "bidang_id": str(world.a.bidang[0]), "active": True, "credential": "link"}
    assert credential.secret not in str(created.after)


def test_a_new_account_may_get_a_temporary_password_instead(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    user, credential = new_person(session_factory, world, kepala, credential="temporary",
                                  role=Role.TIM_EVALUASI, bidang_id=None, nip=None, email=None)
    assert credential.kind == "temporary"
    assert len(credential.secret) >= 16
    with session_factory() as session:
        stored = session.get_one(User, user.id)
        assert stored.must_change_password
        assert stored.password_expires_at == credential.expires_at == AT + timedelta(days=3)
        assert stored.bidang_id is None
        assert stored.nip is None


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"username": "dinas-a.staf1"}, "username", "sudah dipakai"),
    ({"username": "DINAS-A.STAF1"}, "username", "sudah dipakai"),
    ({"username": "a b"}, "username", "huruf kecil"),
    ({"full_name": " "}, "full_name", "wajib diisi"),
    ({"nip": "12345"}, "nip", "18 angka"),
    ({"email": "bukan-email"}, "email", "tidak valid"),
    ({"bidang_id": None}, "bidang_id", "harus terikat"),
    ({"role": "platform_admin"}, "role", "tidak dikenal"),
    ({"credential": "pos"}, "credential", "Pilih"),
])
def test_a_new_account_is_refused_with_the_field_at_fault(session_factory, world, overrides,
                                                          field, message):
    kepala = principal(session_factory, "dinas-a.kepala")
    with pytest.raises(people.InvalidField, match=message) as refused:
        new_person(session_factory, world, kepala, **overrides)
    assert refused.value.field == field


def test_a_nip_or_bidang_held_elsewhere_is_refused(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    new_person(session_factory, world, kepala)
    with pytest.raises(people.InvalidField, match=r"NIP .* sudah dipakai") as refused:
        new_person(session_factory, world, kepala, username="dinas-a.lain")
    assert refused.value.field == "nip"
    kepala_b = principal(session_factory, "dinas-b.kepala")
    with pytest.raises(people.InvalidField, match="sudah dipakai"):  # NIPs are city-wide
        run(session_factory, lambda s: people.create_person(
            s, principal=kepala_b, tenant_id=world.b.tenant_id, username="dinas-b.baru",
            full_name="Budi", nip=NIP_1, email=None, role=Role.TIM_EVALUASI, bidang_id=None,
            at=AT))
    with pytest.raises(people.InvalidField, match="tidak ditemukan di dinas ini"):
        new_person(session_factory, world, kepala, username="dinas-a.lain", nip=NIP_2,
                   bidang_id=world.b.bidang[0])
    run(session_factory, lambda s: people.close_bidang(
        s, principal=kepala, tenant_id=world.a.tenant_id, bidang_id=world.a.bidang[1], at=AT))
    with pytest.raises(people.InvalidField, match="sudah ditutup"):
        new_person(session_factory, world, kepala, username="dinas-a.lain", nip=NIP_2,
                   bidang_id=world.a.bidang[1])


def test_update_changes_name_email_nip_role_and_bidang_with_before_and_after(
        session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    staf = user_id(world, "dinas-a.staf1")
    updated = run(session_factory, lambda s: people.update_person(
        s, principal=kepala, user_id=staf, full_name="Staf Satu", nip=NIP_2,
        bidang_id=world.a.bidang[1], at=AT))
    assert (updated.full_name, updated.nip, updated.bidang_id) == (
        "Staf Satu", NIP_2, world.a.bidang[1])
    (row,) = audit_rows(session_factory, "user.updated")
    assert row.before == {"username": "dinas-a.staf1", "full_name": "Dinas A staf1",
                          "nip": None, "bidang_id": str(world.a.bidang[0])}
    assert row.after == {"username": "dinas-a.staf1", "full_name": "Staf Satu", "nip": NIP_2,
                         "bidang_id": str(world.a.bidang[1])}
    # the move shows in the principal at once
    assert principal(session_factory, "dinas-a.staf1").bidang_id == world.a.bidang[1]

    promoted = run(session_factory, lambda s: people.update_person(
        s, principal=kepala, user_id=staf, role=Role.TIM_EVALUASI, bidang_id=None,
        email=None, at=AT))
    assert people.tenant_role(promoted) is Role.TIM_EVALUASI
    assert promoted.bidang_id is None
    assert principal(session_factory, "dinas-a.staf1").roles_in(world.a.tenant_id) == {
        Role.TIM_EVALUASI}
    # nothing different: nothing written
    run(session_factory, lambda s: people.update_person(
        s, principal=kepala, user_id=staf, full_name="Staf Satu", at=AT))
    assert len(audit_rows(session_factory, "user.updated")) == 2
    # a bidang_staff needs a Bidang
    with pytest.raises(people.InvalidField, match="harus terikat") as refused:
        run(session_factory, lambda s: people.update_person(
            s, principal=kepala, user_id=staf, role=Role.BIDANG_STAFF, at=AT))
    assert refused.value.field == "bidang_id"
    with pytest.raises(people.InvalidField, match="sudah dipakai"):
        run(session_factory, lambda s: people.update_person(
            s, principal=kepala, user_id=user_id(world, "dinas-a.staf2"), nip=NIP_2, at=AT))


def test_the_last_active_kepala_dinas_is_kept(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    head = user_id(world, "dinas-a.kepala")
    tim = user_id(world, "dinas-a.tim")
    with pytest.raises(Conflict, match="satu-satunya Kepala Dinas"):
        run(session_factory, lambda s: people.update_person(
            s, principal=kepala, user_id=head, role=Role.TIM_EVALUASI, at=AT))
    with pytest.raises(Conflict, match="sendiri"):
        run(session_factory, lambda s: people.deactivate_person(
            s, principal=kepala, user_id=head, at=AT))
    # a second kepala_dinas: now the first may step down, and the last one still may not go
    run(session_factory, lambda s: people.update_person(
        s, principal=kepala, user_id=tim, role=Role.KEPALA_DINAS, at=AT))
    run(session_factory, lambda s: people.update_person(
        s, principal=kepala, user_id=head, role=Role.TIM_EVALUASI, at=AT))
    new_head = principal(session_factory, "dinas-a.tim")
    with pytest.raises(Conflict, match="satu-satunya Kepala Dinas"):
        run(session_factory, lambda s: people.update_person(
            s, principal=new_head, user_id=tim, role=Role.KASUBBAG_PROGRAM, at=AT))
    with session_factory() as session:
        assert people.tenant_role(session.get_one(User, tim)) is Role.KEPALA_DINAS
    # not even a Plt Kepala Dinas may close the account of the last one
    run(session_factory, lambda s: people.assign_acting(
        s, principal=new_head, tenant_id=world.a.tenant_id,
        user_id=user_id(world, "dinas-a.kasubbag"), role=Role.KEPALA_DINAS, kind="plh",
        starts_on=date(2026, 4, 9), ends_on=date(2026, 4, 9), reason="Dinas luar", at=AT))
    plh = principal(session_factory, "dinas-a.kasubbag", on=date(2026, 4, 9))
    with pytest.raises(Conflict, match="satu-satunya Kepala Dinas"):
        run(session_factory, lambda s: people.deactivate_person(
            s, principal=plh, user_id=tim, at=AT))


def test_a_deactivated_account_loses_its_sessions_tokens_and_links_at_once(
        session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    staf = user_id(world, "dinas-a.staf1")
    lifetime = timedelta(hours=8)

    def open_everything(session):
        user = session.get_one(User, staf)
        cookie = start_session(session, user=user, lifetime=lifetime)
        _row, token = create_api_token(session, user=user, name="skrip")
        return cookie, token

    cookie, token = run(session_factory, open_everything)
    link = run(session_factory, lambda s: people.reset_password(
        s, principal=kepala, user_id=staf, method="link", at=AT))
    deactivated = run(session_factory, lambda s: people.deactivate_person(
        s, principal=kepala, user_id=staf, at=AT, reason="Pindah tugas"))
    assert not deactivated.active
    assert deactivated.deactivated_at == AT
    with transaction(session_factory) as session:
        assert resolve_session(session, cookie, lifetime=lifetime) is None
        assert resolve_api_token(session, token) is None
        assert session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == staf))
        assert session.scalar(select(AccountLink.revoked_at)
                              .where(AccountLink.user_id == staf)) == AT
    with pytest.raises(LinkError, match=r"tidak berlaku|tidak aktif"):
        run(session_factory, lambda s: redeem_link(s, token=link.secret, new_password=STRONG,
                                                   at=AT))
    (row,) = audit_rows(session_factory, "user.deactivated")
    assert row.before["active"] is True
    assert row.after["active"] is False
    assert row.after["sessions_ended"] == 1
    assert row.after["tokens_revoked"] == 1
    assert row.reason == "Pindah tugas"
    with pytest.raises(Conflict, match="sudah nonaktif"):
        run(session_factory, lambda s: people.deactivate_person(
            s, principal=kepala, user_id=staf, at=AT))
    with pytest.raises(Conflict, match="aktifkan dulu"):
        run(session_factory, lambda s: people.reset_password(
            s, principal=kepala, user_id=staf, method="temporary", at=AT))

    reactivated = run(session_factory, lambda s: people.reactivate_person(
        s, principal=kepala, user_id=staf, at=AT))
    assert reactivated.active
    assert reactivated.deactivated_at is None
    with transaction(session_factory) as session:  # the old token stays revoked
        assert resolve_api_token(session, token) is None
    assert len(audit_rows(session_factory, "user.reactivated")) == 1


def test_reset_password_by_link_or_temporary_password(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    staf = user_id(world, "dinas-a.staf2")
    link = run(session_factory, lambda s: people.reset_password(
        s, principal=kepala, user_id=staf, method="link", at=AT))
    assert link.kind == "link"
    assert link.expires_at == AT + timedelta(hours=24)
    with session_factory() as session:
        assert session.scalar(select(AccountLink.purpose)
                              .where(AccountLink.user_id == staf)) == "reset"
    temporary = run(session_factory, lambda s: people.reset_password(
        s, principal=kepala, user_id=staf, method="temporary", at=AT))
    assert temporary.kind == "temporary"
    with session_factory() as session:
        user = session.get_one(User, staf)
        assert user.must_change_password
        assert user.password_expires_at == temporary.expires_at
    assert [r.after for r in audit_rows(session_factory, "user.password_reset")] == [
        {"method": "link"}, {"method": "temporary"}]
    with pytest.raises(people.InvalidField):
        run(session_factory, lambda s: people.reset_password(
            s, principal=kepala, user_id=staf, method="pos", at=AT))  # type: ignore[arg-type]


# -- who may ------------------------------------------------------------------------------------

def every_action(world: World, who: Principal, tenant_id: uuid.UUID):
    """Each administrative action on dinas `tenant_id`, by `who`."""
    dinas = world.a if tenant_id == world.a.tenant_id else world.b
    staf = dinas.users[dinas.username("staf1")]
    return [
        lambda s: people.list_people(s, principal=who, tenant_id=tenant_id),
        lambda s: people.list_bidang(s, principal=who, tenant_id=tenant_id),
        lambda s: people.create_bidang(s, principal=who, tenant_id=tenant_id, name="X", at=AT),
        lambda s: people.rename_bidang(s, principal=who, tenant_id=tenant_id,
                                       bidang_id=dinas.bidang[0], name="X", at=AT),
        lambda s: people.close_bidang(s, principal=who, tenant_id=tenant_id,
                                      bidang_id=dinas.bidang[0], at=AT),
        lambda s: people.create_person(
            s, principal=who, tenant_id=tenant_id, username="x.baru", full_name="X", nip=None,
            email=None, role=Role.TIM_EVALUASI, bidang_id=None, at=AT),
        lambda s: people.update_person(s, principal=who, user_id=staf, full_name="X", at=AT),
        lambda s: people.deactivate_person(s, principal=who, user_id=staf, at=AT),
        lambda s: people.reset_password(s, principal=who, user_id=staf, method="link", at=AT),
        lambda s: people.assign_acting(
            s, principal=who, tenant_id=tenant_id, user_id=staf, role=Role.TIM_EVALUASI,
            kind="plh", starts_on=date(2026, 4, 9), ends_on=date(2026, 4, 10), reason="x",
            at=AT),
        lambda s: people.set_delegation(s, principal=who, tenant_id=tenant_id, delegated=True,
                                        at=AT),
    ]


def test_another_dinas_is_not_found_and_members_without_the_right_are_refused(
        session_factory, world):
    outsiders = [principal(session_factory, u) for u in
                 ("dinas-b.kepala", "dinas-b.kasubbag", "kota.admin", "kota.inspektur")]
    for who in outsiders:
        for action in every_action(world, who, world.a.tenant_id):
            with pytest.raises(NotFound):
                run(session_factory, action)
    for username in ("dinas-a.staf1", "dinas-a.tim", "dinas-a.kasubbag"):
        who = principal(session_factory, username)
        for action in every_action(world, who, world.a.tenant_id):
            with pytest.raises(NotAllowed, match="Hanya Kepala Dinas"):
                run(session_factory, action)
    for action in ("bidang.created", "user.created", "user.updated"):
        assert audit_rows(session_factory, action) == []
    with pytest.raises(NotFound):  # a Bidang of dinas B through dinas A's address
        run(session_factory, lambda s: people.rename_bidang(
            s, principal=principal(session_factory, "dinas-a.kepala"),
            tenant_id=world.a.tenant_id, bidang_id=world.b.bidang[0], name="X", at=AT))


def test_a_delegated_kasubbag_administers_but_not_the_kepala_dinas(session_factory, world):
    kasubbag = principal(session_factory, "dinas-a.kasubbag")
    tid = world.a.tenant_id
    with session_factory() as session:
        assert not can_administer(session, kasubbag, tid)
    delegate(session_factory, world)
    with session_factory() as session:
        assert session.get_one(Tenant, tid).admin_delegated
        assert can_administer(session, kasubbag, tid)
        assert [t.id for t in administered_tenants(session, kasubbag)] == [tid]
    (row,) = audit_rows(session_factory, "tenant.admin_delegation")
    assert (row.before, row.after) == ({"admin_delegated": False}, {"admin_delegated": True})
    user, _credential = new_person(session_factory, world, kasubbag)
    run(session_factory, lambda s: people.create_bidang(
        s, principal=kasubbag, tenant_id=tid, name="Bidang Umum", at=AT))
    head = user_id(world, "dinas-a.kepala")
    head_only = [
        lambda s: people.create_person(
            s, principal=kasubbag, tenant_id=tid, username="dinas-a.kepala2", full_name="K",
            nip=None, email=None, role=Role.KEPALA_DINAS, bidang_id=None, at=AT),
        lambda s: people.update_person(s, principal=kasubbag, user_id=user.id,
                                       role=Role.KEPALA_DINAS, at=AT),
        lambda s: people.update_person(s, principal=kasubbag, user_id=head, full_name="X",
                                       at=AT),
        lambda s: people.deactivate_person(s, principal=kasubbag, user_id=head, at=AT),
        lambda s: people.reset_password(s, principal=kasubbag, user_id=head, method="link",
                                        at=AT),
        lambda s: people.assign_acting(
            s, principal=kasubbag, tenant_id=tid, user_id=user_id(world, "dinas-a.kasubbag"),
            role=Role.KEPALA_DINAS, kind="plt", starts_on=date(2026, 4, 9),
            ends_on=date(2026, 4, 30), reason="x", at=AT),
        lambda s: people.set_delegation(s, principal=kasubbag, tenant_id=tid, delegated=False,
                                        at=AT),
    ]
    for action in head_only:
        with pytest.raises(NotAllowed, match="Hanya Kepala Dinas yang dapat"):
            run(session_factory, action)
    # the kasubbag may keep the calendar too (workflow's calendar keepers)
    run(session_factory, lambda s: calendars.set_office_hours(
        s, tid, "Asia/Jakarta", {"0": ["08:00", "15:00"]}, principal=kasubbag, at=AT))
    delegate(session_factory, world, delegated=False)
    with pytest.raises(NotAllowed):
        run(session_factory, lambda s: people.create_bidang(
            s, principal=kasubbag, tenant_id=tid, name="Bidang Lain", at=AT))
    with pytest.raises(NotAllowed, match="Hanya Kepala Dinas"):
        run(session_factory, lambda s: calendars.set_office_hours(
            s, tid, "Asia/Jakarta", {"0": ["08:00", "16:00"]}, principal=kasubbag, at=AT))


def test_a_deactivated_dinas_has_no_administrators(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    with transaction(session_factory) as session:
        session.get_one(Tenant, world.a.tenant_id).active = False
    with session_factory() as session:
        assert not can_administer(session, kepala, world.a.tenant_id)
    with pytest.raises(NotFound):
        run(session_factory, lambda s: people.list_people(s, principal=kepala,
                                                          tenant_id=world.a.tenant_id))


# -- acting officials -----------------------------------------------------------------------------

def test_a_plt_kepala_dinas_holds_the_role_inside_the_range_only(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    tid = world.a.tenant_id
    tim = user_id(world, "dinas-a.tim")
    assignment = run(session_factory, lambda s: people.assign_acting(
        s, principal=kepala, tenant_id=tid, user_id=tim, role=Role.KEPALA_DINAS, kind="plt",
        starts_on=date(2026, 4, 13), ends_on=date(2026, 4, 17),
        reason="Surat Perintah Wali Kota No. 800/12/2026", at=AT))
    for day, acting in ((date(2026, 4, 12), False), (date(2026, 4, 13), True),
                        (date(2026, 4, 17), True), (date(2026, 4, 18), False)):
        plt = principal(session_factory, "dinas-a.tim", on=day)
        assert plt.has_role(Role.KEPALA_DINAS, tid) is acting, day
        assert plt.has_role(Role.TIM_EVALUASI, tid)
    inside = principal(session_factory, "dinas-a.tim", on=date(2026, 4, 14))
    run(session_factory, lambda s: people.create_bidang(  # acts as kepala_dinas: administers
        s, principal=inside, tenant_id=tid, name="Bidang Plt", at=AT))
    outside = principal(session_factory, "dinas-a.tim", on=date(2026, 4, 20))
    with pytest.raises(NotAllowed):
        run(session_factory, lambda s: people.create_bidang(
            s, principal=outside, tenant_id=tid, name="Bidang Lain", at=AT))
    (row,) = audit_rows(session_factory, "acting.assigned")
    assert row.after["role"] == "kepala_dinas"
    assert row.after["kind"] == "plt"
    assert row.reason == "Surat Perintah Wali Kota No. 800/12/2026"

    run(session_factory, lambda s: people.revoke_acting(
        s, principal=kepala, tenant_id=tid, assignment_id=assignment.id, at=AT))
    revoked = principal(session_factory, "dinas-a.tim", on=date(2026, 4, 14))
    assert not revoked.has_role(Role.KEPALA_DINAS, tid)
    with pytest.raises(Conflict, match="sudah dicabut"):
        run(session_factory, lambda s: people.revoke_acting(
            s, principal=kepala, tenant_id=tid, assignment_id=assignment.id, at=AT))
    (revoked_row,) = audit_rows(session_factory, "acting.revoked")
    assert revoked_row.before["revoked_at"] is None
    assert revoked_row.after["revoked_at"]


def test_acting_today_is_the_default_day(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")
    today = local_day()
    run(session_factory, lambda s: people.assign_acting(
        s, principal=kepala, tenant_id=world.a.tenant_id,
        user_id=user_id(world, "dinas-a.kasubbag"), role=Role.KEPALA_DINAS, kind="plh",
        starts_on=today, ends_on=today, reason="Kepala Dinas dinas luar", at=AT))
    assert principal(session_factory, "dinas-a.kasubbag").has_role(
        Role.KEPALA_DINAS, world.a.tenant_id)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"role": Role.BIDANG_STAFF}, "role", "Plt/Plh hanya"),
    ({"kind": "pj"}, "kind", "plt atau plh"),
    ({"ends_on": date(2026, 4, 12)}, "ends_on", "sebelum tanggal mulai"),
    ({"starts_on": date(2026, 4, 1), "ends_on": date(2026, 4, 7)}, "ends_on", "sudah lewat"),
    ({"reason": " "}, "reason", "wajib diisi"),
    ({"user": "dinas-b.tim"}, "user_id", "tidak ditemukan"),
    ({"user": "dinas-a.kepala"}, "user_id", "sudah memegang"),
])
def test_an_acting_assignment_is_refused_with_the_field_at_fault(session_factory, world,
                                                                 overrides, field, message):
    kepala = principal(session_factory, "dinas-a.kepala")
    values = dict(role=Role.KEPALA_DINAS, kind="plt", starts_on=date(2026, 4, 13),
                  ends_on=date(2026, 4, 17), reason="SK", user="dinas-a.tim")
    values.update(overrides)
    target = user_id(world, str(values.pop("user")))
    with pytest.raises(people.InvalidField, match=message) as refused:
        run(session_factory, lambda s: people.assign_acting(
            s, principal=kepala, tenant_id=world.a.tenant_id, user_id=target, at=AT,
            **values))
    assert refused.value.field == field


def test_one_acting_official_per_role_at_a_time(session_factory, world):
    kepala = principal(session_factory, "dinas-a.kepala")

    def assign(user: str, starts: date, ends: date):
        return run(session_factory, lambda s: people.assign_acting(
            s, principal=kepala, tenant_id=world.a.tenant_id, user_id=user_id(world, user),
            role=Role.KASUBBAG_PROGRAM, kind="plh", starts_on=starts, ends_on=ends,
            reason="Cuti", at=AT))

    first = assign("dinas-a.tim", date(2026, 4, 13), date(2026, 4, 15))
    with pytest.raises(Conflict, match="Sudah ada Plh Kasubbag Program"):
        assign("dinas-a.staf1", date(2026, 4, 15), date(2026, 4, 20))
    assign("dinas-a.staf1", date(2026, 4, 16), date(2026, 4, 20))
    run(session_factory, lambda s: people.revoke_acting(
        s, principal=kepala, tenant_id=world.a.tenant_id, assignment_id=first.id, at=AT))
    assign("dinas-a.staf2", date(2026, 4, 13), date(2026, 4, 15))
    listed = run(session_factory, lambda s: people.list_acting(
        s, principal=kepala, tenant_id=world.a.tenant_id))
    assert len(listed) == 3
    with pytest.raises(NotFound):
        run(session_factory, lambda s: people.revoke_acting(
            s, principal=principal(session_factory, "dinas-b.kepala"),
            tenant_id=world.b.tenant_id, assignment_id=first.id, at=AT))

