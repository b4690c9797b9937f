"""A Hypothesis state machine over one dinas's SOP cycle: random commands of random roles through
the real workflow API (services.workflow.app, with the service token the portal sends; the cycle
documents through intake's API into S3) and intake's events through the real consumer (group
"workflow", the workflow's handlers) on Redis, duplicated and reordered, all against PostgreSQL.
A model says what must hold; checked after every rule:

- the steps are completed*, one active, pending* (or completed*, cancelled* once cancelled), as
  the model says, and no step completed before it started;
- the API completed a step (200) exactly when the model says the caller's role acts in it and
  its guard held (403/404/409/422 otherwise; a guard's 409 names what is missing), and the cycle
  it shows says the same of the active step ("missing", "can_complete"); the consumer completed
  the collection exactly after the first event from which every package and every document owed
  was accepted, dated at the newest acceptance (never before the step began);
- every change of the cycle and its steps is in the audit log (rows per action, and the system's
  own, counted against the transitions observed) with one step.completed event per completion;
- no event was applied twice (one inbox row per distinct event id handled, every entry acked);
  each package's state is that of the newest event delivered for it and never moves back; the
  documents accepted are exactly those whose acceptance was delivered; and once all of a
  package's events have arrived, in whatever order, each document's state is its newest event's.
  Events another tenant forges about the cycle change nothing.

Each example builds its own tenant (the database is truncated per test, not per example).
"""

from __future__ import annotations

import io
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from hypothesis import Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from sakip.seeding import SEED_TEMPLATE
from services.intake.accounts import create_bidang, create_tenant, create_user
from services.intake.app import create_app as create_intake_app
from services.workflow.app import create_app
from services.workflow.consumer import GROUP
from services.workflow.cycles import publish_template
from services.workflow.handlers import HANDLERS
from shared.audit import AuditEntry
from shared.clock import now
from shared.config import Settings
from shared.cycles.events import STEP_COMPLETED
from shared.cycles.models import CollectionItem, CollectionPackage, CycleStep
from shared.db import transaction
from shared.documents.events import (
    DOCUMENT_ACCEPTED,
    DOCUMENT_REPLACED,
    DOCUMENT_RETURNED,
    SUBMISSION_ACCEPTED,
    SUBMISSION_SUBMITTED,
    SUBMISSION_WITHDRAWN,
)
from shared.documents.models import CycleDocumentKind
from shared.events import Consumer, Event
from shared.events.models import InboxEntry, OutboxEvent
from shared.identity.api_tokens import create_api_token
from shared.identity.loading import principal_for
from shared.identity.models import User
from shared.identity.principal import Principal
from shared.identity.service_token import issue_service_token
from shared.sop.template import SopTemplateDefinition, load_shipped_template
from shared.storage import ObjectStore
from tests.intake_events import PackageEvents, intake_event, publish
from tests.samples import make_pdf
from tests.world import PASSWORD, TENANT_USERS

pytestmark = pytest.mark.slow

API = "/api/v1"
STEPS = range(1, 7)
ROLES = tuple(TENANT_USERS)  # staf1, staf2, kasubbag, tim, kepala
CODES = ("IKU", "RENJA")
# The audited changes of the cycle and its steps the model counts (those of the system, which
# completes the collection and so starts step 6, count again as "<action>/system").
TRANSITIONS = ("cycle.opened", "cycle.cancelled", "step.started", "step.completed",
               "step.reopened", "step.reset", "step.cancelled", "step.extended",
               "collection.closed")
SYSTEM = "system:workflow"
PACKAGE_STATE = {SUBMISSION_SUBMITTED: "submitted", SUBMISSION_WITHDRAWN: "not_submitted",
                 DOCUMENT_RETURNED: "returned", SUBMISSION_ACCEPTED: "accepted"}
ACCEPTING = (DOCUMENT_ACCEPTED, SUBMISSION_ACCEPTED)


def roles(likely: str) -> st.SearchStrategy[str]:
    """Any role, but half the time the one that may act."""
    return st.one_of(st.just(likely), st.sampled_from(ROLES))


# On top of the loaded profile (tests/conftest.py: "ci" derandomized, "dev"): few, long
# examples (each builds a tenant and talks to PostgreSQL, Redis and S3); no "explain" phase
# (it traces every line, far too slow for a machine this size).
MACHINE_SETTINGS = hypothesis_settings(
    max_examples=20, stateful_step_count=30,
    phases=[phase for phase in Phase if phase is not Phase.explain])


