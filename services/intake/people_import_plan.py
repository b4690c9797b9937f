"""Planning a bulk import of a dinas's Bidang and people (pure: no database): given the rows read
from the file (`people_import_file`) and a `Directory` snapshot of the dinas and the city, say
per row what would happen -- `create`, `change` (each field, before -> after), `unchanged` or
`reject` with every reason, in Indonesian, naming the row -- and which Bidang would be created.

The rules:
- People are matched by NIP (18 digits, spaces ignored). A NIP held by a user of another dinas,
  or on two rows of the file, rejects the row(s).
- An empty cell leaves an existing person's value as it is: a file never clears anything, so
  re-importing last month's list is harmless. A username is never changed by an import (it is
  how the person signs in); a new person's is the Nama pengguna column, else the NIP.
- Peran is a tenant role's label or code ("Staf Bidang", "kasubbag_program", "Kepala Dinas");
  empty means Staf Bidang for a new person. A Staf Bidang needs a Bidang.
- A Bidang must exist (open), or be declared by a row of its own naming only the Bidang (all
  other cells empty); a person row naming any other Bidang is rejected (with a "did you mean"
  when one is close), so a typo never creates a Bidang.
- What `people` would refuse is rejected here already: a delegated Kasubbag Program creating or
  changing a Kepala Dinas, changing one's own role, taking the role of the dinas's last active
  Kepala Dinas, changing a deactivated account, moving someone into a closed Bidang.

The plan is JSON-ready: it is stored in the `ImportBatch`, shown by the portal and the API, and
compared with a fresh plan when the batch is applied.
"""

from __future__ import annotations

import difflib
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from services.intake import people
from services.intake.people_import_file import (
    BIDANG,
    EMAIL,
    FIELD_LABELS,
    FULL_NAME,
    NIP,
    ROLE,
    USERNAME,
    SourceFile,
    SourceRow,
    title_key,
)
from shared.identity.roles import CITY_ROLES, Role

SERVICE = "intake"
PLAN_VERSION: Final = 1
CREATE, CHANGE, UNCHANGED, REJECT = "create", "change", "unchanged", "reject"
ACTIONS: Final = (CREATE, CHANGE, UNCHANGED, REJECT)
ACTION_LABELS: Final = {CREATE: "Dibuat", CHANGE: "Diubah", UNCHANGED: "Tidak berubah",
                        REJECT: "Ditolak"}
PERSON, BIDANG_ROW = "person", "bidang"
DEFAULT_ROLE: Final = Role.BIDANG_STAFF
# A role as people write it, reduced like a column title -> the role.
_ROLE_WORDS: Final = {
    **{title_key(role.value): role for role in Role},
    **{title_key(role.label): role for role in Role},
    **dict.fromkeys(("staf", "staff", "stafbidang", "staffbidang", "pegawaibidang"),
                    Role.BIDANG_STAFF),
    **dict.fromkeys(("kasubbag", "kasubag", "kasubbagprogram", "kasubagprogram",
                     "kepalasubbagianprogram", "kasubbagperencanaan"), Role.KASUBBAG_PROGRAM),
    **dict.fromkeys(("tim", "timevaluasi", "timevaluasiinternal", "evaluator"),
                    Role.TIM_EVALUASI),
    **dict.fromkeys(("kepala", "kadis", "kepaladinas"), Role.KEPALA_DINAS),
}
_TENANT_ROLE_LIST: Final = ", ".join(r.label for r in
                                     (Role.BIDANG_STAFF, Role.KASUBBAG_PROGRAM,
                                      Role.TIM_EVALUASI, Role.KEPALA_DINAS))

# -- the dinas as the planner sees it ---------------------------------------------------------

@dataclass(frozen=True)
class KnownPerson:
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    username: str
    full_name: str
    email: str | None
    roles: frozenset[Role]  # held in this person's own dinas
    role: Role | None  # the highest of them (people.tenant_role)
    bidang_id: uuid.UUID | None
    active: bool


