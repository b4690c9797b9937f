"""The portal's calls to the workflow REST API (settings.workflow_url + /api/v1/...), on the
signed-in user's behalf (the plumbing, service token included, is `service_client`'s), with the
calendar's calls named (the administrators' calendar pages).

A refusal of the workflow is raised as `WorkflowCallError` with its status, Indonesian message,
`details` (e.g. what a step still lacks) and `fields` (422); a workflow that cannot be reached is
a 503 with a message a civil servant understands.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar

from services.intake.service_client import (
    TIMEOUT_SECONDS,
    ServiceCallError,
    ServiceClient,
    ServiceWords,
    refusal,
)
from shared.config import Settings
from shared.identity.principal import Principal

UNREACHABLE_MESSAGE = ("Layanan alur kerja SOP sedang tidak dapat dihubungi. Tidak ada yang "
                       "berubah; silakan coba lagi sebentar lagi.")
REFUSED_LOGIN_MESSAGE = ("Portal tidak dapat masuk ke layanan alur kerja SOP. Tidak ada yang "
                         "berubah; hubungi administrator.")
WORDS = ServiceWords(name="workflow", unreachable=UNREACHABLE_MESSAGE,
                     refused_login=REFUSED_LOGIN_MESSAGE)


class WorkflowCallError(ServiceCallError):
    """The workflow refused the call (its status and words), or could not be reached (503)."""


class WorkflowClient(ServiceClient):
    """The workflow API as one user sees it."""

    error: ClassVar[type[ServiceCallError]] = WorkflowCallError
    words: ClassVar[ServiceWords] = WORDS

    def __init__(self, settings: Settings, principal: Principal, *,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__(settings.workflow_url, settings, principal, timeout=timeout)

    # -- working-time calendars (a dinas's: tenant_id; the whole city's: None) --------------------

    def holidays(self, tenant_id: uuid.UUID | None, *, year: int | None) -> Any:
        """A dinas's calendar (time zone, office hours, holidays of the year), or the city's
        holiday list (national and city entries) when `tenant_id` is None."""
        return self.get(_calendar_path(tenant_id, calendar=True), {"year": year})

    def set_office_hours(self, tenant_id: uuid.UUID, *, time_zone: str,
                         office_hours: dict[str, list[str]]) -> Any:
        return self.put(f"/tenants/{tenant_id}/calendar",
                        {"time_zone": time_zone, "office_hours": office_hours})

    def add_holiday(self, tenant_id: uuid.UUID | None, *, day: date, name: str,
                    cancelled: bool) -> Any:
        """A holiday, or (`cancelled`) a national/city holiday that is a working day after all."""
        return self.post(_calendar_path(tenant_id),
                         {"day": day.isoformat(), "name": name, "cancelled": cancelled})

    def remove_holiday(self, tenant_id: uuid.UUID | None, day: date) -> Any:
        return self.delete(f"{_calendar_path(tenant_id)}/{day.isoformat()}")


def _calendar_path(tenant_id: uuid.UUID | None, *, calendar: bool = False) -> str:
    if tenant_id is None:
        return "/calendar/holidays"
    return f"/tenants/{tenant_id}/calendar" + ("" if calendar else "/holidays")


def _refusal(status: int, raw: bytes) -> WorkflowCallError:
    """The workflow's error body as a `WorkflowCallError` (see `service_client.refusal`)."""
    return refusal(status, raw, error=WorkflowCallError, unreachable=UNREACHABLE_MESSAGE)
