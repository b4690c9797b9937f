"""Metrics of the deadline scheduler: the steps of active cycles by state, the overdue steps
per dinas and SOP step (number), and the alerts sent.

`StepsCollector` counts at scrape time with two grouped queries (bounded by the number of
states, dinas and step numbers, not by rows returned); the scheduler registers it on the
registry it exposes. "Overdue" is what the scheduler found: an active step it has marked
overdue (alert stage overdue or escalated again)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.cycles.models import AlertStage, Cycle, CycleState, CycleStep, StepState
from shared.identity.models import Tenant
from shared.metrics import register_state_collector

log = logging.getLogger(__name__)

STEP_ALERTS = Counter("sakip_step_alerts", "Deadline alerts sent by the scheduler, by kind",
                      ["kind"])
# The kinds counted per alert stage reached: being marked overdue also escalates to the breach
# policy's first roles.
ALERT_KINDS: Mapping[AlertStage, tuple[str, ...]] = {
    AlertStage.REMINDED: ("due_soon",),
    AlertStage.OVERDUE: ("overdue", "escalated"),
    AlertStage.ESCALATED_AGAIN: ("escalated_again",),
}


def step_alert_sent(*, stage: AlertStage) -> None:
    for kind in ALERT_KINDS.get(stage, ()):
        STEP_ALERTS.labels(kind=kind).inc()


class StepsCollector(Collector):
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def collect(self) -> Iterator[Metric]:
        try:
            with self.session_factory() as session:
                by_state = session.execute(
                    select(CycleStep.state, func.count())
                    .join(Cycle, Cycle.id == CycleStep.cycle_id)
                    .where(Cycle.state == CycleState.ACTIVE.value)
                    .group_by(CycleStep.state)).all()
                overdue = session.execute(
                    select(Tenant.slug, CycleStep.number, func.count())
                    .join(Tenant, Tenant.id == CycleStep.tenant_id)
                    .where(CycleStep.state == StepState.ACTIVE.value,
                           CycleStep.alert_stage >= AlertStage.OVERDUE.value)
                    .group_by(Tenant.slug, CycleStep.number)).all()
        except SQLAlchemyError as exc:
            log.warning("step metrics unavailable: %s", exc)
            return
        counts = {state.value: 0 for state in StepState}
        counts.update({state: count for state, count in by_state})
        steps = GaugeMetricFamily("sakip_steps", "Steps of active cycles, by state",
                                  labels=["state"])
        for state, count in sorted(counts.items()):
            steps.add_metric([state], count)
        yield steps
        late = GaugeMetricFamily("sakip_steps_overdue",
                                 "Active steps past their deadline, by dinas and SOP step",
                                 labels=["tenant", "step"])
        for slug, number, count in overdue:
            late.add_metric([slug, str(number)], count)
        yield late


def expose_steps(session_factory: sessionmaker[Session]) -> None:
    """Register the steps gauges on this process's registry (the scheduler's)."""
    register_state_collector("steps", StepsCollector(session_factory))