@dataclass(frozen=True)
class KnownBidang:
    id: uuid.UUID
    name: str
    closed: bool


@dataclass(frozen=True)
class Directory:
    """What planning needs to know of the dinas and the city: the people holding the file's
    NIPs (any dinas), the usernames the file would take, the dinas's Bidang, its active Kepala
    Dinas, and who is importing."""

    tenant_id: uuid.UUID
    actor_user_id: uuid.UUID
    actor_is_head: bool
    people: Mapping[str, KnownPerson] = field(default_factory=dict)  # by NIP
    usernames: Mapping[str, uuid.UUID] = field(default_factory=dict)  # lower case -> user
    bidang: Sequence[KnownBidang] = ()
    heads: frozenset[uuid.UUID] = frozenset()

    def bidang_named(self, name: str) -> KnownBidang | None:
        key = bidang_key(name)
        return next((b for b in self.bidang if bidang_key(b.name) == key), None)

    def bidang_name(self, bidang_id: uuid.UUID | None) -> str | None:
        return next((b.name for b in self.bidang if b.id == bidang_id), None)


def bidang_key(name: str) -> str:
    """Bidang names compare case- and spacing-insensitively ("bidang  KEUANGAN")."""
    return " ".join(name.split()).casefold()


# -- planning (pure) --------------------------------------------------------------------------

def parse_role(text: str) -> tuple[Role | None, str | None]:
    """The tenant role `text` names (by label, code or a common short form), or a reason."""
    role = _ROLE_WORDS.get(title_key(text))
    if role is None:
        return None, (f"Peran \"{text}\" tidak dikenal; gunakan salah satu: "
                      f"{_TENANT_ROLE_LIST} (atau kodenya, mis. bidang_staff).")
    if role in CITY_ROLES:
        return None, (f"Peran {role.label} adalah peran tingkat kota dan tidak dapat "
                      "diberikan lewat impor dinas.")
    return role, None


def row_kind(row: SourceRow) -> str:
    """A row naming only a Bidang declares it; any other row is a person."""
    others = (NIP, FULL_NAME, EMAIL, ROLE, USERNAME)
    return BIDANG_ROW if row.get(BIDANG) and not any(row.get(f) for f in others) else PERSON


def plan_import(source: SourceFile | Sequence[SourceRow], directory: Directory) -> dict[str, Any]:
    """The plan of an import (JSON-ready): one entry per row, the new Bidang, the counts."""
    rows = list(source.rows if isinstance(source, SourceFile) else source)
    declared = _declared_bidang(rows, directory)
    nip_rows = _rows_by(rows, lambda r: people.normalize_nip(r.get(NIP)))
    username_rows = _rows_by(rows, lambda r: r.get(USERNAME).strip().lower())
    planned = []
    for row in rows:
        if row_kind(row) == BIDANG_ROW:
            planned.append(_plan_bidang_row(row, directory))
        else:
            planned.append(_PersonPlanner(row, directory, declared, nip_rows,
                                          username_rows).plan())
    new_bidang = _new_bidang(planned, declared)
    # A Bidang to create is counted once in new_bidang, not as a row created: `create` counts
    # the people to create.
    counts = {action: sum(1 for p in planned if p["action"] == action
                          and not (p["kind"] == BIDANG_ROW and action == CREATE))
              for action in ACTIONS}
    return {"version": PLAN_VERSION, "rows": planned, "new_bidang": new_bidang,
            "counts": counts | {"new_bidang": len(new_bidang)}}


def _rows_by(rows: list[SourceRow], key: Any) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row_kind(row) == PERSON and (value := key(row)):
            found[value].append(row.number)
    return found


def wanted_username(row: SourceRow) -> str | None:
    """The username a new person would get: the file's, else the NIP (lower case)."""
    given = row.get(USERNAME).strip().lower()
    return given or people.normalize_nip(row.get(NIP))


