"""The deadline scheduler: reminders before a step's deadline, `step.overdue` at the deadline with
escalation, and a second escalation when the step stays overdue (DESIGN.md "Scheduler,
precisely").

`python -m services.workflow.scheduler` runs a pass every SCHEDULER_INTERVAL_SECONDS, then
e-mails the notification digests when SMTP is configured.

A pass is one query over all tenants, served by the partial index `ix_cycle_steps_due_work`
(`next_action_at WHERE state = 'active'`): the active steps whose next action is due, oldest
first, a batch at a time. The cost of a pass grows with what is due, not with what is open or
already escalated (those rows have a future or no `next_action_at`); an empty pass is that one
index probe.

Each row is claimed by a conditional UPDATE that also advances it (new `alert_stage`, next
`next_action_at`, `overdue_since`), matching only the values the pass saw: a second scheduler
blocks on the row lock, then matches nothing, so no action is ever done twice. On PostgreSQL
the conditional UPDATEs of a batch are one statement (`unnest` of the rows); the alerts'
notifications, audit rows and outbox events are written with the claims, one COPY per table.
Failures are isolated per tenant: the batch runs in a savepoint, and when one tenant's alerts
fail the savepoint rolls back and the others run again without it; the failing tenant then
runs alone in a savepoint of its own, whose claims and work roll back (retried next pass).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from prometheus_client import Counter as MetricCounter
from prometheus_client import Histogram
from sqlalchemy import CursorResult, Select, literal_column, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.workflow import alerts, deadlines
from services.workflow.cycles import SERVICE, actor_of
from services.workflow.mailer import Mailer
from services.workflow.notify import Roster, send_digests
from shared import audit
from shared.calendar import DEFAULT_TIME_ZONE
from shared.clock import now
from shared.cycles.events import STEP_DUE_SOON, STEP_ESCALATED, STEP_OVERDUE
from shared.cycles.models import AlertStage, Cycle, CycleStep, SopTemplate, TenantCalendar
from shared.cycles.templates import definition_of
from shared.db import make_engine, make_session_factory, transaction
from shared.events import new_event
from shared.events.outbox import outbox_values
from shared.identity.models import Tenant
from shared.identity.roles import Role
from shared.logging import correlation
from shared.metrics_workflow import expose_steps, step_alert_sent
from shared.process import start_process
from shared.sop.template import SopTemplateDefinition, TemplateError

log = logging.getLogger("services.workflow.scheduler")  # also when run as __main__

BATCH_SIZE = 500
ACTIONS = {
    AlertStage.REMINDED: STEP_DUE_SOON,
    AlertStage.OVERDUE: STEP_OVERDUE,
    AlertStage.ESCALATED_AGAIN: STEP_ESCALATED,
}
# The columns a pass reads of a due step: its plan, and the values its claim must still match.
DUE_COLUMNS = (CycleStep.id, CycleStep.cycle_id, CycleStep.tenant_id, CycleStep.number,
               CycleStep.started_at, CycleStep.due_at, CycleStep.due_soon_at,
               CycleStep.escalate_again_at, CycleStep.next_action_at, CycleStep.alert_stage,
               CycleStep.overdue_since)

PASS_SECONDS = Histogram("sakip_scheduler_pass_seconds", "Time of one deadline scheduler pass",
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
ACTIONS_TOTAL = MetricCounter("sakip_scheduler_actions_total",
                              "Deadline alerts done by the scheduler, by kind", ["kind"])
TENANT_FAILURES = MetricCounter("sakip_scheduler_tenant_failures_total",
                                "Tenants whose due actions failed in a pass (retried next pass)")
DIGESTS_SENT = MetricCounter("sakip_notification_digests_total",
                             "Notification e-mail digests sent")


@dataclass
class PassResult:
    """What one pass did: actions per kind (event type), rows claimed, rows another scheduler
    claimed first, rows whose stored next action was stale (advanced without an alert), and
    the tenants that failed (their rows are retried next pass)."""

    actions: Counter[str] = field(default_factory=Counter)
    claimed: int = 0
    lost: int = 0
    repaired: int = 0
    failed_tenants: set[uuid.UUID] = field(default_factory=set)
    stages: list[AlertStage] = field(default_factory=list)  # of the alerts done, for metrics

    @property
    def total(self) -> int:
        return sum(self.actions.values())

    def add(self, other: PassResult) -> None:
        self.actions.update(other.actions)
        self.claimed += other.claimed
        self.lost += other.lost
        self.repaired += other.repaired
        self.stages += other.stages


def due_steps(at: datetime, *, limit: int,
              skip_tenants: Iterable[uuid.UUID] = ()) -> Select:
    """The active steps whose next action is due at `at`, oldest first: a range scan of the
    partial index (the state is a literal, so the planner matches the index's predicate)."""
    query = (select(*DUE_COLUMNS)
             .where(CycleStep.state == literal_column("'active'"),
                    CycleStep.next_action_at <= at)
             .order_by(CycleStep.next_action_at)
             .limit(limit))
    skipped = sorted(set(skip_tenants))
    return query.where(CycleStep.tenant_id.not_in(skipped)) if skipped else query


def run_pass(factory: sessionmaker[Session], *, at: datetime,
             batch_size: int = BATCH_SIZE) -> PassResult:
    """Do every alert due at `at`, one batch (one transaction) at a time, until none is due."""
    result = PassResult()
    started = time.perf_counter()
    while True:
        failed_before = len(result.failed_tenants)
        done = PassResult()
        with transaction(factory) as session:
            rows = session.execute(due_steps(at, limit=batch_size,
                                             skip_tenants=result.failed_tenants)).all()
            if rows:
                _run_batch(session, [CycleStep(**row._asdict()) for row in rows], at=at,
                           result=done, failed=result.failed_tenants)
        result.add(done)
        # Rows lost to another scheduler were advanced by it: they are not selected again
        # unless due once more, so a batch of lost rows is progress too.
        progressed = done.claimed or done.lost or len(result.failed_tenants) > failed_before
        if len(rows) < batch_size or not progressed:
            break
    PASS_SECONDS.observe(time.perf_counter() - started)
    for kind, count in result.actions.items():
        ACTIONS_TOTAL.labels(kind=kind).inc(count)
    for stage in result.stages:
        step_alert_sent(stage=stage)
    return result


@dataclass(frozen=True)
class _Batch:
    """What the alerts of one batch share, loaded with one query each: cycles, their template
    definitions, dinas names, time zones, and who holds the roles involved on each tenant's
    local day."""

    at: datetime
    cycles: dict[uuid.UUID, Cycle]
    definitions: dict[uuid.UUID, SopTemplateDefinition]  # by template id
    dinas: dict[uuid.UUID, str]
    zones: dict[uuid.UUID, str]
    roster: Roster

    @classmethod
    def load(cls, session: Session, steps: Sequence[CycleStep], at: datetime) -> _Batch:
        tenants = {s.tenant_id for s in steps}
        cycles = {c.id: c for c in session.scalars(
            select(Cycle).where(Cycle.id.in_({s.cycle_id for s in steps})))}
        definitions = _definitions(session, {c.template_id for c in cycles.values()})
        dinas = dict(session.execute(select(Tenant.id, Tenant.name)
                                     .where(Tenant.id.in_(tenants))).all())
        zones = dict(session.execute(select(TenantCalendar.tenant_id, TenantCalendar.time_zone)
                                     .where(TenantCalendar.tenant_id.in_(tenants))).all())
        zones = {t: zones.get(t, DEFAULT_TIME_ZONE) for t in tenants}
        days = {at.astimezone(ZoneInfo(zone)).date() for zone in zones.values()}
        roles: set[Role] = set()
        for step in steps:
            cycle = cycles.get(step.cycle_id)
            definition = definitions.get(cycle.template_id) if cycle else None
            if definition is not None:  # else the step's tenant fails on its own, below
                roles |= alerts.roles_addressed(definition.step(step.number))
        roster = Roster.load(session, roles=roles, tenant_ids=tenants, first_day=min(days),
                             last_day=max(days))
        return cls(at=at, cycles=cycles, definitions=definitions, dinas=dinas, zones=zones,
                   roster=roster)

    def alert(self, step: CycleStep, writes: alerts.Writes) -> alerts.StepAlert:
        cycle = self.cycles[step.cycle_id]
        zone = self.zones[step.tenant_id]
        definition = self.definitions.get(cycle.template_id)
        if definition is None:
            raise TemplateError(f"cycle {cycle.id}: its SOP template cannot be read")
        return alerts.StepAlert(step=step, cycle=cycle, definition=definition,
                                dinas=self.dinas.get(step.tenant_id, ""), time_zone=zone,
                                day=self.at.astimezone(ZoneInfo(zone)).date(), at=self.at,
                                roster=self.roster, writes=writes)


def _definitions(session: Session,
                 template_ids: set[uuid.UUID]) -> dict[uuid.UUID, SopTemplateDefinition]:
    """The parsed templates (a template that does not parse is left out and logged)."""
    found: dict[uuid.UUID, SopTemplateDefinition] = {}
    for template in session.scalars(select(SopTemplate).where(SopTemplate.id.in_(template_ids))):
        try:
            found[template.id] = definition_of(template)
        except TemplateError:
            log.exception("SOP template %s v%s cannot be read", template.code, template.version)
    return found


class _TenantFailed(Exception):
    def __init__(self, tenant_id: uuid.UUID) -> None:
        super().__init__(f"tenant {tenant_id}")
        self.tenant_id = tenant_id


def _run_batch(session: Session, steps: Sequence[CycleStep], *, at: datetime,
               result: PassResult, failed: set[uuid.UUID]) -> None:
    """Claim and act on the batch's steps with failures isolated per tenant.

    All tenants go together first, inside one savepoint: one claiming statement and one write
    per table for the whole batch (round trips, more than rows, are what a pass costs). When a
    tenant's alerts fail, that savepoint rolls back and the others go together again; the
    failing tenant then goes alone in a savepoint of its own (as does every tenant when the
    claim or the writes themselves failed): its claims and work roll back and it is retried
    next pass, while the others commit."""
    batch = _Batch.load(session, steps, at)
    by_tenant: dict[uuid.UUID, list[CycleStep]] = {}
    for step in sorted(steps, key=lambda s: (str(s.tenant_id), str(s.id))):  # one lock order
        by_tenant.setdefault(step.tenant_id, []).append(step)
    alone: list[uuid.UUID] = []
    together = dict(by_tenant)
    while together:
        try:
            result.add(_act(session, batch, [s for group in together.values() for s in group]))
            break
        except _TenantFailed as failure:
            log.info("deadline alerts of tenant %s failed; it goes alone", failure.tenant_id)
            alone.append(failure.tenant_id)
            together.pop(failure.tenant_id)
        except SQLAlchemyError as exc:
            log.warning("claiming or writing the batch failed (%s); each tenant goes alone", exc)
            alone.extend(together)
            together = {}
    for tenant_id in alone:
        try:
            result.add(_act(session, batch, by_tenant[tenant_id]))
        except Exception:
            log.exception("deadline alerts of tenant %s failed; retried next pass", tenant_id)
            failed.add(tenant_id)
            TENANT_FAILURES.inc()


def _act(session: Session, batch: _Batch, steps: Sequence[CycleStep]) -> PassResult:
    """Claim the steps and do their alerts, inside a savepoint that rolls back all of it on any
    failure (a failure of one tenant's alerts raises _TenantFailed)."""
    done = PassResult()
    writes = alerts.Writes()
    with session.begin_nested():
        moves = [_advance(seen, batch.at) for seen in steps]
        claimed = _claim(session, moves)
        for move in moves:
            if move.step.id not in claimed:
                done.lost += 1
                continue
            done.claimed += 1
            try:
                _handle(session, batch, move, writes, done)
            except Exception as exc:
                raise _TenantFailed(move.step.tenant_id) from exc
        writes.insert(session)
    return done


@dataclass(frozen=True)
class _Move:
    """Where a due step goes once the alerts due now are done: the furthest stage due, its
    next action the one after (`step` stays as the pass saw it: what the claim must match)."""

    step: CycleStep
    stage: AlertStage
    next_action_at: datetime | None
    overdue_since: datetime | None


def _advance(step: CycleStep, at: datetime) -> _Move:
    stage = max(deadlines.stage_due(step, at), AlertStage(step.alert_stage))
    since = (step.overdue_since or step.due_at) if stage >= AlertStage.OVERDUE else None
    return _Move(step=step, stage=stage, next_action_at=deadlines.next_action_at(step, stage),
                 overdue_since=since)


def _handle(session: Session, batch: _Batch, move: _Move, writes: alerts.Writes,
            done: PassResult) -> None:
    """The alerts of one claimed step: a step found overdue is not reminded first, but is
    marked overdue before a second escalation."""
    seen = move.step
    current, target = AlertStage(seen.alert_stage), move.stage
    if target <= current:
        done.repaired += 1
        log.warning("step %s: stored next action %s was stale; now %s", seen.id,
                    seen.next_action_at, move.next_action_at)
        return
    alert = batch.alert(seen, writes)
    if target is AlertStage.REMINDED:
        _perform(session, alert, AlertStage.REMINDED, current, done)
        return
    if current < AlertStage.OVERDUE:
        _perform(session, alert, AlertStage.OVERDUE, current, done)
    if target is AlertStage.ESCALATED_AGAIN:
        _perform(session, alert, AlertStage.ESCALATED_AGAIN, AlertStage.OVERDUE, done)


# One conditional UPDATE per row, all rows in one statement (PostgreSQL): a row is claimed only
# while it is as the pass saw it (still active, same stage, same next action).
CLAIM_MANY = text("""
    UPDATE cycle_steps AS s
    SET alert_stage = c.new_stage, next_action_at = c.next_at, overdue_since = c.since
    FROM unnest(CAST(:ids AS uuid[]), CAST(:old AS smallint[]), CAST(:seen AS timestamptz[]),
                CAST(:new AS smallint[]), CAST(:next AS timestamptz[]),
                CAST(:since AS timestamptz[])) AS c(id, old_stage, seen_at, new_stage, next_at,
                                                   since)
    WHERE s.id = c.id AND s.state = 'active' AND s.alert_stage = c.old_stage
      AND s.next_action_at = c.seen_at
    RETURNING s.id
""")


def _claim(session: Session, moves: Sequence[_Move]) -> set[uuid.UUID]:
    """The conditional UPDATEs that are the claims; the ids of the rows claimed. Another
    scheduler's claim of the same row blocks on its lock, then matches nothing."""
    if not moves:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return set(session.scalars(CLAIM_MANY, {
            "ids": [m.step.id for m in moves],
            "old": [m.step.alert_stage for m in moves],
            "seen": [m.step.next_action_at for m in moves],
            "new": [m.stage.value for m in moves],
            "next": [m.next_action_at for m in moves],
            "since": [m.overdue_since for m in moves]}))
    claimed: set[uuid.UUID] = set()
    for move in moves:  # SQLite: one statement per row
        seen = move.step
        outcome = session.execute(
            update(CycleStep)
            .where(CycleStep.id == seen.id, CycleStep.state == literal_column("'active'"),
                   CycleStep.alert_stage == seen.alert_stage,
                   CycleStep.next_action_at == seen.next_action_at)
            .values(alert_stage=move.stage.value, next_action_at=move.next_action_at,
                    overdue_since=move.overdue_since)
            .execution_options(synchronize_session=False))
        if cast(CursorResult[Any], outcome).rowcount == 1:
            claimed.add(seen.id)
    return claimed


def _perform(session: Session, alert: alerts.StepAlert, stage: AlertStage,
             before: AlertStage, done: PassResult) -> None:
    """One alert: its notifications, its audit row and its event, written with the claims."""
    roles: list[Role] | None = None
    if stage is AlertStage.REMINDED:
        notified = alerts.remind(session, alert)
    elif stage is AlertStage.OVERDUE:
        notified = alerts.overdue(session, alert)
    else:
        notified, roles = alerts.escalate_again(session, alert)
    kind = ACTIONS[stage]
    step = alert.step
    alert.writes.audit.append(audit.entry_values(
        service=SERVICE, action=kind, target_type="step", target_id=step.id,
        tenant_id=step.tenant_id, **actor_of(None),
        before={"alert_stage": before.value, "number": step.number},
        after={"alert_stage": stage.value, "number": step.number,
               "due_at": alert.due_at.isoformat(), "notified": len(notified)}))
    payload: dict[str, Any] = {"cycle_id": step.cycle_id, "step_id": step.id,
                               "number": step.number, "due_at": alert.due_at,
                               "notified_user_ids": notified}
    if roles is not None:
        payload["roles"] = [r.value for r in roles]
    alert.writes.events.append(
        outbox_values(new_event(kind, tenant_id=step.tenant_id, payload=payload)))
    done.actions[kind] += 1
    done.stages.append(stage)


# -- the process ----------------------------------------------------------------------------------

def run_forever(factory: sessionmaker[Session], *, stop: threading.Event, interval: float,
                mailer: Mailer | None, portal_url: str | None = None,
                clock: Callable[[], datetime] = now) -> None:
    """A pass (then the e-mail digests) every `interval` seconds until `stop` is set; a failed
    pass (the database away, a bug) is logged and the next pass tries again."""
    while not stop.is_set():
        with correlation(None):
            try:
                result = run_pass(factory, at=clock())
                if result.total or result.failed_tenants or result.repaired:
                    log.info("scheduler pass: %s", dict(result.actions),
                             extra={"claimed": result.claimed, "lost": result.lost,
                                    "failed_tenants": len(result.failed_tenants)})
                if mailer is not None:
                    DIGESTS_SENT.inc(send_digests(factory, mailer, at=clock(),
                                                  portal_url=portal_url))
            except SQLAlchemyError as exc:
                log.warning("database error (%s); next pass in %.0f s", exc, interval)
            except Exception:
                log.exception("scheduler pass failed; next pass in %.0f s", interval)
        stop.wait(interval)


def main() -> None:
    settings, stop = start_process("workflow-scheduler")
    engine = make_engine(settings.effective_database_url)
    mailer = Mailer.from_settings(settings)
    expose_steps(make_session_factory(engine))
    log.info("scheduler started", extra={"interval_seconds": settings.scheduler_interval_seconds,
                                         "email": mailer is not None})
    try:
        run_forever(make_session_factory(engine), stop=stop,
                    interval=settings.scheduler_interval_seconds, mailer=mailer,
                    portal_url=settings.portal_url)
    finally:
        engine.dispose()
        log.info("scheduler stopped")


if __name__ == "__main__":
    main()
