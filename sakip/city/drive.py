"""Play a `CityPlan` through the services' public HTTP APIs, as its people would, every dinas at
once within a phase (a thread pool), with the demo clock moved forward where the SOP waits:

1. the installation's first platform_admin (the one in-process step: `sakip admin create`'s
   own function, there is no HTTP way to make the first account);
2. the platform admin creates each dinas with its kepala_dinas and the city's
   bagian_organisasi and inspektur; every account is activated through its one-time link;
   the kepala_dinas creates the Bidang and the dinas's people;
3. the cycle is opened on the seed SOP and steps 1-4 are done; a step of `late_steps` is done
   only after the clock passed its deadline and the scheduler marked it overdue;
4. step 5 per the fates: uploads of real files, hand-ins, reviews, replacements; extensions
   granted by the kepala_dinas before the deadline, hand-ins under them after it; a collection
   that does not complete by itself is closed by the kasubbag_program after every deadline in
   force;
5. step 6 as soon as a dinas's collection is over: the LKE answered and finalised, the report
   built by the worker, returned once when the plan says so, approved and acknowledged.

The clock is one for the whole city, so it only jumps when no step that should stay on time
could go overdue: dinas move as far as they can before each jump, and the jumps past step 5's
deadlines go in the order of those deadlines, each group finished before the next jump.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from sakip.city.client import Endpoints, Person, activate
from sakip.city.files import document_file
from sakip.city.plan import CityBidang, CityPlan, DinasPlan
from sakip.seeding import CLOSE_REASON, REPLACE_REASON, RETURN_REASON, SEED_TEMPLATE, Fate
from shared import clock
from shared.config import Settings
from shared.i18n import format_datetime

WORKERS = 8
POLL_SECONDS = 0.25
WAIT_SECONDS = 180.0
PAST_DEADLINE = timedelta(minutes=1)
EXTENSION = timedelta(hours=2)  # well inside the second escalation (1 working day overdue)
GROUP_GAP = timedelta(minutes=5)
REPORT_RETURN_REASON = "Temuan belum memuat rekomendasi yang dapat ditindaklanjuti."
T = TypeVar("T")


class DriveError(RuntimeError):
    pass


@dataclass
class DinasRun:
    plan: DinasPlan
    tenant_id: str = ""
    people: dict[str, Person] = field(default_factory=dict)  # role -> person
    staff: dict[str, Person] = field(default_factory=dict)  # Bidang name -> bidang_staff
    bidang_ids: dict[str, str] = field(default_factory=dict)  # Bidang name -> id
    cycle_id: str = ""
    late_done: set[int] = field(default_factory=set)
    files: int = 0
    bytes: int = 0
    report_ids: list[str] = field(default_factory=list)

    def person(self, role: str) -> Person:
        return self.people[role]


@dataclass
class CityRun:
    plan: CityPlan
    endpoints: Endpoints
    clock_path: Path
    out: IO[str]
    dinas: list[DinasRun] = field(default_factory=list)
    admin: Person | None = None
    city_people: dict[str, Person] = field(default_factory=dict)  # role -> person
    template_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    clock_jumps: int = 0

    @property
    def files(self) -> int:
        return sum(d.files for d in self.dinas)

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.dinas)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


# -- helpers ----------------------------------------------------------------------------------

def each(items: Iterable[T], action: Callable[[T], None]) -> None:
    """`action` on every item, WORKERS at a time; the first failure is raised."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(action, item) for item in items]:
            future.result()