def _declared_bidang(rows: list[SourceRow], directory: Directory) -> dict[str, str]:
    """Bidang declared by rows of their own that do not exist yet: key -> name as first
    written."""
    declared: dict[str, str] = {}
    for row in rows:
        if row_kind(row) == BIDANG_ROW:
            name = " ".join(row.get(BIDANG).split())
            if (len(name) <= people.MAX_NAME and directory.bidang_named(name) is None
                    and bidang_key(name) not in declared):
                declared[bidang_key(name)] = name
    return declared


def _plan_bidang_row(row: SourceRow, directory: Directory) -> dict[str, Any]:
    name = " ".join(row.get(BIDANG).split())
    entry: dict[str, Any] = {"row": row.number, "kind": BIDANG_ROW, "bidang": name,
                             "changes": [], "set": {}, "reasons": [], "notes": []}
    known = directory.bidang_named(name)
    if len(name) > people.MAX_NAME:
        entry["reasons"].append(f"Nama Bidang paling banyak {people.MAX_NAME} karakter.")
    elif known is None:
        entry["set"] = {"bidang": {"new": name}}
    elif known.closed:
        entry["reasons"].append(f"Bidang {known.name} sudah ditutup; buka kembali di halaman "
                                "Bidang bila masih dipakai.")
    else:
        entry["notes"].append(f"Bidang {known.name} sudah ada.")
    entry["action"] = REJECT if entry["reasons"] else (UNCHANGED if known else CREATE)
    return entry


def _new_bidang(planned: list[dict[str, Any]], declared: dict[str, str]) -> list[dict[str, Any]]:
    """Each Bidang to create, with the rows declaring it and the people rows placed in it."""
    found: dict[str, dict[str, Any]] = {}
    for entry in planned:
        ref = entry["set"].get("bidang")
        if entry["action"] == REJECT or not ref or "new" not in ref:
            continue
        key = bidang_key(ref["new"])
        item = found.setdefault(key, {"name": declared[key], "declared_in": [], "used_by": []})
        item["declared_in" if entry["kind"] == BIDANG_ROW else "used_by"].append(entry["row"])
    return sorted(found.values(), key=lambda item: bidang_key(item["name"]))


