"""One deadline scheduler pass over 100,000 active steps of 500 tenants.

    .venv/bin/python -m bench.scheduler [--tenants 500] [--steps 100000] [--due 1000] [--runs 5]
                                        [--batch-size 500]

A fresh PostgreSQL database on TEST_DATABASE_URL's server (created, migrated, dropped even on
failure) holds 500 dinas, each with two Bidang, one user per tenant role and 4 cycles of a
50-step bench template (the shipped SOP's steps repeated, so every cycle has a collection step 5
whose Bidang owe IKU and Renja): 100,000 active steps, half of them already overdue and escalated
(alert_stage 3, no next action), the other half due later. Rows are bulk-loaded with COPY.

Each measured run re-arms 1,000 random steps (a third each due for a reminder, the overdue mark
and the second escalation), vacuums, then times one `run_pass` that finds and does those 1,000
actions (notifications, audit rows, outbox events); the rows are then put back. The empty pass is
timed with nothing due. A first, unmeasured run warms the connection pool and the template cache.
Medians of the runs are printed against the targets (1 s and 50 ms), with the client's CPU time
of each run (the machine may be shared: wall time includes waiting for it) and EXPLAIN (ANALYZE,
BUFFERS) of the due query in both states.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, make_url, text

from services.workflow.cycles import publish_template
from services.workflow.scheduler import BATCH_SIZE, due_steps, run_pass
from shared.cycles.models import AlertStage
from shared.db import make_engine, make_session_factory, migrate, transaction
from shared.identity.roles import Role
from shared.sop.template import load_shipped_template, template_from_document

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AT = datetime(2026, 6, 2, 3, 0, tzinfo=UTC)  # Tuesday 2 June 2026, 10.00 WIB
STEPS_PER_CYCLE = 50
TARGET_DUE_SECONDS = 1.0
TARGET_EMPTY_SECONDS = 0.050
TENANT_USERS = (("kasubbag", Role.KASUBBAG_PROGRAM, None), ("tim", Role.TIM_EVALUASI, None),
                ("kepala", Role.KEPALA_DINAS, None), ("staf1", Role.BIDANG_STAFF, 0),
                ("staf2", Role.BIDANG_STAFF, 1))
STEP_COLUMNS = ("id", "cycle_id", "tenant_id", "number", "state", "started_at", "due_soon_at",
                "due_at", "escalate_again_at", "next_action_at", "alert_stage", "overdue_since")
PLAN_COLUMNS = ("due_soon_at", "due_at", "escalate_again_at", "next_action_at", "alert_stage",
                "overdue_since")


@contextmanager
def fresh_database() -> Iterator[str]:
    base = make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE))
    name = f"sakip_bench_scheduler_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = base.set(database=name).render_as_string(hide_password=False)
            migrate.upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def bench_template() -> Any:
    """The shipped SOP's steps repeated up to 50 (step 5 stays the collection)."""
    raw = dict(load_shipped_template("pengumpulan-data-kinerja", 1).raw)
    shipped = raw["steps"]
    raw.update(code="bench-scheduler", version=1, name="Bench 50 langkah",
               steps=[{**shipped[(n - 1) % len(shipped)], "number": n}
                      for n in range(1, STEPS_PER_CYCLE + 1)])
    return template_from_document(raw, source="bench")


