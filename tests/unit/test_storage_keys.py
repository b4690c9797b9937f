import uuid

import pytest

from shared.storage import object_key


def test_keys_are_namespaced_by_tenant_and_cycle_and_unguessable():
    tenant, cycle = uuid.uuid4(), uuid.uuid4()
    a = object_key(tenant_id=tenant, cycle_id=cycle, kind="document")
    b = object_key(tenant_id=tenant, cycle_id=cycle, kind="document")
    assert a.startswith(f"tenants/{tenant}/cycles/{cycle}/document/")
    assert a != b
    assert len(a.rsplit("/", 1)[1]) == 32


def test_kind_cannot_smuggle_a_path():
    with pytest.raises(ValueError, match="identifier"):
        object_key(tenant_id=uuid.uuid4(), kind="../../etc")
