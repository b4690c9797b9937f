"""The tenant scope each role gives, built in one place."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, MetaData, Table, Uuid, select

from shared.identity.principal import Principal
from shared.identity.roles import CITY_READ_ROLES, TENANT_ROLES, Role
from shared.identity.scope import OutOfScope, TenantScope, scoped, tenant_scope

TENANT_A = uuid.uuid4()
TENANT_B = uuid.uuid4()
TENANT_C = uuid.uuid4()

_rows = Table("rows", MetaData(), Column("tenant_id", Uuid))


def _principal(*grants: tuple[Role, uuid.UUID | None]) -> Principal:
    return Principal.of(user_id=uuid.uuid4(), username="u", grants=grants)


@pytest.mark.parametrize("role", sorted(TENANT_ROLES))
def test_a_tenant_role_reads_and_writes_its_own_tenant_only(role):
    scope = tenant_scope(_principal((role, TENANT_A)))
    assert scope == TenantScope(readable=frozenset({TENANT_A}), writable=frozenset({TENANT_A}))
    assert scope.can_read(TENANT_A)
    assert scope.can_write(TENANT_A)
    assert not scope.can_read(TENANT_B)
    assert not scope.can_write(TENANT_B)
    assert scope.require_write(TENANT_A) == TENANT_A
    with pytest.raises(OutOfScope):
        scope.require_read(TENANT_B)
    with pytest.raises(OutOfScope):
        scope.require_write(TENANT_B)


@pytest.mark.parametrize("role", sorted(CITY_READ_ROLES))
def test_city_readers_read_every_tenant_and_write_none(role):
    scope = tenant_scope(_principal((role, None)))
    assert scope.all_tenants_readable
    for tenant in (TENANT_A, TENANT_B, uuid.uuid4()):
        assert scope.can_read(tenant)
        scope.require_read(tenant)
        assert not scope.can_write(tenant)
        with pytest.raises(OutOfScope):
            scope.require_write(tenant)


def test_platform_admin_reads_and_writes_no_tenant():
    scope = tenant_scope(_principal((Role.PLATFORM_ADMIN, None)))
    assert scope == TenantScope(readable=frozenset(), writable=frozenset())
    assert not scope.can_read(TENANT_A)
    with pytest.raises(OutOfScope):
        scope.require_read(TENANT_A)
    with pytest.raises(OutOfScope):
        scope.require_write(TENANT_A)


def test_no_grants_means_no_scope():
    scope = tenant_scope(_principal())
    assert not scope.can_read(TENANT_A)
    assert not scope.all_tenants_readable


def test_platform_admin_with_a_tenant_role_gets_that_tenant_only():
    scope = tenant_scope(_principal((Role.PLATFORM_ADMIN, None), (Role.KEPALA_DINAS, TENANT_B)))
    assert scope.can_read(TENANT_B)
    assert scope.can_write(TENANT_B)
    assert not scope.can_read(TENANT_A)


def test_several_grants_add_up():
    scope = tenant_scope(_principal(
        (Role.KASUBBAG_PROGRAM, TENANT_A),
        (Role.TIM_EVALUASI, TENANT_A),
        (Role.BIDANG_STAFF, TENANT_B),
    ))
    assert scope.readable == scope.writable == frozenset({TENANT_A, TENANT_B})
    assert not scope.can_read(TENANT_C)


def test_an_inspektur_who_also_works_in_a_tenant_writes_only_there():
    scope = tenant_scope(_principal((Role.INSPEKTUR, None), (Role.TIM_EVALUASI, TENANT_A)))
    assert scope.can_read(TENANT_B)
    assert scope.can_write(TENANT_A)
    assert not scope.can_write(TENANT_B)
    with pytest.raises(OutOfScope):
        scope.require_write(TENANT_B)


def test_out_of_scope_is_a_lookup_error_naming_the_tenant():
    with pytest.raises(LookupError) as info:
        tenant_scope(_principal()).require_read(TENANT_A)
    assert info.value.args == (TENANT_A,)


def _where(stmt) -> str:
    return str(stmt.compile(compile_kwargs={"literal_binds": True})).split("WHERE", 1)[-1]


def test_scoped_filters_by_the_readable_tenants():
    principal = _principal((Role.KEPALA_DINAS, TENANT_A))
    assert "rows.tenant_id IN" in _where(scoped(principal, select(_rows), _rows.c.tenant_id))
    city = _principal((Role.INSPEKTUR, None))
    assert "WHERE" not in str(scoped(city, select(_rows), _rows.c.tenant_id))
    nobody = _principal((Role.PLATFORM_ADMIN, None))
    assert _where(scoped(nobody, select(_rows), _rows.c.tenant_id)).strip() == "false"
