"""Password hashing with Argon2id.

Parameters follow OWASP's Password Storage Cheat Sheet (m=19 MiB, t=2, p=1): each hash costs
19 MiB while it runs, so several gunicorn threads logging people in at once stay affordable
(argon2-cffi's default of 64 MiB each would not). Hashes made with other parameters still
verify, and `needs_rehash` says when to upgrade one at the next login.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the user does not exist, so a login takes as long either way.
    Made on first use, not at import: a worker that never checks a password never pays."""
    return hasher.hash("sakip-no-such-user")


def use_low_cost_for_tests() -> None:
    """Argon2id with the smallest cost, so test suites can create many accounts quickly.
    Only test set-up calls this; hashes made with it still verify under the normal cost."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one hash verification (no timing oracle)."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(_hasher), password) and bool(
            password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
