"""The portal's cycle pages shaped from the workflow API's answers (pure functions), the
collection window's refusals, and the workflow client's reading of the contract's error body."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import cycle_views
from services.intake.window import CLOSED, NOT_OPEN_YET, CollectionWindow
from services.intake.workflow_client import UNREACHABLE_MESSAGE, _refusal
from shared.identity.principal import Principal
from shared.identity.roles import Role

TENANT = uuid.uuid4()
DEADLINE = datetime(2026, 4, 13, 1, 0, tzinfo=UTC)


def principal(*roles: Role) -> Principal:
    return Principal.of(user_id=uuid.uuid4(), username="u", bidang_id=None,
                        grants=[(r.value, TENANT) for r in roles])


def detail(active: int | None, *, state: str = "active", can_complete: bool = True) -> dict:
    def step(n: int) -> dict:
        step_state = ("completed" if active is None or n < active
                      else "active" if n == active else "pending")
        return {"number": n, "activity": f"Langkah {n}", "actors": ["kepala_dinas"],
                "output": "x", "duration": {"amount": 1, "unit": "working_days"},
                "state": step_state, "started_at": None, "due_at": "2026-04-13T01:00:00+00:00",
                "overdue": False, "completed_at": None, "completed_by": None,
                "completion_note": None, "missing": [],
                "can_complete": can_complete and step_state == "active"}
    return {"id": str(uuid.uuid4()), "tenant_id": str(TENANT), "year": 2027, "state": state,
            "template": {"name": "SOP", "version": 1}, "cancel_reason": None,
            "steps": [step(n) for n in range(1, 7)]}


@pytest.mark.parametrize(("roles", "active", "expected"), [
    ((Role.KEPALA_DINAS,), 2, {"complete", "upload_sk", "cancel"}),
    ((Role.TIM_EVALUASI,), 3, {"complete", "document_list", "upload_guideline"}),
    ((Role.KASUBBAG_PROGRAM,), 5, {"close_collection"}),
    ((Role.KEPALA_DINAS,), 5, {"extension", "cancel"}),
    ((Role.BIDANG_STAFF,), 5, set()),
])
def test_each_role_gets_its_forms(roles, active, expected):
    view = cycle_views.cycle_view(detail(active), {})
    forms = cycle_views.forms_for(principal(*roles), view)
    shown = {name for name in ("complete", "upload_sk", "document_list", "upload_guideline",
                               "notice", "close_collection", "extension", "cancel")
             if getattr(forms, name)}
    assert shown == expected
    assert bool(forms.reopen) == (Role.KEPALA_DINAS in roles)


def test_a_cancelled_cycle_offers_nothing():
    view = cycle_views.cycle_view(detail(3, state="cancelled"), {})
    assert cycle_views.forms_for(principal(Role.KEPALA_DINAS), view) == cycle_views.CycleForms()


def test_the_matrix_form_becomes_the_document_list():
    b1, b2 = str(uuid.uuid4()), str(uuid.uuid4())
    assert cycle_views.owed_from_form([b1, b2], [f"{b1}:IKU", f"{b1}:RENJA", "rusak"]) == {
        b1: ["IKU", "RENJA"], b2: []}


def test_a_local_deadline_is_read_in_the_tenants_zone():
    due = cycle_views.local_deadline("2026-04-20", "15:30", "Asia/Jakarta")
    assert due.astimezone(UTC) == datetime(2026, 4, 20, 8, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        cycle_views.local_deadline("20-04-2026", "15:30", "Asia/Jakarta")


def window(**changes) -> CollectionWindow:
    values = {"step_state": "active", "cycle_running": True, "deadline": DEADLINE,
              "refuses_late": True, "time_zone": "Asia/Jakarta", **changes}
    return CollectionWindow(**values)


def test_the_window_refuses_outside_step_five_and_after_the_deadline():
    assert window().refusal(DEADLINE) is None  # the deadline itself is still on time
    late = DEADLINE + timedelta(seconds=1)
    assert window().refusal(late).startswith(
        "Batas waktu pengumpulan (13 April 2026 pukul 08.00 WIB) sudah lewat.")
    assert window(refuses_late=False).refusal(late) is None
    assert window(refuses_late=False).is_late(late)
    assert window(step_state="pending").refusal(DEADLINE) == NOT_OPEN_YET
    assert window(step_state="completed").refusal(DEADLINE) == CLOSED


def test_the_workflow_error_body_is_kept_and_anything_else_gets_a_plain_message():
    refused = _refusal(409, b'{"error": {"code": 409, "message": "Langkah 2 belum dapat '
                            b'diselesaikan", "details": ["SK belum diunggah."]}}')
    assert (refused.status, refused.message, refused.details) == (
        409, "Langkah 2 belum dapat diselesaikan", ["SK belum diunggah."])
    invalid = _refusal(422, b'{"error": {"code": 422, "message": "Data tidak valid.", '
                            b'"fields": {"reason": ["Wajib diisi."]}}}')
    assert invalid.fields == {"reason": ["Wajib diisi."]}
    assert _refusal(502, b"<html>Bad Gateway</html>").message == UNREACHABLE_MESSAGE
    assert _refusal(500, b"").message.startswith("Terjadi kesalahan")