class _PersonPlanner:
    """The plan of one person row: its values checked, then create / change / unchanged, or
    reject with every reason at once."""

    def __init__(self, row: SourceRow, directory: Directory, declared: dict[str, str],
                 nip_rows: dict[str, list[int]], username_rows: dict[str, list[int]]) -> None:
        self.row, self.directory, self.declared = row, directory, declared
        self.nip_rows, self.username_rows = nip_rows, username_rows
        self.reasons: list[str] = list(row.problems)
        self.notes: list[str] = []

    def plan(self) -> dict[str, Any]:
        nip = self._nip()
        full_name = self._text(FULL_NAME, "Nama")
        email = self._email()
        role = self._role()
        bidang_ref, bidang_name = self._bidang()
        person = self.directory.people.get(nip) if nip else None
        entry: dict[str, Any] = {
            "row": self.row.number, "kind": PERSON, "nip": nip, "full_name": full_name,
            "email": email, "role": role.value if role else None,
            "bidang": bidang_name, "username": None, "user_id": None,
            "changes": [], "set": {}}
        if person is not None and person.tenant_id != self.directory.tenant_id:
            self.reasons.append(f"NIP {nip} sudah terdaftar untuk pengguna di luar dinas ini.")
        elif person is not None:
            self._plan_change(entry, person, role, bidang_ref, bidang_name)
        else:
            self._plan_create(entry, nip, role, bidang_ref)
        if self.reasons:
            entry["action"] = REJECT
            entry["changes"], entry["set"] = [], {}
        entry["reasons"], entry["notes"] = self.reasons, self.notes
        return entry

    # -- the cells ------------------------------------------------------------------------------

    def _nip(self) -> str | None:
        nip = people.normalize_nip(self.row.get(NIP))
        if nip is None:
            self.reasons.append("NIP wajib diisi.")
            return None
        if not people.NIP.fullmatch(nip):
            self.reasons.append(f"NIP \"{nip}\" tidak valid: NIP terdiri dari 18 angka.")
            return None
        others = [n for n in self.nip_rows.get(nip, []) if n != self.row.number]
        if others:
            self.reasons.append(f"NIP {nip} tercantum juga di baris {_numbers(others)}; "
                                "setiap NIP hanya boleh satu baris.")
        return nip

    def _text(self, name: str, label: str) -> str | None:
        value = self.row.get(name)
        if len(value) > people.MAX_NAME:
            self.reasons.append(f"{label} paling banyak {people.MAX_NAME} karakter.")
            return None
        return value or None

    def _email(self) -> str | None:
        email = self.row.get(EMAIL)
        if not email:
            return None
        if len(email) > people.MAX_NAME or not people.EMAIL.fullmatch(email):
            self.reasons.append(f"E-mail \"{email}\" tidak valid.")
            return None
        return email

    def _role(self) -> Role | None:
        text = self.row.get(ROLE)
        if not text:
            return None
        role, reason = parse_role(text)
        if reason:
            self.reasons.append(reason)
        return role

    def _bidang(self) -> tuple[dict[str, str] | None, str | None]:
        name = self.row.get(BIDANG)
        if not name:
            return None, None
        known = self.directory.bidang_named(name)
        if known is not None:
            return {"id": str(known.id)}, known.name
        declared = self.declared.get(bidang_key(name))
        if declared is not None:
            return {"new": declared}, declared
        reason = (f"Bidang \"{name}\" tidak dikenal di dinas ini. Periksa ejaannya, atau "
                  "tambahkan baris yang hanya berisi nama Bidang itu untuk membuatnya.")
        names = [b.name for b in self.directory.bidang if not b.closed]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        if close:
            reason += f" Maksud Anda \"{close[0]}\"?"
        self.reasons.append(reason)
        return None, name

    # -- the two plans --------------------------------------------------------------------------

    def _plan_create(self, entry: dict[str, Any], nip: str | None, role: Role | None,
                     bidang_ref: dict[str, str] | None) -> None:
        if entry["full_name"] is None and not self.row.get(FULL_NAME):
            self.reasons.append("Nama wajib diisi untuk pengguna baru.")
        if role is None and not self.row.get(ROLE):
            role = DEFAULT_ROLE
            entry["role"] = role.value
            self.notes.append(f"Peran tidak diisi: {role.label}.")
        if role is Role.KEPALA_DINAS and not self.directory.actor_is_head:
            self.reasons.append("Hanya Kepala Dinas yang dapat membuat akun Kepala Dinas.")
        self._bidang_needed(role, bidang_ref, entry)
        username = self._new_username(nip)
        entry["username"] = username
        entry["set"] = {"username": username, "full_name": entry["full_name"], "nip": nip,
                        "email": entry["email"], "role": entry["role"], "bidang": bidang_ref}
        entry["action"] = CREATE

    def _new_username(self, nip: str | None) -> str | None:
        given = self.row.get(USERNAME).strip().lower()
        username = given or nip
        if username is None:
            return None
        if given and not people.USERNAME.fullmatch(given):
            self.reasons.append(f"Nama pengguna \"{given}\" tidak valid: 3 sampai 128 "
                                "karakter, huruf kecil, angka, titik, garis bawah atau tanda "
                                "hubung.")
            return None
        others = [n for n in self.username_rows.get(given, []) if n != self.row.number]
        if given and others:
            self.reasons.append(f"Nama pengguna {username} dipakai juga di baris "
                                f"{_numbers(others)}.")
        elif username in self.directory.usernames:
            hint = "" if given else " Isi kolom Nama pengguna untuk orang ini."
            self.reasons.append(f"Nama pengguna {username} sudah dipakai.{hint}")
        return username

    def _plan_change(self, entry: dict[str, Any], person: KnownPerson, role: Role | None,
                     bidang_ref: dict[str, str] | None, bidang_name: str | None) -> None:
        entry["user_id"], entry["username"] = str(person.user_id), person.username
        given_username = self.row.get(USERNAME).strip().lower()
        if given_username and given_username != person.username:
            self.notes.append(f"Nama pengguna tidak diubah lewat impor (tetap "
                              f"{person.username}).")
        changes: list[dict[str, Any]] = []
        wanted: dict[str, Any] = {}
        if entry["full_name"] and entry["full_name"] != person.full_name:
            changes.append(_change(FULL_NAME, person.full_name, entry["full_name"]))
            wanted[FULL_NAME] = entry["full_name"]
        if entry["email"] and entry["email"].casefold() != (person.email or "").casefold():
            changes.append(_change(EMAIL, person.email, entry["email"]))
            wanted[EMAIL] = entry["email"]
        new_role = person.role
        if role is not None and role not in person.roles:
            new_role = role
            changes.append(_change(ROLE, person.role.label if person.role else None,
                                   role.label))
            wanted[ROLE] = role.value
        new_bidang = person.bidang_id
        if bidang_ref is not None and bidang_ref.get("id") != str(person.bidang_id):
            before = self.directory.bidang_name(person.bidang_id)
            changes.append(_change(BIDANG, before, bidang_name))
            wanted[BIDANG] = bidang_ref
            new_bidang = None if "new" in bidang_ref else uuid.UUID(bidang_ref["id"])
            self._open_bidang(bidang_ref)
        if changes:
            self._may_change(person, role_changes=ROLE in wanted)
        if ROLE in wanted and new_role is Role.BIDANG_STAFF and new_bidang is None \
                and BIDANG not in wanted:
            self.reasons.append("Staf Bidang harus terikat pada satu Bidang: isi kolom Bidang.")
        entry["role"] = (new_role.value if new_role else None)
        entry["bidang"] = bidang_name or self.directory.bidang_name(person.bidang_id)
        entry["changes"], entry["set"] = changes, wanted
        entry["action"] = CHANGE if changes else UNCHANGED
        if not person.active and not changes:
            self.notes.append("Akun ini nonaktif.")

    def _may_change(self, person: KnownPerson, *, role_changes: bool) -> None:
        if not person.active:
            self.reasons.append(f"Akun {person.username} nonaktif; aktifkan kembali di halaman "
                                "Pengguna sebelum mengubahnya lewat impor.")
        if Role.KEPALA_DINAS in person.roles and not self.directory.actor_is_head:
            self.reasons.append("Hanya Kepala Dinas yang dapat mengubah akun Kepala Dinas.")
        if not role_changes:
            return
        if person.user_id == self.directory.actor_user_id:
            self.reasons.append("Peran Anda sendiri tidak dapat diubah lewat impor.")
        elif person.role is Role.KEPALA_DINAS and not (self.directory.heads - {person.user_id}):
            self.reasons.append(f"{person.full_name} adalah satu-satunya Kepala Dinas yang "
                                "aktif, sehingga perannya tidak dapat diubah.")

    def _bidang_needed(self, role: Role | None, bidang_ref: dict[str, str] | None,
                       entry: dict[str, Any]) -> None:
        if role is Role.BIDANG_STAFF and bidang_ref is None and entry["bidang"] is None:
            self.reasons.append("Staf Bidang harus terikat pada satu Bidang: isi kolom Bidang.")
        if bidang_ref is not None:
            self._open_bidang(bidang_ref)

    def _open_bidang(self, bidang_ref: dict[str, str]) -> None:
        if "id" not in bidang_ref:
            return
        known = next(b for b in self.directory.bidang if str(b.id) == bidang_ref["id"])
        if known.closed:
            self.reasons.append(f"Bidang {known.name} sudah ditutup; pilih Bidang yang masih "
                                "terbuka.")


def _change(name: str, before: str | None, after: str | None) -> dict[str, Any]:
    return {"field": name, "label": FIELD_LABELS[name], "before": before, "after": after}


def _numbers(numbers: list[int]) -> str:
    shown = [str(n) for n in numbers]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} dan {shown[-1]}"
