from datetime import UTC, datetime

from sqlalchemy import select

from shared.cycles.collection import collection_deadline
from shared.cycles.models import CycleStep
from tests.world import build_world


def test_world_collects_with_a_working_time_deadline(session_factory, object_store):
    world = build_world(session_factory, object_store)
    with session_factory() as session:
        steps = session.scalars(select(CycleStep).where(CycleStep.cycle_id == world.a.cycle_id)
                                .order_by(CycleStep.number)).all()
        assert [s.state for s in steps] == ["completed"] * 4 + ["active", "pending"]
        # Monday 6 April 2026 08.00 WIB + 5 working days = Monday 13 April 08.00 WIB.
        assert collection_deadline(session, world.a.cycle_id, world.a.bidang[0]) == datetime(
            2026, 4, 13, 1, 0, tzinfo=UTC)
