"""Report build benchmark (issue 5): real Celery workers (prefork, one process each) on the bench
stack's own Redis, SeaweedFS and a fresh PostgreSQL database.

Seeds DINAS dinas whose cycles were collected through the real intake and workflow functions
(12 Bidang x 11 document types, ~130 accepted soft copies each, a few late, returned or missing)
with a full, finalised LKE, plus enough dinas without collected cycles for a city recap of 60.
Then measures, with reports requested the way the API requests them (row + event committed, the
task sent after commit):
- the cycle report's build time, median of RUNS (the artifacts are deleted before each run, so
  every run really renders; the worker's own `build_seconds` and request-to-ready time);
- the city recap of 60 dinas, the same way;
- a batch of 20 cycle reports of 20 distinct cycles on one worker and on two: wall time from the
  requests to the last READY, median of RUNS, and the speed-up.

    python -m bench.reports [--runs 5] [--dinas 20]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.stack import BenchStack, bench_stack
from sakip.seeding import BidangPlan, Fate, late_tolerant_template, seed_collected_cycle
from services.intake.accounts import create_bidang, create_tenant, create_user
from services.reporting.evaluations import finalise, save_draft
from services.reporting.reports import request_city_recap, request_cycle_report
from services.reporting.rubrics import DEFAULT_RUBRIC, ensure_bundled_rubrics, latest_rubric
from services.workflow.cycles import get_cycle, publish_template
from shared.cycles.models import SopTemplate
from shared.db import transaction
from shared.identity.loading import principal_for
from shared.identity.models import Tenant
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.reporting.models import Report, ReportState
from shared.reporting.rubric import rubric_from_dict
from shared.sop.template import template_from_document
from shared.storage import ObjectStore
from tests.reporting_worker import running_worker

YEAR = 2026
OPENED_AT = datetime(2026, 4, 6, 1, 10, tzinfo=UTC)  # Monday 6 April 2026, 08.10 WIB
BIDANG = 12
EXTRA_DOCUMENT = {"code": "RKT", "label": "Rencana Kinerja Tahunan (RKT)"}  # the 11th type
RECAP_DINAS = 60
BATCH = 20
PASSWORD = "bench-password-2026"


def _plan(codes: list[str], n: int) -> BidangPlan:
    """Mostly on time; Bidang n's (n-1)th document late, every 4th Bidang one returned, the last
    Bidang's package never handed in."""
    if n == BIDANG - 1:
        return BidangPlan({code: Fate.MISSING for code in codes})
    fates = {code: Fate.ON_TIME for code in codes}
    fates[codes[n % len(codes)]] = Fate.LATE
    if n % 4 == 0:
        fates[codes[(n + 3) % len(codes)]] = Fate.RETURNED
    return BidangPlan(fates)


def _people(session: Session, tenant: Tenant,
            slug: str) -> tuple[dict[str, Principal], dict[uuid.UUID, Principal]]:
    """The dinas's kepala_dinas, tim_evaluasi and kasubbag_program, and one staff per Bidang."""
    tenant_id = tenant.id
    people, staff = {}, {}
    for key, role in (("kepala", Role.KEPALA_DINAS), ("tim", Role.TIM_EVALUASI),
                      ("kasubbag", Role.KASUBBAG_PROGRAM)):
        user = create_user(session, username=f"{slug}.{key}", full_name=f"{slug} {key}",
                           password=PASSWORD, roles=[(role, tenant_id)], tenant_id=tenant_id)
        people[key] = principal_for(user)
    for n in range(BIDANG):
        bidang = create_bidang(session, tenant=tenant, name=f"Bidang {n + 1:02d}")
        user = create_user(session, username=f"{slug}.staf{n}", full_name=f"{slug} staf {n}",
                           password=PASSWORD, roles=[(Role.BIDANG_STAFF, tenant_id)],
                           tenant_id=tenant_id, bidang_id=bidang.id)
        staff[bidang.id] = principal_for(user)
    return people, staff


