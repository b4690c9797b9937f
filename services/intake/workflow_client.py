"""The portal's calls to the workflow REST API (settings.workflow_url + /api/v1/...), on the
signed-in user's behalf (the plumbing, service token included, is `service_client`'s).

A refusal of the workflow is raised as `WorkflowCallError` with its status, Indonesian message,
`details` (e.g. what a step still lacks) and `fields` (422); a workflow that cannot be reached is
a 503 with a message a civil servant understands.
"""

from __future__ import annotations

from typing import ClassVar

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


def _refusal(status: int, raw: bytes) -> WorkflowCallError:
    """The workflow's error body as a `WorkflowCallError` (see `service_client.refusal`)."""
    return refusal(status, raw, error=WorkflowCallError, unreachable=UNREACHABLE_MESSAGE)