def poll(check: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DriveError(f"{what}: not within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def demo_now(run: CityRun) -> datetime:
    return clock.real_now() + clock.demo_offset(run.clock_path)


def move_clock_to(run: CityRun, moment: datetime) -> None:
    if moment > demo_now(run):
        clock.set_to(run.clock_path, moment)
        run.clock_jumps += 1
        run.say(f"  jam demo maju ke {format_datetime(moment)}")


def _phase(run: CityRun, name: str, action: Callable[[], None]) -> None:
    started = time.monotonic()
    run.say(f"- {name} ...")
    action()
    run.timings[name] = run.timings.get(name, 0.0) + time.monotonic() - started


# -- 1. bootstrap -------------------------------------------------------------------------------

def bootstrap_admin(settings: Settings, plan: CityPlan) -> None:
    """The installation's first platform_admin, as `sakip admin create` makes it."""
    from services.intake.accounts import create_user
    from shared.db import make_engine, make_session_factory, transaction
    from shared.identity.roles import Role

    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            create_user(session, username=plan.platform_admin, full_name="Administrator Platform",
                        password=plan.password, email=None,
                        roles=[(Role.PLATFORM_ADMIN, None)], actor="system:sakip-admin-create")
    finally:
        engine.dispose()


# -- 2. accounts ------------------------------------------------------------------------------

def _account(run: CityRun, username: str, link: str) -> Person:
    activate(run.endpoints, link, run.plan.password, who=username)
    return Person.log_in(run.endpoints, username, run.plan.password)


def _admin(run: CityRun) -> Person:
    assert run.admin is not None
    return run.admin.twin()


def create_city_people(run: CityRun) -> None:
    run.admin = Person.log_in(run.endpoints, run.plan.platform_admin, run.plan.password)
    for role, username, name in (("bagian_organisasi", run.plan.bagian_organisasi,
                                  "Kepala Bagian Organisasi"),
                                 ("inspektur", run.plan.inspektur, "Inspektur Daerah")):
        created = run.admin.intake("POST", "/admin/city-users", expect=(201,), json={
            "username": username, "full_name": name, "email": None, "nip": None,
            "roles": [role]})
        run.city_people[role] = _account(run, username, created["activation"]["url"])


def create_dinas(run: CityRun, dinas: DinasRun) -> None:
    plan = dinas.plan
    admin = _admin(run)
    kepala_name = plan.username("kepala_dinas")
    created = admin.intake("POST", "/admin/tenants", expect=(201,), json={
        "slug": plan.slug, "name": plan.name,
        "kepala": {"username": kepala_name, "full_name": f"Kepala {plan.name}",
                   "email": None, "nip": None}})
    admin.close()
    dinas.tenant_id = created["tenant"]["id"]
    kepala = dinas.people["kepala_dinas"] = _account(run, kepala_name,
                                                     created["activation"]["url"])
    base = f"/admin/tenants/{dinas.tenant_id}"
    for bidang in plan.bidang:
        made = kepala.intake("POST", f"{base}/bidang", expect=(201,), json={"name": bidang.name})
        dinas.bidang_ids[bidang.name] = made["id"]

    def person(username: str, full_name: str, role: str, bidang_id: str | None) -> Person:
        made = kepala.intake("POST", f"{base}/users", expect=(201,), json={
            "username": username, "full_name": full_name, "role": role,
            "bidang_id": bidang_id, "credential": "link"})
        return _account(run, username, made["credential"]["url"])

    dinas.people["kasubbag_program"] = person(plan.username("kasubbag_program"),
                                              f"Kasubbag Program {plan.name}",
                                              "kasubbag_program", None)
    dinas.people["tim_evaluasi"] = person(plan.username("tim_evaluasi"),
                                          f"Ketua Tim Evaluasi {plan.name}", "tim_evaluasi", None)
    for bidang in plan.bidang:
        dinas.staff[bidang.name] = person(bidang.staff_username,
                                          f"Staf {bidang.name} {plan.name}", "bidang_staff",
                                          dinas.bidang_ids[bidang.name])


# -- 3. the cycle, steps 1-4 --------------------------------------------------------------------

def find_template(run: CityRun, dinas: DinasRun) -> str:
    code, version = SEED_TEMPLATE
    found = dinas.person("kepala_dinas").workflow(
        "GET", "/templates", params={"tenant_id": dinas.tenant_id})["templates"]
    for template in found:
        if template["code"] == code and template["version"] == version:
            return str(template["id"])
    raise DriveError(f"{dinas.plan.slug}: the seed SOP {code} v{version} is not offered: "
                     f"{[(t['code'], t['version']) for t in found]}")


def open_cycle(run: CityRun, dinas: DinasRun) -> None:
    kepala = dinas.person("kepala_dinas")
    opened = kepala.workflow("POST", "/cycles", expect=(201,), json={
        "tenant_id": dinas.tenant_id, "year": run.plan.year,
        "template_id": run.template_id or find_template(run, dinas)})
    dinas.cycle_id = opened["id"]


def cycle_of(dinas: DinasRun, role: str = "kepala_dinas") -> dict[str, Any]:
    answer: dict[str, Any] = dinas.person(role).workflow("GET", f"/cycles/{dinas.cycle_id}")
    return answer


def step_of(cycle: dict[str, Any], number: int) -> dict[str, Any]:
    return next(s for s in cycle["steps"] if s["number"] == number)


def active_step(dinas: DinasRun) -> int | None:
    number = cycle_of(dinas).get("active_step")
    return int(number) if number is not None else None


def _complete(dinas: DinasRun, number: int, role: str, note: str | None = None) -> None:
    """Complete the step once its guard holds (the workflow may still be applying intake's
    events: a cycle document uploaded a moment ago)."""
    poll(lambda: not step_of(cycle_of(dinas, role), number)["missing"],
         f"{dinas.plan.slug}: step {number}'s guard")
    dinas.person(role).workflow("POST", f"/cycles/{dinas.cycle_id}/steps/{number}/complete",
                                json={"note": note})


def _cycle_document(run: CityRun, dinas: DinasRun, kind: str, role: str, title: str) -> None:
    body, content_type, _ext = document_file("pdf", f"{title} {dinas.plan.name} "
                                                    f"{run.plan.year}", 80 * 1024)
    dinas.person(role).intake(
        "POST", f"/cycles/{dinas.cycle_id}/documents/{kind}", expect=(201,),
        files={"file": (f"{kind.lower()}-{run.plan.year}.pdf", body, content_type)})
    dinas.files += 1
    dinas.bytes += len(body)


def do_step(run: CityRun, dinas: DinasRun, number: int) -> None:
    if number == 1:
        _complete(dinas, 1, "kepala_dinas", "Rencana implementasi SAKIP ditetapkan.")
    elif number == 2:
        _cycle_document(run, dinas, "SK_TIM_EVALUASI", "kepala_dinas",
                        "SK Tim Evaluasi Internal SAKIP")
        _complete(dinas, 2, "kepala_dinas")
    elif number == 3:
        tim = dinas.person("tim_evaluasi")
        tim.workflow("PUT", f"/cycles/{dinas.cycle_id}/document-list", json={"owed": {
            dinas.bidang_ids[b.name]: [d.document_type for d in b.documents]
            for b in dinas.plan.bidang}})
        _cycle_document(run, dinas, "PEDOMAN_EVALUASI", "tim_evaluasi",
                        "Pedoman Evaluasi Data Kinerja")
        _complete(dinas, 3, "tim_evaluasi")
    elif number == 4:
        tim = dinas.person("tim_evaluasi")
        tim.workflow("POST", f"/cycles/{dinas.cycle_id}/notice", expect=(200, 201), json={
            "message": "Mohon unggah soft copy dokumen SAKIP melalui portal."})
        _complete(dinas, 4, "tim_evaluasi")
    else:
        raise DriveError(f"step {number} is not one of steps 1-4")


def steps_until_late(run: CityRun, dinas: DinasRun) -> None:
    """Do steps 1-4 in order until one the dinas lets run late (not yet overdue) or step 5."""
    while True:
        number = active_step(dinas)
        if number is None or number >= 5:
            return
        if number in dinas.plan.late_steps and number not in dinas.late_done:
            return
        do_step(run, dinas, number)


def wait_overdue(dinas: DinasRun, number: int) -> None:
    """Until the scheduler has marked the step overdue (and escalated it)."""
    poll(lambda: step_of(cycle_of(dinas), number)["overdue_since"] is not None,
         f"{dinas.plan.slug}: step {number} marked overdue")


def first_four_steps(run: CityRun) -> None:
    while True:
        each([d for d in run.dinas], lambda d: steps_until_late(run, d))
        waiting: list[tuple[datetime, DinasRun, int]] = []
        for dinas in run.dinas:
            cycle = cycle_of(dinas)
            number = cycle.get("active_step")
            if number is not None and number < 5:
                waiting.append((_instant(step_of(cycle, number)["due_at"]), dinas, number))
        if not waiting:
            return
        due = min(w[0] for w in waiting)
        move_clock_to(run, due + PAST_DEADLINE)
        late = [(d, n) for at, d, n in waiting if at <= due]

        def overdue(entry: tuple[DinasRun, int]) -> None:
            dinas, number = entry
            wait_overdue(dinas, number)
            dinas.late_done.add(number)

        each(late, overdue)


# -- 4. step 5 ----------------------------------------------------------------------------------

def _title(run: CityRun, dinas: DinasRun, bidang: CityBidang, code: str) -> str:
    return f"{code} {bidang.name} {dinas.plan.name} {run.plan.year}"


def _package(dinas: DinasRun, bidang: CityBidang) -> dict[str, Any]:
    staff = dinas.staff[bidang.name]
    listed = staff.intake("GET", f"/cycles/{dinas.cycle_id}/packages")["packages"]
    if len(listed) != 1:
        raise DriveError(f"{bidang.staff_username} sees {len(listed)} packages")
    package: dict[str, Any] = listed[0]
    return package


def _upload(run: CityRun, dinas: DinasRun, bidang: CityBidang, item_id: str, code: str,
            version: int) -> None:
    document = next(d for d in bidang.documents if d.document_type == code)
    title = _title(run, dinas, bidang, code)
    body, content_type, ext = document_file(document.kind, f"{title} versi {version}",
                                            document.size_bytes)
    dinas.staff[bidang.name].intake(
        "POST", f"/items/{item_id}/versions", expect=(201,),
        data={"title": title, "year": str(run.plan.year), "document_type": code},
        files={"file": (f"{code.lower()}-{run.plan.year}-v{version}.{ext}", body,
                        content_type)})
    dinas.files += 1
    dinas.bytes += len(body)


def _submit(dinas: DinasRun, bidang: CityBidang, package_id: str) -> None:
    dinas.staff[bidang.name].intake("POST", f"/packages/{package_id}/submit")


def _review(dinas: DinasRun, item_id: str, decision: str, reason: str | None = None) -> None:
    dinas.person("kasubbag_program").intake("POST", f"/items/{item_id}/review", json={
        "decision": decision, "reason": reason})


def hand_in(run: CityRun, dinas: DinasRun, bidang: CityBidang) -> None:
    """One Bidang's package per its fates (not for a Bidang under an extension: see
    `hand_in_extended`)."""
    package = _package(dinas, bidang)
    items = {i["document_type"]: i["id"] for i in package["items"]}
    fates = {d.document_type: d.fate for d in bidang.documents}
    if bidang.missing:  # a draft of the first document, never handed in
        first = bidang.documents[0].document_type
        _upload(run, dinas, bidang, items[first], first, 1)
        return
    for code in fates:
        _upload(run, dinas, bidang, items[code], code, 1)
    _submit(dinas, bidang, package["id"])
    for code, fate in fates.items():
        if fate is Fate.ON_TIME:
            _review(dinas, items[code], "accept")
    replaced = [c for c, f in fates.items() if f is Fate.RESUBMITTED]
    for code in replaced:
        _review(dinas, items[code], "return", REPLACE_REASON)
    for code in replaced:
        _upload(run, dinas, bidang, items[code], code, 2)
    if replaced:
        _submit(dinas, bidang, package["id"])
        for code in replaced:
            _review(dinas, items[code], "accept")
    for code, fate in fates.items():
        if fate is Fate.RETURNED:
            _review(dinas, items[code], "return", RETURN_REASON)


def grant_extensions(run: CityRun, dinas: DinasRun) -> None:
    due = _instant(step_of(cycle_of(dinas), 5)["due_at"])
    for bidang in dinas.plan.bidang:
        if bidang.extension_reason is not None:
            dinas.person("kepala_dinas").workflow(
                "POST", f"/cycles/{dinas.cycle_id}/extensions", expect=(200, 201), json={
                    "bidang_id": dinas.bidang_ids[bidang.name],
                    "due_at": (due + EXTENSION).isoformat(),
                    "reason": bidang.extension_reason})


def collection_on_time(run: CityRun, dinas: DinasRun) -> None:
    """Step 5 before its deadline: every Bidang but those under an extension."""
    for bidang in dinas.plan.bidang:
        if bidang.extension_reason is None:
            hand_in(run, dinas, bidang)
    grant_extensions(run, dinas)
    if _needs_deadline(dinas):
        return
    wait_step_six(dinas)
    step_six(run, dinas)


def _needs_deadline(dinas: DinasRun) -> bool:
    return (not dinas.plan.complete_by_itself
            or any(b.extension_reason for b in dinas.plan.bidang))


def wait_step_six(dinas: DinasRun) -> None:
    poll(lambda: (active_step(dinas) or 0) >= 6, f"{dinas.plan.slug}: step 6 active")


def _expected_outstanding(bidang: CityBidang) -> list[str]:
    return sorted(d.document_type for d in bidang.documents
                  if d.fate in (Fate.MISSING, Fate.RETURNED))


def close_collection(dinas: DinasRun) -> None:
    """Once the workflow shows what every Bidang still owes, the kasubbag_program closes."""
    kasubbag = dinas.person("kasubbag_program")
    expected = {dinas.bidang_ids[b.name]: _expected_outstanding(b) for b in dinas.plan.bidang}

    def settled() -> bool:
        collection = kasubbag.workflow("GET", f"/cycles/{dinas.cycle_id}/collection")
        seen = {b["bidang_id"]: sorted(b["outstanding"]) for b in collection["bidang"]}
        return seen == expected

    poll(settled, f"{dinas.plan.slug}: the workflow's view of the collection")
    kasubbag.workflow("POST", f"/cycles/{dinas.cycle_id}/collection/close", expect=(200, 201),
                      json={"reason": CLOSE_REASON})


def deadline_groups(run: CityRun) -> list[list[DinasRun]]:
    """The dinas whose collection runs past step 5's deadline, grouped by that deadline: a
    deadline within GROUP_GAP of the group's latest joins it (dinas that moved together have
    deadlines seconds apart), so a group's jump past its extensions stays before every later
    group's extensions end."""
    dues: list[tuple[datetime, DinasRun]] = sorted(
        ((_instant(step_of(cycle_of(d), 5)["due_at"]), d) for d in run.dinas
         if _needs_deadline(d)), key=lambda entry: entry[0])
    groups: list[list[DinasRun]] = []
    latest: datetime | None = None
    for due, dinas in dues:
        if latest is None or due - latest > GROUP_GAP:
            groups.append([])
        groups[-1].append(dinas)
        latest = due
    return groups


def after_deadline(run: CityRun) -> None:
    """In the order of step 5's deadlines: past a group's deadline (the scheduler marks step 5
    overdue), the Bidang under an extension hand in; past their extensions, the collections
    that do not complete by themselves are closed; then step 6."""
    for group in deadline_groups(run):
        dues = {d.plan.slug: _instant(step_of(cycle_of(d), 5)["due_at"]) for d in group}
        move_clock_to(run, max(dues.values()) + PAST_DEADLINE)
        if min(dues.values()) + EXTENSION <= demo_now(run):
            raise DriveError(f"deadlines too far apart to hand in under extensions: {dues}")
        each(group, lambda d: wait_overdue(d, 5))
        each(group, lambda d: hand_in_extended(run, d))
        extended = [dues[d.plan.slug] + EXTENSION for d in group
                    if not d.plan.complete_by_itself
                    and any(b.extension_reason for b in d.plan.bidang)]
        if extended:
            move_clock_to(run, max(extended) + PAST_DEADLINE)

        def finish(dinas: DinasRun) -> None:
            if not dinas.plan.complete_by_itself:
                close_collection(dinas)
            wait_step_six(dinas)
            step_six(run, dinas)

        each(group, finish)


def hand_in_extended(run: CityRun, dinas: DinasRun) -> None:
    for bidang in dinas.plan.bidang:
        if bidang.extension_reason is not None:
            hand_in(run, dinas, bidang)


# -- 5. step 6 ----------------------------------------------------------------------------------

_rubric_cache: dict[str, Any] = {}


def _answers(run: CityRun, dinas: DinasRun) -> dict[str, dict[str, str]]:
    """Seeded answers within the rubric's scales that break none of its consistency rules
    (full marks when a draw does)."""
    from shared.reporting.rubric import answer_problems, rubric_from_dict

    tim = dinas.person("tim_evaluasi")
    if "definition" not in _rubric_cache:
        rubrics = tim.reporting("GET", "/rubrics")
        default = max((r for r in rubrics if r["code"] == "permenpanrb-12-2015"),
                      key=lambda r: r["version"])
        detail = tim.reporting("GET", f"/rubrics/{default['id']}")
        _rubric_cache["definition"] = rubric_from_dict(detail["definition"])
    definition = _rubric_cache["definition"]
    rng = random.Random(f"{run.plan.seed}:{dinas.plan.slug}")  # noqa: S311 - repeatable
    scales = {c.code: definition.scales[c.scale] for c in definition.criteria()}
    best = {code: max(scale, key=lambda a: scale[a]) for code, scale in scales.items()}
    for _ in range(20):
        drawn = {code: (best[code] if rng.random() < 0.6 else rng.choice(sorted(scale)))
                 for code, scale in scales.items()}
        if not answer_problems(definition, drawn):
            return {code: {"answer": answer} for code, answer in drawn.items()}
    return {code: {"answer": answer} for code, answer in best.items()}


def _finalise(run: CityRun, dinas: DinasRun, findings: str) -> None:
    tim = dinas.person("tim_evaluasi")
    path = f"/cycles/{dinas.cycle_id}/evaluation"
    tim.reporting("PUT", path, json={
        "answers": _answers(run, dinas), "findings": findings,
        "recommendations": "Perkuat pemantauan capaian kinerja setiap triwulan."})
    tim.reporting("POST", f"{path}/finalise")


def _report(dinas: DinasRun) -> str:
    tim = dinas.person("tim_evaluasi")
    requested = tim.reporting("POST", f"/cycles/{dinas.cycle_id}/reports", expect=(202,))
    report_id = str(requested["id"])

    def built() -> bool:
        state = tim.reporting("GET", f"/reports/{report_id}")["state"]
        if state == "failed":
            raise DriveError(f"{dinas.plan.slug}: report {report_id} failed")
        return bool(state == "ready")

    poll(built, f"{dinas.plan.slug}: report {report_id} built", timeout=600)
    dinas.report_ids.append(report_id)
    return report_id


def step_six(run: CityRun, dinas: DinasRun) -> None:
    kepala = dinas.person("kepala_dinas")
    _finalise(run, dinas, "Sebagian Bidang belum melengkapi dokumen kinerja tepat waktu.")
    report_id = _report(dinas)
    if dinas.plan.report_returned_first:
        kepala.reporting("POST", f"/reports/{report_id}/return",
                         json={"reason": REPORT_RETURN_REASON})
        _finalise(run, dinas, "Sebagian Bidang belum melengkapi dokumen kinerja tepat waktu; "
                              "rekomendasi dipertajam sesuai arahan Kepala Dinas.")
        report_id = _report(dinas)
    kepala.reporting("POST", f"/reports/{report_id}/approve")
    poll(lambda: cycle_of(dinas)["state"] == "completed", f"{dinas.plan.slug}: cycle completed")
    for role in ("bagian_organisasi", "inspektur"):
        reader = run.city_people[role].twin()
        try:
            reader.reporting("POST", f"/reports/{report_id}/acknowledge", expect=(201,))
        finally:
            reader.close()


# -- the whole play -----------------------------------------------------------------------------

def drive_city(run: CityRun, settings: Settings) -> None:
    run.dinas = [DinasRun(plan=d) for d in run.plan.dinas]
    _phase(run, "bootstrap", lambda: bootstrap_admin(settings, run.plan))

    def accounts() -> None:
        create_city_people(run)
        each(run.dinas, lambda d: create_dinas(run, d))

    _phase(run, "accounts", accounts)

    def open_all() -> None:
        run.template_id = find_template(run, run.dinas[0])
        each(run.dinas, lambda d: open_cycle(run, d))
        first_four_steps(run)

    _phase(run, "steps 1-4", open_all)
    _phase(run, "step 5 on time + step 6",
           lambda: each(run.dinas, lambda d: collection_on_time(run, d)))
    _phase(run, "step 5 after deadline + step 6", lambda: after_deadline(run))
    incomplete = [d.plan.slug for d in run.dinas if cycle_of(d)["state"] != "completed"]
    if incomplete:
        raise DriveError(f"cycles not completed: {incomplete}")