def _template_with_eleven_types(session: Session, tenant_id: uuid.UUID) -> SopTemplate:
    base = late_tolerant_template(session, tenant_id)
    raw = copy.deepcopy(base.definition)
    raw["code"] = f"{raw['code']}-11"
    raw["document_types"].append(EXTRA_DOCUMENT)
    return publish_template(session, template_from_document(raw, source="bench"),
                            tenant_id=tenant_id)


def _full_lke(session: Session, cycle_id: uuid.UUID, tim: Principal) -> None:
    """Every criterion answered with full marks, except every third criterion a consistency
    rule bounds (a quality answer), which gets the lowest: a varied score no rule refuses."""
    rubric = latest_rubric(session, DEFAULT_RUBRIC)
    assert rubric is not None
    definition = rubric_from_dict(rubric.definition)
    bounded = sorted({rule.criterion for rule in definition.rules})[::3]
    answers = {}
    for criterion in definition.criteria():
        ranked = sorted(definition.scales[criterion.scale].items(), key=lambda kv: -kv[1])
        answer = ranked[-1][0] if criterion.code in bounded else ranked[0][0]
        answers[criterion.code] = {"answer": answer,
                                   "note": f"Catatan kriteria {criterion.code}."}
    cycle = get_cycle(session, cycle_id)
    at = OPENED_AT + timedelta(days=30)
    save_draft(session, cycle, principal=tim, at=at, change={
        "rubric_id": rubric.id, "answers": answers,
        "findings": "Indikator outcome Renstra belum seluruhnya terukur.",
        "recommendations": "Lengkapi IKU dan pengukuran kinerja setiap Bidang."})
    finalise(session, cycle, principal=tim, at=at)


def seed(stack: BenchStack, store: ObjectStore, dinas: int) -> list[tuple[uuid.UUID, Principal]]:
    """The collected cycles (with who may request their report), and the city's recap reader."""
    factory = stack.session_factory()
    cycles = []
    with transaction(factory) as session:
        ensure_bundled_rubrics(session)
    for d in range(RECAP_DINAS):
        slug = f"dinas-{d + 1:02d}"
        with transaction(factory) as session:
            tenant = create_tenant(session, slug=slug, name=f"Dinas Bench {d + 1:02d}")
            if d >= dinas:
                continue  # in the recap with no cycle
            people, staff = _people(session, tenant, slug)
            template = _template_with_eleven_types(session, tenant.id)
            codes = [t["code"] for t in template.definition["document_types"]]
            plan = {b: _plan(codes, n) for n, b in enumerate(staff)}
            played = seed_collected_cycle(
                session, store, tenant_id=tenant.id, year=YEAR, at=OPENED_AT, plan=plan,
                kepala=people["kepala"], tim=people["tim"], kasubbag=people["kasubbag"],
                staff_of=staff, template=template)
            _full_lke(session, played.cycle.id, people["tim"])
            cycles.append((played.cycle.id, people["tim"]))
        print(f"  seeded {slug}", flush=True)
    return cycles


def _city_reader(factory: sessionmaker[Session]) -> Principal:
    with transaction(factory) as session:
        user = create_user(session, username="kota.organisasi", full_name="Bagian Organisasi",
                           password=PASSWORD, roles=[(Role.BAGIAN_ORGANISASI, None)])
        return principal_for(user)


def _request(stack: BenchStack, factory: sessionmaker[Session],
             targets: list[tuple[uuid.UUID | None, Principal]]) -> list[uuid.UUID]:
    ids = []
    with transaction(factory) as session:
        for cycle_id, principal in targets:
            if cycle_id is None:
                report = request_city_recap(session, year=YEAR, principal=principal,
                                            at=datetime.now(UTC), settings=stack.settings)
            else:
                report = request_cycle_report(session, get_cycle(session, cycle_id),
                                              principal=principal, at=datetime.now(UTC),
                                              settings=stack.settings)
            ids.append(report.id)
    return ids


