"""What a password a person chooses must be: long enough, not a common one, not their own name.

Applied where people choose a password (changing their own, activating an account, redeeming a
reset link), not to passwords programs set up (seeding, test fixtures): those go through
`services/intake/accounts.create_user` with its length check only.

The common-password list (`common_passwords.txt`, beside this module) holds a few thousand
passwords seen most in breaches plus Indonesian favourites and keyboard walks. A password counts
as common when, compared case-insensitively, it is on the list, or is a listed word with digits
and symbols stuck on either end ("Bismillah2026!"), or uses fewer than `MIN_DISTINCT` different
characters. All problems are reported at once, in Indonesian, so a form can show them together.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 256  # Argon2 hashes any length; a bound keeps a megabyte "password" off the hasher
MIN_DISTINCT = 4
MIN_NAME_PART = 4  # shorter name parts ("Ani", "Drs") would refuse too many honest passwords
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

TOO_SHORT = f"Kata sandi minimal {MIN_LENGTH} karakter."
TOO_LONG = f"Kata sandi paling panjang {MAX_LENGTH} karakter."
TOO_COMMON = "Kata sandi ini terlalu umum dan mudah ditebak; pilih yang lain."
HAS_USERNAME = "Kata sandi tidak boleh memuat nama pengguna Anda."
HAS_NAME = "Kata sandi tidak boleh memuat nama Anda."

_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_NAME_PARTS = re.compile(r"[^\W\d_]+")


class WeakPassword(ValueError):
    """The password breaks the policy; `problems` lists every reason, in Indonesian."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = list(problems)


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lower case (read once per process)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """On the list (case-insensitive), a listed word with digits/symbols around it, or made of
    too few different characters."""
    lowered = password.lower()
    if len(set(lowered)) < MIN_DISTINCT:
        return True
    listed = common_passwords()
    core = _EDGES.sub("", lowered)
    return lowered in listed or (bool(core) and core in listed)


def password_problems(password: str, *, username: str | None = None,
                      full_name: str | None = None) -> list[str]:
    """Every way `password` breaks the policy (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        problems.append(TOO_LONG)
    if is_common(password):
        problems.append(TOO_COMMON)
    lowered = password.lower()
    if username and len(username.strip()) >= 3 and username.strip().lower() in lowered:
        problems.append(HAS_USERNAME)
    if full_name and any(part in lowered for part in _name_parts(full_name)):
        problems.append(HAS_NAME)
    return problems


def require_strong(password: str, *, username: str | None = None,
                   full_name: str | None = None) -> None:
    """Raise `WeakPassword` with every problem when `password` breaks the policy."""
    problems = password_problems(password, username=username, full_name=full_name)
    if problems:
        raise WeakPassword(problems)


def _name_parts(full_name: str) -> set[str]:
    return {part for part in _NAME_PARTS.findall(full_name.lower()) if len(part) >= MIN_NAME_PART}