# -- the environment shared by every example of one test ------------------------------------------

@dataclass
class Env:
    client: FlaskClient  # the workflow service
    intake: FlaskClient  # the intake service (the cycle documents)
    factory: sessionmaker[Session]
    redis: redis.Redis
    secret: str
    definition: SopTemplateDefinition
    template_id: uuid.UUID
    stranger: Principal  # the kepala_dinas of another tenant
    stranger_tenant: uuid.UUID


@dataclass(repr=False)
class Sent:
    """An event the intake produced, with what the model needs to fold it."""

    event: Event
    bidang: int
    forged: bool = False  # claims another tenant: must change nothing
    touches: frozenset[str] = frozenset()  # the documents it concerns

    @property
    def handled(self) -> bool:
        return self.event.type in HANDLERS

    def __repr__(self) -> str:  # short, for the steps of a failing example
        forged = " forged" if self.forged else ""
        return (f"<{self.event.type} Bidang {self.bidang + 1}{forged} "
                f"{self.event.occurred_at:%H:%M:%S.%f} {sorted(self.touches)}>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis's printer
        printer.text(repr(self))


@dataclass
class IntakePackage:
    """Intake's own view of one Bidang's package (what it lets a user do, hence which events)."""

    events: PackageEvents
    items: dict[str, str] = field(default_factory=dict)  # code -> uploaded/submitted/...
    state: str = "draft"
    reviewed: bool = False  # an item was reviewed since the package went in


def _make_tenant(session: Session) -> tuple[uuid.UUID, list[uuid.UUID], dict[str, Principal]]:
    slug = f"mesin-{uuid.uuid4().hex[:8]}"
    tenant = create_tenant(session, slug=slug, name=f"Dinas {slug}")
    bidang = [create_bidang(session, tenant=tenant, name=f"Bidang {n}").id for n in (1, 2)]
    principals = {}
    for key, (role, index) in TENANT_USERS.items():
        user = create_user(session, username=f"{slug}.{key}", full_name=f"{slug} {key}",
                           password=PASSWORD, roles=[(role, tenant.id)], tenant_id=tenant.id,
                           bidang_id=bidang[index] if index is not None else None)
        principals[key] = principal_for(user)
    return tenant.id, bidang, principals


# -- the machine ----------------------------------------------------------------------------------

class WorkflowMachine(RuleBasedStateMachine):
    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        with transaction(env.factory) as session:
            self.tenant_id, self.bidang, self.principals = _make_tenant(session)
            self.api_tokens = {  # for intake's API
                key: create_api_token(session, user=session.get_one(User, p.user_id),
                                      name="mesin")[1] for key, p in self.principals.items()}
        self.actors = {n: {key for key, (role, _) in TENANT_USERS.items()
                           if role in env.definition.step(n).actors} for n in STEPS}
        self.stream = f"test-stateful-{uuid.uuid4().hex[:10]}"
        self.consumer = Consumer(env.redis, env.factory, stream=self.stream, group=GROUP,
                                 name="machine", handlers=HANDLERS)
        self.cycle_id: uuid.UUID | None = None
        self.uploads = 0
        # The model of the cycle.
        self.steps = dict.fromkeys(STEPS, "pending")
        self.cycle_state = "active"
        self.sk = self.guideline = False
        self.listed: dict[int, tuple[str, ...]] = {}
        self.notice_fresh = self.closure_fresh = False  # since step 4/5 last started
        self.transitions: Counter[str] = Counter()
        self.completions = 0
        self.extension_days = 30
        # The model of intake and of the events.
        self.packages: list[IntakePackage] = []  # per Bidang, once the cycle is open
        self.sent: list[Sent] = []
        self.delivered: set[uuid.UUID] = set()
        self.clock = now()
        self.seen_at: dict[tuple[Any, ...], datetime] = {}  # row -> last state_at seen

    # -- talking to the API -------------------------------------------------------------------

    def call(self, method: str, path: str, role: str, body: Any = None) -> tuple[int, Any]:
        response = self.env.client.open(API + path, method=method, json=body,
                                        headers=self.token(self.principals[role]))
        return response.status_code, response.get_json()

    def token(self, principal: Principal) -> dict[str, str]:
        """The portal's signed token for the user (short-lived: made per request)."""
        return {"X-Sakip-Service-Token": issue_service_token(principal, secret=self.env.secret)}

    def cycle_path(self, suffix: str = "") -> str:
        return f"/cycles/{self.cycle_id}{suffix}"

    def expect(self, status: int, answer: Any, expected: int, what: str) -> None:
        assert status == expected, f"{what}: {status} {answer}, model expected {expected}"
        if status >= 400:
            assert answer["error"]["code"] == status
            assert answer["error"]["message"]

    def check_detail(self, detail: dict[str, Any], role: str) -> None:
        """The cycle as the API shows it to `role`: the model's states, and for the active step
        what its guard lacks for that role and whether the role may complete it."""
        assert {s["number"]: s["state"] for s in detail["steps"]} == self.steps
        assert detail["state"] == self.cycle_state
        for step in detail["steps"]:
            if step["state"] == "active":
                number = step["number"]
                assert (step["missing"] == []) == self.guard_holds(number, role), step
                assert step["can_complete"] == (role in self.actors[number]), step

    # -- the model's transitions --------------------------------------------------------------

    def start(self, number: int, *, by_system: bool = False) -> None:
        self.steps[number] = "active"
        self.transitions["step.started"] += 1
        self.transitions["step.started/system"] += by_system
        self.notice_fresh = self.notice_fresh and number != 4
        self.closure_fresh = self.closure_fresh and number != 5

    def complete(self, number: int, *, by_system: bool = False) -> None:
        self.steps[number] = "completed"
        self.transitions["step.completed"] += 1
        self.transitions["step.completed/system"] += by_system
        self.completions += 1
        self.start(number + 1, by_system=by_system)  # step 6 never completes here: its
        # report is never approved

    def guard_holds(self, number: int, role: str) -> bool:
        if number == 1:
            return role == "kepala"
        if number == 2:
            return self.sk
        if number == 3:
            return bool(self.listed) and self.guideline
        if number == 4:
            return self.notice_fresh
        if number == 5:
            return self.closure_fresh or self.owed_all_accepted()
        return False

    # -- the model of the collection: a fold of the events delivered ---------------------------

    def delivered_events(self) -> list[Sent]:
        return sorted((s for s in self.sent if s.event.id in self.delivered and not s.forged
                       and s.handled), key=lambda s: s.event.occurred_at)

    def package_states(self) -> dict[int, str]:
        states = dict.fromkeys(range(len(self.bidang)), "not_submitted")
        for sent in self.delivered_events():
            if sent.event.type in PACKAGE_STATE:
                states[sent.bidang] = PACKAGE_STATE[sent.event.type]
        return states

    def item_states(self) -> dict[tuple[int, str], str]:
        states: dict[tuple[int, str], str] = {}
        item_state = {SUBMISSION_SUBMITTED: "submitted", SUBMISSION_WITHDRAWN: "withdrawn",
                      DOCUMENT_RETURNED: "returned", DOCUMENT_ACCEPTED: "accepted"}
        for sent in self.delivered_events():
            for code in sent.touches:
                states[(sent.bidang, code)] = item_state[sent.event.type]
        return states

    def owed_all_accepted(self) -> bool:
        accepted = {k for k, v in self.item_states().items() if v == "accepted"}
        return all((b, code) in accepted for b, codes in self.listed.items() for code in codes)

    def every_package_accepted(self) -> bool:
        states = self.package_states()
        return all(states[b] == "accepted" for b in self.listed)

    # -- setting up an example ----------------------------------------------------------------

    @initialize(to_step=st.sampled_from([1, 2, 3, 4, 5, 5, 5, 5]))
    def open_cycle(self, to_step: int) -> None:
        """Open a cycle through the API and take it (by the book) to step `to_step`."""
        status, answer = self.call("POST", "/cycles", "kepala", {
            "tenant_id": str(self.tenant_id), "year": 2026,
            "template_id": str(self.env.template_id)})
        self.expect(status, answer, 201, "open the cycle")
        self.cycle_id = uuid.UUID(answer["id"])
        self.packages = [IntakePackage(PackageEvents(tenant_id=self.tenant_id,
                                                     cycle_id=self.cycle_id, bidang_id=b))
                         for b in self.bidang]
        self.transitions["cycle.opened"] += 1
        self.start(1)
        self.check_detail(answer, "kepala")
        for number in range(1, to_step):
            self.by_the_book(number)
        assert self.steps[to_step] == "active"

    # -- commands through the API -------------------------------------------------------------

    @rule(bidang=st.integers(0, 1), data=st.data())
    def advance(self, bidang: int, data: st.DataObject) -> None:
        """What the SOP says comes next for the active step, by the role whose job it is; in
        the collection: every Bidang's package handed in and accepted (`bidang` first; one may
        hand in and withdraw instead), and every event waiting delivered (shuffled, some
        twice). Step 6 needs the reporting service's approved report, so there the kepala_dinas
        reopens the collection instead."""
        if self.cycle_state != "active":
            return
        number = next(n for n, state in self.steps.items() if state == "active")
        if number == 5 and not self.guard_holds(5, "kasubbag"):
            hesitant = data.draw(st.sampled_from([None, 0, 1]), label="hands in and withdraws")
            for moving in (bidang, 1 - bidang):
                if moving == hesitant:
                    self.hand_in(moving)
                    self.withdraw(moving)
                else:
                    self.intake_moves_on(moving)
            self.deliver_waiting(data, everything=True)
        elif number < 6:
            self.by_the_book(number)
        else:  # the report cannot be approved here: the kepala_dinas reopens the collection
            self.reopen_step(5, "kepala")

    def by_the_book(self, number: int) -> None:
        """Produce the active step's output and complete it, each by its own role."""
        if number == 2 and not self.sk:
            self.upload(CycleDocumentKind.SK_TIM_EVALUASI, "kepala")
        if number == 3 and not self.listed:
            self.set_document_list("tim", (CODES, CODES))
        if number == 3 and not self.guideline:
            self.upload(CycleDocumentKind.PEDOMAN_EVALUASI, "tim")
        if number == 4 and not self.notice_fresh:
            self.send_notice("tim")
        self.complete_step(number, {1: "kepala", 2: "kepala", 5: "kasubbag"}.get(number, "tim"))

    @rule(number=st.integers(1, 7), role=st.sampled_from(ROLES))
    def complete_step(self, number: int, role: str) -> None:
        status, answer = self.call("POST", self.cycle_path(f"/steps/{number}/complete"), role,
                                   {"note": "Selesai."})
        if self.cycle_state != "active":
            expected = 409
        elif number not in STEPS:
            expected = 404
        elif self.steps[number] != "active":
            expected = 409
        elif role not in self.actors[number]:
            expected = 403
        elif not self.guard_holds(number, role):
            expected = 409
            self.expect(status, answer, expected, f"complete step {number} as {role}")
            assert answer["error"]["details"], answer  # what the guard still misses
        else:
            expected = 200
            self.complete(number)
        self.expect(status, answer, expected, f"complete step {number} as {role}")
        if status == 200:
            self.check_detail(answer, role)

    @rule(number=st.integers(1, 7), role=roles("kepala"))
    def reopen_step(self, number: int, role: str) -> None:
        status, answer = self.call("POST", self.cycle_path(f"/steps/{number}/reopen"), role,
                                   {"reason": "Ada kekeliruan."})
        if role != "kepala":
            expected = 403
        elif self.cycle_state != "active":
            expected = 409
        elif number not in STEPS:
            expected = 404
        elif self.steps[number] != "completed":
            expected = 409
        else:
            expected = 200
            for later in range(number + 1, 7):
                if self.steps[later] != "pending":
                    self.steps[later] = "pending"
                    self.transitions["step.reset"] += 1
            self.steps[number] = "active"
            self.transitions["step.reopened"] += 1
            self.notice_fresh = self.notice_fresh and number != 4
            self.closure_fresh = self.closure_fresh and number != 5
        self.expect(status, answer, expected, f"reopen step {number} as {role}")
        if status == 200:
            self.check_detail(answer, role)

    @rule(role=roles("kepala"), blank=st.booleans())
    def cancel(self, role: str, blank: bool) -> None:
        blank = blank and role == "kepala"  # a blank reason is refused whoever sends it
        status, answer = self.call("POST", self.cycle_path("/cancel"), role,
                                   {"reason": " " if blank else "Siklus diulang."})
        if blank:
            expected = 422
        elif role != "kepala":
            expected = 403
        elif self.cycle_state != "active":
            expected = 409
        else:
            expected = 200
            for number, state in self.steps.items():
                if state in ("pending", "active"):
                    self.steps[number] = "cancelled"
                    self.transitions["step.cancelled"] += 1
            self.cycle_state = "cancelled"
            self.transitions["cycle.cancelled"] += 1
        self.expect(status, answer, expected, f"cancel as {role}")
        if status == 200:
            self.check_detail(answer, role)

    @rule(kind=st.sampled_from(list(CycleDocumentKind)), role=st.sampled_from(ROLES))
    def upload(self, kind: CycleDocumentKind, role: str) -> None:
        """A new version of a cycle document through intake's API (stored in S3): the SK by the
        kepala_dinas or kasubbag_program while step 2 runs, the guideline by the tim_evaluasi or
        kasubbag_program while step 3 runs."""
        self.uploads += 1
        boundary, body = encode_multipart({"file": FileStorage(
            io.BytesIO(make_pdf(f"{kind.value} {self.uploads}")), filename="dokumen.pdf",
            content_type="application/pdf")})
        response = self.env.intake.post(
            f"{API}{self.cycle_path(f'/documents/{kind.value}')}", data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            headers={"Authorization": f"Bearer {self.api_tokens[role]}"})
        sk = kind is CycleDocumentKind.SK_TIM_EVALUASI
        if role not in ({"kepala", "kasubbag"} if sk else {"tim", "kasubbag"}):
            expected = 403
        elif self.cycle_state != "active" or self.steps[2 if sk else 3] != "active":
            expected = 409
        else:
            expected = 201
            self.sk, self.guideline = self.sk or sk, self.guideline or not sk
        self.expect(response.status_code, response.get_json(), expected,
                    f"upload {kind.value} as {role}")

    @rule(role=st.sampled_from(ROLES),
          owed=st.tuples(*[st.sampled_from([(), ("IKU",), ("RENJA",), CODES])] * 2))
    def set_document_list(self, role: str, owed: tuple[tuple[str, ...], ...]) -> None:
        status, answer = self.call("PUT", self.cycle_path("/document-list"), role, {
            "owed": {str(b): list(codes) for b, codes in zip(self.bidang, owed, strict=True)}})
        if role not in {"tim", "kasubbag"}:
            expected = 403
        elif self.cycle_state != "active" or self.steps[3] != "active":
            expected = 409
        elif not any(owed):
            expected = 422
        else:
            expected = 200
            self.listed = {b: codes for b, codes in enumerate(owed) if codes}
        self.expect(status, answer, expected, f"set the document list as {role}")

    @rule(role=st.sampled_from(ROLES))
    def send_notice(self, role: str) -> None:
        status, answer = self.call("POST", self.cycle_path("/notice"), role,
                                   {"message": "Mohon diunggah."})
        if role not in self.actors[4]:
            expected = 403
        elif self.cycle_state != "active" or self.steps[4] != "active":
            expected = 409
        else:
            expected = 201
            self.notice_fresh = True
        self.expect(status, answer, expected, f"send the notice as {role}")

    @rule(role=roles("kasubbag"))
    def close_collection(self, role: str) -> None:
        status, answer = self.call("POST", self.cycle_path("/collection/close"), role,
                                   {"reason": "Batas waktu lewat."})
        if role != "kasubbag":
            expected = 403
        elif self.cycle_state != "active" or self.steps[5] != "active":
            expected = 409
        else:
            expected = 200
            self.transitions["collection.closed"] += 1
            self.closure_fresh = True
            self.complete(5)
        self.expect(status, answer, expected, f"close the collection as {role}")

    @rule(role=roles("kepala"), whom=st.sampled_from([None, 0, 1]), past=st.booleans())
    def grant_extension(self, role: str, whom: int | None, past: bool) -> None:
        self.extension_days += 1  # always later than any deadline in force
        due_at = now() + timedelta(days=-1 if past else self.extension_days)
        status, answer = self.call("POST", self.cycle_path("/extensions"), role, {
            "bidang_id": None if whom is None else str(self.bidang[whom]),
            "due_at": due_at.isoformat(), "reason": "Bidang sedang dinas luar."})
        if role != "kepala":
            expected = 403
        elif self.cycle_state != "active" or self.steps[5] != "active":
            expected = 409
        elif (whom is not None and whom not in self.listed) or past:
            expected = 422
        else:
            expected = 201
            self.transitions["step.extended"] += 1
        self.expect(status, answer, expected, f"extend as {role}")

    @rule(role=st.sampled_from(ROLES))
    def look(self, role: str) -> None:
        status, answer = self.call("GET", self.cycle_path(), role)
        self.expect(status, answer, 200, f"look as {role}")
        self.check_detail(answer, role)

    @rule(role=st.sampled_from(ROLES))
    def stranger_sees_nothing(self, role: str) -> None:
        """Another tenant's kepala_dinas: the cycle does not exist for them."""
        headers = self.token(self.env.stranger)
        for method, path, body in (("GET", "", None), ("POST", "/cancel", {"reason": "x"}),
                                   ("POST", "/steps/1/reopen", {"reason": "x"})):
            response = self.env.client.open(API + self.cycle_path(path), method=method,
                                            json=body, headers=headers)
            assert response.status_code == 404, (method, path, response.get_json())

    # -- intake: what its users do, as events ---------------------------------------------------

    def collecting(self) -> bool:
        return self.cycle_state == "active" and self.steps[5] == "active"

    def tick(self) -> datetime:
        self.clock = max(self.clock + timedelta(milliseconds=1), now())
        return self.clock

    def emit(self, bidang: int, event: Event, touches: frozenset[str] = frozenset()) -> None:
        self.sent.append(Sent(event, bidang, touches=touches))

    @rule(bidang=st.integers(0, 1),
          action=st.sampled_from(["hand_in", "withdraw", "accept", "return", "replace", "forge",
                                  "hand_in", "withdraw"]),
          code=st.sampled_from(CODES), relay=st.sampled_from(["later", "some", "all"]),
          data=st.data())
    def intake_acts(self, bidang: int, action: str, code: str, relay: str,
                    data: st.DataObject) -> None:
        """A user of intake does something to a Bidang's package (when intake allows it: during
        the collection), or another tenant forges events about it; then the relay may deliver
        what waits (at any time: events arrive late)."""
        if self.collecting():
            {"hand_in": lambda: self.hand_in(bidang), "withdraw": lambda: self.withdraw(bidang),
             "accept": lambda: self.review(bidang, code, accept=True),
             "return": lambda: self.review(bidang, code, accept=False),
             "replace": lambda: self.replace(bidang, code),
             "forge": lambda: self.forge(bidang)}[action]()
        if relay != "later":
            self.deliver_waiting(data, everything=relay == "all")

    def hand_in(self, bidang: int) -> None:
        package = self.packages[bidang]
        for code in self.listed.get(bidang, ()):
            package.items.setdefault(code, "uploaded")
        uploaded = sorted(c for c, s in package.items.items() if s == "uploaded")
        if not uploaded or "returned" in package.items.values():
            return  # intake refuses: nothing new, or a returned document not replaced yet
        for code in uploaded:
            package.items[code] = "submitted"
        if package.state != "submitted":
            package.state, package.reviewed = "submitted", False
        self.emit(bidang, package.events.submitted(self.tick(), uploaded), frozenset(uploaded))

    def withdraw(self, bidang: int) -> None:
        package = self.packages[bidang]
        if package.state != "submitted" or package.reviewed:
            return  # intake refuses once the review has begun
        taken_back = frozenset(c for c, s in package.items.items() if s == "submitted")
        for code in taken_back:
            package.items[code] = "uploaded"
        package.state = "draft"
        self.emit(bidang, package.events.withdrawn(self.tick()), taken_back)

    def review(self, bidang: int, code: str, *, accept: bool) -> None:
        package = self.packages[bidang]
        if package.items.get(code) != "submitted":
            return  # intake refuses: not waiting for review
        package.items[code] = "accepted" if accept else "returned"
        package.reviewed = True
        events = package.events
        self.emit(bidang, events.document_accepted(self.tick(), code) if accept
                  else events.returned(self.tick(), code), frozenset([code]))
        states = set(package.items.values())
        if states == {"accepted"}:  # intake accepts the package in the same transaction
            package.state = "accepted"
            self.emit(bidang, events.accepted(self.tick()))
        elif "submitted" in states:
            package.state = "submitted"
        else:
            package.state = "returned" if "returned" in states else "draft"

    def replace(self, bidang: int, code: str) -> None:
        """A returned document replaced: intake's own event, which the workflow ignores."""
        package = self.packages[bidang]
        if package.items.get(code) != "returned":
            return
        package.items[code] = "uploaded"
        self.emit(bidang, intake_event(DOCUMENT_REPLACED, tenant_id=self.tenant_id,
                                       at=self.tick(), payload={
                                           **package.events.item_ref(code), "version_number": 2,
                                           "sha256": "0" * 64, "size_bytes": 1, "kind": "pdf"}))

    def forge(self, bidang: int) -> None:
        """Another tenant claiming this cycle's package was handed in and accepted."""
        assert self.cycle_id is not None
        forged = PackageEvents(self.env.stranger_tenant, self.cycle_id, self.bidang[bidang])
        for event in (forged.submitted(self.tick(), CODES),
                      *(forged.document_accepted(self.tick(), c) for c in CODES),
                      forged.accepted(self.tick())):
            self.sent.append(Sent(event, bidang, forged=True))

    def intake_moves_on(self, bidang: int) -> None:
        """The Bidang hands in what it owes and the kasubbag_program accepts it all."""
        package = self.packages[bidang]
        for code in sorted(package.items):
            self.replace(bidang, code)
        self.hand_in(bidang)
        for code in sorted(package.items):
            self.review(bidang, code, accept=True)

    # -- delivery through the consumer -----------------------------------------------------------

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        """Some of the events not delivered yet, plus duplicates, in a shuffled order."""
        self.deliver_waiting(data, everything=False)

    def deliver_waiting(self, data: st.DataObject, *, everything: bool) -> None:
        fresh = data.draw(st.permutations([s for s in self.sent
                                           if s.event.id not in self.delivered]))
        if not everything:
            fresh = fresh[:data.draw(st.integers(min(1, len(fresh)), len(fresh)))]
        again = data.draw(st.lists(st.sampled_from(self.sent), max_size=3)) if self.sent else []
        self.feed(data.draw(st.permutations(fresh + again)))

    def feed(self, batch: list[Sent]) -> None:
        """XADD the batch and let the consumer read it all; the model follows in stream order."""
        publish(self.env.redis, self.stream, (s.event for s in batch))
        while self.consumer.run_once(block_ms=0, count=50):
            pass
        assert self.env.redis.xpending(self.stream, GROUP)["pending"] == 0
        for sent in batch:
            first_time = sent.event.id not in self.delivered
            self.delivered.add(sent.event.id)
            if (first_time and not sent.forged and sent.event.type in ACCEPTING
                    and self.collecting() and self.every_package_accepted()
                    and self.owed_all_accepted()):
                self.complete(5, by_system=True)
                self.check_system_completion()

    def check_system_completion(self) -> None:
        """Completed by the system when the last package was accepted (the newest acceptance,
        whichever arrived last), and not before the step began."""
        accepted_at = max(s.event.occurred_at for s in self.delivered_events()
                          if s.event.type == SUBMISSION_ACCEPTED and s.bidang in self.listed)
        with self.env.factory() as session:
            step = session.scalars(select(CycleStep).where(
                CycleStep.cycle_id == self.cycle_id, CycleStep.number == 5)).one()
        assert step.state == "completed"
        assert step.completed_by is None
        assert step.started_at is not None
        assert step.completed_at == max(accepted_at, step.started_at)

    # -- invariants -----------------------------------------------------------------------------

    def read_steps(self, session: Session) -> list[CycleStep]:
        return list(session.scalars(select(CycleStep).where(CycleStep.cycle_id == self.cycle_id)
                                    .order_by(CycleStep.number)))

    @invariant()
    def steps_advance_in_order(self) -> None:
        if self.cycle_id is None:
            return
        with self.env.factory() as session:
            steps = self.read_steps(session)
        states = [s.state for s in steps]
        done = states.index("active" if self.cycle_state == "active" else "cancelled")
        rest = ["active"] + ["pending"] * (5 - done) if self.cycle_state == "active" \
            else ["cancelled"] * (6 - done)
        assert states == ["completed"] * done + rest, states
        assert {s.number: s.state for s in steps} == self.steps
        for step in steps:
            if step.state == "completed":
                assert step.started_at is not None
                assert step.completed_at is not None
                assert step.completed_at >= step.started_at, f"step {step.number} ended first"

    @invariant()
    def audit_accounts_for_every_transition(self) -> None:
        if self.cycle_id is None:
            return
        with self.env.factory() as session:
            step_ids = [str(s.id) for s in self.read_steps(session)]
            rows = session.execute(
                select(AuditEntry.action, AuditEntry.actor, func.count()).where(
                    or_(and_(AuditEntry.target_type == "step",
                             AuditEntry.target_id.in_(step_ids)),
                        and_(AuditEntry.target_type == "cycle",
                             AuditEntry.target_id == str(self.cycle_id))),
                    AuditEntry.action.in_(TRANSITIONS))
                .group_by(AuditEntry.action, AuditEntry.actor)).all()
            counted: Counter[str] = Counter()
            for action, actor, n in rows:
                counted[action] += n
                if actor == SYSTEM:
                    assert action in ("step.completed", "step.started"), (action, actor)
                    counted[f"{action}/system"] += n
            completed_events = session.scalar(select(func.count()).select_from(OutboxEvent).where(
                OutboxEvent.type == STEP_COMPLETED, OutboxEvent.tenant_id == self.tenant_id))
        assert +counted == +self.transitions
        assert completed_events == self.completions

    @invariant()
    def each_event_applied_once(self) -> None:
        handled = {s.event.id for s in self.sent if s.handled and s.event.id in self.delivered}
        with self.env.factory() as session:
            inbox = session.scalar(select(func.count()).select_from(InboxEntry).where(
                InboxEntry.consumer == GROUP,
                InboxEntry.event_id.in_([s.event.id for s in self.sent]))) if self.sent else 0
        assert inbox == len(handled)

    @invariant()
    def the_collection_follows_the_newest_events(self) -> None:
        if self.cycle_id is None:
            return
        expected = self.package_states()
        with self.env.factory() as session:
            rows = session.scalars(select(CollectionPackage).where(
                CollectionPackage.cycle_id == self.cycle_id)).all()
            items = session.scalars(select(CollectionItem).where(
                CollectionItem.cycle_id == self.cycle_id)).all()
        index = {b: n for n, b in enumerate(self.bidang)}
        for row in rows:
            assert row.state == expected[index[row.bidang_id]], (row.bidang_id, row.state)
            self.never_back(("package", row.bidang_id), row.state_at)
        touched = {s.bidang for s in self.delivered_events() if s.event.type in PACKAGE_STATE}
        assert touched <= {index[r.bidang_id] for r in rows}
        model_items = self.item_states()
        accepted = {(index[i.bidang_id], i.document_type) for i in items if i.state == "accepted"}
        assert accepted == {k for k, v in model_items.items() if v == "accepted"}
        for item in items:
            self.never_back(("item", item.bidang_id, item.document_type), item.state_at)
        for bidang in range(len(self.bidang)):  # exact once all of a package's events arrived
            if all(s.event.id in self.delivered for s in self.sent
                   if s.bidang == bidang and not s.forged):
                assert {i.document_type: i.state for i in items if index[i.bidang_id] == bidang} \
                    == {code: v for (b, code), v in model_items.items() if b == bidang}

    def never_back(self, key: tuple[Any, ...], state_at: datetime | None) -> None:
        if state_at is None:
            assert key not in self.seen_at, f"{key} lost its state"
            return
        assert state_at >= self.seen_at.get(key, state_at), f"{key} moved back"
        self.seen_at[key] = state_at

    @invariant()
    def the_api_shows_the_same_collection(self) -> None:
        if self.cycle_id is None:
            return
        status, answer = self.call("GET", self.cycle_path("/collection"), "kasubbag")
        assert status == 200, answer
        expected = self.package_states()
        index = {str(b): n for n, b in enumerate(self.bidang)}
        for row in answer["bidang"]:
            assert row["state"] == expected[index[row["bidang_id"]]], row


# -- the test -------------------------------------------------------------------------------------

@pytest.fixture
def env(settings: Settings, session_factory: sessionmaker[Session], object_store: ObjectStore,
        redis_client: redis.Redis) -> Iterator[Env]:
    """The services on the test servers (`object_store`: the bucket exists), the template, and
    another tenant whose kepala_dinas must never see the machine's cycles."""
    app, intake = create_app(settings), create_intake_app(settings)
    definition = load_shipped_template(*SEED_TEMPLATE)
    with transaction(session_factory) as session:
        template = publish_template(session, definition)
        stranger_tenant, _bidang, principals = _make_tenant(session)
    yield Env(client=app.test_client(), intake=intake.test_client(), factory=session_factory,
              redis=redis_client, secret=settings.service_token_secret, definition=definition,
              template_id=template.id, stranger=principals["kepala"],
              stranger_tenant=stranger_tenant)
    app.extensions["sakip"].close()
    intake.extensions["sakip"].close()


# Passing takes about half a minute; a failure is first shrunk, which Hypothesis itself caps at
# five minutes (its MAX_SHRINKING_SECONDS): room for that, so the shrunk example gets reported.
@pytest.mark.timeout(900)
def test_the_workflow_state_machine(env: Env) -> None:
    class Workflow(WorkflowMachine):  # Hypothesis makes one per example, without arguments
        def __init__(self) -> None:
            super().__init__(env)

    run_state_machine_as_test(Workflow, settings=MACHINE_SETTINGS)