def _wait_ready(factory: sessionmaker[Session], ids: list[uuid.UUID]) -> list[Report]:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with factory() as session:
            reports = list(session.scalars(select(Report).where(Report.id.in_(ids))))
            session.expunge_all()
        states = {r.state for r in reports}
        if ReportState.FAILED.value in states:
            raise RuntimeError(f"a build failed: {[r.error for r in reports if r.error]}")
        if states == {ReportState.READY.value}:
            return reports
        time.sleep(0.02)
    raise RuntimeError("builds did not finish within 10 minutes")


def _forget_artifacts(store: ObjectStore, reports: list[Report]) -> None:
    """Delete the artifacts so the next run renders again instead of reusing them."""
    for report in reports:
        for key in (report.pdf_key, report.xlsx_key):
            if key:
                store.delete(key, missing_ok=True)


def _timed(stack: BenchStack, factory: sessionmaker[Session], store: ObjectStore,
           targets: list[tuple[uuid.UUID | None, Principal]]) -> tuple[float, list[Report]]:
    started = time.perf_counter()
    reports = _wait_ready(factory, _request(stack, factory, targets))
    elapsed = time.perf_counter() - started
    _forget_artifacts(store, reports)
    return elapsed, reports


@contextmanager
def workers(stack: BenchStack, count: int) -> Iterator[None]:
    with ExitStack() as stack_of_workers:
        for n in range(count):
            stack_of_workers.enter_context(running_worker(
                stack.settings, stack.workdir, name=f"bench{n}", lease_seconds=30))
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dinas", type=int, default=BATCH)
    args = parser.parse_args()
    with bench_stack(LOG_LEVEL="WARNING") as stack:
        store = ObjectStore.from_settings(stack.settings)
        factory = stack.session_factory()
        t0 = time.perf_counter()
        print(f"seeding {args.dinas} collected dinas ({BIDANG} Bidang x 11 document types) "
              f"and {RECAP_DINAS - args.dinas} more for the recap ...", flush=True)
        cycles: list[tuple[uuid.UUID | None, Principal]] = list(seed(stack, store, args.dinas))
        reader = _city_reader(factory)
        print(f"seeded in {time.perf_counter() - t0:.0f} s", flush=True)

        with workers(stack, 1):
            _timed(stack, factory, store, cycles[:1])  # warm-up: imports, first connections
            single = [_timed(stack, factory, store, cycles[:1]) for _ in range(args.runs)]
            recap = [_timed(stack, factory, store, [(None, reader)]) for _ in range(args.runs)]
            one = [_timed(stack, factory, store, cycles[:BATCH])[0] for _ in range(args.runs)]
        with workers(stack, 2):
            _timed(stack, factory, store, cycles[:2])  # warm-up of both workers
            two = [_timed(stack, factory, store, cycles[:BATCH])[0] for _ in range(args.runs)]

    def med(values: list[float]) -> float:
        return statistics.median(values)

    build = med([r[1][0].build_seconds or 0.0 for r in single])
    recap_build = med([r[1][0].build_seconds or 0.0 for r in recap])
    print()
    print(f"machine: {platform.node()} ({platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores), {datetime.now(UTC):%Y-%m-%d}")
    print(f"cycle report, {BIDANG} Bidang x 11 types, full LKE: build {build:.2f} s, "
          f"request-to-ready {med([r[0] for r in single]):.2f} s (median of {args.runs}; "
          f"target < 3 s)")
    print(f"city recap, {RECAP_DINAS} dinas: build {recap_build:.2f} s, request-to-ready "
          f"{med([r[0] for r in recap]):.2f} s")
    print(f"batch of {BATCH} cycle reports: 1 worker {med(one):.2f} s, 2 workers "
          f"{med(two):.2f} s, speed-up {med(one) / med(two):.2f}x (target >= 1.7x)")
    print(f"  runs, 1 worker: {', '.join(f'{v:.2f}' for v in one)}")
    print(f"  runs, 2 workers: {', '.join(f'{v:.2f}' for v in two)}")


if __name__ == "__main__":
    main()
