"""Building the Principal of a user row: its role grants and Bidang, nothing else."""

from __future__ import annotations

from shared.identity.models import User
from shared.identity.principal import Principal


def principal_for(user: User) -> Principal:
    """The principal of `user` (an inactive user still gets one; authentication refuses them)."""
    return Principal.of(
        user_id=user.id,
        username=user.username,
        bidang_id=user.bidang_id,
        grants=((grant.role, grant.tenant_id) for grant in user.grants),
    )