def copy_rows(engine: Engine, table: str, columns: tuple[str, ...],
              rows: list[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def seed(engine: Engine, *, tenants: int, steps: int,
         rng: random.Random) -> dict[uuid.UUID, tuple[Any, ...]]:
    """Load the city; return every not-yet-escalated step's plan by id (to re-arm and restore)."""
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        template_id = publish_template(session, bench_template()).id
    cycles_per_tenant = max(1, steps // (tenants * STEPS_PER_CYCLE))
    created = AT - timedelta(days=60)
    tenant_rows: list[tuple[Any, ...]] = []
    bidang_rows: list[tuple[Any, ...]] = []
    user_rows: list[tuple[Any, ...]] = []
    grant_rows: list[tuple[Any, ...]] = []
    cycle_rows: list[tuple[Any, ...]] = []
    step_rows: list[tuple[Any, ...]] = []
    requirement_rows: list[tuple[Any, ...]] = []
    future: dict[uuid.UUID, tuple[Any, ...]] = {}
    inspektur = uuid.uuid4()
    user_rows.append((inspektur, "kota.inspektur", "Inspektur", "!", True, False, False, created))
    grant_rows.append((uuid.uuid4(), inspektur, Role.INSPEKTUR.value, None, created))
    index = 0
    for t in range(tenants):
        tenant_id = uuid.uuid4()
        tenant_rows.append((tenant_id, f"dinas-{t:04d}", f"Dinas Bench {t:04d}", True, created))
        bidang = [uuid.uuid4(), uuid.uuid4()]
        bidang_rows += [(b, tenant_id, f"Bidang {i + 1}", created) for i, b in enumerate(bidang)]
        for key, role, bidang_index in TENANT_USERS:
            user_id = uuid.uuid4()
            user_rows.append((user_id, f"dinas-{t:04d}.{key}", f"Dinas {t:04d} {key}", "!",
                              True, False, False, created, tenant_id,
                              None if bidang_index is None else bidang[bidang_index]))
            grant_rows.append((uuid.uuid4(), user_id, role.value, tenant_id, created))
        for c in range(cycles_per_tenant):
            cycle_id = uuid.uuid4()
            cycle_rows.append((cycle_id, tenant_id, 2026 - c, template_id, "active", created))
            requirement_rows += [(uuid.uuid4(), cycle_id, tenant_id, b, code)
                                 for b in bidang for code in ("IKU", "RENJA")]
            for number in range(1, STEPS_PER_CYCLE + 1):
                step_id = uuid.uuid4()
                started = AT - timedelta(days=10)
                if index % 2 == 0:  # overdue and escalated long ago: nothing left to do
                    plan: tuple[Any, ...] = (
                        AT - timedelta(days=5), AT - timedelta(days=3), AT - timedelta(days=2),
                        None, AlertStage.ESCALATED_AGAIN.value, AT - timedelta(days=3))
                else:  # reminders due in the coming weeks
                    remind = AT + timedelta(minutes=rng.randrange(60, 30 * 24 * 60))
                    plan = (remind, remind + timedelta(days=2), remind + timedelta(days=3),
                            remind, AlertStage.NONE.value, None)
                    future[step_id] = plan
                step_rows.append((step_id, cycle_id, tenant_id, number, "active", started,
                                  *plan))
                index += 1
    copy_rows(engine, "tenants", ("id", "slug", "name", "active", "created_at"), tenant_rows)
    copy_rows(engine, "bidang", ("id", "tenant_id", "name", "created_at"), bidang_rows)
    user_columns = ("id", "username", "full_name", "password_hash", "active",
                    "must_change_password", "is_demo", "created_at", "tenant_id", "bidang_id")
    copy_rows(engine, "users", user_columns,
              [(*row, None, None) if len(row) == 8 else row for row in user_rows])
    copy_rows(engine, "role_grants", ("id", "user_id", "role", "tenant_id", "created_at"),
              grant_rows)
    copy_rows(engine, "cycles", ("id", "tenant_id", "year", "template_id", "state",
                                 "opened_at"), cycle_rows)
    copy_rows(engine, "cycle_requirements", ("id", "cycle_id", "tenant_id", "bidang_id",
                                             "document_type"), requirement_rows)
    copy_rows(engine, "cycle_steps", STEP_COLUMNS, step_rows)
    vacuum(engine)
    return future


def vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) cycle_steps"))


def set_plans(engine: Engine, plans: dict[uuid.UUID, tuple[Any, ...]]) -> None:
    sets = ", ".join(f"{c} = :{c}" for c in PLAN_COLUMNS)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE cycle_steps SET {sets} WHERE id = :id"),  # noqa: S608 - own names
                     [dict(zip(PLAN_COLUMNS, plan, strict=True), id=step_id)
                      for step_id, plan in plans.items()])


def due_plans(ids: list[uuid.UUID], rng: random.Random) -> dict[uuid.UUID, tuple[Any, ...]]:
    """A third each due for the reminder, the overdue mark and the second escalation."""
    day = timedelta(days=1)
    plans: dict[uuid.UUID, tuple[Any, ...]] = {}
    for i, step_id in enumerate(ids):
        ago = AT - timedelta(minutes=rng.randrange(1, 600))
        if i % 3 == 0:
            plans[step_id] = (ago, AT + day, AT + 2 * day, ago, AlertStage.NONE.value, None)
        elif i % 3 == 1:
            plans[step_id] = (AT - 2 * day, ago, AT + day, ago, AlertStage.REMINDED.value, None)
        else:
            due = AT - 2 * day
            plans[step_id] = (AT - 3 * day, due, ago, ago, AlertStage.OVERDUE.value, due)
    return plans


def explain(engine: Engine, limit: int) -> str:
    compiled = due_steps(AT, limit=limit).compile(dialect=engine.dialect)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}",
                                    compiled.params).all()
    return "\n".join(f"    {row[0]}" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args()
    rng = random.Random(2026)  # noqa: S311 - reproducible data, not secrets
    with fresh_database() as url:
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            future = seed(engine, tenants=args.tenants, steps=args.steps, rng=rng)
            with engine.connect() as conn:
                active, escalated = conn.execute(text(
                    "SELECT count(*), count(*) FILTER (WHERE alert_stage = 3) FROM cycle_steps "
                    "WHERE state = 'active'")).one()
            print(f"seeded {args.tenants} tenants, {active} active steps ({escalated} overdue "
                  f"and escalated) in {time.perf_counter() - started:.1f} s")
            # The bench keeps the seeded plans in memory, a scheduler process does not: leave
            # them out of the garbage collector's work, which a pass would otherwise pay for.
            gc.collect()
            gc.freeze()
            factory = make_session_factory(engine)
            candidates = sorted(future)
            due_times: list[float] = []
            empty_times: list[float] = []
            plan_due = ""
            for run in range(args.runs + 1):  # run 0 warms caches and the pool, not counted
                chosen = rng.sample(candidates, args.due)
                set_plans(engine, due_plans(chosen, rng))
                vacuum(engine)
                if run == 1:
                    plan_due = explain(engine, args.batch_size)
                begin, cpu = time.perf_counter(), time.process_time()
                result = run_pass(factory, at=AT, batch_size=args.batch_size)
                elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu
                if result.total != args.due or result.failed_tenants:
                    raise SystemExit(f"run {run}: expected {args.due} actions, got {result}")
                set_plans(engine, {step_id: future[step_id] for step_id in chosen})
                vacuum(engine)
                begin = time.perf_counter()
                empty = run_pass(factory, at=AT, batch_size=args.batch_size)
                empty_elapsed = time.perf_counter() - begin
                if empty.total or empty.claimed:
                    raise SystemExit(f"run {run}: the empty pass did something: {empty}")
                if run:
                    due_times.append(elapsed)
                    empty_times.append(empty_elapsed)
                    print(f"run {run}: {dict(sorted(result.actions.items()))} in "
                          f"{elapsed * 1000:.0f} ms (client CPU {cpu * 1000:.0f} ms); "
                          f"empty pass {empty_elapsed * 1000:.1f} ms")
            plan_empty = explain(engine, args.batch_size)
        finally:
            engine.dispose()
    due_median, empty_median = statistics.median(due_times), statistics.median(empty_times)
    print(f"\npass with {args.due} due actions: median {due_median * 1000:.0f} ms "
          f"of {args.runs} runs = {due_median / TARGET_DUE_SECONDS:.2f} x the 1 s target")
    print(f"pass with nothing due: median {empty_median * 1000:.1f} ms "
          f"of {args.runs} runs = {empty_median / TARGET_EMPTY_SECONDS:.2f} x the 50 ms target")
    print(f"\nplan of the due query (LIMIT {args.batch_size}), {args.due} rows due:\n"
          f"{plan_due}")
    print(f"\nplan of the due query, nothing due:\n{plan_empty}")


if __name__ == "__main__":
    main()
